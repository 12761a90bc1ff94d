"""The API's resources: payload factories, and the descriptions the HTTP-contract suite runs on.

`tests/contract/` checks every resource in RESOURCES for the same HTTP contract
(conditional requests, body rules, 404/405/413/415, paging, sorting, `q`, caching, scopes,
rate limits). A new resource joins it with one entry in RESOURCES; its own rules (field limits,
filters of its own) get a test module of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

__all__ = [
    "BOOKS",
    "RESOURCES",
    "TEMPLATES",
    "Resource",
    "create_book",
    "create_template",
    "new_book",
    "new_template",
    "template_path",
]

BOOKS = "/api/v1/books"
TEMPLATES = "/api/v1/templates"


def new_book(**fields: Any) -> dict[str, Any]:
    """A valid book payload, with `fields` added or replaced."""
    return {"title": "Dune", "author": "Frank Herbert", **fields}


def create_book(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """POST a new book (see `new_book`); the created book."""
    response = client.post(BOOKS, json=new_book(**fields))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def new_template(**fields: Any) -> dict[str, Any]:
    """A valid template payload, with `fields` added or replaced."""
    return {"name": "Welcome", **fields}


def create_template(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """POST a new template (see `new_template`); the created template."""
    response = client.post(TEMPLATES, json=new_template(**fields))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def template_path(template: dict[str, Any]) -> str:
    """The path of a template the API returned."""
    return f"{TEMPLATES}/{template['templateid']}"


@dataclass(frozen=True)
class Resource:
    """What the contract suite needs to know of one resource of the API."""

    name: str  # as in the test ids
    path: str  # of the collection
    id_field: str  # the field of an item that its path ends with
    label: str  # a required free-text field: `sort` orders by it, `q` searches it
    new: dict[str, Any]  # a valid POST (and PUT) body
    change: dict[str, Any]  # a valid PATCH body that changes an item made from `new`
    required: tuple[str, ...]  # the fields a POST or PUT must send
    not_null: tuple[str, ...]  # the fields a PATCH may not set to null
    read_only: tuple[str, ...]  # fields an item shows that no write may send
    missing_ids: tuple[str, ...]  # ids of no item: unused, out of range, malformed
    sort_fields: tuple[str, ...]  # the allowed sort keys, as the 422 lists them
    unsortable: tuple[str, ...]  # fields (or internal columns) that are no sort key
    read_scope: str | None  # the scope reads need; None: reads are public
    write_scope: str  # the scope writes need

    def __str__(self) -> str:
        return self.name

    def create(self, client: FlaskClient, **fields: Any) -> dict[str, Any]:
        """POST `new` with `fields` added or replaced; the created item."""
        response = client.post(self.path, json={**self.new, **fields})
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def create_labelled(self, client: FlaskClient, label: str) -> dict[str, Any]:
        """A new item whose `label` field is `label`."""
        return self.create(client, **{self.label: label})

    def item_path(self, item: dict[str, Any]) -> str:
        """The path of an item the API returned."""
        return f"{self.path}/{item[self.id_field]}"

    @property
    def public_reads(self) -> bool:
        return self.read_scope is None

    @property
    def scopes(self) -> set[str]:
        return {self.write_scope} | ({self.read_scope} if self.read_scope else set())


RESOURCES = [
    Resource(
        name="books",
        path=BOOKS,
        id_field="id",
        label="title",
        new=new_book(),
        change={"copies": 7},
        required=("title", "author"),
        not_null=("title", "author", "description", "copies"),
        read_only=("id", "created_at", "updated_at"),
        missing_ids=("999999", "2147483648", "99999999999999999999999", "abc", "-1"),
        sort_fields=("title", "author", "published_year", "created_at"),
        unsortable=("id", "isbn", "copies", "description", "updated_at", "price"),
        read_scope=None,
        write_scope="books:write",
    ),
    Resource(
        name="templates",
        path=TEMPLATES,
        id_field="templateid",
        label="name",
        new=new_template(content="Hello {{ name }}"),
        change={"content": "Goodbye {{ name }}"},
        required=("name",),
        not_null=("name", "description", "content"),
        read_only=("templateid", "created", "modified"),
        missing_ids=(
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",  # well formed, unused
            "abc",
            "42",
            "3f2b8c1e-6d4a-4b7e-9c0d-2a1e5f8b7c6",  # one digit short
            "3f2b8c1e-6d4a-4b7e-9c0d-2a1e5f8b7c64x",
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
            "%00",
        ),
        sort_fields=("name", "created", "modified"),
        unsortable=("templateid", "tidx", "description", "content", "id"),
        read_scope="templates:read",
        write_scope="templates:write",
    ),
]
