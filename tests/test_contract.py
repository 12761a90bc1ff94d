"""The HTTP contract every resource keeps, checked for each of RESOURCES on SQLite and PostgreSQL.

ETags and conditional requests, body rules, 404/405/413/415, paging, sorting and `q`, the
response cache, scopes and rate limits. The resources are described in
tests/support/resources.py; what only one resource does is tested in its own directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from shelf.core.principal import SCOPES
from shelf.models import Base
from tests.support.checks import assert_problem, page_of
from tests.support.resources import RESOURCES, Resource
from tests.support.servers import ServerProcess


def each(resources: list[Resource]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("resource", resources, ids=str)


EVERY = each(RESOURCES)
PUBLIC = each([resource for resource in RESOURCES if resource.public_reads])
PRIVATE = each([resource for resource in RESOURCES if not resource.public_reads])

WRITE_METHODS = ["post", "put", "patch"]
Operation = tuple[str, str]  # method, "list" | "one"
READS: list[Operation] = [("get", "list"), ("get", "one")]
WRITES: list[Operation] = [("post", "list"), ("put", "one"), ("patch", "one"), ("delete", "one")]
LABELS = ["Welcome", "Overdue reminder", "Reservation ready", "100% off_sale", "Farewell"]


@pytest.fixture
def existing(client: FlaskClient, resource: Resource) -> str:
    """The path of an item of `resource`, created by an admin."""
    return resource.item_path(resource.create(client))


@pytest.fixture
def listed(client: FlaskClient, resource: Resource) -> FlaskClient:
    """The admin's client, after creating an item labelled with each of LABELS, in order."""
    for label in LABELS:
        resource.create_labelled(client, label)
    return client


@pytest.fixture
def reader(app: APIFlask, resource: Resource, issue_key: Callable[..., str]) -> FlaskClient:
    """A client that may read `resource` and do no more: no key at all when reads are public."""
    reading = app.test_client()
    if resource.read_scope:
        reading.environ_base["HTTP_X_API_KEY"] = issue_key(resource.read_scope)
    return reading


def path_to_write(client: FlaskClient, resource: Resource, method: str) -> str:
    """Where `method` writes: the collection for POST, a new item otherwise."""
    return resource.path if method == "post" else resource.item_path(resource.create(client))


def body_for(resource: Resource, method: str) -> dict[str, Any] | None:
    return {"post": resource.new, "put": resource.new, "patch": resource.change}.get(method)


def send(
    client: FlaskClient, resource: Resource, operation: Operation, item: str, key: str | None
) -> TestResponse:
    method, target = operation
    headers = {"X-API-KEY": key} if key else {}
    path = resource.path if target == "list" else item
    response: TestResponse = getattr(client, method)(
        path, json=body_for(resource, method), headers=headers
    )
    return response


def labels(client: FlaskClient, resource: Resource, query: str) -> list[str]:
    response = client.get(f"{resource.path}?{query}")
    assert response.status_code == 200, response.get_json()
    return [item[resource.label] for item in response.get_json()["items"]]


# Items and their ETags


@EVERY
def test_create_and_get_answer_the_item_with_the_same_etag(
    client: FlaskClient, resource: Resource
) -> None:
    created = client.post(resource.path, json=resource.new)
    assert created.status_code == 201
    item = created.get_json()
    assert item.items() >= resource.new.items()
    response = client.get(resource.item_path(item))
    assert response.status_code == 200
    assert response.get_json() == item
    assert response.headers["ETag"] == created.headers["ETag"]


@EVERY
def test_if_none_match_gives_304_until_the_item_changes(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    for n, path in enumerate((existing, resource.path)):
        etag = client.get(path).headers["ETag"]
        not_modified = client.get(path, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304
        assert not_modified.data == b""
        client.patch(existing, json={resource.label: f"Changed {n}"})
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 200


@EVERY
def test_every_write_changes_the_etag(client: FlaskClient, resource: Resource) -> None:
    created = client.post(resource.path, json=resource.new)
    path = resource.item_path(created.get_json())
    etags = [
        created.headers["ETag"],
        client.patch(path, json=resource.change).headers["ETag"],
        client.put(path, json=resource.new).headers["ETag"],
    ]
    assert len(set(etags)) == len(etags)
    assert client.get(path).headers["ETag"] == etags[-1]


@EVERY
def test_a_stale_if_match_is_412_and_changes_nothing(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    stale = {"If-Match": client.get(existing).headers["ETag"]}
    fresh = client.put(existing, json={**resource.new, resource.label: "Mine"}, headers=stale)
    assert fresh.status_code == 200
    theirs = {**resource.new, resource.label: "Theirs"}
    for method, body in (("put", theirs), ("patch", resource.change), ("delete", None)):
        response = getattr(client, method)(existing, json=body, headers=stale)
        assert_problem(response, 412, "PRECONDITION_FAILED")
    assert client.get(existing).get_json() == fresh.get_json()
    current = {"If-Match": fresh.headers["ETag"]}
    assert client.delete(existing, headers=current).status_code == 204


@EVERY
def test_the_current_etag_or_a_star_lets_a_write_through(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    current = client.get(existing).headers["ETag"]
    changed = client.patch(existing, json=resource.change, headers={"If-Match": current})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != current
    assert client.put(existing, json=resource.new, headers={"If-Match": "*"}).status_code == 200


@EVERY
def test_writes_without_if_match_are_428_where_required(
    client: FlaskClient,
    make_app: Callable[..., APIFlask],
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
) -> None:
    writer = make_app(require_if_match=True).test_client()
    writer.environ_base["HTTP_X_API_KEY"] = issue_key(resource.write_scope)
    for method in ("put", "patch", "delete"):
        response = getattr(writer, method)(existing, json=body_for(resource, method))
        assert_problem(response, 428, "PRECONDITION_REQUIRED")
    etag = client.get(existing).headers["ETag"]
    assert (
        writer.patch(existing, json=resource.change, headers={"If-Match": etag}).status_code == 200
    )
    assert writer.post(resource.path, json=resource.new).status_code == 201  # nothing to match


@EVERY
def test_delete_gives_204_then_404(client: FlaskClient, existing: str, resource: Resource) -> None:
    response = client.delete(existing)
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.get(existing), 404, "NOT_FOUND")
    assert_problem(client.delete(existing), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("resource", "missing_id"),
    [pytest.param(r, id_, id=f"{r}-{id_}") for r in RESOURCES for id_ in r.missing_ids],
)
def test_unknown_and_malformed_ids_are_404(
    client: FlaskClient, resource: Resource, missing_id: str
) -> None:
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(f"{resource.path}/{missing_id}", json=resource.new)
        assert_problem(response, 404, "NOT_FOUND")


# Request bodies


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_that_is_not_an_object_is_422(
    client: FlaskClient, resource: Resource, method: str
) -> None:
    path = path_to_write(client, resource, method)
    for payload in ("[]", '"a string"', "42", "true", "null"):
        response = getattr(client, method)(path, data=payload, content_type="application/json")
        assert_problem(response, 422, "VALIDATION_FAILED")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_malformed_json_is_400(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    response = getattr(client, method)(path, data='{"a": ', content_type="application/json")
    assert_problem(response, 400, "BAD_REQUEST")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_non_json_body_is_415(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = getattr(client, method)(path, data="a=1", content_type=content_type)
        assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_over_the_limit_is_413(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    huge = {**resource.new, resource.label: "x" * 2_000_000}
    assert_problem(getattr(client, method)(path, json=huge), 413, "PAYLOAD_TOO_LARGE")


@EVERY
def test_a_wrong_method_is_405_with_allow(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(resource.path, json=resource.new)
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    response = client.post(existing, json=resource.new)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}


@EVERY
@pytest.mark.parametrize("method", ["post", "put"])
def test_each_missing_required_field_is_named(
    client: FlaskClient, resource: Resource, method: str
) -> None:
    path = path_to_write(client, resource, method)
    body = assert_problem(getattr(client, method)(path, json={}), 422, "VALIDATION_FAILED")
    assert sorted(detail["field"] for detail in body["details"]) == sorted(resource.required)


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        pytest.param(r, field, id=f"{r}-{field}")
        for r in RESOURCES
        for field in (*r.read_only, "no_such_field")
    ],
)
def test_read_only_and_unknown_fields_are_422_naming_them(
    client: FlaskClient, resource: Resource, field: str
) -> None:
    item = resource.item_path(resource.create(client))
    for method, path in (("post", resource.path), ("put", item), ("patch", item)):
        response = getattr(client, method)(path, json={**body_for(resource, method), field: "x"})
        body = assert_problem(response, 422, "VALIDATION_FAILED")
        assert [detail["field"] for detail in body["details"]] == [field]
        assert body["details"][0]["issue"]
        assert body["details"][0]["hint"]


@pytest.mark.parametrize(
    ("resource", "field"),
    [pytest.param(r, field, id=f"{r}-{field}") for r in RESOURCES for field in r.not_null],
)
def test_patch_cannot_null_a_field_that_must_hold_a_value(
    client: FlaskClient, resource: Resource, field: str
) -> None:
    item = resource.create(client)
    response = client.patch(resource.item_path(item), json={field: None})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [detail["field"] for detail in body["details"]] == [field]
    assert client.get(resource.item_path(item)).get_json() == item


@EVERY
def test_an_empty_patch_changes_nothing(client: FlaskClient, resource: Resource) -> None:
    item = resource.create(client)
    response = client.patch(resource.item_path(item), json={})
    assert response.status_code == 200
    assert response.get_json() == item


# Lists: paging, sorting, `q`


@EVERY
def test_an_empty_list_is_200_with_no_items(client: FlaskClient, resource: Resource) -> None:
    body = client.get(resource.path).get_json()
    assert body["items"] == []
    assert body["total"] == 0
    assert body["page"] == 1
    assert body["per_page"] == 20


@EVERY
def test_pages_have_links_and_a_link_header(listed: FlaskClient, resource: Resource) -> None:
    response = listed.get(f"{resource.path}?per_page=2&page=2&sort={resource.label}")
    body = response.get_json()
    assert body["total"] == 5
    assert [item[resource.label] for item in body["items"]] == sorted(LABELS)[2:4]
    assert page_of(body["links"]["prev"]) == 1
    assert page_of(body["links"]["next"]) == 3
    assert page_of(body["links"]["last"]) == 3
    header = response.headers["Link"]
    for rel in ("first", "prev", "next", "last"):
        assert f'rel="{rel}"' in header
    assert f"sort={resource.label}" in header


@EVERY
def test_the_last_page_has_no_next(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=2&page=3").get_json()
    assert len(body["items"]) == 1
    assert body["links"]["next"] is None


@EVERY
def test_a_page_past_the_end_is_empty(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=2&page=9").get_json()
    assert body["items"] == []
    assert body["total"] == 5


@EVERY
def test_per_page_over_the_maximum_is_clamped(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=1000").get_json()
    assert body["per_page"] == 100
    assert len(body["items"]) == 5


@EVERY
@pytest.mark.parametrize("query", ["per_page=0", "per_page=-5", "page=0", "page=x", "per_page=1.5"])
def test_bad_paging_is_422(client: FlaskClient, resource: Resource, query: str) -> None:
    assert_problem(client.get(f"{resource.path}?{query}"), 422, "VALIDATION_FAILED")


@EVERY
def test_sort_by_the_label_either_way(listed: FlaskClient, resource: Resource) -> None:
    assert labels(listed, resource, f"sort={resource.label}") == sorted(LABELS)
    assert labels(listed, resource, f"sort=-{resource.label}") == sorted(LABELS, reverse=True)


@EVERY
def test_equal_sort_keys_keep_a_stable_order(client: FlaskClient, resource: Resource) -> None:
    ids = [resource.create_labelled(client, "Same")[resource.id_field] for _ in range(5)]
    seen = []
    for page in (1, 2, 3):
        query = f"sort={resource.label}&per_page=2&page={page}"
        body = client.get(f"{resource.path}?{query}").get_json()
        seen += [item[resource.id_field] for item in body["items"]]
    assert seen == ids


@pytest.mark.parametrize(
    ("resource", "sort"),
    [
        pytest.param(r, sort, id=f"{r}-{sort}")
        for r in RESOURCES
        for sort in (*r.unsortable, ",", f"{r.label};drop", f"--{r.label}", f"{r.label},-nothing")
    ],
)
def test_sorting_by_anything_else_is_422_listing_the_allowed(
    client: FlaskClient, resource: Resource, sort: str
) -> None:
    body = assert_problem(client.get(f"{resource.path}?sort={sort}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "sort"
    assert ", ".join(resource.sort_fields) in body["details"][0]["hint"]


@EVERY
def test_q_treats_wildcards_literally(listed: FlaskClient, resource: Resource) -> None:
    resource.create_labelled(listed, "Back\\slash and /slash")
    assert labels(listed, resource, "q=%25") == ["100% off_sale"]
    assert labels(listed, resource, "q=_") == ["100% off_sale"]
    assert labels(listed, resource, "q=%5C") == ["Back\\slash and /slash"]
    assert labels(listed, resource, "q=/") == ["Back\\slash and /slash"]


@EVERY
@pytest.mark.parametrize("q", ["émile", "ÉMILE", "Émile", "éMILE"])
def test_q_folds_case_beyond_ascii(client: FlaskClient, resource: Resource, q: str) -> None:
    resource.create_labelled(client, "Émile, ou De l'éducation")
    resource.create_labelled(client, "Emile without an accent")
    assert labels(client, resource, f"q={q}") == ["Émile, ou De l'éducation"]


@EVERY
def test_q_and_paging_count_only_matches(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?q=re&per_page=1").get_json()
    assert body["total"] == len([label for label in LABELS if "re" in label.lower()])
    assert "q=re" in body["links"]["next"]


@EVERY
@pytest.mark.parametrize("query", ["q=%00", "q=", "q=%20%20", f"q={'x' * 201}"])
def test_bad_searches_are_422_naming_q(client: FlaskClient, resource: Resource, query: str) -> None:
    body = assert_problem(client.get(f"{resource.path}?{query}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "q"


# The response cache


@EVERY
def test_reads_miss_then_hit(client: FlaskClient, resource: Resource, existing: str) -> None:
    for path in (resource.path, existing):
        assert client.get(path).headers["X-Cache"] == "MISS"
        hit = client.get(path)
        assert hit.headers["X-Cache"] == "HIT"
        assert hit.headers["ETag"]


@EVERY
def test_the_query_is_normalised(client: FlaskClient, resource: Resource) -> None:
    assert client.get(f"{resource.path}?page=1&per_page=5").headers["X-Cache"] == "MISS"
    assert client.get(f"{resource.path}?per_page=5&page=1").headers["X-Cache"] == "HIT"


@EVERY
def test_a_change_invalidates_list_and_item(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    client.get(resource.path)
    client.get(existing)
    client.patch(existing, json=resource.change)
    fresh_item = client.get(existing)
    assert fresh_item.headers["X-Cache"] == "MISS"
    assert fresh_item.get_json().items() >= resource.change.items()
    fresh_list = client.get(resource.path)
    assert fresh_list.headers["X-Cache"] == "MISS"
    assert fresh_list.get_json()["items"][0].items() >= resource.change.items()


@EVERY
def test_a_new_item_is_seen_by_the_next_cached_read(
    client: FlaskClient, resource: Resource
) -> None:
    resource.create_labelled(client, "First")
    assert client.get(resource.path).headers["X-Cache"] == "MISS"
    assert client.get(resource.path).headers["X-Cache"] == "HIT"
    resource.create_labelled(client, "Second")
    response = client.get(resource.path)
    assert response.headers["X-Cache"] == "MISS"
    assert sorted(item[resource.label] for item in response.get_json()["items"]) == [
        "First",
        "Second",
    ]


@EVERY
def test_a_cached_read_still_answers_if_none_match(
    reader: FlaskClient, resource: Resource, existing: str
) -> None:
    etag = reader.get(existing).headers["ETag"]
    response = reader.get(existing, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["X-Cache"] == "HIT"


@EVERY
def test_authenticated_reads_are_kept_from_shared_caches(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    for path in (resource.path, existing):
        assert client.get(path).headers["Cache-Control"] == "no-store"


@PUBLIC
def test_anonymous_reads_are_cached_apart_and_publicly(
    client: FlaskClient, anon: FlaskClient, resource: Resource
) -> None:
    client.get(resource.path)
    anonymous = anon.get(resource.path)
    assert anonymous.headers["X-Cache"] == "MISS"
    assert anonymous.headers["Cache-Control"].startswith("public, max-age=")
    assert client.get(resource.path).headers["Cache-Control"] == "no-store"


@PRIVATE
def test_a_cached_read_still_needs_the_scope(
    app: APIFlask, reader: FlaskClient, resource: Resource, issue_key: Callable[..., str]
) -> None:
    assert reader.get(resource.path).status_code == 200
    assert reader.get(resource.path).headers["X-Cache"] == "HIT"
    assert_problem(app.test_client().get(resource.path), 401, "UNAUTHORIZED")
    other = {"X-API-KEY": issue_key(resource.write_scope)}
    assert_problem(app.test_client().get(resource.path, headers=other), 403, "FORBIDDEN")


# Scopes


# Every operation that needs a key: writes, and reads where they are not public.
GUARDED = [
    pytest.param(resource, operation, id=f"{resource}-{'-'.join(operation)}")
    for resource in RESOURCES
    for operation in (WRITES if resource.public_reads else READS + WRITES)
]


def other_scopes(resource: Resource) -> list[str]:
    """Every scope there is but `resource`'s own and `admin`: none lets a caller use it."""
    return [scope for scope in SCOPES if scope not in resource.scopes and scope != "admin"]


@EVERY
@pytest.mark.parametrize("operation", WRITES)
def test_a_write_without_a_key_is_401_with_a_challenge(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    response = send(anon, resource, operation, existing, None)
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


@PRIVATE
@pytest.mark.parametrize("operation", READS)
def test_a_private_read_without_a_key_is_401_with_a_challenge(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    response = send(anon, resource, operation, existing, None)
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


@PUBLIC
@pytest.mark.parametrize("operation", READS)
@pytest.mark.parametrize("key", [None, "shelf_not-a-key"])
def test_public_reads_need_no_key_and_ignore_an_unknown_one(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation, key: str | None
) -> None:
    assert send(anon, resource, operation, existing, key).status_code == 200


@pytest.mark.parametrize(("resource", "operation"), GUARDED)
def test_an_unknown_key_is_401(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    assert_problem(send(anon, resource, operation, existing, "not-a-key"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("resource", "operation"), GUARDED)
def test_a_key_for_other_resources_is_403_naming_the_scope(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(*other_scopes(resource))
    body = assert_problem(send(anon, resource, operation, existing, key), 403, "FORBIDDEN")
    needed = resource.read_scope if operation in READS else resource.write_scope
    assert f"needs: {needed}" in body["detail"]
    assert body["message"] == body["detail"]


@PRIVATE
@pytest.mark.parametrize("operation", WRITES)
def test_the_read_scope_does_not_allow_writes(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(resource.read_scope)
    body = assert_problem(send(anon, resource, operation, existing, key), 403, "FORBIDDEN")
    assert resource.write_scope in body["detail"]


@PRIVATE
@pytest.mark.parametrize("operation", READS)
def test_the_write_scope_does_not_allow_reads(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(resource.write_scope)
    body = assert_problem(send(anon, resource, operation, existing, key), 403, "FORBIDDEN")
    assert f"needs: {resource.read_scope}" in body["detail"]


@PRIVATE
@pytest.mark.parametrize("operation", READS)
def test_the_read_scope_allows_reads(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    response = send(anon, resource, operation, existing, issue_key(resource.read_scope))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@EVERY
@pytest.mark.parametrize(
    ("operation", "status"),
    [(WRITES[0], 201), (WRITES[1], 200), (WRITES[2], 200), (WRITES[3], 204)],
)
def test_the_write_scope_allows_writes(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
    status: int,
) -> None:
    key = issue_key(resource.write_scope)
    assert send(anon, resource, operation, existing, key).status_code == status


# Rate limits


@pytest.fixture
def limited(
    make_app: Callable[..., APIFlask], resource: Resource, issue_key: Callable[..., str]
) -> FlaskClient:
    """A reader of `resource` on an app that allows 3 requests a minute."""
    reading = make_app(default_rate_limit=3).test_client()
    if resource.read_scope:
        reading.environ_base["HTTP_X_API_KEY"] = issue_key(resource.read_scope)
    return reading


@EVERY
def test_limited_responses_carry_ratelimit_headers(
    limited: FlaskClient, resource: Resource
) -> None:
    for remaining in ("2", "1"):
        response = limited.get(resource.path)
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == remaining
        assert int(response.headers["RateLimit-Reset"]) > 0


@EVERY
def test_over_the_limit_is_429_with_retry_after(limited: FlaskClient, resource: Resource) -> None:
    for _ in range(3):
        assert limited.get(resource.path).status_code == 200
    response = limited.get(resource.path)
    body = assert_problem(response, 429, "RATE_LIMITED")
    assert int(response.headers["Retry-After"]) > 0
    assert "Retry-After" in body["detail"]


# Concurrent writers, on the production server


@pytest.fixture
def postgres_server(
    postgresql_url: str,
    redis_url: str,
    redis_prefix: str,
    start_server: Callable[..., ServerProcess],
) -> Iterator[ServerProcess]:
    """Four workers of two threads on PostgreSQL, sharing Redis; the tables emptied after."""
    yield start_server(
        DATABASE_URL=postgresql_url,
        WEB_CONCURRENCY="4",
        WEB_THREADS="2",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
    )
    engine = create_engine(postgresql_url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.mark.server
@EVERY
def test_concurrent_read_modify_write_loses_no_update(
    postgres_server: ServerProcess, resource: Resource
) -> None:
    """Twenty writers each append to the label; with If-Match, every 200 is one append kept."""
    server = postgres_server
    headers = {"X-API-KEY": server.admin_key}
    collection = f"{server.url}{resource.path}"
    new = {**resource.new, resource.label: "C"}
    item = requests.post(collection, json=new, headers=headers, timeout=5).json()
    path = f"{collection}/{item[resource.id_field]}"

    def append(_: int) -> int:
        successes = 0
        for _attempt in range(5):
            current = requests.get(path, headers=headers, timeout=10)
            response = requests.patch(
                path,
                json={resource.label: current.json()[resource.label] + "x"},
                headers={**headers, "If-Match": current.headers["ETag"]},
                timeout=10,
            )
            # 412: someone else wrote first; 503: the row lock wait ran out under load.
            assert response.status_code in (200, 412, 503), response.text
            successes += response.status_code == 200
        return successes

    with ThreadPoolExecutor(max_workers=20) as pool:
        successes = sum(pool.map(append, range(20)))
    final = requests.get(path, headers=headers, timeout=5).json()
    assert successes > 0
    assert final[resource.label] == "C" + "x" * successes
