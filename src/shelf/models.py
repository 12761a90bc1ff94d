"""Every model, imported in one place so metadata is complete for migrations and tests."""

from shelf.auth.models import ApiKey
from shelf.books.models import Book
from shelf.content_templates.models import Template
from shelf.core.db import Base

__all__ = ["ApiKey", "Base", "Book", "Template"]
