"""Walking a list by cursor on every resource: every row once, in order; bad cursors and pages
past the depth that page numbers reach are 422s saying what to do instead.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from shelf.core.pagination import MAX_DEPTH
from tests.support.checks import assert_problem
from tests.support.resources import RESOURCES, Resource

# Equal labels, so that the primary key has to order them.
WALKED = ["Mango", "apple", "Mango", "Zebra", "kiwi", "Mango", "Apple", "banana", "Zebra"]


def every_sort(resource: Resource) -> list[str]:
    return [f"{way}{field}" for field in resource.sort_fields for way in ("", "-")]


def walk(client: FlaskClient, path: str | None) -> list[dict[str, Any]]:
    """Every item from `path` on, following links.next; checks the page numbers as it goes."""
    items: list[dict[str, Any]] = []
    number = 1
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["page"] == number
        items += body["items"]
        following = body["links"]["next"]
        path, number = urljoin(path, following) if following else None, number + 1
    return items


def a_cursor(client: FlaskClient, resource: Resource, sort: str) -> str:
    """The cursor of the second page of a list sorted by `sort`."""
    for label in ("One", "Two", "Three"):
        resource.create_labelled(client, label)
    body = client.get(f"{resource.path}?per_page=1&sort={sort}").get_json()
    (cursor,) = parse_qs(urlsplit(body["links"]["next"]).query)["cursor"]
    return cursor


def encoded(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("resource", "sort"),
    [pytest.param(r, s, id=f"{r}-{s}") for r in RESOURCES for s in every_sort(r)],
)
def test_a_cursor_walk_gives_every_row_once_in_order(
    client: FlaskClient, resource: Resource, sort: str
) -> None:
    for label in WALKED:
        resource.create_labelled(client, label)
    whole = client.get(f"{resource.path}?per_page=100&sort={sort}").get_json()
    assert whole["total"] == len(WALKED)
    walked = walk(client, f"{resource.path}?per_page=2&sort={sort}")
    ids = [item[resource.id_field] for item in walked]
    assert ids == [item[resource.id_field] for item in whole["items"]]
    assert len(set(ids)) == len(WALKED)
    if sort.removeprefix("-") == resource.label:
        labels = [item[resource.label] for item in walked]
        assert labels == sorted(labels, reverse=sort.startswith("-"))


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_a_cursor_walk_keeps_the_search(client: FlaskClient, resource: Resource) -> None:
    for label in WALKED:
        resource.create_labelled(client, label)
    walked = walk(client, f"{resource.path}?per_page=1&q=ANG&sort={resource.label}")
    assert [item[resource.label] for item in walked] == ["Mango", "Mango", "Mango"]


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_a_cursor_page_links_itself_and_the_first_page(
    client: FlaskClient, resource: Resource
) -> None:
    cursor = a_cursor(client, resource, resource.label)
    body = client.get(f"{resource.path}?per_page=1&sort={resource.label}&cursor={cursor}")
    links = body.get_json()["links"]
    assert parse_qs(urlsplit(links["self"]).query)["cursor"] == [cursor]
    assert "page=1" in links["first"]
    assert links["prev"] is None
    assert f"sort={resource.label}" in links["next"]


def tampered(cursor: str) -> list[str]:
    """Cursors a client could send instead of the one it was given."""
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    label, key = raw["k"]
    return [
        cursor[:-3],  # cut short
        cursor[::-1],  # not base64 of JSON any more
        "x" + cursor,
        encoded("not an object"),
        encoded([1, 2]),
        encoded({**raw, "k": [label]}),  # too few values
        encoded({**raw, "k": [label, key, 3]}),  # too many
        encoded({**raw, "k": [label, "1; DROP TABLE books"]}),  # text for the integer key
        encoded({**raw, "k": [label, 2**40]}),  # out of the column's range
        encoded({**raw, "k": [label, True]}),
        encoded({**raw, "k": [7, key]}),  # a number for the text label
        encoded({**raw, "k": ["nul\x00byte", key]}),
        encoded({**raw, "k": ["x" * 5000, key]}),
        encoded({**raw, "k": [None, key]}),  # the label is never NULL
        encoded({**raw, "p": "2"}),
        encoded({**raw, "p": 0}),
        encoded({**raw, "s": ["title"]}),
        encoded({"k": raw["k"]}),
        "%2B%2F%3D",  # not the base64url alphabet
        "",
    ]


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_a_tampered_cursor_is_422_saying_how_to_go_on(
    client: FlaskClient, resource: Resource
) -> None:
    cursor = a_cursor(client, resource, resource.label)
    for bad in tampered(cursor):
        response = client.get(f"{resource.path}?per_page=1&sort={resource.label}&cursor={bad}")
        body = assert_problem(response, 422, "VALIDATION_FAILED")
        assert body["details"][0]["field"] == "cursor", bad
        assert body["details"][0]["hint"], bad


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_a_cursor_for_another_sort_is_422_naming_its_sort(
    client: FlaskClient, resource: Resource
) -> None:
    cursor = a_cursor(client, resource, resource.label)
    response = client.get(f"{resource.path}?sort=-{resource.label}&cursor={cursor}")
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "cursor"
    assert f"sort={resource.label}" in body["details"][0]["hint"]


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_page_and_cursor_together_are_422(client: FlaskClient, resource: Resource) -> None:
    cursor = a_cursor(client, resource, resource.label)
    response = client.get(f"{resource.path}?sort={resource.label}&page=2&cursor={cursor}")
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "page"


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
@pytest.mark.parametrize("per_page", [1, 20, 100])
def test_page_numbers_reach_the_depth_bound_and_no_further(
    client: FlaskClient, resource: Resource, per_page: int
) -> None:
    deepest = MAX_DEPTH // per_page
    assert client.get(f"{resource.path}?per_page={per_page}&page={deepest}").status_code == 200
    response = client.get(f"{resource.path}?per_page={per_page}&page={deepest + 1}")
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "page"
    assert f"pages go up to {deepest}" in body["details"][0]["hint"]
    assert "cursor" in body["details"][0]["hint"]
