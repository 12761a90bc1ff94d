"""The response cache on every resource: X-Cache hits and misses, invalidation on writes,
Cache-Control for anonymous and authenticated reads, and scopes still checked on a hit.
"""

from __future__ import annotations

from collections.abc import Callable

from apiflask import APIFlask
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.contract import EVERY, PRIVATE, PUBLIC
from tests.support.resources import Resource

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
