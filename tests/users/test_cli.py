"""`shelf users create-admin`: the first admin, with a password from a hidden prompt or stdin."""

from __future__ import annotations

import pytest
from apiflask import APIFlask
from click.testing import CliRunner, Result
from sqlalchemy import select

from shelf.auth.models import User
from shelf.auth.passwords import verify_password
from shelf.cli import main
from shelf.extensions import db
from tests.support.people import PASSWORD, make_user

COMMAND = ["users", "create-admin", "--email", "Root@Example.com", "--full-name", "Root"]


def run(database_url: str, args: list[str], stdin: str) -> Result:
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, args, input=stdin, env=env)


def accounts(app: APIFlask) -> list[tuple[str, str, bool]]:
    with app.app_context():
        return [(u.email, u.role, u.active) for u in db.session.scalars(select(User))]


def test_create_admin_with_the_password_on_stdin(app: APIFlask, database_url: str) -> None:
    result = run(database_url, [*COMMAND, "--password-stdin"], f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created admin" in result.output
    assert PASSWORD not in result.output
    assert accounts(app) == [("root@example.com", "admin", True)]
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert verify_password(user.password_hash, PASSWORD)[0]


def test_create_admin_asks_for_the_password_twice_without_echo(
    app: APIFlask, database_url: str
) -> None:
    result = run(database_url, COMMAND, f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert PASSWORD not in result.output
    assert accounts(app) == [("root@example.com", "admin", True)]


def test_a_mistyped_confirmation_is_asked_again(app: APIFlask, database_url: str) -> None:
    typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    result = run(database_url, COMMAND, typed)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output


@pytest.mark.parametrize(
    ("args", "password", "says"),
    [
        (COMMAND, "short", "password"),
        (COMMAND, "qwerty123456", "breaches"),
        (["users", "create-admin", "--email", "nope", "--full-name", "R"], PASSWORD, "email"),
        (
            ["users", "create-admin", "--email", "r@example.com", "--full-name", " "],
            PASSWORD,
            "full_name",
        ),
    ],
)
def test_refused_input_fails_with_the_reason_and_creates_nothing(
    app: APIFlask, database_url: str, args: list[str], password: str, says: str
) -> None:
    result = run(database_url, [*args, "--password-stdin"], f"{password}\n")
    assert result.exit_code == 1
    assert says in result.output
    assert accounts(app) == []


def test_a_taken_email_fails(app: APIFlask, database_url: str) -> None:
    make_user(app, email="root@example.com")
    result = run(database_url, [*COMMAND, "--password-stdin"], f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "email" in result.output
    assert accounts(app) == [("root@example.com", "member", True)]
