"""A team moving from the older template service (MYPKG): Shelf pointed at its PostgreSQL
table, its Redis hash of API keys and its `.env`, as they stand."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import make_url

from shelf.app import create_app
from shelf.auth import api_keys
from shelf.cli import main
from shelf.config import Settings
from shelf.extensions import db
from tests.support.private_redis import PrivateRedis
from tests.support.services import empty_postgresql_database

pytestmark = pytest.mark.server

# Its DDL, as its README gives it (less the owner).
MYPKG_DDL = """
create table templates
(
    tidx        serial
        constraint templates_pk
            primary key,
    templateid  uuid      default gen_random_uuid() not null,
    name        varchar   default ''::character varying,
    description varchar   default ''::character varying,
    content     varchar   default ''::character varying,
    created     timestamp default now(),
    modified    timestamp default now()
)
"""
OLD_KEY = "12345678-90ab-cdef-1234-567890abcdef"  # a UUID4, as its clients send them

# Its .env, with this machine's servers (and no Redis password: the test's server has none).
MYPKG_ENV = """
FLASK_APP=app.py
FLASK_ENV=development
FLASK_HOST=localhost
FLASK_PORT=9000
SECRET_KEY="Sup3rC0mpl3xS3cr3tK3y"
LOG_LEVEL=info
DB_ENGINE=pg
DB_USER={user}
DB_PASS=password
DB_HOST={host}
DB_PORT={port}
DB_NAME={name}
REDIS_HOST=127.0.0.1
REDIS_PORT={redis_port}
REDIS_PASS=
REDIS_DB=0
REDIS_MAX_CONN=100
DEFAULT_RATE_LIMIT=100
PROMETHEUS_ENABLED=False
PROMETHEUS_DBLAT_TABLE=templates
PROMETHEUS_DBLAT_COLUMN=templateid
GUNIPORT=9000
AWS_REGION=eu-south-2
AWS_S3_BUCKET=
AWS_S3_BUCKET_PREFIX=
LEGACY_REDIS_APIKEYS=true
"""


def test_shelf_serves_the_older_services_templates_and_keys(
    private_redis: PrivateRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with empty_postgresql_database() as url:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(conninfo, autocommit=True) as old:
            old.execute(MYPKG_DDL)
            old.execute("insert into templates (name, content) values ('Welcome', 'Hi {{ n }}')")
            old.execute("insert into templates (name, description) values (NULL, NULL)")
        with redis.Redis.from_url(private_redis.url) as old_redis:
            old_redis.hset("sec_apikeys", OLD_KEY, "user: OldOrg")
        parts = make_url(url)
        (tmp_path / ".env").write_text(
            MYPKG_ENV.format(
                user=parts.username,
                host=parts.host,
                port=parts.port,
                name=parts.database,
                redis_port=make_url(private_redis.url).port,
            )
        )
        monkeypatch.chdir(tmp_path)

        upgraded = CliRunner().invoke(main, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        app = create_app(Settings())
        client = app.test_client()
        client.environ_base["HTTP_X_API_KEY"] = OLD_KEY  # only in its Redis hash, so far
        try:
            listing = client.get("/api/v1/templates?sort=created")
            assert listing.status_code == 200, listing.get_json()
            names = [item["name"] for item in listing.get_json()["items"]]
            assert names == ["Welcome", ""]  # its rows, the NULL it allowed now empty
            created = client.post("/api/v1/templates", json={"name": "New", "content": "x"})
            assert created.status_code == 201
            # Its clients still insert rows the way they did, beside Shelf.
            with psycopg.connect(conninfo, autocommit=True) as old:
                old.execute("insert into templates (name) values ('From the old service')")
            after = client.get("/api/v1/templates?q=old service").get_json()["items"]
            assert [item["name"] for item in after] == ["From the old service"]
            with psycopg.connect(conninfo) as check:
                owner = check.execute("select owner from api_keys").fetchone()
            assert owner == ("user: OldOrg",)  # imported on its first use, hashed
        finally:
            api_keys.clear_key_cache()
            with app.app_context():
                db.dispose()
