"""Request and response shapes of the clients' API (the OAuth 2 endpoints' are in `forms`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shelf.core.fields import Text
from shelf.core.pagination import PageQuery
from shelf.core.principal import SCOPES

__all__ = [
    "GRANT_TYPES",
    "ClientCreate",
    "ClientIssued",
    "ClientOut",
    "ClientQuery",
]

GRANT_TYPES = ("authorization_code", "client_credentials", "password", "refresh_token")
Scope = Literal[SCOPES]  # type: ignore[valid-type]
GrantType = Literal[GRANT_TYPES]  # type: ignore[valid-type]
STORED = ("client_id", "name", "scopes", "redirect_uris", "grant_types", "created_at", "revoked_at")

EXAMPLE: dict[str, JsonValue] = {
    "client_id": "c_4fQ2xk9Lr0aZ7mB1",
    "name": "Catalogue importer",
    "public": False,
    "scopes": ["books:write"],
    "redirect_uris": [],
    "grant_types": ["client_credentials"],
    "created_at": "2026-01-01T12:00:00Z",
    "revoked_at": None,
}


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _split(value: object) -> object:
    # Stored space- or newline-separated; shown as a list.
    return value.split() if isinstance(value, str) else value


# https; http on a loopback address; or an app's own scheme (com.example.app:/callback), for
# native apps (RFC 8252). No fragment (RFC 6749, 3.1.2), no space or control character. The
# OpenAPI document carries the same pattern, so what it allows is what is accepted.
REDIRECT_URI_PATTERN = (
    r"^(?:https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"|http://(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?"
    r"|[A-Za-z][A-Za-z0-9+-]*(?:\.[A-Za-z0-9+-]+)+:)"
    r"(?:[/?][^#\s\x00-\x1f\x7f]*)?$"
)


def _redirect_uri(value: str) -> str:
    if not re.fullmatch(REDIRECT_URI_PATTERN, value):
        raise PydanticCustomError(
            "redirect_uri",
            "is not an https URL (or http on a loopback address, or an app's own scheme) "
            "without a fragment",
            {"hint": "Send an absolute URL such as https://app.example/callback."},
        )
    return value


RedirectUri = Annotated[
    str, Field(max_length=500, pattern=REDIRECT_URI_PATTERN), AfterValidator(_redirect_uri)
]


# The rules between fields that `_consistent` checks, as JSON Schema says them to clients.
NEEDS_REDIRECT_URI = {
    "required": ["redirect_uris"],
    "properties": {"redirect_uris": {"minItems": 1}},
}
NO_CLIENT_CREDENTIALS = {"not": {"contains": {"const": "client_credentials"}}}
CLIENT_RULES = [
    {  # a public client cannot use client_credentials
        "if": {"properties": {"public": {"const": True}}, "required": ["public"]},
        "then": {"properties": {"grant_types": NO_CLIENT_CREDENTIALS}},
    },
    {  # authorization_code, asked for or a public client's default, needs a redirect URI
        "if": {
            "anyOf": [
                {
                    "properties": {"grant_types": {"contains": {"const": "authorization_code"}}},
                    "required": ["grant_types"],
                },
                {
                    "properties": {"public": {"const": True}, "grant_types": {"type": "null"}},
                    "required": ["public"],
                },
            ]
        },
        "then": NEEDS_REDIRECT_URI,
    },
]  # fmt: skip


class ClientCreate(BaseModel):
    """A new OAuth 2 client: its name, what it may ask for, and how it gets tokens."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": CLIENT_RULES,  # type: ignore[dict-item]
            "examples": [
                {"name": "Catalogue importer", "scopes": ["books:write"]},
                {
                    "name": "Reading app",
                    "scopes": ["loans:read", "loans:write"],
                    "public": True,
                    "redirect_uris": ["https://app.example/callback"],
                },
            ],
        },
    )

    name: Annotated[str, Text(200), Field(description="What the client is; 1-200 characters.")]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=len(SCOPES), description="The most it may be granted."),
        AfterValidator(_unique),
    ]
    public: bool = Field(
        False,
        description="A public client (browser or mobile app) has no secret and uses PKCE; a "
        "confidential one authenticates with its secret.",
    )
    redirect_uris: Annotated[
        list[RedirectUri],
        Field(max_length=10, description="Where the authorization endpoint may send codes."),
        AfterValidator(_unique),
    ] = []
    grant_types: Annotated[
        list[GrantType] | None,
        Field(
            description="Grants it may use; default: client_credentials for a confidential "
            "client, authorization_code and refresh_token for a public one (or with "
            "redirect_uris)."
        ),
    ] = None

    @model_validator(mode="after")
    def _consistent(self) -> ClientCreate:
        if self.grant_types is None:
            self.grant_types = (
                ["authorization_code", "refresh_token"]
                if self.public or self.redirect_uris
                else ["client_credentials"]
            )
        self.grant_types = _unique(self.grant_types)
        if self.public and "client_credentials" in self.grant_types:
            raise PydanticCustomError(
                "public_client_credentials",
                "a public client cannot use client_credentials",
                {"hint": "Drop client_credentials, or make the client confidential."},
            )
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise PydanticCustomError(
                "redirect_uris_missing",
                "authorization_code needs at least one redirect URI",
                {"hint": 'Send redirect_uris, e.g. ["https://app.example/callback"].'},
            )
        return self


class ClientOut(BaseModel):
    """A client as the API shows it: never its secret, which is not stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    client_id: str
    name: str
    public: bool = Field(description="No secret: it authenticates with PKCE.")
    scopes: Annotated[list[str], BeforeValidator(_split)]
    redirect_uris: Annotated[list[str], BeforeValidator(_split)]
    grant_types: Annotated[list[str], BeforeValidator(_split)]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, client: Any, **more: object) -> Self:
        """The stored client (a model or a row) as the API shows it."""
        fields = {name: getattr(client, name) for name in STORED}
        return cls.model_validate({**fields, "public": client.secret_hash is None, **more})


class ClientIssued(ClientOut):
    """A client just registered (or its secret replaced), with the secret shown this once."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**EXAMPLE, "client_secret": "hT3w...9Qa"}]}
    )

    client_secret: str | None = Field(
        description="Store it now: it is not kept. None for a public client."
    )


class ClientQuery(PageQuery):
    """List parameters: page and sort."""

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "name")
    default_sort: ClassVar[str] = "-created_at"
