"""Fixtures of the loans tests: a book, members, a librarian and their credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth.models import User
from tests.support.people import bearer_headers, make_user
from tests.support.resources import create_book


@pytest.fixture
def book(client: FlaskClient) -> dict[str, Any]:
    """A book with two copies."""
    return create_book(client, title="Dune", copies=2)


@pytest.fixture
def member(app: APIFlask) -> User:
    return make_user(app)


@pytest.fixture
def other_member(app: APIFlask) -> User:
    return make_user(app)


@pytest.fixture
def headers_of(app: APIFlask) -> Callable[..., dict[str, str]]:
    """The bearer headers of a user (its role's scopes, or `scope`)."""

    def headers(user: User, scope: str | None = None) -> dict[str, str]:
        return bearer_headers(app, user, scope=scope)

    return headers


@pytest.fixture
def as_member(member: User, headers_of: Callable[..., dict[str, str]]) -> dict[str, str]:
    return headers_of(member)


@pytest.fixture
def as_librarian(app: APIFlask, headers_of: Callable[..., dict[str, str]]) -> dict[str, str]:
    return headers_of(make_user(app, role="librarian"))
