"""Refresh tokens: rotated on every use, a reused one ends its sign-in, and the cookie mode."""

from __future__ import annotations

from datetime import timedelta

from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from shelf.auth.models import RefreshToken, User
from shelf.core.db import utcnow
from shelf.extensions import db
from tests.support.oauth import TOKEN, password_grant, problem_error, register_client
from tests.support.people import make_user


def refresh(client: FlaskClient, token: str | None, **more: str) -> object:
    form = {"grant_type": "refresh_token", **more}
    if token is not None:
        form["refresh_token"] = token
    return client.post(TOKEN, data=form)


def test_each_refresh_rotates_and_a_reused_token_revokes_the_family(
    app: APIFlask, anon: FlaskClient
) -> None:
    make_user(app, role="librarian", email="l@example.org")
    first = password_grant(anon, "l@example.org").get_json()["refresh_token"]
    answer = refresh(anon, first, scope="loans:read")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["scope"] == "loans:read"
    second = answer.get_json()["refresh_token"]
    assert second != first
    # The rotated token keeps the sign-in's scope.
    third = refresh(anon, second).get_json()
    assert len(third["scope"].split()) == 4
    with app.app_context():
        rows = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).all()
        assert len({row.family for row in rows}) == 1
        assert [row.spent_at is not None for row in rows] == [True, True, False]
    assert problem_error(refresh(anon, first), 400) == "invalid_grant"  # replayed
    with app.app_context():
        rows = db.session.scalars(select(RefreshToken)).all()
        assert all(row.revoked_at is not None for row in rows)
    # The newest token of the sign-in, never used, is revoked with the rest.
    assert problem_error(refresh(anon, third["refresh_token"]), 400) == "invalid_grant"


def test_expired_deactivated_and_foreign_tokens_are_refused(
    app: APIFlask, anon: FlaskClient
) -> None:
    make_user(app, email="m@example.org")
    tokens = [password_grant(anon, "m@example.org").get_json()["refresh_token"] for _ in range(3)]
    with app.app_context():
        first = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).first()
        assert first is not None
        first.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert problem_error(refresh(anon, tokens[0]), 400) == "invalid_grant"
    client_id, secret = register_client(app, grant_types=["client_credentials", "refresh_token"])
    assert secret is not None
    foreign = refresh(anon, tokens[1], client_id=client_id, client_secret=secret)
    assert problem_error(foreign, 400) == "invalid_grant"
    with app.app_context():
        db.session.execute(update(User).values(active=False))
        db.session.commit()
    assert problem_error(refresh(anon, tokens[2]), 400) == "invalid_grant"
    assert problem_error(refresh(anon, None), 400) == "invalid_request"


def test_a_browser_keeps_the_refresh_token_in_a_cookie(app: APIFlask) -> None:
    browser = app.test_client()
    make_user(app, email="m@example.org")
    signed_in = password_grant(browser, "m@example.org", refresh_token_transport="cookie")
    assert signed_in.status_code == 200, signed_in.get_json()
    body = signed_in.get_json()
    assert "refresh_token" not in body
    cookies = signed_in.headers.getlist("Set-Cookie")
    refresh_cookie = next(c for c in cookies if c.startswith("shelf_refresh="))
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth/token"} <= {
        part.strip() for part in refresh_cookie.split(";")
    }
    csrf_cookie = next(c for c in cookies if c.startswith("shelf_csrf="))
    assert "HttpOnly" not in csrf_cookie
    csrf = body["csrf_token"]

    refused = refresh(browser, None)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    wrong = browser.post(
        TOKEN, data={"grant_type": "refresh_token"}, headers={"X-CSRF-Token": "not it"}
    )
    assert wrong.status_code == 403
    renewed = browser.post(
        TOKEN, data={"grant_type": "refresh_token"}, headers={"X-CSRF-Token": csrf}
    )
    assert renewed.status_code == 200, renewed.get_json()
    assert "refresh_token" not in renewed.get_json()
    assert renewed.get_json()["csrf_token"] != csrf
