"""Records made outside a request (commands), events that change no row (`record`,
`record_now`), what a record never holds (secrets), and that reads never reach the listener."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from shelf.audit import service as audit
from shelf.auth import api_keys
from shelf.extensions import db
from tests.support.audit import audit_records, containing, recorded
from tests.support.factories import shelf_cli
from tests.support.people import PASSWORD, make_user
from tests.support.resources import BOOKS, create_book


def test_a_key_issued_by_the_cli_is_recorded_as_made_by_the_system(
    app: APIFlask, database_url: str
) -> None:
    with recorded(app) as records:
        output = shelf_cli(
            ["apikeys", "create", "--owner", "ops", "--scopes", "books:write"], database_url
        )
    secret = output.splitlines()[0]
    (record,) = records
    assert (record["action"], record["target_type"]) == ("api_key.create", "api_key")
    assert (record["actor_kind"], record["actor_id"]) == ("system", None)
    assert (record["request_id"], record["client_ip"]) == (None, None)
    assert record["changes"]["owner"] == "ops"
    assert record["changes"]["scopes"] == "books:write"
    assert "key_hash" not in record["changes"]
    assert containing(app, secret, api_keys.digest(secret)) == []


def test_no_record_holds_a_key_s_secret_or_its_hash(
    app: APIFlask, client: FlaskClient, issue_key: Callable[..., str]
) -> None:
    issued = client.post("/api/v1/apikeys", json={"owner": "bot", "scopes": ["books:write"]})
    assert issued.status_code == 201, issued.get_json()
    secrets = [issued.get_json()["secret"], issue_key("templates:read")]
    for secret in secrets:  # used, then revoked: each a write of its row
        assert client.get(BOOKS, headers={"X-API-KEY": secret}).status_code == 200
    revoked = client.post(f"/api/v1/apikeys/{issued.get_json()['id']}/revoke")
    assert revoked.status_code == 200, revoked.get_json()
    assert {"api_key.create", "api_key.update"} <= {r["action"] for r in audit_records(app)}
    for secret in secrets:
        assert containing(app, secret, api_keys.digest(secret)) == []


def test_no_record_holds_a_password_or_its_hash(app: APIFlask) -> None:
    with recorded(app) as records:
        user = make_user(app, email="reader@example.org")
    (record,) = records
    assert (record["action"], record["target_id"]) == ("user.create", str(user.id))
    assert record["changes"]["email"] == "reader@example.org"
    assert not [key for key in record["changes"] if audit.SECRET_NAME.search(key)]
    assert containing(app, PASSWORD, user.password_hash) == []
    with app.app_context(), recorded(app) as changed:
        stored = db.session.merge(user)
        stored.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$new"
        db.session.commit()
    # A new password is a change of the user, recorded without the field.
    assert [(r["action"], r["changes"]) for r in changed] == [("user.update", {})]
    assert containing(app, "$argon2id$") == []


def test_a_key_s_use_is_no_change_to_record(app: APIFlask, issue_key: Callable[..., str]) -> None:
    secret = issue_key("books:write")
    with recorded(app) as records:
        response = app.test_client().post(
            BOOKS, json={"title": "T", "author": "A"}, headers={"X-API-KEY": secret}
        )
        assert response.status_code == 201
    assert [r["action"] for r in records] == ["book.create"]  # not the key's last_used_at


def test_record_writes_with_the_transaction_and_drops_secrets(app: APIFlask) -> None:
    with app.app_context(), recorded(app) as records:
        audit.record(db.session, action="user.sign_in", target_type="user", target_id=7)
        db.session.rollback()
        audit.record(
            db.session,
            action="user.sign_in",
            target_type="user",
            target_id=7,
            changes={"client_id": "shelf", "password": PASSWORD, "refresh_token": "r"},
            actor=audit.Actor("user", "7"),
        )
        db.session.commit()
    (record,) = records
    assert (record["actor_kind"], record["actor_id"]) == ("user", "7")
    assert (record["target_type"], record["target_id"]) == ("user", "7")
    assert record["changes"] == {"client_id": "shelf"}


def test_record_now_commits_an_event_of_a_request_that_then_fails(app: APIFlask) -> None:
    environ = {"REMOTE_ADDR": "198.51.100.4"}
    request = app.test_request_context("/api/v1/auth/token", environ_base=environ)
    with recorded(app) as records, request:
        audit.record_now(
            db.session,
            action="user.sign_in_failed",
            target_type="user",
            changes={"email": "who@example.org"},
        )
        db.session.rollback()  # the request's failure: the record is already committed
    (record,) = records
    assert (record["action"], record["actor_kind"], record["actor_id"]) == (
        "user.sign_in_failed",
        "anonymous",
        None,
    )
    assert record["client_ip"] == "198.51.100.4"
    assert record["changes"] == {"email": "who@example.org"}


@pytest.fixture
def flushes() -> Iterator[list[Any]]:
    """Every session flush while the test runs: the only time the audit listener runs."""
    seen: list[Any] = []

    def count(session: Session, flush_context: Any) -> None:
        seen.append(session)

    event.listen(Session, "after_flush", count)
    yield seen
    event.remove(Session, "after_flush", count)


def test_reads_never_reach_the_listener(
    app: APIFlask, client: FlaskClient, flushes: list[Any]
) -> None:
    book = create_book(client)
    client.get("/api/v1/audit")  # the key's first use stamps last_used_at
    flushes.clear()
    anon = app.test_client()
    for path in (BOOKS, f"{BOOKS}/{book['id']}", f"/api/v2/books/{book['id']}"):
        assert anon.get(path).status_code == 200
    assert client.get("/api/v1/audit").status_code == 200
    assert client.get(f"{BOOKS}?author=Frank+Herbert").status_code == 200
    assert flushes == []
