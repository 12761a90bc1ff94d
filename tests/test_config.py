"""Settings: defaults, the older variables, and refusals at start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import AliasChoices, ValidationError

from shelf.app import create_app
from shelf.cli import main
from shelf.config import Settings, describe_error, ignored_variables
from tests.support.factories import make_settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_run_embedded() -> None:
    current = settings()
    assert current.is_sqlite
    assert current.redis_url is None
    assert current.api_prefix == "/api/v1"
    assert current.port == 8080


def test_database_url_from_the_older_parts() -> None:
    current = settings(
        db_engine="postgresql", db_user="u", db_pass="p@ss", db_host="db", db_name="lib"
    )
    assert current.database_url == "postgresql+psycopg://u:p%40ss@db:5432/lib"


def test_redis_url_from_the_older_parts() -> None:
    current = settings(redis_host="cache", redis_port=6380, redis_pass="pw", redis_db=2)
    assert current.redis_url == "redis://:pw@cache:6380/2"


def test_older_port_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNIPORT", "9001")
    assert Settings(_env_file=None).port == 9001  # type: ignore[call-arg]


def test_every_older_variable_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    older = {
        "DB_ENGINE": "postgres",
        "DB_USER": "lib",
        "DB_PASS": "secret",
        "DB_HOST": "db.internal",
        "DB_PORT": "6432",
        "DB_NAME": "catalogue",
        "REDIS_HOST": "cache.internal",
        "REDIS_PORT": "6380",
        "REDIS_PASS": "pw",
        "REDIS_DB": "3",
        "REDIS_MAX_CONN": "48",
        "FLASK_HOST": "0.0.0.0",
        "FLASK_PORT": "9002",
    }
    for name, value in older.items():
        monkeypatch.setenv(name, value)
    current = Settings(_env_file=None)  # type: ignore[call-arg]
    assert current.database_url == "postgresql+psycopg://lib:secret@db.internal:6432/catalogue"
    assert current.redis_url == "redis://:pw@cache.internal:6380/3"
    assert current.redis_max_conn == 48
    assert (current.host, current.port) == ("0.0.0.0", 9002)


def test_a_plain_postgresql_url_uses_the_shipped_driver() -> None:
    url = settings(database_url="postgresql://u@db/lib").database_url
    assert url == "postgresql+psycopg://u@db/lib"


def test_an_unknown_db_engine_names_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(db_engine="oracle", db_host="db")
    assert describe_error(caught.value).startswith("invalid configuration: DB_ENGINE:")


def test_cors_origins_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]  # type: ignore[call-arg]


@pytest.mark.parametrize("secret", [None, "dev-secret-change-me", "short"])
def test_production_refuses_a_default_or_weak_secret(secret: str | None) -> None:
    values = {"app_env": "production"} | ({"secret_key": secret} if secret else {})
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    assert "SECRET_KEY" in describe_error(caught.value)


def test_production_accepts_a_real_secret() -> None:
    assert settings(app_env="production", secret_key="s" * 40).app_env == "production"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "abc"),
        ("APP_ENV", "qa"),  # prod, dev and stage are understood
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("DATABASE_URL", "foo://x"),
        ("REDIS_URL", "notaurl"),
        ("API_PREFIX", "/"),
    ],
)
def test_invalid_configuration_stops_start_up_naming_the_variable(
    variable: str, value: str
) -> None:
    result = CliRunner().invoke(main, ["serve"], env={variable: value})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"shelf: invalid configuration: {variable}:")


def test_env_example_documents_every_variable(repo_root: Path) -> None:
    documented = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", (repo_root / ".env.example").read_text()))
    expected: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        expected |= set(alias.choices) if isinstance(alias, AliasChoices) else {name.upper()}
    assert expected - documented == set()


def test_without_redis_one_process_shares_the_cache_and_the_limits() -> None:
    # Separate processes would each cache and count on their own: `make run` runs one.
    assert settings().web_concurrency == 1
    assert settings(redis_url="redis://127.0.0.1:6379/0").web_concurrency == (os.cpu_count() or 1)
    assert settings(web_concurrency=3).web_concurrency == 3  # as asked, with or without Redis


@pytest.mark.parametrize(
    ("given", "meant"),
    [("dev", "development"), ("stage", "staging"), ("prod", "production"), ("Staging", "staging")],
)
def test_the_platforms_short_environment_names_are_understood(given: str, meant: str) -> None:
    secret = "s" * 40  # production asks for a real one
    assert settings(app_env=given, secret_key=secret).app_env == meant


def test_the_older_template_services_spellings_are_understood() -> None:
    # Its .env: DB_ENGINE=pg and the DB_* parts; LOG_LEVEL in any case.
    older = settings(
        db_engine="pg", db_user="root", db_host="localhost", db_name="mypkg", log_level="info"
    )
    assert older.database_url == "postgresql+psycopg://root@localhost:5432/mypkg"
    assert older.log_level == "INFO"


def test_the_older_services_unused_variables_are_named_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FLASK_ENV=development\nPROMETHEUS_ENABLED=False\n")
    monkeypatch.setenv("AWS_REGION", "eu-south-2")
    assert set(ignored_variables()) == {"FLASK_ENV", "PROMETHEUS_ENABLED", "AWS_REGION"}
    create_app(make_settings())
    shown = capsys.readouterr().out
    for name in ("FLASK_ENV", "PROMETHEUS_ENABLED", "AWS_REGION"):
        assert f"{name} is set but ignored" in shown
