"""Operational endpoints: runtime info, liveness, readiness and metrics. None is rate limited."""

from __future__ import annotations

import platform
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from apiflask import APIBlueprint
from flask import Response, current_app

from shelf.config import Settings
from shelf.core.errors import ServiceUnavailableError
from shelf.extensions import db
from shelf.observability.metrics import CONTENT_TYPE_LATEST, exposition, record_dependency
from shelf.ops import service
from shelf.ops.schemas import Health, Info, Readiness

__all__ = ["bp"]

bp = APIBlueprint(
    "ops",
    __name__,
    tag={"name": "Operations", "description": "Runtime info, health, readiness, metrics."},
)
STARTED_AT = datetime.now(UTC)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["shelf.settings"]
    return settings


@bp.get("/")
@bp.output(Info)
@bp.doc(operation_id="getInfo")
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
@bp.doc(operation_id="getHealth")
def health() -> object:
    """Liveness: the process answers; no dependency is touched"""
    return {"status": "ok"}


@bp.get("/readiness")
@bp.get("/readyz")
@bp.output(
    Readiness,
    description="Ready to serve: `ready` when every dependency answers, `degraded` when one "
    "that READINESS_REQUIRES does not name fails (the instance still serves what it can).",
)
@bp.doc(
    operation_id="getReadiness",
    responses={
        503: "Take this instance out of rotation: it is draining, or saturated (every database "
        "connection of its pool is in use while the database answers), or a dependency named "
        "in READINESS_REQUIRES fails. `details` says which."
    },
)
def readiness() -> object:
    """Readiness: local trouble fails it; a failing dependency only degrades it"""
    settings = _settings()
    checks = service.run_checks(_probes(settings), settings.readiness_timeout)
    for name, check in checks.items():
        record_dependency(name, check.status == "ok", check.latency_ms / 1000)
    if service.draining.value:
        raise ServiceUnavailableError(
            "The server is shutting down; send traffic elsewhere.", headers={"Retry-After": "5"}
        )
    problems = service.not_ready(
        checks,
        required=settings.readiness_requires,
        pools={"writes": db.engine, "reads": db.reads},
    )
    if problems:
        fields = ", ".join(problem["field"] for problem in problems)
        raise ServiceUnavailableError(
            f"Not ready: {fields}.", details=problems, headers={"Retry-After": "5"}
        )
    failing = any(check.status == "failing" for check in checks.values())
    return Readiness(
        status="degraded" if failing else "ready",
        checks=checks,
        required=settings.readiness_requires,
    )


def _probes(settings: Settings) -> dict[str, Callable[[], object]]:
    extensions = current_app.extensions
    engine = extensions.get("shelf.readiness_engine")
    if engine is None:
        engine = extensions["shelf.readiness_engine"] = service.probe_engine(settings)
    probes = {"database": service.database_probe(engine)}
    redis_client = extensions.get("shelf.redis")
    if redis_client is not None:
        probes["redis"] = redis_client.ping
    return probes


@bp.get("/metrics")
@bp.doc(
    operation_id="getMetrics",
    responses={  # type: ignore[arg-type]
        200: {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics() -> object:
    """Prometheus metrics"""
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)
