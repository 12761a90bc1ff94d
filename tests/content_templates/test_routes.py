"""The templates API, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from shelf.app import create_app
from shelf.extensions import db
from tests.books.test_routes import assert_problem
from tests.conftest import make_settings

TEMPLATES = "/api/v1/templates"
FIELDS = {"templateid", "name", "description", "content", "created", "modified"}
BAD_BODIES = ["[]", '"a string"', "42", "true"]
MALFORMED_IDS = [
    "abc",
    "42",
    "3f2b8c1e-6d4a-4b7e-9c0d-2a1e5f8b7c6",  # one digit short
    "3f2b8c1e-6d4a-4b7e-9c0d-2a1e5f8b7c64x",
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "%00",
]


def new_template(**fields: Any) -> dict[str, Any]:
    return {"name": "Welcome", **fields}


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post(TEMPLATES, json=new_template(**fields))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def url(template: dict[str, Any]) -> str:
    return f"{TEMPLATES}/{template['templateid']}"


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
    template = create(client, name="  Welcome  ", content="\n  Hello {{ name }},\n\t\n")
    assert template["name"] == "Welcome"
    assert template["content"] == "\n  Hello {{ name }},\n\t\n"


def test_get_returns_the_template_with_its_etag(client: FlaskClient) -> None:
    created = client.post(TEMPLATES, json=new_template(content="Hi"))
    template = created.get_json()
    response = client.get(url(template))
    assert response.status_code == 200
    assert response.get_json() == template
    assert response.headers["ETag"] == created.headers["ETag"]


def test_the_uppercase_form_of_an_id_finds_the_template(client: FlaskClient) -> None:
    template = create(client)
    response = client.get(f"{TEMPLATES}/{template['templateid'].upper()}")
    assert response.get_json() == template


def test_if_none_match_gives_304(client: FlaskClient) -> None:
    template = create(client)
    etag = client.get(url(template)).headers["ETag"]
    assert client.get(url(template), headers={"If-None-Match": etag}).status_code == 304


def test_put_replaces_every_field(client: FlaskClient) -> None:
    template = create(client, description="old", content="old text")
    response = client.put(url(template), json={"name": "Farewell"})
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["name"] == "Farewell"
    assert replaced["description"] == ""
    assert replaced["content"] == ""
    assert replaced["templateid"] == template["templateid"]
    assert replaced["created"] == template["created"]
    assert replaced["modified"] > template["modified"]


def test_patch_changes_only_what_is_sent(client: FlaskClient) -> None:
    template = create(client, description="keep", content="old")
    response = client.patch(url(template), json={"content": "new"})
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["content"] == "new"
    assert changed["description"] == "keep"
    assert changed["name"] == template["name"]
    assert changed["modified"] > template["modified"]


@pytest.mark.parametrize("field", ["name", "description", "content"])
def test_patch_cannot_null_a_field(client: FlaskClient, field: str) -> None:
    template = create(client)
    response = client.patch(url(template), json={field: None})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in body["details"]] == [field]
    assert client.get(url(template)).get_json() == template


def test_every_write_changes_the_etag(client: FlaskClient) -> None:
    created = client.post(TEMPLATES, json=new_template())
    etags = [created.headers["ETag"]]
    path = url(created.get_json())
    for step in range(3):
        response = client.patch(path, json={"content": f"version {step}"})
        etags.append(response.headers["ETag"])
    assert len(set(etags)) == len(etags)
    assert client.get(path).headers["ETag"] == etags[-1]


def test_a_stale_if_match_is_412_and_changes_nothing(client: FlaskClient) -> None:
    template = create(client)
    stale = client.get(url(template)).headers["ETag"]
    fresh = client.patch(url(template), json={"content": "mine"}, headers={"If-Match": stale})
    assert fresh.status_code == 200
    for method in ("put", "patch"):
        response = getattr(client, method)(
            url(template), json=new_template(content="theirs"), headers={"If-Match": stale}
        )
        assert_problem(response, 412, "PRECONDITION_FAILED")
    assert_problem(
        client.delete(url(template), headers={"If-Match": stale}), 412, "PRECONDITION_FAILED"
    )
    assert client.get(url(template)).get_json()["content"] == "mine"
    current = fresh.headers["ETag"]
    assert client.delete(url(template), headers={"If-Match": current}).status_code == 204


def test_writes_without_if_match_are_428_where_required(
    client: FlaskClient, database_url: str, issue_key: Callable[..., str]
) -> None:
    template = create(client)
    strict = create_app(make_settings(database_url=database_url, require_if_match=True))
    writer = strict.test_client()
    writer.environ_base["HTTP_X_API_KEY"] = issue_key("templates:write")
    try:
        for method in ("put", "patch", "delete"):
            response = getattr(writer, method)(url(template), json=new_template())
            assert_problem(response, 428, "PRECONDITION_REQUIRED")
        etag = client.get(url(template)).headers["ETag"]
        response = writer.patch(url(template), json={"content": "x"}, headers={"If-Match": etag})
        assert response.status_code == 200
    finally:
        with strict.app_context():
            db.dispose()


def test_delete_gives_204_then_404(client: FlaskClient) -> None:
    template = create(client)
    response = client.delete(url(template))
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.get(url(template)), 404, "NOT_FOUND")
    assert_problem(client.delete(url(template)), 404, "NOT_FOUND")


@pytest.mark.parametrize("templateid", [*MALFORMED_IDS, str(uuid.uuid4())])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_unknown_and_malformed_ids_are_404(
    client: FlaskClient, templateid: str, method: str
) -> None:
    response = getattr(client, method)(f"{TEMPLATES}/{templateid}", json=new_template())
    assert_problem(response, 404, "NOT_FOUND")


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
        ({"templateid": str(uuid.uuid4())}, "templateid"),
        ({"tidx": 1}, "tidx"),
        ({"created": "2026-01-01T00:00:00Z"}, "created"),
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_invalid_values_are_422_naming_the_field(
    client: FlaskClient, method: str, fields: dict[str, Any], field: str
) -> None:
    path = TEMPLATES if method == "post" else url(create(client))
    response = getattr(client, method)(path, json=new_template(**fields))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in body["details"]] == [field]
    assert body["details"][0]["issue"]
    assert body["details"][0]["hint"]


def test_the_largest_values_are_accepted(client: FlaskClient) -> None:
    template = create(client, name="n" * 200, description="d" * 5000, content="c" * 102_400)
    assert len(template["content"]) == 102_400
    assert client.get(url(template)).get_json() == template


@pytest.mark.parametrize("method", ["post", "put"])
def test_a_missing_name_is_named(client: FlaskClient, method: str) -> None:
    path = TEMPLATES if method == "post" else url(create(client))
    body = assert_problem(
        getattr(client, method)(path, json={"content": "x"}), 422, "VALIDATION_FAILED"
    )
    assert [d["field"] for d in body["details"]] == ["name"]


def test_an_empty_patch_changes_nothing(client: FlaskClient) -> None:
    template = create(client)
    response = client.patch(url(template), json={})
    assert response.status_code == 200
    assert response.get_json() == template


# A `null` body reaches the schema as `{}` (APIFlask's reading of an absent body): for PATCH
# that is the empty change, covered above.
@pytest.mark.parametrize(
    ("method", "payload"),
    [
        *[(method, payload) for method in ("post", "put", "patch") for payload in BAD_BODIES],
        ("post", "null"),
        ("put", "null"),
    ],
)
def test_a_body_that_is_not_an_object_is_422(
    client: FlaskClient, method: str, payload: str
) -> None:
    path = TEMPLATES if method == "post" else url(create(client))
    response = getattr(client, method)(path, data=payload, content_type="application/json")
    assert_problem(response, 422, "VALIDATION_FAILED")


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(TEMPLATES, data='{"name": ', content_type="application/json")
    assert_problem(response, 400, "BAD_REQUEST")


def test_a_non_json_body_is_415(client: FlaskClient) -> None:
    response = client.post(TEMPLATES, data="name=Welcome", content_type="text/plain")
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_over_the_limit_is_413(client: FlaskClient) -> None:
    response = client.post(TEMPLATES, json=new_template(content="c" * 2_000_000))
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.delete(TEMPLATES)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
