"""The OpenAPI document says what the server enforces: each rule the server checks, the
document states, so that a value the document allows is accepted and one it excludes refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.contract import EVERY
from tests.support.resources import BOOKS, Resource, create_book

UPDATES = {"books": "BookUpdate", "templates": "TemplateUpdate"}
CREATES = {"books": "BookCreate", "templates": "TemplateCreate"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").get_json()
    return body


def _matches(schema: dict[str, Any], value: str) -> bool:
    return len(value) <= schema.get("maxLength", len(value)) and bool(
        re.search(schema["pattern"], value)
    )


def _query_parameter(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    parameters = spec["paths"][path]["get"]["parameters"]
    (parameter,) = [p for p in parameters if p["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    return schema


SORTS = ["", ",", "{0},", ",{0}", "{0},,{0}", " {0} ", "{0} , -{0}", "-{0}", "\t{0}", "- {0}"]


@EVERY
def test_sort_is_accepted_exactly_when_it_matches_its_pattern(
    client: FlaskClient, spec: dict[str, Any], resource: Resource
) -> None:
    schema = _query_parameter(spec, resource.path, "sort")
    for value in (sort.format(resource.label) for sort in SORTS):
        response = client.get(resource.path, query_string={"sort": value})
        assert response.status_code == (200 if _matches(schema, value) else 422), repr(value)


@EVERY
def test_patch_fields_are_nullable_in_the_document_exactly_when_null_is_accepted(
    client: FlaskClient, spec: dict[str, Any], resource: Resource, existing: str
) -> None:
    properties = spec["components"]["schemas"][UPDATES[resource.name]]["properties"]
    for name, schema in properties.items():
        nullable = {"type": "null"} in schema.get("anyOf", [])
        response = client.patch(existing, json={name: None})
        assert response.status_code == (200 if nullable else 422), name
        assert nullable == (name not in resource.not_null), name
        assert "default" not in schema or nullable, name


def test_every_request_body_is_required(spec: dict[str, Any], client: FlaskClient) -> None:
    bodies = [
        operation["requestBody"]
        for item in spec["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert bodies  # every POST, PUT and PATCH that takes one
    assert all(body.get("required") is True for body in bodies)
    assert client.post(BOOKS).status_code == 400


TEXTS = [
    "plain",
    "  padded  ",
    "",
    "   ",
    "\t\n",
    "\u00a0\u3000",  # no-break and ideographic spaces: whitespace too
    "\ufeff",  # a byte-order mark is not whitespace
    "nul\x00",
    "bell\x07",
    "next\x85line",
    "del\x7f",
    "tab\tand\nnewline",
]


@EVERY
def test_text_fields_are_accepted_exactly_when_they_match_their_pattern(
    client: FlaskClient, spec: dict[str, Any], resource: Resource, existing: str
) -> None:
    properties = spec["components"]["schemas"][CREATES[resource.name]]["properties"]
    texts = {name: schema for name, schema in properties.items() if "pattern" in schema}
    assert len(texts) == 3
    for name, schema in texts.items():
        for text in TEXTS:
            response = client.patch(existing, json={name: text})
            expected = 200 if _matches(schema, text) else 422
            assert response.status_code == expected, f"{name}: {text!r}"


@EVERY
def test_text_length_limits_count_the_characters_sent(
    client: FlaskClient, spec: dict[str, Any], resource: Resource, existing: str
) -> None:
    schema = spec["components"]["schemas"][CREATES[resource.name]]["properties"][resource.label]
    at_limit = "x" * (schema["maxLength"] - 1) + " "
    assert client.patch(existing, json={resource.label: at_limit}).status_code == 200
    over = at_limit + " "
    assert client.patch(existing, json={resource.label: over}).status_code == 422


ISBNS = [
    ("978-0-13-468599-1", True),
    ("0306406152", True),
    ("0-306-40615-2", True),
    ("0-8044-2957-x", True),
    ("080442957X", True),
    ("080442957x", True),
    ("9780306406158", False),  # wrong check digit: matches the pattern, refused
    ("0306406153", False),
    ("\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662", False),  # Arabic-Indic
    ("978030640615", False),
    ("isbn 9780306406157", False),
    ("9780306406157\n", False),
]


def test_isbns_are_accepted_when_they_match_the_pattern_and_their_check_digit_is_right(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    schema = spec["components"]["schemas"]["BookCreate"]["properties"]["isbn"]["anyOf"][0]
    assert schema["format"] == "isbn"
    assert "check digit" in schema["description"]
    for isbn, valid in ISBNS:
        assert _matches(schema, isbn) or not valid, isbn
        response = client.post(BOOKS, json={"title": "T", "author": "A", "isbn": isbn})
        assert response.status_code == (201 if valid else 422), isbn
        listed = client.get(BOOKS, query_string={"isbn": isbn})
        assert listed.status_code == (200 if valid else 422), isbn
        if valid:  # some are the same book written two ways
            assert client.delete(f"{BOOKS}/{response.get_json()['id']}").status_code == 204


def test_integers_may_be_written_with_a_zero_fraction(client: FlaskClient) -> None:
    book = create_book(client, published_year=2019.0, copies=3.0)
    assert (book["published_year"], book["copies"]) == (2019, 3)
    assert client.post(BOOKS, json={"title": "T", "author": "A", "copies": 3.5}).status_code == 422


def test_the_year_of_publication_is_bounded_by_this_year(spec: dict[str, Any]) -> None:
    year = spec["components"]["schemas"]["BookCreate"]["properties"]["published_year"]["anyOf"][0]
    assert year["maximum"] == datetime.now(UTC).year


@EVERY
def test_a_created_item_links_to_every_operation_on_it(
    client: FlaskClient, spec: dict[str, Any], resource: Resource
) -> None:
    links = spec["paths"][resource.path]["post"]["responses"]["201"]["links"]
    item_path = next(p for p in spec["paths"] if p.startswith(f"{resource.path}/{{"))
    pointer = "#/paths/" + item_path.replace("/", "~1")
    methods = {link["operationRef"].removeprefix(f"{pointer}/") for link in links.values()}
    assert methods == spec["paths"][item_path].keys()
    created = resource.create(client)
    for link in links.values():
        ((parameter, expression),) = link["parameters"].items()
        assert item_path.endswith(f"{{{parameter}}}")
        value = created[expression.removeprefix("$response.body#/")]
        assert client.get(f"{resource.path}/{value}").status_code == 200
