"""`shelf users`: accounts from the command line (the first admin, before anyone can sign in)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from pydantic import ValidationError

from shelf.cli.database import session
from shelf.core.errors import AppError
from shelf.users import service as users_service
from shelf.users.schemas import UserCreate

__all__ = ["users"]


@click.group(cls=AppGroup)
def users() -> None:
    """Manage user accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # The first line, as sent: a password may begin or end with spaces.
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )


@users.command("create-admin")
@click.option("--email", required=True, help="The admin's email address (their sign-in name).")
@click.option("--full-name", required=True, help="The admin's name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a hidden prompt.",
)
def create_admin(email: str, full_name: str, password_stdin: bool) -> None:
    """Create an active admin account; the password is asked for, never given as an option."""
    password = _read_password(password_stdin)
    try:
        data = UserCreate(email=email, password=password, full_name=full_name)
    except ValidationError as error:
        raise click.ClickException(_problems(error)) from error
    with session() as database:
        try:
            user = users_service.create_user(database, data=data, role="admin")
        except AppError as error:
            issues = "; ".join(f"{d['field']}: {d['issue']}" for d in error.details)
            message = f"{error.message} ({issues})" if issues else error.message
            raise click.ClickException(message) from error
        click.echo(f"created admin {user.id} ({user.email})")
