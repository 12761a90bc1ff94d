"""Creating POSTs with an Idempotency-Key, on every resource: replays, 422s, callers, caching."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.contract import EVERY
from tests.support.idempotency import count_items, post_with_key, stored_records
from tests.support.resources import RESOURCES, Resource

REPLAYED = "Idempotent-Replayed"
RESOURCE = {resource.name: resource for resource in RESOURCES}


@EVERY
def test_a_retry_is_the_first_answer_replayed_byte_for_byte(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    key = str(uuid.uuid4())
    first = post_with_key(client, resource, key)
    assert first.status_code == 201
    assert REPLAYED not in first.headers
    again = post_with_key(client, resource, key)
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.get_data() == first.get_data()
    for header in ("Content-Type", "Location", "ETag"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert again.headers["Cache-Control"] == "no-store"
    assert count_items(app, resource) == 1
    (record,) = stored_records(app)
    assert record.status == 201
    assert first.get_data() not in record.body  # stored sealed
    assert len(record.fingerprint) == 64


@EVERY
def test_the_quoted_form_of_the_draft_is_the_same_key(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    first = post_with_key(client, resource, "order-42")
    again = post_with_key(client, resource, '"order-42"')
    assert again.headers[REPLAYED] == "true"
    assert again.get_data() == first.get_data()
    assert count_items(app, resource) == 1


@EVERY
def test_the_same_key_with_another_body_is_422(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    post_with_key(client, resource, "k1", **{resource.label: "First"})
    response = post_with_key(client, resource, "k1", **{resource.label: "Second"})
    body = assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert body["details"][0]["field"] == "Idempotency-Key"
    assert "new key" in body["details"][0]["hint"]
    assert count_items(app, resource) == 1


def test_the_same_key_on_another_path_is_422(client: FlaskClient) -> None:
    books, templates = (RESOURCE[name] for name in ("books", "templates"))
    assert post_with_key(client, books, "shared").status_code == 201
    assert_problem(post_with_key(client, templates, "shared"), 422, "IDEMPOTENCY_KEY_REUSED")


@EVERY
def test_another_caller_with_the_same_key_gets_its_own_item(
    app: APIFlask, client: FlaskClient, resource: Resource, issue_key: Callable[..., str]
) -> None:
    other = app.test_client()
    other.environ_base["HTTP_X_API_KEY"] = issue_key(resource.write_scope, owner="other")
    mine = post_with_key(client, resource, "same-key")
    theirs = post_with_key(other, resource, "same-key")
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED not in theirs.headers
    assert theirs.headers["Location"] != mine.headers["Location"]
    assert count_items(app, resource) == 2
    assert len({record.caller for record in stored_records(app)}) == 2


@EVERY
def test_without_a_key_every_post_creates(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    for _ in range(2):
        assert post_with_key(client, resource, None).status_code == 201
    assert count_items(app, resource) == 2
    assert stored_records(app) == []


@EVERY
@pytest.mark.parametrize(
    ("key", "issue"),
    [
        ("", "printable ASCII"),
        ("x" * 256, "printable ASCII"),
        ('"' + "x" * 256 + '"', "printable ASCII"),
        ('""', "printable ASCII"),
        ("caf\u00e9", "printable ASCII"),
        ("tab\there", "printable ASCII"),
        ('"unterminated', "quoted string"),
        ('"bad \\n escape"', "quoted string"),
        ('"a", "b"', "quoted string"),
    ],
)
def test_a_malformed_key_is_422_naming_the_header(
    app: APIFlask, client: FlaskClient, resource: Resource, key: str, issue: str
) -> None:
    response = post_with_key(client, resource, key)
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    (detail,) = body["details"]
    assert detail["field"] == "Idempotency-Key"
    assert issue in detail["issue"]
    assert "printable ASCII" in detail["hint"]
    assert count_items(app, resource) == 0


@EVERY
def test_keys_of_255_printable_characters_are_accepted(
    client: FlaskClient, resource: Resource
) -> None:
    key = ("!a ~" * 64)[:255]
    assert post_with_key(client, resource, key).status_code == 201
    assert post_with_key(client, resource, key).headers[REPLAYED] == "true"


@EVERY
def test_a_request_that_fails_validation_stores_nothing(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    response = post_with_key(client, resource, "k", **{resource.label: ""})
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert stored_records(app) == []
    # The key is still free: corrected, the request runs.
    assert post_with_key(client, resource, "k").status_code == 201
    assert len(stored_records(app)) == 1


@EVERY
def test_an_unauthorised_request_stores_nothing(
    app: APIFlask, anon: FlaskClient, resource: Resource
) -> None:
    assert post_with_key(anon, resource, "k").status_code == 401
    assert stored_records(app) == []


@EVERY
def test_a_replay_leaves_the_cache_fresh(client: FlaskClient, resource: Resource) -> None:
    assert client.get(resource.path).get_json()["total"] == 0  # cached, empty
    first = post_with_key(client, resource, "k")
    listing = client.get(resource.path)  # the commit that stored the key cleared the cache
    assert listing.headers["X-Cache"] == "MISS"
    assert listing.get_json()["total"] == 1
    assert client.get(resource.path).headers["X-Cache"] == "HIT"
    replay = post_with_key(client, resource, "k")
    assert replay.headers[REPLAYED] == "true"
    assert "X-Cache" not in replay.headers
    assert client.get(resource.path).get_json()["total"] == 1
    item = client.get(first.headers["Location"])
    assert item.status_code == 200
    assert item.headers["ETag"] == replay.headers["ETag"]


@pytest.mark.parametrize(
    ("path", "body", "secret_field"),
    [
        ("/api/v1/apikeys", {"owner": "robot", "scopes": ["books:write"]}, "secret"),
        ("/api/v1/clients", {"name": "Importer", "scopes": ["books:write"]}, "client_secret"),
    ],
)
def test_a_secret_shown_once_is_shown_again_to_a_retry_and_stored_sealed(
    app: APIFlask, client: FlaskClient, path: str, body: dict[str, object], secret_field: str
) -> None:
    first = client.post(path, json=body, headers={"Idempotency-Key": "issue-once"})
    again = client.post(path, json=body, headers={"Idempotency-Key": "issue-once"})
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.headers[REPLAYED] == "true"
    assert again.get_data() == first.get_data()
    secret = first.get_json()[secret_field]
    (record,) = stored_records(app)
    assert secret.encode() not in record.body
