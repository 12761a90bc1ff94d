"""Templates' service rules that HTTP cannot reach on its own: writes after a concurrent one,
and the version clock."""

from __future__ import annotations

from datetime import timedelta

from apiflask import APIFlask
from sqlalchemy.orm import Session

from shelf.content_templates import service
from shelf.content_templates.models import next_modified
from shelf.content_templates.schemas import TemplateCreate, TemplateUpdate
from shelf.core.db import utcnow
from shelf.extensions import db


def test_a_write_applies_to_the_newest_version_not_to_a_copy_read_before(
    app: APIFlask,
) -> None:
    with app.app_context():
        templateid = service.create_template(
            db.session, data=TemplateCreate(name="Race")
        ).templateid
        # Held, so this session's identity map keeps the version it read.
        stale = service.get_template(db.session, templateid=templateid)
        db.session.commit()  # ends the read (on SQLite a transaction holds the write lock)
        with Session(db.engine) as other:
            first = service.update_template(
                other, templateid=templateid, data=TemplateUpdate(content="first")
            ).modified
        second = service.update_template(
            db.session, templateid=templateid, data=TemplateUpdate(name="Second")
        )
        assert second is stale
        assert (second.name, second.content) == ("Second", "first")
        assert second.modified > first


def test_the_version_clock_never_repeats_or_goes_back() -> None:
    ahead = utcnow() + timedelta(hours=1)  # as if the clock stepped back an hour
    assert next_modified(ahead) == ahead + timedelta(microseconds=1)
    now = next_modified(None)
    assert next_modified(now) > now
