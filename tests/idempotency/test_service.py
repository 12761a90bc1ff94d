"""The records behind the keys: what fails stores nothing, expiry, purge, one transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.books.models import Book
from shelf.core.concurrency import CommitDeferredError, commit_or_raise, deferred_commits
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError
from shelf.extensions import db
from shelf.idempotency import decorator, service
from shelf.idempotency.models import IdempotencyRecord
from shelf.idempotency.service import REPLAY_WINDOW, StoredResponse
from tests.support.checks import assert_problem
from tests.support.factories import shelf_cli
from tests.support.idempotency import count_items, post_with_key, stored_records
from tests.support.resources import BOOKS, RESOURCES

BOOK = next(resource for resource in RESOURCES if resource.name == "books")
ANSWER = StoredResponse(201, {"Content-Type": "application/json"}, b"{}")


def test_a_conflict_stores_nothing_and_the_key_works_once_it_is_gone(
    app: APIFlask, client: FlaskClient
) -> None:
    taken = client.post(BOOKS, json=BOOK.new | {"isbn": "9780306406157"})
    response = post_with_key(client, BOOK, "k", isbn="9780306406157")
    assert_problem(response, 409, "CONFLICT")
    assert stored_records(app) == []
    assert client.delete(taken.headers["Location"]).status_code == 204
    retried = post_with_key(client, BOOK, "k", isbn="9780306406157")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


SECRET = "a-secret-key-of-at-least-thirty-two-characters"


def test_a_stored_answer_is_unreadable_without_the_secret_key(app: APIFlask) -> None:
    _store(app, "sealed", hours_ago=0)
    with app.app_context():
        stored = db.session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "sealed")
        )
        assert stored is not None
        assert ANSWER.body not in stored.body
        again = service.claim(db.session, caller="api_key:test", key="sealed",
                              fingerprint="0" * 64, secret=SECRET)  # fmt: skip
        assert again is not None
        assert again.body == ANSWER.body
        db.session.rollback()
        with pytest.raises(ConflictError, match="SECRET_KEY changed"):
            service.claim(db.session, caller="api_key:test", key="sealed",
                          fingerprint="0" * 64, secret="another-" + SECRET)  # fmt: skip
        db.session.rollback()


def _store(app: APIFlask, key: str, *, hours_ago: float, caller: str = "api_key:test") -> None:
    with app.app_context():
        service.store(
            db.session,
            caller=caller,
            key=key,
            fingerprint="0" * 64,
            response=ANSWER,
            secret=SECRET,
            now=utcnow() - timedelta(hours=hours_ago),
        )


def test_an_expired_key_starts_afresh(app: APIFlask, client: FlaskClient) -> None:
    first = post_with_key(client, BOOK, "k")
    with app.app_context():
        db.session.query(IdempotencyRecord).update({"expires_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()
    again = post_with_key(client, BOOK, "k")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.headers["Location"] != first.headers["Location"]
    assert count_items(app, BOOK) == 2
    assert len(stored_records(app)) == 1
    assert post_with_key(client, BOOK, "k").get_data() == again.get_data()  # the new answer


def test_records_are_kept_24_hours(app: APIFlask) -> None:
    _store(app, "k", hours_ago=0)
    (record,) = stored_records(app)
    assert record.expires_at - record.created_at == REPLAY_WINDOW == timedelta(hours=24)


def test_purge_removes_only_expired_records(app: APIFlask) -> None:
    for number in range(5):
        _store(app, f"old-{number}", hours_ago=25)
    _store(app, "fresh", hours_ago=23)
    with app.app_context():
        deleted = service.purge_expired(db.session, batch_size=2)
    assert deleted == 5
    assert [record.key for record in stored_records(app)] == ["fresh"]


def test_purge_stops_after_max_batches(app: APIFlask) -> None:
    for number in range(5):
        _store(app, f"old-{number}", hours_ago=25)
    with app.app_context():
        assert service.purge_expired(db.session, batch_size=2, max_batches=2) == 4
        assert service.purge_expired(db.session, batch_size=2, max_batches=2) == 1
        assert service.purge_expired(db.session) == 0


def test_purge_takes_the_time_it_is_given(app: APIFlask) -> None:
    _store(app, "k", hours_ago=0)
    with app.app_context():
        assert service.purge_expired(db.session, now=utcnow() + timedelta(hours=23)) == 0
        assert service.purge_expired(db.session, now=utcnow() + timedelta(hours=25)) == 1


def test_the_purge_command(app: APIFlask, database_url: str) -> None:
    _store(app, "old", hours_ago=25)
    _store(app, "fresh", hours_ago=1)
    output = shelf_cli(["idempotency", "purge", "--batch-size", "1"], database_url)
    assert "deleted 1 expired idempotency record(s)" in output
    assert [record.key for record in stored_records(app)] == ["fresh"]


def test_deferred_commits_flush_and_the_caller_commits_once(app: APIFlask) -> None:
    with app.app_context():
        session = db.session
        with deferred_commits(session):
            book = Book(title="Dune", author="Frank Herbert")
            session.add(book)
            commit_or_raise(session, what="book")
            assert book.id is not None  # flushed
            assert session.in_transaction()
        session.rollback()
    assert count_items(app, BOOK) == 0


def test_a_direct_commit_inside_deferred_commits_is_refused(app: APIFlask) -> None:
    with app.app_context():
        session = db.session
        session.add(Book(title="Dune", author="Frank Herbert"))
        with deferred_commits(session), pytest.raises(CommitDeferredError):
            session.commit()
        session.rollback()
    assert count_items(app, BOOK) == 0


def test_the_fingerprint_covers_method_path_and_body() -> None:
    base = service.fingerprint("POST", "/api/v1/books", b"{}")
    assert base == service.fingerprint("post", "/api/v1/books", b"{}")
    assert (
        len(
            {
                base,
                service.fingerprint("PUT", "/api/v1/books", b"{}"),
                service.fingerprint("POST", "/api/v1/templates", b"{}"),
                service.fingerprint("POST", "/api/v1/books", b"{ }"),
                service.fingerprint("POST", "/api/v1/book", b"s{}"),
            }
        )
        == 5
    )


def test_keys_belong_to_the_principal_or_the_client_address(
    app: APIFlask, issue_key: Callable[..., str]
) -> None:
    secret = issue_key("books:write")
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        assert decorator.current_caller() == "anonymous:192.0.2.7"
    with app.test_request_context(headers={"X-API-KEY": secret}):
        app.preprocess_request()  # identifies the caller
        assert decorator.current_caller().startswith("api_key:apikey:")
