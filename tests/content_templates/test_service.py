"""Templates' service rules that HTTP cannot reach on its own: lost races and the version clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apiflask import APIFlask
from sqlalchemy.orm import Session

from shelf.content_templates import service
from shelf.content_templates.models import next_modified
from shelf.content_templates.schemas import TemplateCreate, TemplateUpdate
from shelf.core.db import utcnow
from shelf.core.errors import PreconditionFailedError
from shelf.extensions import db


def test_a_lost_race_is_412_and_keeps_the_winner(app: APIFlask) -> None:
    with app.app_context():
        templateid = service.create_template(
            db.session, data=TemplateCreate(name="Race")
        ).templateid
        # Held, so this session's identity map keeps the version it read.
        stale = service.get_template(db.session, templateid=templateid)
        with Session(db.engine) as other:
            service.update_template(
                other, templateid=templateid, data=TemplateUpdate(content="winner")
            )
        with pytest.raises(PreconditionFailedError):
            service.update_template(
                db.session, templateid=templateid, data=TemplateUpdate(content="loser")
            )
        assert stale.content == "winner"


def test_the_version_clock_never_repeats_or_goes_back() -> None:
    ahead = utcnow() + timedelta(hours=1)  # as if the clock stepped back an hour
    assert next_modified(ahead) == ahead + timedelta(microseconds=1)
    now = next_modified(None)
    assert next_modified(now) > now
