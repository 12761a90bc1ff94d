"""What only templates do: their fields and ids, PUT and PATCH of them, and their limits.

The HTTP contract templates share with every resource is tests/contract/.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.resources import TEMPLATES, create_template, new_template, template_path

FIELDS = {"templateid", "name", "description", "content", "created", "modified"}


def test_create_returns_the_template_with_defaults(client: FlaskClient) -> None:
    response = client.post(TEMPLATES, json=new_template())
    assert response.status_code == 201
    template = response.get_json()
    assert template.keys() == FIELDS  # the internal key tidx stays inside
    assert uuid.UUID(template["templateid"]).version == 4
    assert template["description"] == ""
    assert template["content"] == ""
    assert template["created"].endswith("Z")
    assert template["created"] == template["modified"]
    assert response.headers["ETag"].startswith(f'"tpl-{template["templateid"]}-')


def test_content_keeps_its_whitespace_and_names_are_trimmed(client: FlaskClient) -> None:
    template = create_template(client, name="  Welcome  ", content="\n  Hello {{ name }},\n\t\n")
    assert template["name"] == "Welcome"
    assert template["content"] == "\n  Hello {{ name }},\n\t\n"


def test_the_uppercase_form_of_an_id_finds_the_template(client: FlaskClient) -> None:
    template = create_template(client)
    response = client.get(f"{TEMPLATES}/{template['templateid'].upper()}")
    assert response.get_json() == template


def test_put_replaces_every_field(client: FlaskClient) -> None:
    template = create_template(client, description="old", content="old text")
    response = client.put(template_path(template), json={"name": "Farewell"})
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["name"] == "Farewell"
    assert replaced["description"] == ""
    assert replaced["content"] == ""
    assert replaced["templateid"] == template["templateid"]
    assert replaced["created"] == template["created"]
    assert replaced["modified"] > template["modified"]


def test_patch_changes_only_what_is_sent(client: FlaskClient) -> None:
    template = create_template(client, description="keep", content="old")
    response = client.patch(template_path(template), json={"content": "new"})
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["content"] == "new"
    assert changed["description"] == "keep"
    assert changed["name"] == template["name"]
    assert changed["modified"] > template["modified"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": None}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"description": "d" * 5001}, "description"),
        ({"description": None}, "description"),
        ({"description": ["a"]}, "description"),
        ({"content": "c" * 102_401}, "content"),
        ({"content": "\N{GRINNING FACE}" * 25_601}, "content"),  # 102,404 bytes of UTF-8
        ({"name": "del\x7f"}, "name"),
        ({"name": "next\x85line"}, "name"),
        ({"content": None}, "content"),
        ({"content": "bell\x07"}, "content"),
        ({"content": {"text": "hi"}}, "content"),
        ({"tidx": 1}, "tidx"),  # the internal key, never written from outside
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_invalid_values_are_422_naming_the_field(
    client: FlaskClient, method: str, fields: dict[str, Any], field: str
) -> None:
    path = TEMPLATES if method == "post" else template_path(create_template(client))
    response = getattr(client, method)(path, json=new_template(**fields))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in body["details"]] == [field]
    assert body["details"][0]["issue"]
    assert body["details"][0]["hint"]


def test_the_largest_values_are_accepted(client: FlaskClient) -> None:
    template = create_template(
        client, name="n" * 200, description="d" * 5000, content="c" * 102_400
    )
    assert len(template["content"]) == 102_400
    assert client.get(template_path(template)).get_json() == template
