"""Settings: defaults, the older variables, and refusals at start-up."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from shelf.cli import main
from shelf.config import Settings, describe_error


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
    [("PORT", "abc"), ("APP_ENV", "prod"), ("DATABASE_URL", "not a url"), ("API_PREFIX", "/")],
)
def test_invalid_configuration_stops_start_up_naming_the_variable(
    variable: str, value: str
) -> None:
    result = CliRunner().invoke(main, ["serve"], env={variable: value})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"shelf: invalid configuration: {variable}:")
