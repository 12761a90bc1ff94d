"""Failed sign-ins: five a minute per client address and per account, in process or in Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apiflask import APIFlask
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.audit.models import AuditRecord
from shelf.auth.models import User
from shelf.auth.passwords import verify_password
from shelf.core.errors import RateLimitedError, UnauthorizedError
from shelf.extensions import db
from shelf.oauth import service
from tests.support.oauth import password_grant, problem_error
from tests.support.people import PASSWORD, make_user


@pytest.fixture(params=["memory", "redis"])
def limited_app(
    request: pytest.FixtureRequest, app: APIFlask, make_app: Callable[..., APIFlask]
) -> APIFlask:
    """The app counting sign-in failures in process, or in Redis (another app on the same
    Redis shares the counts)."""
    if request.param == "memory":
        return app
    redis_url = request.getfixturevalue("redis_url")
    return make_app(redis_url=redis_url, redis_key_prefix=request.getfixturevalue("redis_prefix"))


def fail(client: FlaskClient, email: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        answer = client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": "wrong password"},
            environ_base={"REMOTE_ADDR": address},
        )
        assert problem_error(answer, 400) == "invalid_grant"


def test_the_sixth_failure_for_an_account_is_429_known_or_not(limited_app: APIFlask) -> None:
    make_user(limited_app, email="m@example.org")
    client = limited_app.test_client()
    for email in ("m@example.org", "nobody@example.org"):
        fail(client, email, 5, address="10.0.0.1" if email[0] == "m" else "10.0.0.2")
        refused = client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.3"},  # from elsewhere: the account's limit
        )
        assert refused.status_code == 429
        assert refused.mimetype == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["Cache-Control"] == "no-store"


def test_the_sixth_failure_from_an_address_is_429(limited_app: APIFlask) -> None:
    make_user(limited_app, email="m@example.org")
    client = limited_app.test_client()
    for number in range(5):
        fail(client, f"user{number}@example.org", 1)
    refused = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "m@example.org", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert refused.status_code == 429
    elsewhere = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "m@example.org", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert elsewhere.status_code == 200


def test_authenticate_for_the_authorization_page(app: APIFlask) -> None:
    make_user(app, email="m@example.org")
    with app.test_request_context("/api/v1/auth/authorize", method="POST"):
        user = service.authenticate(
            db.session, email="M@example.org", password=PASSWORD, client_ip="10.0.0.5"
        )
        assert user.email == "m@example.org"
        for _ in range(5):
            with pytest.raises(UnauthorizedError):
                service.authenticate(
                    db.session, email="m@example.org", password="wrong", client_ip="10.0.0.5"
                )
        with pytest.raises(RateLimitedError) as limited:
            service.authenticate(
                db.session, email="m@example.org", password=PASSWORD, client_ip="10.0.0.6"
            )
        assert int(limited.value.headers["Retry-After"]) >= 1
        signing_in = select(AuditRecord).where(AuditRecord.action.like("user.sign_in%"))
        records = db.session.scalars(signing_in.order_by(AuditRecord.id)).all()
        assert [r.action for r in records] == ["user.sign_in"] + ["user.sign_in_failed"] * 5
        assert {r.target_id for r in records} == {str(user.id)}


def test_an_outdated_hash_is_replaced_at_sign_in(app: APIFlask, anon: FlaskClient) -> None:
    user = make_user(app, email="old@example.org")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = weak  # type: ignore[union-attr]
        db.session.commit()
    assert password_grant(anon, "old@example.org").status_code == 200
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored is not None
        assert stored.password_hash != weak
        assert verify_password(stored.password_hash, PASSWORD) == (True, None)  # up to date
