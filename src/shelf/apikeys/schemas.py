"""Request and response shapes of the API keys API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
)
from pydantic_core import PydanticCustomError

from shelf.core.fields import Text
from shelf.core.pagination import PageQuery
from shelf.core.principal import SCOPES

__all__ = ["MAX_KEY_LIFETIME", "ApiKeyCreate", "ApiKeyCreated", "ApiKeyOut", "ApiKeyQuery"]

MAX_KEY_LIFETIME = timedelta(days=36_500)  # as `shelf apikeys create --expires-in` allows
Scope = Literal[SCOPES]  # type: ignore[valid-type]


EXAMPLE: dict[str, JsonValue] = {
    "id": 7,
    "prefix": "shelf_Ab3dE9",
    "owner": "catalogue importer",
    "scopes": ["books:write"],
    "created_at": "2026-01-01T12:00:00Z",
    "last_used_at": None,
    "expires_at": "2027-12-31T23:59:59Z",
    "revoked_at": None,
}


def _unique(scopes: list[str]) -> list[str]:
    return list(dict.fromkeys(scopes))


def _in_the_future(moment: datetime) -> datetime:
    now = datetime.now(UTC)
    if moment <= now:
        raise PydanticCustomError(
            "expires_in_the_past",
            "is not in the future",
            {"hint": "Send a future time with its offset, e.g. 2027-01-01T00:00:00Z."},
        )
    if moment - now > MAX_KEY_LIFETIME:
        raise PydanticCustomError(
            "expires_too_late",
            "is more than 100 years away",
            {"hint": "Send a time within 36,500 days, or leave expires_at out for no expiry."},
        )
    return moment.astimezone(UTC)


def _future_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _in_the_future(moment)


def _split(value: object) -> object:
    # Stored space-separated; shown as a list.
    return value.split() if isinstance(value, str) else value


class ApiKeyCreate(BaseModel):
    """A new API key: who it is for, what it may do, and when it stops working."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "owner": "catalogue importer",
                    "scopes": ["books:write"],
                    "expires_at": "2027-12-31T23:59:59Z",
                }
            ]
        },
    )

    owner: Annotated[str, Text(200), Field(description="Who the key is for; 1-200 characters.")]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=len(SCOPES), description="What the key may do."),
        AfterValidator(_unique),
    ]
    expires_at: Annotated[
        AwareDatetime | None,
        Field(description="When the key stops working, with its offset; none: never."),
        AfterValidator(_future_or_none),
    ] = None


class ApiKeyOut(BaseModel):
    """An API key as the API shows it: never its secret, which is not stored."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [EXAMPLE]},
    )

    id: int
    prefix: str = Field(description="The key's first characters, to recognise it.")
    owner: str
    scopes: Annotated[list[str], BeforeValidator(_split)]
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute.")
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """A key just issued, with its secret: shown this once and never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**EXAMPLE, "secret": "shelf_Ab3dE9kq0v1LZ7mQ2yRr8xW4nTt6pJ5sH3cF1gB0aD9"}]
        },
    )

    secret: str = Field(description="Send it in X-API-KEY. Store it now: it is not kept.")

    @classmethod
    def of(cls, key: object, secret: str) -> ApiKeyCreated:
        """The key `create` or `rotate` issued (a stored `ApiKey`), with its secret."""
        return cls.model_validate({**ApiKeyOut.model_validate(key).model_dump(), "secret": secret})


class ApiKeyQuery(PageQuery):
    """List parameters: page, sort and filters."""

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "owner")
    default_sort: ClassVar[str] = "-created_at"

    owner: Annotated[str, Text(200)] | None = Field(None, description="Exact owner.")
    revoked: bool | None = Field(None, description="Only revoked (true) or unrevoked (false) keys.")
