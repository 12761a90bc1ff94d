"""Request and response shapes of the audit log's API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from shelf.core.pagination import PageQuery

__all__ = ["ACTOR_KINDS", "FILTERS", "AuditQuery", "AuditRecordOut"]

ACTOR_KINDS = ("user", "api_key", "client", "anonymous", "system")
FILTERS = ("actor_kind", "actor_id", "target_type", "target_id", "action", "since", "until")
TIME_HINT = (
    "Send an ISO 8601 date and time with its offset, e.g. 2026-12-01T09:30:00Z or "
    "2026-12-01T10:30:00%2B01:00 (a + in a query string must be sent as %2B)."
)


def _moment(value: object) -> datetime:
    """An ISO 8601 date and time with a timezone, in UTC; anything else is a 422."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or past the years UTC can show
        moment = None
    issue = "is not an ISO 8601 date and time" if moment is None else "has no timezone"
    raise PydanticCustomError("aware_datetime", issue, {"hint": TIME_HINT})


Moment = Annotated[datetime, BeforeValidator(_moment), Field(examples=["2026-12-01T09:30:00Z"])]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]

EXAMPLE: dict[str, JsonValue] = {
    "id": 42,
    "at": "2026-12-01T09:30:00.123456Z",
    "actor_kind": "api_key",
    "actor_id": "7",
    "action": "book.update",
    "target_type": "book",
    "target_id": "12",
    "request_id": "5f0c6f1e2b9d4a7c8e3f1a2b3c4d5e6f",
    "client_ip": "203.0.113.7",
    "changes": {"copies": 5},
}


class AuditRecordOut(BaseModel):
    """One change or sign-in: when, who, what it did to what, and the fields it set."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE]})

    id: int
    at: datetime
    actor_kind: str = Field(description=f"Who acted: one of {', '.join(ACTOR_KINDS)}.")
    actor_id: str | None = Field(
        description="The user's id, the API key's id or the client id, as a record of it as "
        "target shows it; null for anonymous and system."
    )
    action: str = Field(description="What was done: `book.create`, `user.sign_in`, ...")
    target_type: str | None
    target_id: str | None
    request_id: str | None = Field(description="The X-Request-ID of the request that did it.")
    client_ip: str | None
    changes: dict[str, JsonValue] = Field(
        description="The fields set, with their new values (an update: only those that "
        "changed). Secrets are never shown, not even hashed."
    )


class AuditQuery(PageQuery):
    """List parameters: page, sort and filters. Newest first unless `sort=at`."""

    sortable: ClassVar[tuple[str, ...]] = ("at",)
    default_sort: ClassVar[str] = "-at"

    actor_kind: Literal["user", "api_key", "client", "anonymous", "system"] | None = Field(
        None, description="Records of this kind of actor."
    )
    actor_id: Label | None = Field(None, description="The actor's id; needs `actor_kind`.")
    target_type: Label | None = Field(None, description="What was acted on: `book`, `user`...")
    target_id: Label | None = Field(None, description="Its id; needs `target_type`.")
    action: Label | None = Field(None, description="Exact action, e.g. `book.delete`.")
    since: Moment | None = Field(None, description="Records at or after this time.")
    until: Moment | None = Field(None, description="Records before this time.")
