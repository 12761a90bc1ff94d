"""Who may do what to someone else's things: every API route with an id, every method, six kinds
of caller (OWASP API1 object level, API3 property level, API5 function level authorization).

The victim is a member with a loan of a book; beside them stand a template, an API key and a
client. Each caller acts on the victim's objects. Where it may not, the answer is 401, 403 or
404 (404 where the object belongs to a user it may not see, so that its existence does not
leak), the body shows nothing of the victim, and no row of any table has changed.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from shelf.auth import api_keys, tokens
from shelf.auth.models import OAuthClient
from shelf.extensions import db
from shelf.models import Base
from tests.support.people import bearer_headers, make_user

CALLERS = ("anonymous", "member", "librarian", "admin", "api_key", "client")
KEY_SCOPES = ("books:write", "templates:read", "templates:write", "loans:read", "loans:write")
CLIENT_SCOPES = "templates:read loans:read loans:write"
# Rows that a refused request may still write, or that a read updates: never the victim's data.
UNWATCHED = {"audit_records", "idempotency_records", "revoked_tokens"}
UNWATCHED_COLUMNS = {"last_used_at"}

# Who may call each operation on the victim's objects (beside these, nobody).
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/books/<int:book_id>"): set(CALLERS),
    ("GET", "/api/v2/books/<int:book_id>"): set(CALLERS),
    ("PUT", "/api/v1/books/<int:book_id>"): {"librarian", "admin", "api_key"},
    ("PATCH", "/api/v1/books/<int:book_id>"): {"librarian", "admin", "api_key"},
    ("DELETE", "/api/v1/books/<int:book_id>"): {"librarian", "admin", "api_key"},
    ("GET", "/api/v1/templates/<uuid:templateid>"): {"admin", "api_key", "client"},
    ("PUT", "/api/v1/templates/<uuid:templateid>"): {"admin", "api_key"},
    ("PATCH", "/api/v1/templates/<uuid:templateid>"): {"admin", "api_key"},
    ("DELETE", "/api/v1/templates/<uuid:templateid>"): {"admin", "api_key"},
    ("GET", "/api/v1/users/<int:user_id>"): {"admin"},
    ("PATCH", "/api/v1/users/<int:user_id>"): {"admin"},
    ("GET", "/api/v1/users/<int:user_id>/loans"): {"librarian", "admin"},
    ("POST", "/api/v1/users/<int:user_id>/loans"): {"librarian", "admin"},
    ("GET", "/api/v1/loans/<int:loan_id>"): {"librarian", "admin"},
    ("POST", "/api/v1/loans/<int:loan_id>/return"): {"librarian", "admin"},
    ("GET", "/api/v1/apikeys/<int:key_id>"): {"admin"},
    ("DELETE", "/api/v1/apikeys/<int:key_id>"): {"admin"},
    ("POST", "/api/v1/apikeys/<int:key_id>/revoke"): {"admin"},
    ("POST", "/api/v1/apikeys/<int:key_id>/rotate"): {"admin"},
    ("GET", "/api/v1/clients/<string(maxlength=64):client_id>"): {"admin"},
    ("POST", "/api/v1/clients/<string(maxlength=64):client_id>/revoke"): {"admin"},
    ("POST", "/api/v1/clients/<string(maxlength=64):client_id>/rotate"): {"admin"},
}
# A body that the operation would accept, so that only authorization can refuse it.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "books"): {"title": "Taken over", "author": "Mallory", "copies": 5},
    ("PATCH", "books"): {"title": "Taken over"},
    ("PUT", "templates"): {"name": "Taken over", "content": "Mallory was here"},
    ("PATCH", "templates"): {"content": "Mallory was here"},
    ("PATCH", "users"): {"role": "admin", "active": False},
}


def _routes(app: APIFlask) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.arguments
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def test_the_table_names_every_route_with_an_id(app: APIFlask) -> None:
    assert set(_routes(app)) == set(ALLOWED), "say who may call the new operation in ALLOWED"


@dataclass
class Scene:
    """The victim's email, and their objects as the paths name them."""

    email: str
    ids: dict[str, str]


_victims = itertools.count()


def _scene(app: APIFlask, issue_key: Any) -> Scene:
    number = next(_victims)
    email = f"victim{number}@example.org"
    victim = make_user(app, email=email, full_name="Victor Victim")
    admin_key = {"X-API-KEY": issue_key("admin")}
    setup = app.test_client()
    book = setup.post("/api/v1/books", json={"title": "Lent", "author": "A", "copies": 2},
                      headers=admin_key).get_json()  # fmt: skip
    template = setup.post(
        "/api/v1/templates", json={"name": "Victim's", "content": "secret plans"}, headers=admin_key
    ).get_json()
    loan = setup.post(
        f"/api/v1/users/{victim.id}/loans", json={"book_id": book["id"]}, headers=admin_key
    )
    assert loan.status_code == 201, loan.get_json()
    with app.app_context():
        key = api_keys.create_key(db.session, owner="victim", scopes=["templates:read"]).key
        db.session.add(
            OAuthClient(
                client_id=f"victim-client-{number}",
                secret_hash=hashlib.sha256(b"s" * 32).hexdigest(),
                name="Victim's client", scopes="templates:read", redirect_uris="",
                grant_types="client_credentials",
            )
        )  # fmt: skip
        db.session.commit()
        key_id = key.id
    return Scene(
        email=email,
        ids={
            "book_id": str(book["id"]),
            "templateid": template["templateid"],
            "user_id": str(victim.id),
            "loan_id": str(loan.get_json()["id"]),
            "key_id": str(key_id),
            "client_id": f"victim-client-{number}",
        },
    )


def _headers(app: APIFlask, caller: str, issue_key: Any) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "api_key":
        return {"X-API-KEY": issue_key(*KEY_SCOPES, owner="someone else")}
    if caller == "client":
        issued = tokens.issue_access_token(
            app.extensions["shelf.settings"], subject="other-client", scope=CLIENT_SCOPES,
            client_id="other-client",
        )  # fmt: skip
        return {"Authorization": f"Bearer {issued.token}"}
    return bearer_headers(app, make_user(app, role=caller))


def _snapshot(app: APIFlask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context(), db.engine.connect() as connection:
        return {
            table.name: sorted(
                (
                    tuple(row._mapping[c.name] for c in table.c if c.name not in UNWATCHED_COLUMNS)
                    for row in connection.execute(select(table))
                ),
                key=repr,
            )
            for table in Base.metadata.sorted_tables
            if table.name not in UNWATCHED
        }


def _path(rule: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        for converter in ("int", "uuid", "string(maxlength=64)"):
            rule = rule.replace(f"<{converter}:{name}>", value)
    return rule


@pytest.mark.parametrize(
    ("method", "rule"), [pytest.param(*key, id=" ".join(key)) for key in sorted(ALLOWED)]
)
def test_a_caller_does_only_what_it_may_to_anothers_objects(
    app: APIFlask, issue_key: Any, method: str, rule: str
) -> None:
    # The callers it refuses first, on one scene: each must leave it as it was. Then each
    # caller it allows, on a scene of its own (a DELETE leaves nothing for the next one).
    refused = [caller for caller in CALLERS if caller not in ALLOWED[(method, rule)]]
    allowed = [caller for caller in CALLERS if caller in ALLOWED[(method, rule)]]
    scene = _scene(app, issue_key)
    for caller in refused:
        headers = _headers(app, caller, issue_key)  # the caller exists before the snapshot
        before = _snapshot(app)
        response = _act(app, scene, headers, method, rule)
        assert response.status_code in (401, 403, 404), (caller, response.get_json())
        assert scene.email not in response.get_data(as_text=True), caller
        assert "secret plans" not in response.get_data(as_text=True), caller
        assert _snapshot(app) == before, caller
    for caller in allowed:
        headers = _headers(app, caller, issue_key)
        response = _act(app, _scene(app, issue_key), headers, method, rule)
        assert response.status_code not in (401, 403, 404), (caller, response.get_json())
        assert response.status_code < 500, (caller, response.get_data(as_text=True))


def _act(
    app: APIFlask, scene: Scene, headers: dict[str, str], method: str, rule: str
) -> TestResponse:
    resource = rule.split("/")[3]
    body = BODIES.get((method, resource), {"book_id": int(scene.ids["book_id"])})
    client: FlaskClient = app.test_client()
    return client.open(
        _path(rule, scene.ids), method=method, headers=headers,
        json=body if method in ("POST", "PUT", "PATCH") else None,
    )  # fmt: skip
