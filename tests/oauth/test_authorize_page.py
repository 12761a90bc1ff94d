"""The authorization endpoint's page: sign in and consent, CSRF, errors that never redirect
to an unregistered address, and codes that redeem at the token endpoint with PKCE."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from apiflask import APIFlask
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from shelf.auth.models import AuthorizationCode, User
from shelf.extensions import db
from tests.support.oauth import CALLBACK, TOKEN, VERIFIER, register_client
from tests.support.people import PASSWORD, make_user

AUTHORIZE = "/api/v1/auth/authorize"
DOCS_CALLBACK = "/static/docs/oauth2-redirect.html"
STATE = "state-Xy_1"
GENERIC_ERROR = "The email address or password is not right"


@pytest.fixture
def reading_app(app: APIFlask) -> str:
    """A public client (PKCE, no secret) registered with one redirect URI; its client_id."""
    scopes = ["loans:read", "loans:write", "books:write"]
    client_id, _ = register_client(
        app, name="Reading app", scopes=scopes, public=True, redirect_uris=[CALLBACK]
    )
    return client_id


@pytest.fixture
def librarian(app: APIFlask) -> User:
    return make_user(app, role="librarian", email="lib@example.org")


def query(client_id: str, /, **more: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "loans:read books:write",
        "state": STATE,
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **more,
    }


def url(parameters: dict[str, str]) -> str:
    return f"{AUTHORIZE}?{urlencode(parameters)}"


def csrf_token(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(
    anon: FlaskClient, address: str, *, email: str = "lib@example.org", password: str = PASSWORD,
    decision: str = "allow", consent: list[str] | None = None,
) -> TestResponse:  # fmt: skip
    """Open the page at `address`, then send its form as a person would."""
    token = csrf_token(anon.get(address))
    form: dict[str, Any] = {"csrf_token": token, "email": email, "password": password}
    form["consent"] = consent if consent is not None else ["loans:read", "books:write"]
    return anon.post(address, data={**form, "decision": decision})


def codes(app: APIFlask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuthorizationCode)) or 0


def redirected_to(response: TestResponse) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    return location._replace(query="").geturl(), parse_qs(location.query)


def test_the_page_has_labels_a_heading_and_a_strict_policy(
    anon: FlaskClient, reading_app: str
) -> None:
    page = anon.get(url(query(reading_app)))
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.text
    assert '<html lang="en">' in html
    assert "<h1>Sign in to Shelf</h1>" in html
    assert "Reading app" in html
    for field in ("email", "password"):
        assert f'<label for="{field}">' in html
        assert f'id="{field}" name="{field}"' in html
    assert "<fieldset>" in html
    assert "<legend>Allow Reading app to</legend>" in html
    for number, scope in enumerate(("books:write", "loans:read"), start=1):
        assert f'<label for="scope-{number}">' in html
        assert f'value="{scope}" checked' in html
    assert "<script" not in html
    assert '<form method="post">' in html  # to this address, the request's query included
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert "form-action 'self' https://app.example" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "SameSite=Lax" in page.headers["Set-Cookie"]
    assert "HttpOnly" in page.headers["Set-Cookie"]


def test_its_stylesheet_is_served(anon: FlaskClient, reading_app: str) -> None:
    html = anon.get(url(query(reading_app))).text
    found = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert found
    with anon.get(found.group(1)) as stylesheet:
        assert stylesheet.status_code == 200
        assert stylesheet.mimetype == "text/css"


def test_a_post_without_the_csrf_token_is_refused(
    app: APIFlask, anon: FlaskClient, reading_app: str, librarian: User
) -> None:
    address = url(query(reading_app))
    anon.get(address)
    form = {"email": "lib@example.org", "password": PASSWORD, "decision": "allow"}
    for token in ({}, {"csrf_token": "forged"}):
        response = anon.post(address, data={**form, **token})
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "This form has expired" in response.text
    assert codes(app) == 0


def test_a_token_from_another_session_is_refused(
    app: APIFlask, anon: FlaskClient, reading_app: str, librarian: User
) -> None:
    address = url(query(reading_app))
    token = csrf_token(app.test_client().get(address))
    anon.get(address)
    form = {"csrf_token": token, "email": "lib@example.org", "password": PASSWORD}
    response = anon.post(address, data={**form, "decision": "allow"})
    assert response.status_code == 400
    assert codes(app) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "nobody"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": CALLBACK + "/more"},
        {"redirect_uri": CALLBACK + "?extra=1"},
        {"redirect_uri": "http://app.example/callback"},
    ],
    ids=["unknown", "missing", "foreign", "longer", "with-query", "http"],
)
def test_an_unknown_client_or_unregistered_redirect_uri_is_an_error_page(
    anon: FlaskClient, reading_app: str, librarian: User, change: dict[str, str]
) -> None:
    address = url(query(reading_app, **change))
    page = anon.get(address)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "<h1>This sign-in link is not valid</h1>" in page.text
    assert "evil.example" not in page.text
    form = {"email": "lib@example.org", "password": PASSWORD, "decision": "allow"}
    posted = anon.post(address, data={**form, "csrf_token": "x"})
    assert posted.status_code == 400
    assert "Location" not in posted.headers


def test_other_invalid_requests_go_back_to_the_registered_uri_with_the_error(
    anon: FlaskClient, reading_app: str
) -> None:
    for change, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "no-such-scope"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ):
        where, parameters = redirected_to(anon.get(url(query(reading_app, **change))))
        assert where == CALLBACK
        assert parameters["error"] == [error], change
        assert parameters["state"] == [STATE]


@pytest.mark.parametrize("email", ["lib@example.org", "nobody@example.org"])
def test_a_wrong_password_or_unknown_email_shows_the_same_generic_error(
    app: APIFlask, anon: FlaskClient, reading_app: str, librarian: User, email: str
) -> None:
    response = sign_in(anon, url(query(reading_app)), email=email, password="not the password")
    assert response.status_code == 422
    assert "Location" not in response.headers
    html = response.text
    assert f'<p id="sign-in-error" class="error" role="alert">{GENERIC_ERROR}' in html
    assert html.count('aria-describedby="sign-in-error"') == 2
    assert f'value="{email}"' in html  # typed again only the password
    assert codes(app) == 0


def test_too_many_failed_sign_ins_are_refused_with_retry_after(
    anon: FlaskClient, reading_app: str, librarian: User
) -> None:
    address = url(query(reading_app))
    for _ in range(50):
        response = sign_in(anon, address, password="not the password")
        if response.status_code != 422:
            break
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.text
    assert sign_in(anon, address).status_code == 429  # the right password too, for now


def test_allowing_redirects_with_a_code_that_redeems_with_the_pkce_verifier(
    anon: FlaskClient, reading_app: str, librarian: User
) -> None:
    response = sign_in(anon, url(query(reading_app)))
    assert response.headers["Cache-Control"] == "no-store"
    where, parameters = redirected_to(response)
    assert where == CALLBACK
    assert parameters["state"] == [STATE]
    (code,) = parameters["code"]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": reading_app,
    }
    wrong = anon.post(TOKEN, data={**exchange, "code_verifier": "x" * 43})
    assert wrong.status_code == 400
    token = anon.post(TOKEN, data={**exchange, "code_verifier": VERIFIER})
    assert token.status_code == 200, token.text
    body = token.get_json()
    assert body["token_type"].lower() == "bearer"
    assert set(body["scope"].split()) == {"loans:read", "books:write"}
    again = anon.post(TOKEN, data={**exchange, "code_verifier": VERIFIER})
    assert again.status_code == 400


def test_only_the_ticked_scopes_the_person_may_hold_are_granted(
    app: APIFlask, anon: FlaskClient, reading_app: str
) -> None:
    make_user(app, email="member@example.org")
    address = url(query(reading_app, scope="loans:read loans:write books:write"))
    ticked = ["loans:read", "books:write"]  # loans:write left out; books:write not a member's
    response = sign_in(anon, address, email="member@example.org", consent=ticked)
    _, parameters = redirected_to(response)
    with app.app_context():
        stored = db.session.scalars(select(AuthorizationCode)).one()
        assert stored.scope == "loans:read"
    assert "code" in parameters


def test_denying_redirects_with_access_denied(
    app: APIFlask, anon: FlaskClient, reading_app: str
) -> None:
    response = sign_in(anon, url(query(reading_app)), email="", password="", decision="deny")
    where, parameters = redirected_to(response)
    assert where == CALLBACK
    assert parameters["error"] == ["access_denied"]
    assert parameters["state"] == [STATE]
    assert "code" not in parameters
    assert codes(app) == 0


def test_the_docs_redirect_page_is_registered_for_shelf_at_the_address_asked(
    app: APIFlask, librarian: User
) -> None:
    # Reached through a port mapping, the browser names the mapped port: that origin counts.
    browser = app.test_client()
    origin = "http://127.0.0.1:18080"
    docs_callback = origin + DOCS_CALLBACK
    address = url(query("shelf", redirect_uri=docs_callback))
    assert browser.get(address, base_url=origin).status_code == 200
    form = {"email": "lib@example.org", "password": PASSWORD, "decision": "allow"}
    page = browser.get(address, base_url=origin)
    form |= {"csrf_token": csrf_token(page), "consent": ["books:write"]}
    where, parameters = redirected_to(browser.post(address, data=form, base_url=origin))
    assert where == docs_callback
    assert "code" in parameters
    elsewhere = url(query("shelf", redirect_uri="http://127.0.0.1:9999" + DOCS_CALLBACK))
    refused = browser.get(elsewhere, base_url=origin)
    assert refused.status_code == 400
    assert "Location" not in refused.headers


@pytest.mark.parametrize(
    ("redirect_uri", "source"),
    [
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8765"),
        ("http://[::1]:8765/callback", "http://[::1]:8765"),
        ("https://app.example:8443/callback", "https://app.example:8443"),
        ("com.example.app:/callback", "com.example.app:"),
    ],
)
def test_the_form_may_be_answered_with_a_redirect_to_the_registered_origin_alone(
    app: APIFlask, anon: FlaskClient, redirect_uri: str, source: str
) -> None:
    client_id, _ = register_client(
        app, scopes=["loans:read"], public=True, redirect_uris=[redirect_uri]
    )
    page = anon.get(url(query(client_id, redirect_uri=redirect_uri, scope="loans:read")))
    assert page.status_code == 200, page.text
    policy = page.headers["Content-Security-Policy"]
    assert policy.endswith(f"; form-action 'self' {source}")


def test_plain_http_off_loopback_is_an_error_page(anon: FlaskClient, reading_app: str) -> None:
    page = anon.get(url(query(reading_app)), base_url="http://shelf.example")
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "only over HTTPS" in page.text
