"""HTTP endpoints of API keys, for admins (`admin`): issue, list, revoke and rotate.

A key's secret is shown once, in the answer that issues it; only its digest is stored. Issuing
takes an Idempotency-Key: a retry is shown the same answer, secret included, which the
idempotency table keeps encrypted for its 24 hours (`shelf.idempotency.service`).
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import url_for

from shelf.apikeys import service
from shelf.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeyQuery
from shelf.auth.api_keys import IssuedKey
from shelf.auth.schemes import auth
from shelf.core.pagination import Page
from shelf.extensions import db
from shelf.idempotency.decorator import idempotent
from shelf.web.links import make_page
from shelf.web.responses import BODY_ERRORS, LIST_ERRORS, NOT_MODIFIED, forbidden, not_found

__all__ = ["bp"]

bp = APIBlueprint(
    "apikeys",
    __name__,
    tag={
        "name": "API keys",
        "description": "Keys for programs, managed by admins (`admin`): the HTTP side of "
        "`shelf apikeys`. A secret is shown once, when issued.",
    },
)
ID = "<int:key_id>"
ADMIN = ["admin"]
NOT_ADMIN = forbidden("admin")
NOT_FOUND = not_found("API key")


def _created(issued: IssuedKey) -> tuple[ApiKeyCreated, dict[str, str]]:
    location = url_for(".get_key", key_id=issued.key.id)
    return ApiKeyCreated.of(issued.key, issued.secret), {"Location": location}


@bp.post("")
@bp.auth_required(auth, roles=ADMIN)
@idempotent
@bp.input(ApiKeyCreate, arg_name="data")
@bp.output(ApiKeyCreated, status_code=201, description="The new key, with its secret (once).")
@bp.doc(operation_id="createApiKey", responses={**NOT_ADMIN, **BODY_ERRORS})
def create_key(data: ApiKeyCreate) -> object:
    """Issue an API key"""
    return _created(service.create_key(db.session, data=data))


@bp.get("")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(ApiKeyQuery, location="query", arg_name="query")
@bp.output(Page[ApiKeyOut], description="One page of keys; a Link header points to the others.")
@bp.doc(operation_id="listApiKeys", responses={**NOT_ADMIN, **NOT_MODIFIED, **LIST_ERRORS})
def list_keys(query: ApiKeyQuery) -> object:
    """List API keys"""
    listing = service.list_keys(db.reads, query=query)
    return make_page(ApiKeyOut, listing, query, shape=ApiKeyOut.model_validate)


@bp.get(f"/{ID}")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(ApiKeyOut, description="The key (never its secret).")
@bp.doc(operation_id="getApiKey", responses={**NOT_ADMIN, **NOT_FOUND, **NOT_MODIFIED})
def get_key(key_id: int) -> object:
    """Get an API key"""
    return service.get_key(db.session, key_id=key_id)


@bp.delete(f"/{ID}")
@bp.auth_required(auth, roles=ADMIN)
@bp.output({}, status_code=204, description="The key is revoked (kept, to be listed).")
@bp.doc(operation_id="deleteApiKey", responses={**NOT_ADMIN, **NOT_FOUND})
def delete_key(key_id: int) -> object:
    """Revoke an API key"""
    service.revoke_key(db.session, key_id=key_id)
    return ""


@bp.post(f"/{ID}/revoke")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(ApiKeyOut, description="The revoked key; it is refused everywhere within a second.")
@bp.doc(operation_id="revokeApiKey", responses={**NOT_ADMIN, **NOT_FOUND})
def revoke_key(key_id: int) -> object:
    """Revoke an API key, and show it"""
    return service.revoke_key(db.session, key_id=key_id)


@bp.post(f"/{ID}/rotate")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(ApiKeyCreated, status_code=201, description="The new key, with its secret (once).")
@bp.doc(
    operation_id="rotateApiKey",
    responses={**NOT_ADMIN, **NOT_FOUND, 409: "The key is revoked: there is nothing to rotate."},
)
def rotate_key(key_id: int) -> object:
    """Replace an API key by a new one"""
    return _created(service.rotate_key(db.session, key_id=key_id))
