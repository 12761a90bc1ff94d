"""Which request headers carry credentials: what the anonymous-hit shortcut must step aside for."""

from __future__ import annotations

from typing import Any

__all__ = ["API_KEY_HEADER", "has_credentials"]

API_KEY_HEADER = "X-API-KEY"
# Where a request carries credentials, in the WSGI environ (HTTP_ and the header's name).
CREDENTIAL_ENVIRON_KEYS = tuple(
    "HTTP_" + header.upper().replace("-", "_") for header in (API_KEY_HEADER, "Authorization")
)


def has_credentials(environ: dict[str, Any]) -> bool:
    """Whether the request carries credentials, valid or not."""
    return any(environ.get(key) for key in CREDENTIAL_ENVIRON_KEYS)
