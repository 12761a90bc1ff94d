"""The authorization endpoint's page: a person signs in, then allows or denies what a client
asks for (the authorization code grant of `shelf.oauth.server`).

GET shows the page; its form posts back to the same address, query and all, and Authlib
validates the authorization request again on every step. A request naming an unknown client or
a redirect URI the client did not register gets an error page and is never redirected; any
other invalid request goes back to the (registered) redirect URI with the error, as RFC 6749
says. The page is plain HTML, usable without script, its form protected by a CSRF token tied to
the session cookie, and sent with a strict Content-Security-Policy.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from apiflask import APIBlueprint
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import OAuth2Payload, scope_to_list  # type: ignore[import-untyped]
from flask import Response, render_template, request
from flask_wtf.csrf import generate_csrf, validate_csrf  # type: ignore[import-untyped]
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError  # type: ignore[import-untyped]

from shelf.auth import tokens
from shelf.auth.models import User
from shelf.core.errors import RateLimitedError, UnauthorizedError
from shelf.core.principal import SCOPE_DESCRIPTIONS
from shelf.extensions import db
from shelf.oauth import service
from shelf.oauth.server import authorization_server
from shelf.web.request_rules import form_body

__all__ = ["bp"]

bp = APIBlueprint("oauth_pages", __name__, template_folder="templates", enable_openapi=False)

SIGN_IN_FAILED = "The email address or password is not right. Check both and try again."
FORM_EXPIRED = "This form has expired or did not come from this page. Please sign in again."
TOO_MANY = "Too many failed sign-ins. Wait {seconds} seconds, then try again."
INVALID_LINKS = {
    "invalid_client": "The application that sent you here is not known to Shelf.",
    "invalid_request": "The link is incomplete, or the address it would send you back to is "
    "not registered for this application.",
    "insecure_transport": "Signing in is possible only over HTTPS (or on this computer).",
}
INVALID_LINK = "The link that sent you here is not a valid sign-in request."

# Scripts: none. Styles and the icon from this origin; the form may post here, and its answer
# redirect to the client's registered redirect URI (`form-action` covers that redirect).
# No Cross-Origin-Opener-Policy: a client such as Swagger UI opens this page in a window whose
# opener must survive until its redirect page reports back.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'{redirect}"
)
SOURCE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(//[A-Za-z0-9.\[\]:-]+)?")


class ConsentedPayload(OAuth2Payload):  # type: ignore[misc]
    """The authorization request's own parameters (its query string, never the form), with
    the scope the person allowed in place of the one asked for."""

    def __init__(self, query: MultiDict[str, str], scope: str) -> None:
        self._data = {**query.to_dict(), "scope": scope}
        self._datalist = {name: query.getlist(name) for name in query} | {"scope": [scope]}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


@bp.route("/authorize", methods=["GET", "POST"])
@form_body
def authorize() -> Response:
    """Sign in, then allow or deny a client's authorization request."""
    try:
        grant = authorization_server.get_consent_grant(request)
    except OAuth2Error as error:
        return _refused(error)
    if request.method == "GET":
        return _page(grant)
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _page(grant, error=FORM_EXPIRED, status=400)
    if request.form.get("decision") != "allow":
        return _answer(grant, None)
    try:
        user = service.authenticate(
            db.session,
            email=request.form.get("email", ""),
            password=request.form.get("password", ""),
            client_ip=request.remote_addr or "",
        )
    except UnauthorizedError:
        return _page(grant, error=SIGN_IN_FAILED, status=422)
    except RateLimitedError as error:
        seconds = error.headers.get("Retry-After", "60")
        return _page(
            grant, error=TOO_MANY.format(seconds=seconds), status=429, headers=error.headers
        )
    scope = _allowed_scope(grant, user)
    if not scope:  # nothing ticked, or nothing this account may grant
        return _answer(grant, None)
    grant.request.payload = ConsentedPayload(request.args, scope)
    return _answer(grant, user)


def _allowed_scope(grant: Any, user: User) -> str:
    """What the person ticked of what the client asked for, and their role permits."""
    ticked = set(request.form.getlist("consent"))
    held = service.role_scopes(user.role)
    return " ".join(scope for scope in _requested(grant) if scope in ticked and scope in held)


def _requested(grant: Any) -> list[str]:
    """The scopes asked for that the client may have (Authlib's validation narrows them)."""
    return list(scope_to_list(grant.request.scope) or [])


def _answer(grant: Any, user: User | None) -> Response:
    """Back to the client: a code for `user`, or access_denied when there is none."""
    response: Response = authorization_server.create_authorization_response(
        request, grant_user=user, grant=grant
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(error: OAuth2Error) -> Response:
    if error.redirect_uri:  # set by Authlib only once the client registered it
        return _answer_error(error)
    message = INVALID_LINKS.get(error.error, INVALID_LINK)
    page = render_template("oauth/error.html", message=message, code=error.error)
    return _html(page, 400)


def _answer_error(error: OAuth2Error) -> Response:
    response: Response = authorization_server.handle_error_response(request, error)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(
    grant: Any,
    *,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in and consent form for `grant`'s request."""
    ticked = set(request.form.getlist("consent")) if request.method == "POST" else None
    scopes = [
        {
            "name": scope,
            "description": SCOPE_DESCRIPTIONS.get(scope, scope),
            "checked": ticked is None or scope in ticked,
        }
        for scope in _requested(grant)
    ]
    page = render_template(
        "oauth/authorize.html",
        client_name=grant.client.name,
        first_party=grant.client.client_id == tokens.FIRST_PARTY_CLIENT_ID,
        scopes=scopes,
        email=request.form.get("email", "") if request.method == "POST" else "",
        error=error,
        csrf_token=generate_csrf(),
    )
    return _html(page, status, headers, redirect_uri=grant.redirect_uri)


def _html(
    page: str,
    status: int,
    headers: dict[str, str] | None = None,
    *,
    redirect_uri: str | None = None,
) -> Response:
    response = Response(page, status=status, mimetype="text/html")
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP.format(redirect=_source(redirect_uri))
    return response


def _source(redirect_uri: str | None) -> str:
    """The CSP source of `redirect_uri`'s origin (its scheme alone for an app's own scheme),
    or nothing when it has none worth naming."""
    if not redirect_uri:
        return ""
    try:
        parts = urlsplit(redirect_uri)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    source = f"{parts.scheme}://{host}{port}" if parts.scheme in ("http", "https") else ""
    source = source or f"{parts.scheme}:"
    return f" {source}" if SOURCE.fullmatch(source) else ""
