"""Clients, by `shelf clients` and over HTTP (admins), and the server's published metadata."""

from __future__ import annotations

from collections.abc import Callable

from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth import tokens
from tests.support.factories import shelf_cli
from tests.support.oauth import TOKEN, basic, problem_error

CLIENTS = "/api/v1/clients"


def test_the_cli_creates_lists_and_revokes_clients(app: APIFlask, database_url: str) -> None:
    client_id, secret, note = shelf_cli(
        ["clients", "create", "--name", "Importer", "--scopes", "books:write"], database_url
    ).splitlines()
    assert "store the secret now" in note
    public = shelf_cli(
        ["clients", "create", "--name", "App", "--scopes", "loans:read", "--public",
         "--redirect-uri", "https://app.example/cb"],
        database_url,
    ).splitlines()  # fmt: skip
    assert public[1].startswith("public client 'App'")  # a client id, no secret
    listing = shelf_cli(["clients", "list"], database_url)
    assert (
        f"{client_id}\tImporter\tconfidential\tbooks:write\tclient_credentials\tactive" in listing
    )
    assert f"{public[0]}\tApp\tpublic\tloans:read\tauthorization_code,refresh_token" in listing
    assert secret not in listing
    anon = app.test_client()
    form = {"grant_type": "client_credentials"}
    assert anon.post(TOKEN, data=form, headers=basic(client_id, secret)).status_code == 200
    assert "revoked client" in shelf_cli(["clients", "revoke", client_id], database_url)
    refused = anon.post(TOKEN, data=form, headers=basic(client_id, secret))
    assert problem_error(refused, 401) == "invalid_client"


def test_admins_manage_clients_over_http(
    app: APIFlask, client: FlaskClient, issue_key: Callable[..., str]
) -> None:
    created = client.post(
        CLIENTS, json={"name": "Importer", "scopes": ["books:write", "books:write"]}
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["client_secret"]
    assert body["scopes"] == ["books:write"]
    assert body["grant_types"] == ["client_credentials"]
    assert body["public"] is False
    assert created.headers["Location"].endswith(f"{CLIENTS}/{body['client_id']}")
    listed = client.get(CLIENTS).get_json()
    assert listed["total"] == 1
    assert "client_secret" not in listed["items"][0]
    assert client.get(f"{CLIENTS}/{body['client_id']}").get_json()["name"] == "Importer"

    rotated = client.post(f"{CLIENTS}/{body['client_id']}/rotate")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["client_secret"]
    anon = app.test_client()
    form = {"grant_type": "client_credentials"}
    old = anon.post(TOKEN, data=form, headers=basic(body["client_id"], body["client_secret"]))
    assert problem_error(old, 401) == "invalid_client"
    assert (
        anon.post(TOKEN, data=form, headers=basic(body["client_id"], new_secret)).status_code == 200
    )

    revoked = client.post(f"{CLIENTS}/{body['client_id']}/revoke")
    assert revoked.get_json()["revoked_at"] is not None
    assert client.post(f"{CLIENTS}/{body['client_id']}/rotate").status_code == 409
    assert client.post(f"{CLIENTS}/nobody/revoke").status_code == 404

    member = app.test_client()
    member.environ_base["HTTP_X_API_KEY"] = issue_key("books:write")
    assert member.get(CLIENTS).status_code == 403


def test_client_registrations_are_validated(client: FlaskClient) -> None:
    for invalid in (
        {"name": "A", "scopes": ["nonsense"]},
        {
            "name": "A",
            "scopes": ["books:write"],
            "public": True,
            "grant_types": ["client_credentials"],
        },
        {"name": "A", "scopes": ["books:write"], "grant_types": ["authorization_code"]},
        {"name": "A", "scopes": ["books:write"], "redirect_uris": ["http://evil.example/cb"]},
    ):
        answer = client.post(CLIENTS, json=invalid)
        assert answer.status_code == 422, (invalid, answer.get_json())
    native = client.post(
        CLIENTS,
        json={"name": "A", "scopes": ["loans:read"], "public": True,
              "redirect_uris": ["com.example.app:/callback", "http://127.0.0.1:5000/cb"]},
    )  # fmt: skip
    assert native.status_code == 201, native.get_json()
    assert native.get_json()["client_secret"] is None


def test_metadata_and_keys_are_published(app: APIFlask, anon: FlaskClient) -> None:
    answer = anon.get("/.well-known/oauth-authorization-server")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    metadata = answer.get_json()
    issuer = app.extensions["shelf.settings"].oauth_issuer
    assert metadata["issuer"] == issuer
    assert metadata["token_endpoint"] == f"{issuer}/api/v1/auth/token"
    assert metadata["authorization_endpoint"] == f"{issuer}/api/v1/auth/authorize"
    assert metadata["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code", "client_credentials", "password", "refresh_token",
    }  # fmt: skip
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert "admin" in metadata["scopes_supported"]
    keys = anon.get("/.well-known/jwks.json")
    assert keys.headers["Cache-Control"] == "public, max-age=300"
    assert keys.get_json() == tokens.jwks(app.extensions["shelf.settings"])
    assert all("d" not in key for key in keys.get_json()["keys"])
