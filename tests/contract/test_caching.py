"""The response cache on every resource: X-Cache hits and misses, invalidation on writes,
Cache-Control for anonymous and authenticated reads, and scopes still checked on a hit.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

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


# What a cached entry holds: only what its key holds, and every header of the answer


def stable_headers(response: TestResponse) -> dict[str, str]:
    """The headers of `response` that two answers to the same read must share."""
    per_request = {"X-Request-ID", "X-Cache", "RateLimit-Remaining", "Date"}
    return {name: value for name, value in response.headers.items() if name not in per_request}


@EVERY
@pytest.mark.parametrize("caller", ["reader", "client"])
def test_a_hit_answers_every_header_of_the_miss(
    request: pytest.FixtureRequest, listed: FlaskClient, resource: Resource, caller: str
) -> None:
    """Anonymous book reads are hits of the shortcut; keyed reads go through Flask."""
    reading: FlaskClient = request.getfixturevalue(caller)
    page = f"{resource.path}?per_page=2&page=2"
    item = resource.item_path(listed.get(resource.path).get_json()["items"][0])
    for path, needed in ((page, {"Link", "ETag"}), (item, {"ETag"})):
        miss, hit = reading.get(path), reading.get(path)
        assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
        assert needed <= stable_headers(miss).keys()
        assert stable_headers(hit) == stable_headers(miss)
        assert hit.get_data() == miss.get_data()


@EVERY
def test_a_forwarded_prefix_never_reaches_a_cached_page(
    make_app: Callable[..., APIFlask],
    listed: FlaskClient,
    resource: Resource,
    issue_key: Callable[..., str],
) -> None:
    behind_proxy = make_app(trusted_proxies=1).test_client()
    if resource.read_scope:
        behind_proxy.environ_base["HTTP_X_API_KEY"] = issue_key(resource.read_scope)
    path = f"{resource.path}?per_page=2&page=2"
    prefixed = behind_proxy.get(path, headers={"X-Forwarded-Prefix": "//evil.example"})
    plain = behind_proxy.get(path)
    assert plain.headers["X-Cache"] == "HIT"
    for response in (plain, prefixed):
        links = response.get_json()["links"]
        assert "evil" not in response.headers["Link"]
        assert not any("evil" in link for link in links.values() if link)
    # Relative to the request: behind any prefix, the next page is the same list's.
    last_page = urljoin(f"https://api.example/shelf{path}", plain.get_json()["links"]["last"])
    assert last_page == f"https://api.example/shelf{resource.path}?page=3&per_page=2"


@EVERY
def test_unknown_parameters_are_ignored(reader: FlaskClient, resource: Resource) -> None:
    first = reader.get(f"{resource.path}?per_page=2&utm_source={'x' * 500}")
    assert first.headers["X-Cache"] == "MISS"
    for query in ("per_page=2&utm_source=other", "per_page=2", "page=1&per_page=2&junk=1"):
        assert reader.get(f"{resource.path}?{query}").headers["X-Cache"] == "HIT", query
    assert "utm_source" not in first.headers["Link"]
    assert not any("utm_source" in link for link in first.get_json()["links"].values() if link)
    item = reader.get(resource.path).get_json()["links"]["self"]
    assert item == "?page=1&per_page=20"
