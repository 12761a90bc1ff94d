"""GET /api/v1/audit: admins only, newest first, paged by cursor, filtered; never written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import update

from shelf.audit.models import AuditRecord
from shelf.extensions import db
from tests.support.audit import audit_records
from tests.support.people import bearer_headers, make_user
from tests.support.resources import BOOKS, TEMPLATES, create_book, create_template

AUDIT = "/api/v1/audit"


def cursor_at(moment: str) -> str:
    """A cursor such as the list gives out, after a record at `moment` with id 1."""
    raw = json.dumps({"s": "-at", "p": 2, "k": [moment, 1]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def listed(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get(AUDIT, query_string=query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def actions(body: dict[str, Any]) -> list[str]:
    return [item["action"] for item in body["items"]]


def test_records_are_listed_newest_first_and_walked_by_cursor(
    app: APIFlask, client: FlaskClient
) -> None:
    book = create_book(client)
    client.patch(f"{BOOKS}/{book['id']}", json={"copies": 5})
    create_template(client)
    client.delete(f"{BOOKS}/{book['id']}")
    expected = ["book.delete", "template.create", "book.update", "book.create", "api_key.create"]

    first = listed(client, per_page=2)
    assert (first["total"], first["total_exact"]) == (5, True)
    assert actions(first) == expected[:2]
    item = first["items"][0]
    assert set(item) == {
        "id", "at", "actor_kind", "actor_id", "action", "target_type", "target_id",
        "request_id", "client_ip", "changes",
    }  # fmt: skip
    assert item["at"].endswith("Z")
    walked = actions(first)
    page = first
    while page["links"]["next"]:
        assert page["links"]["next"].startswith("?cursor=")
        response = client.get(AUDIT + page["links"]["next"])
        assert response.status_code == 200
        page = response.get_json()
        walked += actions(page)
    assert walked == expected
    assert actions(listed(client, sort="at")) == expected[::-1]
    assert response.headers["Cache-Control"] == "no-store"


def test_filters_by_actor_target_action_and_time(
    app: APIFlask, client: FlaskClient, issue_key: Callable[..., str]
) -> None:
    writer = app.test_client()
    writer.environ_base["HTTP_X_API_KEY"] = issue_key("books:write")
    mine, theirs = create_book(client), create_book(writer)
    create_template(client)
    key = next(r for r in audit_records(app) if r["actor_kind"] == "api_key")["actor_id"]

    by_actor = listed(client, actor_kind="api_key", actor_id=key)
    assert [i["target_id"] for i in by_actor["items"]] == [
        i["target_id"] for i in listed(client)["items"] if i["actor_id"] == key
    ]
    assert actions(listed(client, actor_kind="system")) == ["api_key.create", "api_key.create"]
    by_target = listed(client, target_type="book", target_id=str(theirs["id"]))
    assert [(i["action"], i["actor_id"]) for i in by_target["items"]] == [
        ("book.create", by_target["items"][0]["actor_id"])
    ]
    assert by_target["items"][0]["actor_id"] != key
    assert len(listed(client, target_type="book")["items"]) == 2
    assert actions(listed(client, action="template.create")) == ["template.create"]
    assert mine["id"] != theirs["id"]

    # Times: move the records apart, one hour each, oldest first.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        for n, record in enumerate(audit_records(app)):
            db.session.execute(
                update(AuditRecord)
                .where(AuditRecord.id == record["id"])
                .values(at=start + timedelta(hours=n))
            )
        db.session.commit()
    window = listed(client, since="2026-01-01T01:00:00Z", until="2026-01-01T04:00:00+01:00")
    assert [i["at"] for i in window["items"]] == ["2026-01-01T02:00:00Z", "2026-01-01T01:00:00Z"]
    east = listed(client, since="2026-01-01T05:00:00+02:00")
    assert [i["at"] for i in east["items"]] == ["2026-01-01T04:00:00Z", "2026-01-01T03:00:00Z"]
    empty = listed(client, since="2026-01-01T03:00:00Z", until="2026-01-01T01:00:00Z")
    assert empty["items"] == []  # an empty window holds nothing; it is no error


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no timezone
        ({"until": "2026-01-01"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-01T00:00:00Z"}, "since"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),  # before year 1 in UTC
        ({"since": "1700000000"}, "since"),
        ({"actor_id": "1"}, "actor_id"),
        ({"target_id": "1"}, "target_id"),
        ({"actor_kind": "robot"}, "actor_kind"),
        ({"sort": "action"}, "sort"),
        ({"per_page": 0}, "per_page"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": cursor_at("0001-01-01T00:00:00+01:00")}, "cursor"),  # before year 1 in UTC
        ({"action": "x" * 201}, "action"),
    ],
)
def test_invalid_filters_are_422_naming_the_field(
    client: FlaskClient, query: dict[str, Any], field: str
) -> None:
    response = client.get(AUDIT, query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [detail["field"].split(".")[-1] for detail in response.get_json()["details"]] == [field]


def test_only_admins_may_read_the_log(
    app: APIFlask, anon: FlaskClient, issue_key: Callable[..., str]
) -> None:
    response = anon.get(AUDIT)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    for scopes in (["books:write"], ["templates:read", "templates:write", "users:admin"]):
        response = anon.get(AUDIT, headers={"X-API-KEY": issue_key(*scopes)})
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
        assert "admin" in response.get_json()["detail"]
    for role, status in (("member", 403), ("librarian", 403), ("admin", 200)):
        headers = bearer_headers(app, make_user(app, role=role))
        assert anon.get(AUDIT, headers=headers).status_code == status, role


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_records_cannot_be_written_through_the_api(client: FlaskClient, method: str) -> None:
    create_book(client)
    response = client.open(AUDIT, method=method, json={"action": "book.create"})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) <= {"GET", "HEAD", "OPTIONS"}
    first = listed(client)["items"][0]["id"]
    response = client.open(f"{AUDIT}/{first}", method=method, json={})
    assert response.status_code in (404, 405)
    assert response.mimetype == "application/problem+json"
    assert client.get(TEMPLATES).status_code == 200
