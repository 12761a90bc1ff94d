"""Who is calling: the principal of a request and the scopes it may hold."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SCOPES", "Principal"]

SCOPES = (
    "books:write",
    "templates:read",
    "templates:write",
    "loans:read",
    "loans:write",
    "users:admin",
    "exports:write",
    "jobs:read",
    "admin",
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: what kind of credential, a stable subject, and its scopes."""

    kind: str
    subject: str
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def granted(self) -> set[str]:
        """Every scope this caller holds, `admin` expanded."""
        return set(SCOPES) if "admin" in self.scopes else set(self.scopes)
