"""Request and response shapes of the users API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, JsonValue

from shelf.auth import passwords
from shelf.core.fields import Patch, Text
from shelf.core.pagination import PageQuery

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "Email",
    "MeUpdate",
    "Password",
    "Role",
    "UserAdminUpdate",
    "UserCreate",
    "UserOut",
    "UserQuery",
]

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
# Long enough for any passphrase or generated password; a cap keeps hashing one bounded.
MAX_PASSWORD_LENGTH = 256

# Stored and compared lower-cased: one person, one account, however the address is typed.
Email = Annotated[
    EmailStr,
    AfterValidator(str.lower),
    Field(
        max_length=254,
        description="An email address; stored lower-cased.",
        examples=["ada@example.com"],
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description=f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not one of the "
        "passwords known from breaches. Never shown again.",
        examples=["correct horse battery staple"],
    ),
]
FullName = Annotated[str, Text(200), Field(description="1-200 characters.")]
Role = Literal["member", "librarian", "admin"]

EXAMPLE: dict[str, JsonValue] = {
    "email": "ada@example.com",
    "password": "correct horse battery staple",
    "full_name": "Ada Lovelace",
}


class UserCreate(BaseModel):
    """A new account (registration): every account starts as an active member."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [EXAMPLE]}
    )

    email: Email
    password: Password
    full_name: FullName


class MeUpdate(BaseModel):
    """Some fields of one's own account (PATCH): only what is sent changes. A new password
    needs the current one."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"full_name": "Ada King"},
                {
                    "password": "a much longer passphrase",
                    "current_password": "correct horse battery staple",
                },
            ]
        },
    )

    full_name: Patch[FullName] = None
    email: Patch[Email] = None
    password: Patch[Password] = None
    current_password: Patch[Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]] = Field(
        None, description="The password in use now; required with `password`."
    )


class UserAdminUpdate(BaseModel):
    """What an admin may change of an account (PATCH): its role and whether it may sign in."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"role": "librarian"}, {"active": False}]},
    )

    role: Patch[Role] = Field(
        None, description="member, librarian or admin; a role's scopes come with its next token."
    )
    active: Patch[bool] = Field(
        None, description="false: the account may no longer sign in, and its sessions end."
    )


class UserOut(BaseModel):
    """An account as the API shows it (never its password)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "email": "ada@example.com",
                    "full_name": "Ada Lovelace",
                    "role": "member",
                    "active": True,
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:00Z",
                }
            ]
        },
    )

    id: int
    email: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime
    updated_at: datetime


Words = Annotated[str, Text(200)]


class UserQuery(PageQuery):
    """List parameters: page, sort and filters."""

    sortable: ClassVar[tuple[str, ...]] = ("email", "full_name", "created_at")

    role: Role | None = Field(None, description="Exact role.")
    active: bool | None = Field(None, description="Only active (true) or inactive (false).")
    email: Words | None = Field(None, description="Case-insensitive substring of the email.")
    q: Words | None = Field(
        None, description="Case-insensitive substring of the email or the full name."
    )
