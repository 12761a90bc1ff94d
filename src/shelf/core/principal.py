"""Who is calling: the principal of a request and the scopes it may hold."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ROLE_SCOPES", "SCOPES", "SCOPE_DESCRIPTIONS", "Principal"]

SCOPES = (
    "books:write",
    "templates:read",
    "templates:write",
    "loans:read",
    "loans:write",
    "loans:admin",
    "users:admin",
    "exports:write",
    "jobs:read",
    "admin",
)

SCOPE_DESCRIPTIONS = {
    "books:write": "Add, change and delete books.",
    "templates:read": "Read templates.",
    "templates:write": "Add, change and delete templates.",
    "loans:read": "Read your loans.",
    "loans:write": "Borrow and return books.",
    "loans:admin": "Read and manage everyone's loans.",
    "users:admin": "Read and manage users.",
    "exports:write": "Start exports.",
    "jobs:read": "Read background jobs.",
    "admin": "Everything, including users, API keys and clients.",
}

# What each role of a user may do. Members read the catalogue (public) and manage their own
# loans; librarians also write books and manage everyone's loans; admins may do everything
# (users, API keys and clients included).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "member": frozenset({"loans:read", "loans:write"}),
    "librarian": frozenset({"loans:read", "loans:write", "loans:admin", "books:write"}),
    "admin": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: what kind of credential, a stable subject, and its scopes.

    `kind` is `api_key`, `user` (a person, by a bearer token) or `client` (a program, by a
    client-credentials token); for a user, `user_id` is set.
    """

    kind: str
    subject: str
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None

    def granted(self) -> set[str]:
        """Every scope this caller holds, `admin` expanded."""
        return set(SCOPES) if "admin" in self.scopes else set(self.scopes)

    def may(self, scope: str) -> bool:
        """Whether this caller holds `scope` (an admin holds every scope)."""
        return "admin" in self.scopes or scope in self.scopes
