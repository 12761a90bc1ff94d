"""Items and their ETags: If-None-Match and 304, If-Match with 412 and 428, an empty PATCH,
and concurrent read-modify-write on the production server, for every resource.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from apiflask import APIFlask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.checks import assert_problem
from tests.support.contract import EVERY, body_for
from tests.support.resources import Resource
from tests.support.servers import ServerProcess

# Items and their ETags


@EVERY
def test_a_create_answers_with_the_location_of_the_item(
    client: FlaskClient, resource: Resource
) -> None:
    created = client.post(resource.path, json=resource.new)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location == resource.item_path(created.get_json())  # a path: no Host in it
    fetched = client.get(location)
    assert fetched.status_code == 200
    assert fetched.get_json() == created.get_json()


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


# Concurrent writers, on the production server


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


def _patch_at_once(client: FlaskClient, path: str, headers: dict[str, str]) -> list[TestResponse]:
    """Twenty PATCHes of `path`, each in a thread of its own, all released together."""
    bodies = [{"description": f"Writer {n}"} for n in range(20)]
    start = Barrier(len(bodies))

    def patch(body: dict[str, object]) -> TestResponse:
        start.wait(timeout=30)
        response: TestResponse = client.patch(path, json=body, headers=headers)
        return response

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(patch, bodies))


@EVERY
def test_concurrent_patches_without_if_match_all_apply(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    """No precondition sent: every PATCH is applied, each as a version of its own."""
    responses = _patch_at_once(client, existing, headers={})
    assert [r.status_code for r in responses] == [200] * 20, [r.get_json() for r in responses]
    etags = {response.headers["ETag"] for response in responses}
    assert len(etags) == 20
    final = client.get(existing)
    assert final.headers["ETag"] in etags
    assert final.get_json()["description"] in {r.get_json()["description"] for r in responses}


@EVERY
def test_concurrent_patches_with_one_if_match_let_exactly_one_through(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    """All twenty name the same ETag: one is applied, nineteen are 412 and change nothing."""
    etag = client.get(existing).headers["ETag"]
    responses = _patch_at_once(client, existing, headers={"If-Match": etag})
    assert sorted(r.status_code for r in responses) == [200] + [412] * 19
    (winner,) = [response for response in responses if response.status_code == 200]
    final = client.get(existing)
    assert final.get_json() == winner.get_json()
    assert final.headers["ETag"] == winner.headers["ETag"]


@EVERY
def test_an_empty_patch_changes_nothing(client: FlaskClient, resource: Resource) -> None:
    item = resource.create(client)
    response = client.patch(resource.item_path(item), json={})
    assert response.status_code == 200
    assert response.get_json() == item
