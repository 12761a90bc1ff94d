"""Admins (`users:admin`; `admin` grants it) list, read and change accounts: role and status.
The last active admin stays one."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from shelf.auth import tokens
from shelf.auth.models import RefreshToken, User
from shelf.core.concurrency import deferred_commits
from shelf.core.db import utcnow
from shelf.extensions import db
from shelf.users import service as users_service
from shelf.users.schemas import UserAdminUpdate
from tests.support.checks import assert_problem
from tests.support.people import bearer_headers, make_user

USERS = "/api/v1/users"


def user_path(user: User | dict[str, Any]) -> str:
    return f"{USERS}/{user.id if isinstance(user, User) else user['id']}"


def emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["email"] for item in response.get_json()["items"]]


@pytest.fixture
def people(app: APIFlask) -> dict[str, User]:
    return {
        "ada": make_user(app, email="ada@example.com", full_name="Ada Lovelace"),
        "grace": make_user(
            app, email="grace@navy.example", full_name="Grace Hopper", role="librarian"
        ),
        "alan": make_user(app, email="alan@example.com", full_name="Alan Turing", active=False),
        "edsger": make_user(
            app, email="edsger@example.nl", full_name="Edsger Dijkstra", role="admin"
        ),
    }


def test_admins_list_accounts_without_their_hashes(
    client: FlaskClient, people: dict[str, User]
) -> None:
    response = client.get(USERS, query_string={"sort": "email"})
    assert emails(response) == sorted(user.email for user in people.values())
    body = response.get_json()
    assert body["total"] == 4
    assert all("password_hash" not in item for item in body["items"])
    assert "argon2" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"role": "librarian"}, ["grace@navy.example"]),
        ({"role": "admin"}, ["edsger@example.nl"]),
        ({"active": "false"}, ["alan@example.com"]),
        ({"active": "true", "role": "member"}, ["ada@example.com"]),
        ({"email": "EXAMPLE.COM"}, ["ada@example.com", "alan@example.com"]),
        ({"q": "hopper"}, ["grace@navy.example"]),
        ({"q": "ada"}, ["ada@example.com"]),
        ({"q": "%"}, []),
        ({"q": "_"}, []),
    ],
)
def test_filters(
    client: FlaskClient, people: dict[str, User], query: dict[str, str], expected: list[str]
) -> None:
    assert emails(client.get(USERS, query_string={**query, "sort": "email"})) == expected


@pytest.mark.parametrize(
    "query", [{"role": "owner"}, {"active": "maybe"}, {"sort": "password_hash"}, {"per_page": 0}]
)
def test_invalid_parameters_are_422(
    client: FlaskClient, people: dict[str, User], query: dict[str, str]
) -> None:
    assert_problem(client.get(USERS, query_string=query), 422, "VALIDATION_FAILED")


def test_pages_walk_every_account_once_by_cursor(
    client: FlaskClient, people: dict[str, User]
) -> None:
    seen: list[str] = []
    response = client.get(USERS, query_string={"per_page": 3, "sort": "-email"})
    assert response.get_json()["links"]["last"] == "?page=2&per_page=3&sort=-email"
    while True:
        seen += emails(response)
        following = response.get_json()["links"].get("next")
        if following is None:
            break
        assert "cursor=" in following
        assert 'rel="next"' in response.headers["Link"]
        response = client.get(USERS + following)
    assert seen == sorted((user.email for user in people.values()), reverse=True)


def test_admins_read_one_account(client: FlaskClient, people: dict[str, User]) -> None:
    response = client.get(user_path(people["grace"]))
    assert response.status_code == 200
    assert response.get_json()["role"] == "librarian"
    assert "password_hash" not in response.get_json()


@pytest.mark.parametrize("user_id", ["999999", "2147483648", "99999999999999999999"])
def test_an_unknown_account_is_404(client: FlaskClient, user_id: str) -> None:
    assert_problem(client.get(f"{USERS}/{user_id}"), 404, "NOT_FOUND")
    assert_problem(client.patch(f"{USERS}/{user_id}", json={"active": False}), 404, "NOT_FOUND")


def test_an_admin_signed_in_and_a_users_admin_key_may_manage_accounts(
    anon: FlaskClient, app: APIFlask, issue_key: Callable[..., str], people: dict[str, User]
) -> None:
    admin = bearer_headers(app, people["edsger"])
    assert anon.get(USERS, headers=admin).status_code == 200
    key = {"X-API-KEY": issue_key("users:admin")}
    assert anon.get(USERS, headers=key).status_code == 200
    response = anon.patch(user_path(people["ada"]), json={"role": "librarian"}, headers=key)
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["ada", "grace"])
def test_members_and_librarians_are_403_on_admin_routes(
    anon: FlaskClient, app: APIFlask, people: dict[str, User], who: str
) -> None:
    headers = bearer_headers(app, people[who])
    for response in (
        anon.get(USERS, headers=headers),
        anon.get(user_path(people["ada"]), headers=headers),
        anon.patch(user_path(people[who]), json={"role": "admin"}, headers=headers),
    ):
        body = assert_problem(response, 403, "FORBIDDEN")
        assert "users:admin" in body["detail"]


def test_a_key_without_the_scope_is_403(
    anon: FlaskClient, issue_key: Callable[..., str], people: dict[str, User]
) -> None:
    key = {"X-API-KEY": issue_key("books:write", "loans:admin")}
    assert_problem(anon.get(USERS, headers=key), 403, "FORBIDDEN")


def test_anonymous_is_401_on_admin_routes(anon: FlaskClient, people: dict[str, User]) -> None:
    assert_problem(anon.get(USERS), 401, "UNAUTHORIZED")
    assert_problem(anon.get(user_path(people["ada"])), 401, "UNAUTHORIZED")
    response = anon.patch(user_path(people["ada"]), json={"role": "admin"})
    assert_problem(response, 401, "UNAUTHORIZED")


def test_changing_role_and_status(client: FlaskClient, people: dict[str, User]) -> None:
    path = user_path(people["ada"])
    promoted = client.patch(path, json={"role": "librarian"}).get_json()
    assert (promoted["role"], promoted["active"]) == ("librarian", True)
    suspended = client.patch(path, json={"active": False}).get_json()
    assert (suspended["role"], suspended["active"]) == ("librarian", False)
    assert client.get(path).get_json() == suspended
    assert emails(client.get(USERS, query_string={"active": "false", "sort": "email"})) == [
        "ada@example.com",
        "alan@example.com",
    ]


def test_deactivating_ends_the_accounts_sessions(
    client: FlaskClient, app: APIFlask, people: dict[str, User]
) -> None:
    with app.app_context():
        refresh = RefreshToken(
            token_hash="digest",
            family="family",
            user_id=people["ada"].id,
            client_id=tokens.FIRST_PARTY_CLIENT_ID,
            scope="loans:read",
            expires_at=utcnow() + timedelta(days=1),
        )
        db.session.add(refresh)
        db.session.commit()
        refresh_id = refresh.id
    assert client.patch(user_path(people["ada"]), json={"active": False}).status_code == 200
    with app.app_context():
        token = db.session.get(RefreshToken, refresh_id)
        assert token is not None
        assert token.revoked_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": None}, "role"),
        ({"active": "no"}, "active"),
        ({"active": None}, "active"),
        ({"email": "new@example.com"}, "email"),
        ({"full_name": "New"}, "full_name"),
        ({"password": "a much longer passphrase"}, "password"),
        ({"id": 5}, "id"),
    ],
)
def test_refused_admin_changes_are_422(
    client: FlaskClient, people: dict[str, User], body: dict[str, Any], field: str
) -> None:
    response = client.patch(user_path(people["ada"]), json=body)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert field in [detail["field"] for detail in problem["details"]]
    assert client.get(user_path(people["ada"])).get_json()["role"] == "member"


@pytest.mark.parametrize("change", [{"role": "member"}, {"role": "librarian"}, {"active": False}])
def test_the_last_active_admin_cannot_step_down(
    anon: FlaskClient, app: APIFlask, people: dict[str, User], change: dict[str, Any]
) -> None:
    admin = bearer_headers(app, people["edsger"])
    response = anon.patch(user_path(people["edsger"]), json=change, headers=admin)
    body = assert_problem(response, 409, "CONFLICT")
    assert body["details"][0]["field"] == next(iter(change))
    still = anon.get(user_path(people["edsger"]), headers=admin).get_json()
    assert (still["role"], still["active"]) == ("admin", True)


def test_with_another_admin_one_may_step_down_then_the_other_may_not(
    anon: FlaskClient, app: APIFlask, people: dict[str, User]
) -> None:
    edsger, ada = (
        bearer_headers(app, people["edsger"]),
        bearer_headers(app, people["ada"], scope="admin"),
    )
    promoted = anon.patch(user_path(people["ada"]), json={"role": "admin"}, headers=edsger)
    assert promoted.status_code == 200
    assert (
        anon.patch(user_path(people["edsger"]), json={"role": "member"}, headers=edsger).status_code
        == 200
    )
    response = anon.patch(user_path(people["ada"]), json={"active": False}, headers=ada)
    assert_problem(response, 409, "CONFLICT")


def test_an_inactive_admin_does_not_count(
    client: FlaskClient, app: APIFlask, people: dict[str, User]
) -> None:
    make_user(app, role="admin", active=False)
    response = client.patch(user_path(people["edsger"]), json={"role": "member"})
    assert_problem(response, 409, "CONFLICT")


def test_an_api_key_cannot_demote_the_last_admin_either(
    client: FlaskClient, people: dict[str, User]
) -> None:
    assert_problem(
        client.patch(user_path(people["edsger"]), json={"active": False}), 409, "CONFLICT"
    )
    # Changes that keep an admin active are fine.
    assert (
        client.patch(
            user_path(people["edsger"]), json={"role": "admin", "active": True}
        ).status_code
        == 200
    )


def _waits_for_a_lock() -> bool:
    """Whether another PostgreSQL session waits for a lock, within seconds (SQLite's writers
    queue at BEGIN IMMEDIATE, where no query can see them)."""
    if db.engine.dialect.name != "postgresql":
        return True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
        if waiting:
            return True
    return False


def test_two_admins_demoting_each_other_at_once_leave_one(
    app: APIFlask, make_app: Callable[..., APIFlask], people: dict[str, User]
) -> None:
    second = make_user(app, role="admin")
    headers = bearer_headers(app, second)
    other = make_app()  # another worker, with database slots of its own
    # The pool outermost: leaving the app context first ends the session, and its locks.
    with ThreadPoolExecutor(1) as pool, other.app_context():
        session = db.session
        with deferred_commits(session):  # edsger steps down, not yet committed
            users_service.update_user(
                session, user_id=people["edsger"].id, data=UserAdminUpdate(role="member")
            )
        request = pool.submit(
            app.test_client().patch, user_path(second), json={"active": False}, headers=headers
        )
        assert _waits_for_a_lock()  # the second demotion waits for the first
        session.commit()
        response = request.result()
    assert_problem(response, 409, "CONFLICT")
    with app.app_context():
        admins = db.session.scalars(select(User).where(User.role == "admin", User.active)).all()
        assert [admin.id for admin in admins] == [second.id]
