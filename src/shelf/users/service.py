"""Business rules of accounts: registration, one's own profile, and their administration.

Writes take the session and own its transaction; reads of lists take the engine.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BindParameter, Engine, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from shelf.auth import passwords
from shelf.auth.models import RefreshToken, User
from shelf.core.concurrency import check_if_match, commit_or_raise
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing, contains
from shelf.users.schemas import MeUpdate, Role, UserAdminUpdate, UserCreate, UserQuery

__all__ = [
    "create_user",
    "etag",
    "get_me",
    "get_user",
    "list_users",
    "update_me",
    "update_user",
]

MAX_ID = 2**31 - 1
FILTERS = ("role", "active", "email", "q")


def etag(user: User) -> str:
    """A strong ETag that changes on every write of the account."""
    return f'"user-{user.id}-{user.updated_at.timestamp():.6f}"'


def create_user(session: Session, *, data: UserCreate, role: Role = "member") -> User:
    """Open an account; the password must pass the policy and is stored only as its hash."""
    passwords.check_password_policy(data.password)
    user = User(
        email=data.email,
        full_name=data.full_name,
        password_hash=passwords.hash_password(data.password),
        role=role,
        active=True,
    )
    session.add(user)
    commit_or_raise(session, what="user", conflict=_email_taken())
    return user


def get_user(session: Session, *, user_id: int, lock: bool = False) -> User:
    """The account with this id, or NotFoundError; `lock` holds its row until the commit."""
    user = None
    if 0 < user_id <= MAX_ID:
        user = session.get(User, user_id, with_for_update=lock or None, populate_existing=lock)
    if user is None:
        raise NotFoundError(f"There is no user with id {user_id}.")
    return user


def get_me(session: Session, *, user_id: int, lock: bool = False) -> User:
    """The caller's own account; 403 once it is deactivated (its last tokens still run)."""
    user = get_user(session, user_id=user_id, lock=lock)
    if not user.active:
        raise ForbiddenError("This account is deactivated: ask an admin to reactivate it.")
    return user


def list_users(engine: Engine, *, query: UserQuery) -> Listing:
    """One page of accounts matching the filters (plain rows), and how many match in all."""
    values = {name: getattr(query, name) for name in FILTERS if getattr(query, name) is not None}
    for name in ("email", "q"):
        if name in values:
            values[name] = contains(values[name])
    with engine.connect() as connection:
        return paginate(connection, _filter_statement(frozenset(values)), values, query)


@functools.lru_cache(maxsize=1 << len(FILTERS))  # every set of filters
def _filter_statement(filters: frozenset[str]) -> Select[Any]:
    statement = select(User)
    if "role" in filters:
        statement = statement.where(User.role == bindparam("role"))
    if "active" in filters:
        statement = statement.where(User.active == bindparam("active"))
    if "email" in filters:
        statement = statement.where(User.email.ilike(bindparam("email"), escape="\\"))
    if "q" in filters:
        pattern: BindParameter[str] = bindparam("q")
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\"))
        )
    return statement


def update_me(
    session: Session, *, user_id: int, data: MeUpdate, if_match: str | None = None
) -> User:
    """Change one's own name, email or password (the current password is checked first)."""
    changes = data.model_dump(exclude_unset=True)
    current = changes.pop("current_password", None)
    user = get_me(session, user_id=user_id, lock=True)
    check_if_match(if_match, etag(user))
    new_password = changes.pop("password", None)
    if new_password is not None:
        _check_current_password(user, current)
        passwords.check_password_policy(new_password)
        user.password_hash = passwords.hash_password(new_password)
        _end_sessions(session, user.id)  # a stolen session must not outlive the old password
    for name, value in changes.items():
        setattr(user, name, value)
    commit_or_raise(session, what="user", conflict=_email_taken())
    return user


def update_user(
    session: Session, *, user_id: int, data: UserAdminUpdate, if_match: str | None = None
) -> User:
    """Change an account's role or whether it is active; the last active admin stays one."""
    changes = data.model_dump(exclude_unset=True)
    demotes = changes.get("role", "admin") != "admin" or changes.get("active") is False
    # The active admins' rows are locked first, in one order, whoever the target is: two
    # admins demoting each other at once queue here, and the second sees the first's change.
    admins = _lock_active_admins(session) if demotes else []
    user = get_user(session, user_id=user_id, lock=True)
    check_if_match(if_match, etag(user))
    if user.id in admins and not [admin for admin in admins if admin != user.id]:
        raise ConflictError(
            "This is the last active admin: make another account an admin first.",
            details=[
                {
                    "field": "role" if "role" in changes else "active",
                    "issue": "would leave no active admin",
                    "hint": 'PATCH another user with {"role": "admin"}, then retry.',
                }
            ],
        )
    if changes.get("active") is False:
        _end_sessions(session, user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    commit_or_raise(session, what="user")
    return user


def _lock_active_admins(session: Session) -> list[int]:
    statement = select(User.id).where(User.role == "admin", User.active).order_by(User.id)
    return list(session.scalars(statement.with_for_update()))


def _check_current_password(user: User, current: str | None) -> None:
    if current is None:
        raise ValidationFailedError(
            "A new password needs the current one.",
            details=[
                {
                    "field": "current_password",
                    "issue": "is required with password",
                    "hint": "Send the password in use now as current_password.",
                }
            ],
        )
    matches, _ = passwords.verify_password(user.password_hash, current)
    if not matches:
        raise ValidationFailedError(
            "The current password is not right.",
            details=[
                {
                    "field": "current_password",
                    "issue": "does not match",
                    "hint": "Send the password in use now as current_password.",
                }
            ],
        )


def _end_sessions(session: Session, user_id: int) -> None:
    """Revoke the account's refresh tokens: every signed-in device must sign in again."""
    # Through the ORM, not one UPDATE statement: the audit log sees ORM changes only.
    live = select(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    now = utcnow()
    for token in session.scalars(live):
        token.revoked_at = now


def _email_taken() -> ConflictError:
    return ConflictError(
        "This email address cannot be used: it belongs to an account.",
        details=[
            {
                "field": "email",
                "issue": "already registered",
                "hint": "Sign in with it, or use another address.",
            }
        ],
    )
