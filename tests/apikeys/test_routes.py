"""API keys over HTTP, for admins: issue (the secret shown once), list, read, revoke, rotate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.auth.models import ApiKey
from shelf.extensions import db
from tests.support.checks import assert_problem
from tests.support.people import bearer_headers, make_user
from tests.support.resources import BOOKS, new_book

KEYS = "/api/v1/apikeys"
SHOWN = {
    "id",
    "prefix",
    "owner",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
}


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def issue(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post(KEYS, json={"owner": "importer", "scopes": ["books:write"], **fields})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert response.headers["Location"] == f"{KEYS}/{body['id']}"
    return body


def writes_books(anon: FlaskClient, secret: str) -> int:
    status: int = anon.post(BOOKS, json=new_book(), headers={"X-API-KEY": secret}).status_code
    return status


def test_an_issued_key_works_and_its_secret_is_shown_once(
    client: FlaskClient, anon: FlaskClient, app: APIFlask
) -> None:
    expires = "2030-06-01T12:00:00Z"
    created = issue(client, scopes=["books:write", "loans:read", "books:write"], expires_at=expires)
    assert created.keys() == SHOWN | {"secret"}
    assert created["secret"].startswith(created["prefix"])
    assert created["scopes"] == ["books:write", "loans:read"]
    assert created["expires_at"] == expires
    assert created["revoked_at"] is None
    assert writes_books(anon, created["secret"]) == 201
    for response in (client.get(f"{KEYS}/{created['id']}"), client.get(KEYS)):
        assert response.status_code == 200
        assert created["secret"] not in response.get_data(as_text=True)
    shown = client.get(f"{KEYS}/{created['id']}").get_json()
    assert shown.keys() == SHOWN
    assert shown["last_used_at"] is not None
    with app.app_context():
        stored = db.session.scalars(select(ApiKey).where(ApiKey.id == created["id"])).one()
        assert created["secret"] not in (stored.key_hash, stored.prefix)


def test_a_key_without_expiry_never_expires(client: FlaskClient) -> None:
    assert issue(client)["expires_at"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["books:read"]}, "scopes.0"),
        ({"scopes": "books:write"}, "scopes"),
        ({"owner": ""}, "owner"),
        ({"owner": "o" * 201}, "owner"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no offset
        ({"expires_at": "3026-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"secret": "shelf_mine"}, "secret"),
        ({"revoked_at": None}, "revoked_at"),
    ],
)
def test_invalid_keys_are_422(client: FlaskClient, fields: dict[str, Any], field: str) -> None:
    body = {"owner": "importer", "scopes": ["books:write"], **fields}
    problem = assert_problem(client.post(KEYS, json=body), 422, "VALIDATION_FAILED")
    assert field in [detail["field"] for detail in problem["details"]]


def test_the_list_pages_newest_first_and_filters(client: FlaskClient) -> None:
    made = [issue(client, owner=f"owner {n}") for n in range(3)]
    response = client.get(KEYS, query_string={"per_page": 2})
    body = response.get_json()
    assert body["total"] == 4  # and the client's own admin key
    assert [item["owner"] for item in body["items"]] == ["owner 2", "owner 1"]
    assert all(item.keys() == SHOWN for item in body["items"])
    assert 'rel="next"' in response.headers["Link"]
    following = client.get(KEYS + body["links"]["next"]).get_json()
    assert [item["owner"] for item in following["items"]] == ["owner 0", "tests"]
    assert following["links"]["next"] is None
    by_owner = client.get(KEYS, query_string={"owner": "owner 1"}).get_json()
    assert [item["id"] for item in by_owner["items"]] == [made[1]["id"]]
    client.delete(f"{KEYS}/{made[0]['id']}")
    revoked = client.get(KEYS, query_string={"revoked": "true"}).get_json()
    assert [item["id"] for item in revoked["items"]] == [made[0]["id"]]
    active = client.get(KEYS, query_string={"revoked": "false", "sort": "owner"}).get_json()
    assert [item["owner"] for item in active["items"]] == ["owner 1", "owner 2", "tests"]


@pytest.mark.parametrize("revoke", ["delete", "post"])
def test_a_revoked_key_is_refused_at_once(
    client: FlaskClient, anon: FlaskClient, revoke: str
) -> None:
    created = issue(client)
    assert writes_books(anon, created["secret"]) == 201  # its check is now remembered
    path = f"{KEYS}/{created['id']}"
    if revoke == "delete":
        response = client.delete(path)
        assert response.status_code == 204
        assert response.data == b""
    else:
        response = client.post(f"{path}/revoke")
        assert response.status_code == 200
        assert response.get_json()["revoked_at"] is not None
    assert writes_books(anon, created["secret"]) == 401
    revoked_at = client.get(path).get_json()["revoked_at"]
    assert revoked_at is not None
    assert client.post(f"{path}/revoke").get_json()["revoked_at"] == revoked_at  # once


def test_rotating_issues_a_new_secret_and_revokes_the_old(
    client: FlaskClient, anon: FlaskClient
) -> None:
    old = issue(
        client, owner="nightly", scopes=["books:write", "jobs:read"], expires_at=in_days(30)
    )
    response = client.post(f"{KEYS}/{old['id']}/rotate")
    assert response.status_code == 201
    new = response.get_json()
    assert response.headers["Location"] == f"{KEYS}/{new['id']}"
    assert new["id"] != old["id"]
    assert new["secret"] != old["secret"]
    assert (new["owner"], new["scopes"]) == ("nightly", ["books:write", "jobs:read"])
    lifetime = datetime.fromisoformat(new["expires_at"]) - datetime.fromisoformat(new["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(minutes=1)
    assert writes_books(anon, old["secret"]) == 401
    assert writes_books(anon, new["secret"]) == 201
    assert client.get(f"{KEYS}/{old['id']}").get_json()["revoked_at"] is not None
    again = client.post(f"{KEYS}/{old['id']}/rotate")
    assert assert_problem(again, 409, "CONFLICT")["details"][0]["field"] == "key_id"


@pytest.mark.parametrize("key_id", ["999999", "2147483648", "99999999999999999999"])
def test_an_unknown_key_is_404_on_every_operation(client: FlaskClient, key_id: str) -> None:
    path = f"{KEYS}/{key_id}"
    for response in (
        client.get(path),
        client.delete(path),
        client.post(f"{path}/revoke"),
        client.post(f"{path}/rotate"),
    ):
        assert_problem(response, 404, "NOT_FOUND")


def operations(key_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("get", KEYS, None),
        ("post", KEYS, {"owner": "x", "scopes": ["admin"]}),
        ("get", f"{KEYS}/{key_id}", None),
        ("delete", f"{KEYS}/{key_id}", None),
        ("post", f"{KEYS}/{key_id}/revoke", None),
        ("post", f"{KEYS}/{key_id}/rotate", None),
    ]


def test_only_admins_manage_keys(
    client: FlaskClient, anon: FlaskClient, app: APIFlask, issue_key: Callable[..., str]
) -> None:
    target = issue(client)
    librarian = bearer_headers(app, make_user(app, role="librarian"))
    not_admin = {"X-API-KEY": issue_key("users:admin", "books:write", "loans:admin")}
    for method, path, body in operations(target["id"]):
        for headers in (librarian, not_admin):
            response = getattr(anon, method)(path, json=body, headers=headers)
            assert "admin" in assert_problem(response, 403, "FORBIDDEN")["detail"]
        assert_problem(getattr(anon, method)(path, json=body), 401, "UNAUTHORIZED")
    assert writes_books(anon, target["secret"]) == 201  # nothing was revoked or rotated


def test_an_admin_signed_in_manages_keys(anon: FlaskClient, app: APIFlask) -> None:
    admin = bearer_headers(app, make_user(app, role="admin"))
    body = {"owner": "x", "scopes": ["templates:read"]}
    created = anon.post(KEYS, json=body, headers=admin)
    assert created.status_code == 201
    path = f"{KEYS}/{created.get_json()['id']}"
    assert anon.post(f"{path}/rotate", headers=admin).status_code == 201
    assert anon.get(KEYS, headers=admin).get_json()["total"] == 2
