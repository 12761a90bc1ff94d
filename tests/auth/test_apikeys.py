"""API keys: issuing, checking, scopes, expiry, revocation and the Redis import.

Which scope each operation needs, and the 401 and 403 answers, are tests/contract/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
import requests
from apiflask import APIFlask
from cachetools import TTLCache
from click.testing import CliRunner
from flask.testing import FlaskClient

from shelf.auth import api_keys as service
from shelf.auth.models import ApiKey
from shelf.cli import main
from shelf.core.db import utcnow
from shelf.extensions import db
from tests.support.checks import assert_problem
from tests.support.clock import FakeClock
from tests.support.factories import make_key
from tests.support.resources import BOOKS, TEMPLATES, new_book
from tests.support.servers import ServerProcess


def post_book(client: FlaskClient, key: str | None) -> object:
    headers = {"X-API-KEY": key} if key else {}
    return client.post(BOOKS, json=new_book(), headers=headers)


@pytest.mark.parametrize("key", ["shelf_not-a-real-key", "\udcff\udcfe", "x" * 10_000])
def test_an_unknown_key_is_401(anon: FlaskClient, key: str) -> None:
    assert_problem(post_book(anon, key), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "scopes", [("books:write",), ("admin",), ("templates:read", "books:write")]
)
def test_a_key_with_the_scope_may_write(
    anon: FlaskClient, issue_key: Callable[..., str], scopes: tuple[str, ...]
) -> None:
    assert post_book(anon, issue_key(*scopes)).status_code == 201  # type: ignore[attr-defined]


def test_keys_are_random_prefixed_and_stored_only_as_digests(app: APIFlask) -> None:
    with app.app_context():
        first = service.create_key(db.session, owner="a", scopes=["admin"])
        second = service.create_key(db.session, owner="b", scopes=["admin"])
        assert first.secret.startswith("shelf_")
        assert len(first.secret) - len("shelf_") >= 43  # 32 random bytes, base64url
        assert first.secret != second.secret
        stored = db.session.get(ApiKey, first.key.id)
        assert stored is not None
        assert first.secret not in (stored.key_hash, stored.prefix)
        assert stored.key_hash == service.digest(first.secret)


def test_a_revoked_key_fails_on_the_next_request(app: APIFlask, anon: FlaskClient) -> None:
    with app.app_context():
        issued = service.create_key(db.session, owner="leaver", scopes=["books:write"])
        key_id, secret = issued.key.id, issued.secret
    assert post_book(anon, secret).status_code == 201  # type: ignore[attr-defined]
    with app.app_context():
        service.revoke_key(db.session, key_id=key_id)
    assert_problem(post_book(anon, secret), 401, "UNAUTHORIZED")


def test_an_expired_key_is_401(app: APIFlask, anon: FlaskClient) -> None:
    with app.app_context():
        issued = service.create_key(
            db.session, owner="temp", scopes=["books:write"], expires_in=timedelta(days=1)
        )
        issued.key.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_problem(post_book(anon, issued.secret), 401, "UNAUTHORIZED")


def test_use_is_recorded(app: APIFlask, anon: FlaskClient, issue_key: Callable[..., str]) -> None:
    key = issue_key("books:write")
    post_book(anon, key)
    with app.app_context():
        stored = db.session.query(ApiKey).filter_by(key_hash=service.digest(key)).one()
        assert stored.last_used_at is not None


def cli(args: list[str], database_url: str, **env: str) -> str:
    result = CliRunner().invoke(
        main, args, env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **env}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_creates_lists_and_revokes(database_url: str, app: APIFlask, anon: FlaskClient) -> None:
    secret = cli(
        ["apikeys", "create", "--owner", "ci", "--scopes", "books:write", "--expires-in", "90d"],
        database_url,
    ).splitlines()[0]
    assert secret.startswith("shelf_")
    listing = cli(["apikeys", "list"], database_url)
    assert "ci" in listing
    assert secret not in listing
    assert post_book(anon, secret).status_code == 201  # type: ignore[attr-defined]
    key_id = listing.split("\t", 1)[0]
    cli(["apikeys", "revoke", key_id], database_url)
    assert_problem(post_book(anon, secret), 401, "UNAUTHORIZED")


def test_cli_rejects_unknown_scopes_naming_the_valid_ones(database_url: str) -> None:
    result = CliRunner().invoke(
        main,
        ["apikeys", "create", "--owner", "x", "--scopes", "books:read"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 2
    assert "books:read" in result.output
    assert "templates:write" in result.output


def test_import_redis_makes_old_keys_usable(
    database_url: str, redis_url: str, redis_prefix: str, anon: FlaskClient
) -> None:
    hash_name = f"{redis_prefix}sec_apikeys"
    old_key = "6f1c2a4e-8b7d-4c3a-9e5f-0a1b2c3d4e5f"
    client = redis.Redis.from_url(redis_url)
    client.hset(hash_name, old_key, "legacy-client")
    client.close()
    args = ["apikeys", "import-redis", "--scopes", "books:write", "--hash", hash_name]
    assert "imported 1 key(s)" in cli(args, database_url, REDIS_URL=redis_url)
    assert "0 key(s); 1 already present" in cli(args, database_url, REDIS_URL=redis_url)
    assert post_book(anon, old_key).status_code == 201  # type: ignore[attr-defined]
    listing = cli(["apikeys", "list"], database_url)
    assert "legacy-client" in listing
    assert old_key[:5] not in listing  # an old key has no public prefix to show


@pytest.mark.parametrize("lifetime", ["9999999d", "9999999999d", "36501d", "\u0663d", "-1d"])
def test_cli_refuses_an_expiry_out_of_range(database_url: str, lifetime: str) -> None:
    result = CliRunner().invoke(
        main,
        ["apikeys", "create", "--owner", "x", "--scopes", "admin", "--expires-in", lifetime],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 2
    assert "--expires-in" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.server
def test_a_revoked_key_stops_working_on_every_worker_within_a_second(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(WEB_CONCURRENCY="4")
    key = make_key(server.database_url, "templates:read")
    templates = f"{server.url}{TEMPLATES}"

    def statuses() -> set[int]:
        # Fresh connections, so the requests spread over the workers.
        return {
            requests.get(templates, headers={"X-API-KEY": key}, timeout=5).status_code
            for _ in range(40)
        }

    assert statuses() == {200}  # every worker has now checked, and cached, the key
    (key_id,) = [
        line.split("\t")[0]
        for line in cli(["apikeys", "list"], server.database_url).splitlines()
        if "templates:read" in line
    ]
    cli(["apikeys", "revoke", key_id], server.database_url)  # another process
    revoked = time.monotonic()
    # The workers' clocks cannot be set from here: ask them until every one refuses the key.
    # A round of requests begun a second after the revocation must find no worker accepting it.
    while True:
        asked = time.monotonic()
        if (seen := statuses()) == {401}:
            break
        assert asked - revoked < service.KEY_CACHE_SECONDS + 0.1, seen


def test_a_key_revoked_elsewhere_works_until_its_remembered_check_expires(
    app: APIFlask,
    anon: FlaskClient,
    issue_key: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    seconds = service.KEY_CACHE_SECONDS
    monkeypatch.setattr(service, "_key_cache", TTLCache(100, ttl=seconds, timer=clock))
    key = issue_key("books:write")
    assert post_book(anon, key).status_code == 201  # type: ignore[attr-defined]
    with app.app_context():  # as another process revokes it: this process's cache untouched
        stored = db.session.query(ApiKey).filter_by(key_hash=service.digest(key)).one()
        stored.revoked_at = utcnow()
        db.session.commit()
    clock.advance(seconds / 2)
    assert post_book(anon, key).status_code == 201  # type: ignore[attr-defined]
    clock.advance(seconds / 2)
    assert_problem(post_book(anon, key), 401, "UNAUTHORIZED")


class ExpiringAfterEveryMembershipTest(TTLCache[str, object]):
    """A key cache whose entries expire right after `in` has found them, as under load when the
    second ends between two lookups."""

    def __contains__(self, key: object) -> bool:
        present = super().__contains__(key)
        self.expire(self.timer() + 2 * self.ttl)
        return present


def test_a_key_check_expiring_mid_lookup_is_a_miss_not_an_error(
    anon: FlaskClient, issue_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_key_cache", ExpiringAfterEveryMembershipTest(100, ttl=1))
    key = issue_key("books:write")
    statuses = [post_book(anon, key).status_code for _ in range(3)]  # type: ignore[attr-defined]
    assert statuses == [201] * 3


def test_guessing_keys_is_counted_like_anonymous_traffic(
    make_app: Callable[..., APIFlask],
) -> None:
    guesser = make_app(default_rate_limit=2).test_client()
    statuses = [
        guesser.get("/api/v1/books", headers={"X-API-KEY": f"shelf_guess{n}"}).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]
