"""The templates table, in the layout the older template service created, so its data still fits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import Index, Integer, Text, Uuid
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = ["Template", "next_modified"]

ONE_MICROSECOND = timedelta(microseconds=1)


def next_modified(current: datetime | None) -> datetime:
    """The `modified` of the next write: now, but always later than `current`."""
    # `modified` doubles as the optimistic-lock version and the ETag, so it must change on every
    # write, even two in the same microsecond or after the clock steps back.
    now = utcnow()
    return now if current is None or now > current else current + ONE_MICROSECOND


def _created(context: DefaultExecutionContext) -> datetime:
    # The row's first `modified` comes from the version generator; reusing it keeps
    # created == modified on insert instead of a few microseconds apart.
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    modified: datetime | None = parameters.get("modified")
    return modified or utcnow()


class Template(Base):
    """A named template; `modified` guards against lost concurrent updates."""

    __tablename__ = "templates"
    __audit__: ClassVar[str] = "template"  # audited as template.create, .update, .delete
    __audit_id__: ClassVar[str] = "templateid"  # the id the API shows

    tidx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    templateid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    content: Mapped[str] = mapped_column(Text, default="", server_default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=_created)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)  # set by next_modified

    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy's declared form
        "version_id_col": modified,
        "version_id_generator": next_modified,
    }
    # In list order (sort field, then the key), so a sorted page is read from the index.
    __table_args__ = (
        Index("ix_templates_name_tidx", "name", "tidx"),
        Index("ix_templates_created_tidx", "created", "tidx"),
        Index("ix_templates_modified_tidx", "modified", "tidx"),
        # `q` (ILIKE '%q%') on PostgreSQL; SQLite has no trigram index.
        Index(
            "ix_templates_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # no pending list to read (migration 0008)
        ),
        {"sqlite_autoincrement": True},  # ids are never reused (migration 0007)
    )
