"""One typed settings object, read from the environment and `.env` once, validated at start.

The discrete variables of the older template deployment (`DB_HOST`, `REDIS_HOST`, `GUNIPORT`, ...)
are accepted as an alternative to `DATABASE_URL` / `REDIS_URL` / `PORT`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from limits import parse as parse_limit
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from shelf.config.legacy import ignored_variables

__all__ = [
    "API_VERSIONS",
    "DEFAULT_SECRET_KEY",
    "Settings",
    "describe_error",
    "ignored_variables",
]

DEFAULT_SECRET_KEY = "dev-secret-change-me"  # noqa: S105 - the value production refuses
DEFAULT_SQLITE_PATH = Path("var") / "shelf.db"
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# The versions of the API: an operation changed in a way its clients would notice is served
# anew in a later version, beside the one it replaces (README, "Changing an operation").
API_VERSIONS = (1, 2)


ENVIRONMENT_NAMES = {
    "dev": "development",
    "stage": "staging",
    "prod": "production",
    "testing": "test",
}
ENGINE_NAMES = dict.fromkeys(("pg", "postgres", "pgsql", "psql"), "postgresql")


class Settings(BaseSettings):
    """Every setting the service reads; see `.env.example` for the documented list."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    app_env: Literal["development", "test", "staging", "production"] = "development"
    app_version: str = "0.1.0"
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST", "FLASK_HOST"))
    port: int = Field(
        8080, ge=1, le=65535, validation_alias=AliasChoices("PORT", "GUNIPORT", "FLASK_PORT")
    )
    api_prefix: str = "/api/v1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    max_content_length: int = Field(1024 * 1024, ge=1024)
    cors_origins: Annotated[list[str], NoDecode] = []
    trusted_proxies: int = Field(0, ge=0, le=10)

    database_url: str = ""
    db_engine: str = "postgresql"
    db_user: str = ""
    db_pass: SecretStr = SecretStr("")
    db_host: str = ""
    db_port: int = 5432
    db_name: str = ""
    db_pool_size: int = Field(5, ge=1, le=200)
    db_pool_timeout: float = Field(3.0, gt=0, le=60)
    db_connect_timeout: int = Field(2, ge=1, le=60)
    db_statement_timeout_ms: int = Field(5000, ge=100)
    db_lock_timeout_ms: int = Field(2000, ge=100)
    db_queue_timeout_ms: int = Field(500, ge=0, le=60_000)

    redis_url: str | None = None
    redis_host: str = ""
    redis_port: int = 6379
    redis_pass: SecretStr = SecretStr("")
    redis_db: int = Field(0, ge=0)
    redis_max_conn: int = Field(32, ge=1, le=10_000)
    redis_socket_timeout: float = Field(0.5, gt=0, le=30)

    redis_key_prefix: str = Field("shelf:", min_length=1, max_length=64)

    default_rate_limit: int = Field(600, ge=1, description="requests per minute per principal")
    endpoint_rate_limits: Annotated[dict[str, str], NoDecode] = {}
    cache_enabled: bool = True
    cache_ttl: int = Field(300, ge=1, le=86_400)
    cache_max_bytes: int = Field(
        64 * 1024 * 1024, ge=64 * 1024, description="bytes of cached responses per resource type"
    )
    cache_public_max_age: int = Field(5, ge=0, le=86_400)
    require_if_match: bool = False

    server: Literal["granian", "gunicorn"] = "granian"
    # 0: one worker per CPU with Redis; without it one, whose threads share the in-process cache
    # and rate-limit counters (separate processes would each count and cache on their own).
    web_concurrency: int = Field(0, ge=0, le=64)
    web_threads: int = Field(2, ge=1, le=64)
    worker_timeout: int = Field(30, ge=1)
    graceful_timeout: int = Field(30, ge=1)
    shutdown_drain_seconds: float = Field(2.0, ge=0, le=60)
    readiness_timeout: float = Field(2.0, gt=0, le=2.0)
    legacy_redis_apikeys: bool = False  # honour keys the older service still writes to sec_apikeys
    readiness_requires: Annotated[list[Literal["database", "redis"]], NoDecode] = []

    # argon2id's memory per password hash (RFC 9106's second recommendation: 64 MiB).
    password_hash_memory_kib: int = Field(65536, ge=1024, le=4 * 1024 * 1024)
    # Access tokens: signed with the first key, verified with any listed one (rotation).
    oauth_signing_keys: Annotated[list[SecretStr], NoDecode] = []
    oauth_issuer: str = Field("http://localhost:8080", min_length=1)
    oauth_audience: str = Field("shelf", min_length=1)
    # Refresh tokens (opaque, rotated on every use) and sign-in failures allowed per minute,
    # per client address and per account.
    oauth_refresh_token_days: int = Field(30, ge=1, le=365)
    sign_in_failures_per_minute: int = Field(5, ge=1, le=1000)

    @field_validator("app_env", mode="before")
    @classmethod
    def _known_environment_names(cls, value: object) -> object:
        # The short names other platforms use (dev, stage, prod), in any case.
        if isinstance(value, str):
            return ENVIRONMENT_NAMES.get(value.strip().lower(), value.strip().lower())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("db_engine", mode="before")
    @classmethod
    def _known_engine_names(cls, value: object) -> object:
        # DB_ENGINE=pg, as the older template service's .env has it.
        if isinstance(value, str):
            return ENGINE_NAMES.get(value.strip().lower(), value.strip())
        return value

    @field_validator("cors_origins", "oauth_signing_keys", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("readiness_requires", mode="before")
    @classmethod
    def _split_required(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator("oauth_signing_keys")
    @classmethod
    def _long_signing_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(key.get_secret_value()) < 32 for key in value):
            raise ValueError("each key must be a random value of at least 32 characters")
        return value

    @property
    def signing_secrets(self) -> list[str]:
        """The secrets access-token keys derive from, the signing one first: OAUTH_SIGNING_KEYS,
        or SECRET_KEY alone when it is not set."""
        keys = self.oauth_signing_keys or [self.secret_key]
        return [key.get_secret_value() for key in keys]

    @field_validator("endpoint_rate_limits", mode="before")
    @classmethod
    def _parse_endpoint_limits(cls, value: object) -> object:
        # "books.create_book=30/minute;templates.create_template=10/minute"
        if not isinstance(value, str):
            return value
        limits = {}
        for item in filter(None, (part.strip() for part in value.split(";"))):
            endpoint, _, limit = item.partition("=")
            if not endpoint.strip() or not limit.strip():
                raise ValueError(f"expected endpoint=limit, got {item!r}")
            try:
                parse_limit(limit.strip())
            except ValueError as exc:
                raise ValueError(f"{limit.strip()!r} is not a limit such as 30/minute") from exc
            limits[endpoint.strip()] = limit.strip()
        return limits

    def version_prefix(self, version: int) -> str:
        """Where version `version` of the API lives. API_PREFIX is version 1's; a later one
        replaces its trailing /v1 (/api/v1 -> /api/v2), or follows it when it has none."""
        if version == 1:
            return self.api_prefix
        return f"{self.api_prefix.removesuffix('/v1')}/v{version}"

    @property
    def api_prefixes(self) -> tuple[str, ...]:
        """Where each version of the API lives (`API_VERSIONS`)."""
        return tuple(self.version_prefix(version) for version in API_VERSIONS)

    @field_validator("api_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = "/" + value.strip("/")
        if value == "/":
            raise ValueError("must not be empty, e.g. /api/v1")
        return value

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str) -> str:
        if value:
            try:
                make_url(value)
            except Exception as exc:
                raise ValueError(
                    "is not a database URL, e.g. postgresql+psycopg://u:p@h/db"
                ) from exc
        return value

    @model_validator(mode="after")
    def _resolve_urls_and_secrets(self) -> Settings:
        variable = "DATABASE_URL" if self.database_url else "DB_ENGINE"
        self.database_url = _supported_database_url(
            self.database_url or self._database_url_from_parts(), variable
        )
        if not self.redis_url:
            self.redis_url = None
        if self.redis_url is None and self.redis_host:
            password = self.redis_pass.get_secret_value()
            auth = f":{password}@" if password else ""
            self.redis_url = f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"
        if self.redis_url is not None and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ValueError("REDIS_URL: must start with redis://, rediss:// or unix://")
        if self.web_concurrency == 0:
            self.web_concurrency = (os.cpu_count() or 1) if self.redis_url else 1
        if "redis" in self.readiness_requires and self.redis_url is None:
            raise ValueError("READINESS_REQUIRES: names redis, but REDIS_URL is not set")
        if self.db_connect_timeout * 1000 > self.db_statement_timeout_ms:
            raise ValueError(
                "DB_CONNECT_TIMEOUT must not exceed DB_STATEMENT_TIMEOUT_MS (a request that "
                "waits on the database is answered within the statement timeout)"
            )
        if self.app_env == "production":
            secret = self.secret_key.get_secret_value()
            if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
                raise ValueError(
                    "SECRET_KEY must be a random value of at least 32 characters in production"
                )
        return self

    def _database_url_from_parts(self) -> str:
        if not self.db_host:
            return f"sqlite:///{DEFAULT_SQLITE_PATH.resolve()}"
        url = URL.create(
            self.db_engine,
            username=self.db_user or None,
            password=self.db_pass.get_secret_value() or None,
            host=self.db_host,
            port=self.db_port,
            database=self.db_name or None,
        )
        return url.render_as_string(hide_password=False)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _supported_database_url(value: str, variable: str) -> str:
    """`value` on a backend Shelf ships a driver for; a bare postgresql:// gets psycopg."""
    url = make_url(value)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in SUPPORTED_DATABASES:
        raise ValueError(
            f"{variable}: the database driver {url.drivername!r} is not supported; use "
            "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/name"
        )
    return url.render_as_string(hide_password=False)


def describe_error(error: ValidationError) -> str:
    """One line naming each invalid variable, for start-up failures."""
    parts = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{str(item['loc'][0]).upper()}: {message}" if item["loc"] else message)
    return "invalid configuration: " + "; ".join(parts)
