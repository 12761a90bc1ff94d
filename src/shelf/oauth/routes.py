"""HTTP endpoints of the authorization server (token, revocation, introspection, metadata,
keys) and of its clients, which admins (`admin`) register, list, revoke and rotate.

The OAuth 2 endpoints take form-encoded bodies (RFC 6749) and answer errors as problem+json
that also carries RFC 6749's `error` and `error_description`; none of their answers is stored
by a cache. A client's secret is shown once, in the answer that issues it.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app, request, url_for

from shelf.auth import tokens
from shelf.auth.schemes import auth
from shelf.core.pagination import Page
from shelf.extensions import db
from shelf.idempotency.decorator import idempotent
from shelf.oauth import endpoints, server, service
from shelf.oauth.forms import IntrospectionOut, RevokeForm, TokenForm, TokenOut
from shelf.oauth.schemas import ClientCreate, ClientIssued, ClientOut, ClientQuery
from shelf.web.links import make_page
from shelf.web.request_rules import form_body
from shelf.web.responses import BODY_ERRORS, LIST_ERRORS, NOT_MODIFIED, forbidden, not_found

__all__ = ["auth_bp", "clients_bp", "well_known_bp"]

auth_bp = APIBlueprint(
    "oauth",
    __name__,
    tag={
        "name": "OAuth 2",
        "description": "The authorization server: tokens (RFC 6749, PKCE), revocation "
        "(RFC 7009) and introspection (RFC 7662). Bodies are form-encoded.",
    },
)
well_known_bp = APIBlueprint("well_known", __name__, tag="OAuth 2")
clients_bp = APIBlueprint(
    "clients",
    __name__,
    tag={
        "name": "OAuth clients",
        "description": "Programs that ask for tokens, managed by admins (`admin`): the HTTP "
        "side of `shelf clients`. A secret is shown once, when issued.",
    },
)
OAUTH_ERRORS = {
    400: "An RFC 6749 error (`error`: invalid_request, invalid_grant, unauthorized_client, "
    "unsupported_grant_type, invalid_scope, invalid_client) in a problem+json body.",
    401: "invalid_client: the client's authentication failed (HTTP Basic: WWW-Authenticate).",
    413: "Body too large.",
    415: "The body is not form-encoded.",
}
TOKEN_EXAMPLE = {"grant_type": "password", "username": "reader@example.org", "password": "..."}
TOKEN_EXAMPLE_HINT = {"token": "0nG3xq...Yw", "token_type_hint": "refresh_token"}
CACHE_SECONDS = 300
ID = "<string(maxlength=64):client_id>"
ADMIN = ["admin"]
NOT_ADMIN = forbidden("admin")
NOT_FOUND = not_found("client")


@auth_bp.post("/token")
@form_body
@auth_bp.input(TokenForm, location="form", arg_name="form", example=TOKEN_EXAMPLE)
@auth_bp.output(TokenOut, description="The tokens (the refresh token in a cookie on request).")
@auth_bp.doc(
    operation_id="getToken",
    responses={
        **OAUTH_ERRORS,
        403: "A refresh from the cookie without a matching X-CSRF-Token header.",
        429: "Too many failed sign-ins from this address or for this account (Retry-After).",
    },
)
def token(form: TokenForm) -> Response:
    """Get an access token"""
    return server.token_response()


@auth_bp.post("/revoke")
@form_body
@auth_bp.input(RevokeForm, location="form", arg_name="form", example=TOKEN_EXAMPLE_HINT)
@auth_bp.output({}, description="Revoked, or not a token of the caller's (RFC 7009).")
@auth_bp.doc(operation_id="revokeToken", responses=OAUTH_ERRORS)
def revoke(form: RevokeForm) -> object:
    """Revoke a token"""
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        endpoints.revoke_held(bearer.strip(), form.token)
        return {}, server.NO_STORE
    return server.authorization_server.create_endpoint_response("revocation")


@auth_bp.post("/introspect")
@form_body
@auth_bp.input(RevokeForm, location="form", arg_name="form", example=TOKEN_EXAMPLE_HINT)
@auth_bp.output(IntrospectionOut, description="Whether the token is active, and what it is.")
@auth_bp.doc(operation_id="introspectToken", responses=OAUTH_ERRORS)
def introspect(form: RevokeForm) -> object:
    """Introspect a token (confidential clients)"""
    return server.authorization_server.create_endpoint_response("introspection")


@well_known_bp.get("/oauth-authorization-server")
@well_known_bp.doc(operation_id="getAuthorizationServerMetadata")
def metadata() -> object:
    """Describe the authorization server (RFC 8414)"""
    return server.metadata(), {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}


@well_known_bp.get("/jwks.json")
@well_known_bp.doc(operation_id="getJwks")
def jwks() -> object:
    """List the keys that verify access tokens"""
    keys = tokens.jwks(current_app.extensions["shelf.settings"])
    return keys, {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}


def _issued(issued: service.IssuedClient, status: int = 201) -> object:
    location = url_for(".get_client", client_id=issued.client.client_id)
    return (
        ClientIssued.of(issued.client, client_secret=issued.secret),
        status,
        {"Location": location},
    )


@clients_bp.post("")
@clients_bp.auth_required(auth, roles=ADMIN)
@idempotent
@clients_bp.input(ClientCreate, arg_name="data")
@clients_bp.output(ClientIssued, status_code=201, description="The client, with its secret.")
@clients_bp.doc(operation_id="createClient", responses={**NOT_ADMIN, **BODY_ERRORS})
def create_client(data: ClientCreate) -> object:
    """Register a client"""
    return _issued(service.create_client(db.session, data=data))


@clients_bp.get("")
@clients_bp.auth_required(auth, roles=ADMIN)
@clients_bp.input(ClientQuery, location="query", arg_name="query")
@clients_bp.output(Page[ClientOut], description="One page of clients (never their secrets).")
@clients_bp.doc(operation_id="listClients", responses={**NOT_ADMIN, **NOT_MODIFIED, **LIST_ERRORS})
def list_clients(query: ClientQuery) -> object:
    """List clients"""
    listing = service.list_clients(db.reads, query=query)
    return make_page(ClientOut, listing, query, shape=ClientOut.of)


@clients_bp.get(f"/{ID}")
@clients_bp.auth_required(auth, roles=ADMIN)
@clients_bp.output(ClientOut, description="The client (never its secret).")
@clients_bp.doc(operation_id="getClient", responses={**NOT_ADMIN, **NOT_FOUND, **NOT_MODIFIED})
def get_client(client_id: str) -> object:
    """Get a client"""
    return ClientOut.of(service.get_client(db.session, client_id=client_id))


@clients_bp.post(f"/{ID}/revoke")
@clients_bp.auth_required(auth, roles=ADMIN)
@clients_bp.output(ClientOut, description="The revoked client: it gets no more tokens.")
@clients_bp.doc(operation_id="revokeClient", responses={**NOT_ADMIN, **NOT_FOUND})
def revoke_client(client_id: str) -> object:
    """Revoke a client and its refresh tokens"""
    return ClientOut.of(service.revoke_client(db.session, client_id=client_id))


@clients_bp.post(f"/{ID}/rotate")
@clients_bp.auth_required(auth, roles=ADMIN)
@clients_bp.output(ClientIssued, description="The client, with its new secret (once).")
@clients_bp.doc(
    operation_id="rotateClientSecret",
    responses={**NOT_ADMIN, **NOT_FOUND, 409: "The client is revoked, or public (no secret)."},
)
def rotate_client(client_id: str) -> object:
    """Replace a client's secret"""
    issued = service.rotate_secret(db.session, client_id=client_id)
    return ClientIssued.of(issued.client, client_secret=issued.secret)
