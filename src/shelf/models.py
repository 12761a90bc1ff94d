"""Every model, imported in one place so metadata is complete for migrations and tests."""

from shelf.audit.models import AuditRecord
from shelf.auth.models import (
    ApiKey,
    AuthorizationCode,
    OAuthClient,
    RefreshToken,
    RevokedToken,
    User,
)
from shelf.books.models import Book
from shelf.content_templates.models import Template
from shelf.core.db import Base
from shelf.idempotency.models import IdempotencyRecord
from shelf.loans.models import Loan

__all__ = [
    "ApiKey",
    "AuditRecord",
    "AuthorizationCode",
    "Base",
    "Book",
    "IdempotencyRecord",
    "Loan",
    "OAuthClient",
    "RefreshToken",
    "RevokedToken",
    "Template",
    "User",
]
