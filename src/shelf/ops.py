"""Operational endpoints: runtime info, liveness, readiness and metrics. None is rate limited."""

from __future__ import annotations

import multiprocessing
import platform
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Literal

from apiflask import APIBlueprint
from flask import current_app
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from shelf.config import Settings
from shelf.db import db
from shelf.errors import ServiceUnavailableError
from shelf.observability import metrics_response

__all__ = ["bp", "draining"]

bp = APIBlueprint("ops", __name__, tag="Operations")
STARTED_AT = datetime.now(UTC)
# Set by the production server's master on SIGTERM; shared with its forked workers.
draining = multiprocessing.Value("b", 0, lock=False)
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")


class Info(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": "shelf",
                    "version": "0.1.0",
                    "env": "production",
                    "hostname": "shelf-api-7d9f8b6c5-x2x4q",
                    "python_version": "3.11.7",
                    "started_at": "2026-01-01T12:00:00Z",
                    "uptime_seconds": 3600.5,
                    "links": {"api": "api/v1", "docs": "docs", "openapi": "openapi.json"},
                }
            ]
        }
    )
    service: str
    version: str
    env: str
    hostname: str
    python_version: str
    started_at: datetime
    uptime_seconds: float
    links: dict[str, str]


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: Literal["ok"]


class Check(BaseModel):
    status: Literal["ok", "failing", "skipped"]
    latency_ms: float | None = None


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.8},
                        "redis": {"status": "ok", "latency_ms": 0.3},
                    },
                }
            ]
        }
    )
    status: Literal["ready"]
    checks: dict[str, Check]


def _settings() -> Settings:
    settings: Settings = current_app.extensions["shelf.settings"]
    return settings


@bp.get("/")
@bp.output(Info)
def info() -> object:
    """Runtime information"""
    settings = _settings()
    return Info(
        service="shelf",
        version=settings.app_version,
        env=settings.app_env,
        hostname=socket.gethostname(),
        python_version=platform.python_version(),
        started_at=STARTED_AT,
        uptime_seconds=round((datetime.now(UTC) - STARTED_AT).total_seconds(), 3),
        links={
            "api": settings.api_prefix.lstrip("/"),
            "docs": "docs",
            "redoc": "redoc",
            "openapi": "openapi.json",
            "health": "health",
            "readiness": "readiness",
            "metrics": "metrics",
        },
    )


@bp.get("/health")
@bp.get("/healthz")
@bp.output(Health)
def health() -> object:
    """Liveness: the process answers; no dependency is touched"""
    return {"status": "ok"}


def _timed(probe: Callable[[], object], timeout: float) -> Check:
    started = time.perf_counter()
    try:
        _checks.submit(probe).result(timeout=timeout)
    except Exception:  # a timeout included
        return Check(status="failing", latency_ms=round((time.perf_counter() - started) * 1000, 2))
    return Check(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _database_probe() -> Callable[[], object]:
    engine = db.engine  # resolved here: the probe runs outside the app context

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ping


@bp.get("/readiness")
@bp.get("/readyz")
@bp.output(Readiness, description="Every dependency answers.")
@bp.doc(responses={503: "A dependency is failing (named in `details`), or the server is draining."})
def readiness() -> object:
    """Readiness: the database and Redis answer within the timeout"""
    settings = _settings()
    checks = {"database": _timed(_database_probe(), settings.readiness_timeout)}
    redis_client = current_app.extensions.get("shelf.redis")
    if redis_client is not None:
        checks["redis"] = _timed(redis_client.ping, settings.readiness_timeout)
    if draining.value:
        raise ServiceUnavailableError(
            "The server is shutting down; send traffic elsewhere.", headers={"Retry-After": "5"}
        )
    failing = [name for name, check in checks.items() if check.status == "failing"]
    if failing:
        raise ServiceUnavailableError(
            f"Not ready: {', '.join(failing)} did not answer in {settings.readiness_timeout} s.",
            details=[
                {"field": name, "issue": "not answering", "hint": f"Check that {name} is up."}
                for name in failing
            ],
            headers={"Retry-After": "5"},
        )
    return Readiness(status="ready", checks=checks)


@bp.get("/metrics")
@bp.doc(
    responses={  # type: ignore[arg-type]
        200: {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
)
def metrics() -> object:
    """Prometheus metrics"""
    return metrics_response()
