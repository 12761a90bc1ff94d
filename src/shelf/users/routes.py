"""HTTP endpoints of accounts: anyone may register; a signed-in person reads and changes their
own account at /users/me; admins (`users:admin`) list and manage every account."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import url_for

from shelf.auth.schemes import auth, current_principal
from shelf.core.errors import ForbiddenError
from shelf.core.pagination import Page
from shelf.extensions import db
from shelf.idempotency.decorator import idempotent
from shelf.users import service
from shelf.users.schemas import MeUpdate, UserAdminUpdate, UserCreate, UserOut, UserQuery
from shelf.web.links import make_page
from shelf.web.request_rules import if_match
from shelf.web.responses import (
    BODY_ERRORS,
    LIST_ERRORS,
    NOT_MODIFIED,
    forbidden,
    not_found,
    preconditions,
)

__all__ = ["bp"]

bp = APIBlueprint(
    "users",
    __name__,
    tag={
        "name": "Users",
        "description": "Accounts. Anyone may register; a signed-in person manages their own "
        "account at /users/me; admins (`users:admin`) manage every account.",
    },
)
ID = "<int:user_id>"
ADMIN = ["users:admin"]
NOT_ADMIN = forbidden("users:admin")
NOT_FOUND = not_found("user")
NOT_A_PERSON = {
    401: "No credentials, or unknown, expired or revoked ones.",
    403: "The credentials are not a signed-in person's (an API key or a client's token), or "
    "the account is deactivated.",
}
TAKEN = {409: "Another account has this email address."}


def _my_id() -> int:
    """The account id of the signed-in person calling, or 403 for other credentials."""
    principal = current_principal()
    if principal is None or principal.user_id is None:
        raise ForbiddenError(
            "These credentials are not a person's: /users/me answers only to a user's bearer "
            "token (an API key or a client's token has no account)."
        )
    return principal.user_id


@bp.post("")
@idempotent
@bp.input(UserCreate, arg_name="data")
@bp.output(UserOut, status_code=201, description="The new account, an active member.")
@bp.doc(operation_id="createUser", responses={**BODY_ERRORS, **TAKEN})
def create_user(data: UserCreate) -> object:
    """Register an account"""
    user = service.create_user(db.session, data=data)
    return user, {"ETag": service.etag(user), "Location": url_for(".get_user", user_id=user.id)}


@bp.get("/me")
@bp.auth_required(auth)
@bp.output(UserOut, description="The caller's own account, with its ETag.")
@bp.doc(operation_id="getMe", responses={**NOT_A_PERSON, **NOT_MODIFIED, 404: "No account."})
def get_me() -> object:
    """Get my account"""
    user = service.get_me(db.session, user_id=_my_id())
    return user, {"ETag": service.etag(user)}


@bp.patch("/me")
@bp.auth_required(auth)
@bp.input(MeUpdate, arg_name="data")
@bp.output(UserOut, description="The changed account, with its new ETag.")
@bp.doc(
    operation_id="updateMe",
    responses={
        **NOT_A_PERSON,
        **BODY_ERRORS,
        **TAKEN,
        **preconditions("account"),
        404: "No account.",
    },
)
def update_me(data: MeUpdate) -> object:
    """Change my account"""
    user = service.update_me(db.session, user_id=_my_id(), data=data, if_match=if_match())
    return user, {"ETag": service.etag(user)}


@bp.get("")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(UserQuery, location="query", arg_name="query")
@bp.output(Page[UserOut], description="One page of accounts; a Link header points to the others.")
@bp.doc(operation_id="listUsers", responses={**NOT_ADMIN, **NOT_MODIFIED, **LIST_ERRORS})
def list_users(query: UserQuery) -> object:
    """List accounts"""
    return make_page(UserOut, service.list_users(db.reads, query=query), query)


@bp.get(f"/{ID}")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(UserOut, description="The account, with its ETag.")
@bp.doc(operation_id="getUser", responses={**NOT_ADMIN, **NOT_FOUND, **NOT_MODIFIED})
def get_user(user_id: int) -> object:
    """Get an account"""
    user = service.get_user(db.session, user_id=user_id)
    return user, {"ETag": service.etag(user)}


@bp.patch(f"/{ID}")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(UserAdminUpdate, arg_name="data")
@bp.output(UserOut, description="The changed account, with its new ETag.")
@bp.doc(
    operation_id="updateUser",
    responses={
        **NOT_ADMIN,
        **NOT_FOUND,
        **BODY_ERRORS,
        **preconditions("account"),
        409: "The change would leave no active admin.",
    },
)
def update_user(user_id: int, data: UserAdminUpdate) -> object:
    """Change an account's role or status"""
    user = service.update_user(db.session, user_id=user_id, data=data, if_match=if_match())
    return user, {"ETag": service.etag(user)}
