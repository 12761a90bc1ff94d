"""Business rules of templates.

Writes take the session and own its transaction; reads take the engine and use no transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from shelf.content_templates.models import Template
from shelf.content_templates.schemas import TemplateCreate, TemplateQuery, TemplateUpdate
from shelf.core.concurrency import apply_changes, check_if_match, commit_or_raise
from shelf.core.db import PLANNED_PER_VALUES
from shelf.core.errors import NotFoundError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing, contains

__all__ = [
    "create_template",
    "delete_template",
    "etag",
    "get_template",
    "list_templates",
    "read_template",
    "replace_template",
    "update_template",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BY_ID = select(Template.__table__).where(Template.__table__.c.templateid == bindparam("templateid"))
ALL = select(Template)
BY_NAME = ALL.where(Template.name.ilike(bindparam("q"), escape="\\")).execution_options(
    **{PLANNED_PER_VALUES: True}  # how many match depends on the term (`shelf.core.db`)
)


def _filtered(query: TemplateQuery) -> tuple[Select[Template], dict[str, Any]]:
    """The statement of the filter `query` sets, and the value of its parameter."""
    if query.q is None:
        return ALL, {}
    return BY_NAME, {"q": contains(query.q)}


def etag(template: Template | Row[Any]) -> str:
    """A strong ETag that changes on every write: `modified` is the row's version."""
    micros = (template.modified - EPOCH) // timedelta(microseconds=1)
    return f'"tpl-{template.templateid}-{micros}"'


def list_templates(engine: Engine, *, query: TemplateQuery) -> Listing:
    """One page of templates matching the filter (plain rows), and how many match in all."""
    with engine.connect() as connection:
        statement, params = _filtered(query)
        return paginate(connection, statement, params, query)


def read_template(engine: Engine, *, templateid: uuid.UUID) -> Row[Any]:
    """The template with this id as a plain row, for reading only; or NotFoundError."""
    # A Core statement on `db.reads` (autocommit): one round trip, no ORM identity map.
    with engine.connect() as connection:
        row = connection.execute(BY_ID, {"templateid": templateid}).first()
    if row is None:
        raise NotFoundError(f"There is no template with id {templateid}.")
    return row


def get_template(session: Session, *, templateid: uuid.UUID, lock: bool = False) -> Template:
    """The template with this id, or NotFoundError; `lock` holds its row until the commit."""
    statement = select(Template).where(Template.templateid == templateid)
    if lock:  # read again even if this session holds an older copy
        statement = statement.with_for_update().execution_options(populate_existing=True)
    template = session.scalar(statement)
    if template is None:
        raise NotFoundError(f"There is no template with id {templateid}.")
    return template


def create_template(session: Session, *, data: TemplateCreate) -> Template:
    """Add a template."""
    template = Template(templateid=uuid.uuid4(), **data.model_dump())
    session.add(template)
    commit_or_raise(session, what="template")
    return template


def replace_template(
    session: Session, *, templateid: uuid.UUID, data: TemplateCreate, if_match: str | None = None
) -> Template:
    """Replace every field of a template (PUT); `if_match` guards against lost updates."""
    template = _current(session, templateid, if_match)
    apply_changes(session, template, data.model_dump(), what="template")
    return template


def update_template(
    session: Session, *, templateid: uuid.UUID, data: TemplateUpdate, if_match: str | None = None
) -> Template:
    """Change only the fields that were sent (PATCH)."""
    template = _current(session, templateid, if_match)
    apply_changes(session, template, data.model_dump(exclude_unset=True), what="template")
    return template


def delete_template(
    session: Session, *, templateid: uuid.UUID, if_match: str | None = None
) -> None:
    """Remove a template."""
    session.delete(_current(session, templateid, if_match))
    commit_or_raise(session, what="template")


def _current(session: Session, templateid: uuid.UUID, if_match: str | None) -> Template:
    # Locked first, so concurrent writes of one template queue: each sees the one before.
    template = get_template(session, templateid=templateid, lock=True)
    check_if_match(if_match, etag(template))
    return template
