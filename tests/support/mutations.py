"""One example request for every operation of the API that changes something, and the audit
record it must write: the table tests/audit/test_every_mutation.py walks.

That test finds every POST, PUT, PATCH and DELETE operation in the OpenAPI document and
performs each with its example here; an operation without one fails it. A new operation joins
with one entry in MUTATIONS; one that changes nothing (a token introspection) with an entry
whose `action` is None, and must then write no record. `prepare` receives the app and a client
holding an `admin` API key, makes what the operation acts on, and returns the request to send:
its path parameters, its body (`json` or `form`), and its headers when not the admin key's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.app import create_app
from tests.support.factories import make_settings
from tests.support.oauth import basic, password_grant, register_client
from tests.support.people import PASSWORD, bearer_headers, make_user
from tests.support.resources import create_book, create_template, new_book, new_template

__all__ = ["MUTATIONS", "Call", "Mutation", "documented_mutations"]

MUTATING_METHODS = ("post", "put", "patch", "delete")
APIKEYS = "/api/v1/apikeys"
CLIENTS = "/api/v1/clients"
NEW_CLIENT = {"name": "Catalogue importer", "scopes": ["books:write"]}


@dataclass(frozen=True)
class Call:
    """The request that performs an operation, as `Mutation.prepare` made it ready."""

    params: dict[str, object] = field(default_factory=dict)  # the path's {parameters}
    json: Any = None
    form: dict[str, str] | None = None
    headers: dict[str, str] | None = None  # None: the admin key's (and its actor is checked)
    target_id: str | None = None  # None: the answer's `Mutation.id_field`


@dataclass(frozen=True)
class Mutation:
    """What an operation must record (action, target type) and how to perform it."""

    action: str | None  # None: the operation changes nothing, and records nothing
    target_type: str | None
    prepare: Callable[[APIFlask, FlaskClient], Call]
    id_field: str = "id"  # the field of the answer's body that names the target


def _book(app: APIFlask, client: FlaskClient, **call: Any) -> Call:
    book = create_book(client)
    return Call(params={"book_id": book["id"]}, target_id=str(book["id"]), **call)


def _template(app: APIFlask, client: FlaskClient, **call: Any) -> Call:
    template = create_template(client)
    templateid = template["templateid"]
    return Call(params={"templateid": templateid}, target_id=templateid, **call)


def _api_key(app: APIFlask, client: FlaskClient, **call: Any) -> Call:
    response = client.post(APIKEYS, json={"owner": "robot", "scopes": ["books:write"]})
    assert response.status_code == 201, response.get_json()
    key_id = response.get_json()["id"]
    return Call(params={"key_id": key_id}, target_id=str(key_id), **call)


def _user(app: APIFlask, client: FlaskClient, **call: Any) -> Call:
    user = make_user(app)
    return Call(params={"user_id": user.id}, target_id=str(user.id), **call)


def _me(app: APIFlask, client: FlaskClient) -> Call:
    user = make_user(app)
    headers = bearer_headers(app, user)
    return Call(json={"full_name": "Renamed Reader"}, headers=headers, target_id=str(user.id))


def _borrow(app: APIFlask, client: FlaskClient) -> Call:
    user, book = make_user(app), create_book(client, copies=2)
    return Call(params={"user_id": user.id}, json={"book_id": book["id"]})


def _loan(app: APIFlask, client: FlaskClient) -> Call:
    call = _borrow(app, client)
    response = client.post(f"/api/v1/users/{call.params['user_id']}/loans", json=call.json)
    assert response.status_code == 201, response.get_json()
    loan_id = response.get_json()["id"]
    return Call(params={"loan_id": loan_id}, target_id=str(loan_id))


def _client(app: APIFlask, client: FlaskClient) -> Call:
    response = client.post(CLIENTS, json=NEW_CLIENT)
    assert response.status_code == 201, response.get_json()
    client_id = response.get_json()["client_id"]
    return Call(params={"client_id": client_id}, target_id=client_id)


def _sign_in(app: APIFlask, client: FlaskClient) -> Call:
    user = make_user(app)
    form = {"grant_type": "password", "username": user.email, "password": PASSWORD}
    return Call(form=form, headers={}, target_id=str(user.id))


def _access_token(app: APIFlask) -> tuple[str, str]:
    """An access token from the password grant, and its jti."""
    user = make_user(app)
    response = password_grant(app.test_client(), user.email)
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return token, claims["jti"]


def _revoke(app: APIFlask, client: FlaskClient) -> Call:
    token, jti = _access_token(app)
    return Call(form={"token": token}, headers={"Authorization": f"Bearer {token}"}, target_id=jti)


def _introspect(app: APIFlask, client: FlaskClient) -> Call:
    token, _ = _access_token(app)
    client_id, secret = register_client(app)
    assert secret is not None
    return Call(form={"token": token}, headers=basic(client_id, secret))


# "method path" as the OpenAPI document writes them.
MUTATIONS: dict[str, Mutation] = {
    "post /api/v1/books": Mutation(
        "book.create", "book", lambda app, client: Call(json=new_book(copies=2))
    ),
    "put /api/v1/books/{book_id}": Mutation(
        "book.update", "book", lambda app, client: _book(app, client, json=new_book(copies=4))
    ),
    "patch /api/v1/books/{book_id}": Mutation(
        "book.update", "book", lambda app, client: _book(app, client, json={"copies": 3})
    ),
    "delete /api/v1/books/{book_id}": Mutation("book.delete", "book", _book),
    "post /api/v1/templates": Mutation(
        "template.create",
        "template",
        lambda app, client: Call(json=new_template()),
        id_field="templateid",
    ),
    "put /api/v1/templates/{templateid}": Mutation(
        "template.update",
        "template",
        lambda app, client: _template(app, client, json=new_template(content="Hi")),
    ),
    "patch /api/v1/templates/{templateid}": Mutation(
        "template.update",
        "template",
        lambda app, client: _template(app, client, json={"description": "Greeting"}),
    ),
    "delete /api/v1/templates/{templateid}": Mutation("template.delete", "template", _template),
    "post /api/v1/apikeys": Mutation(
        "api_key.create",
        "api_key",
        lambda app, client: Call(json={"owner": "robot", "scopes": ["templates:read"]}),
    ),
    "delete /api/v1/apikeys/{key_id}": Mutation("api_key.update", "api_key", _api_key),
    "post /api/v1/apikeys/{key_id}/revoke": Mutation("api_key.update", "api_key", _api_key),
    "post /api/v1/users": Mutation(  # signing up: no credentials
        "user.create",
        "user",
        lambda app, client: Call(
            json={"email": "new@example.org", "password": PASSWORD, "full_name": "New Reader"},
            headers={},
        ),
    ),
    "patch /api/v1/users/me": Mutation("user.update", "user", _me),
    "patch /api/v1/users/{user_id}": Mutation(
        "user.update", "user", lambda app, client: _user(app, client, json={"role": "librarian"})
    ),
    "post /api/v1/users/{user_id}/loans": Mutation("loan.create", "loan", _borrow),
    "post /api/v1/loans/{loan_id}/return": Mutation("loan.update", "loan", _loan),
    "post /api/v1/clients": Mutation(
        "oauth_client.create",
        "oauth_client",
        lambda app, client: Call(json=NEW_CLIENT),
        id_field="client_id",
    ),
    "post /api/v1/clients/{client_id}/revoke": Mutation(
        "oauth_client.update", "oauth_client", _client
    ),
    # A new secret: recorded without it.
    "post /api/v1/clients/{client_id}/rotate": Mutation(
        "oauth_client.update", "oauth_client", _client
    ),
    "post /api/v1/auth/token": Mutation("user.sign_in", "user", _sign_in),
    "post /api/v1/auth/revoke": Mutation("access_token.revoke", "access_token", _revoke),
    "post /api/v1/auth/introspect": Mutation(None, None, _introspect),
    # The new key; the old one is revoked too (api_key.update).
    "post /api/v1/apikeys/{key_id}/rotate": Mutation(
        "api_key.create",
        "api_key",
        lambda app, client: replace(_api_key(app, client), target_id=None),
    ),
}


def documented_mutations() -> list[str]:
    """Every operation with a mutating method in the OpenAPI document, as "method path"."""
    app = create_app(make_settings())  # the document needs no database
    with app.app_context():
        paths: dict[str, dict[str, Any]] = app.spec["paths"]
    return sorted(
        f"{method} {path}"
        for path, item in paths.items()
        for method in item
        if method in MUTATING_METHODS
    )
