"""What the OAuth 2 endpoints take (form-encoded, RFC 6749, 7009, 7662) and answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IntrospectionOut", "RevokeForm", "TokenForm", "TokenOut"]


class TokenForm(BaseModel):
    """The token request (RFC 6749, form-encoded); which fields apply depends on `grant_type`."""

    model_config = ConfigDict(extra="allow")

    grant_type: str | None = Field(
        None, examples=["password"], description="password, refresh_token, client_credentials "
        "or authorization_code.",
    )  # fmt: skip
    username: str | None = Field(None, description="password: the user's email.")
    password: str | None = Field(None, description="password: the user's password.")
    refresh_token: str | None = Field(
        None, description="refresh_token: the token (or none, with the refresh cookie)."
    )
    code: str | None = Field(None, description="authorization_code: the code.")
    redirect_uri: str | None = Field(None, description="authorization_code: as sent to authorize.")
    code_verifier: str | None = Field(None, description="authorization_code: the PKCE verifier.")
    scope: str | None = Field(None, description="Space-separated; narrows what is granted.")
    client_id: str | None = Field(None, description="Default: Shelf's own client, `shelf`.")
    client_secret: str | None = Field(None, description="A confidential client's (or HTTP Basic).")
    refresh_token_transport: Literal["body", "cookie"] | None = Field(
        None, description="cookie: the refresh token goes in an HttpOnly cookie (browsers)."
    )


class TokenOut(BaseModel):
    """A token response (RFC 6749, section 5.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9...",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "loans:read loans:write",
                    "refresh_token": "0nG3xq...Yw",
                }
            ]
        }
    )

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent, not null: null is no token type


class RevokeForm(BaseModel):
    """A revocation request (RFC 7009, form-encoded)."""

    model_config = ConfigDict(extra="allow")

    token: str = Field(
        min_length=1, description="The token (to revoke your own access token, the bearer's)."
    )
    token_type_hint: Literal["access_token", "refresh_token"] = Field(
        None,  # type: ignore[arg-type]  # optional, yet never null
        description="What the token is, to find it sooner; either way it is found.",
        json_schema_extra=_no_default,
    )
    client_id: str | None = None
    client_secret: str | None = None


class IntrospectionOut(BaseModel):
    """An introspection answer (RFC 7662): `active`, and for an active token what it is."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"active": False}]})

    active: bool
