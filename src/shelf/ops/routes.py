"""Operational endpoints: runtime info, liveness, readiness and metrics. None is rate limited."""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime

from apiflask import APIBlueprint
from flask import Response, current_app

from shelf.config import Settings
from shelf.core.errors import ServiceUnavailableError
from shelf.extensions import db
from shelf.observability.metrics import CONTENT_TYPE_LATEST, exposition
from shelf.ops import service
from shelf.ops.schemas import Health, Info, Readiness

__all__ = ["bp"]

bp = APIBlueprint("ops", __name__, tag="Operations")
STARTED_AT = datetime.now(UTC)


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


@bp.get("/readiness")
@bp.get("/readyz")
@bp.output(Readiness, description="Every dependency answers.")
@bp.doc(responses={503: "A dependency is failing (named in `details`), or the server is draining."})
def readiness() -> object:
    """Readiness: the database and Redis answer within the timeout"""
    settings = _settings()
    checks = {
        "database": service.timed(service.database_probe(db.engine), settings.readiness_timeout)
    }
    redis_client = current_app.extensions.get("shelf.redis")
    if redis_client is not None:
        checks["redis"] = service.timed(redis_client.ping, settings.readiness_timeout)
    if service.draining.value:
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
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)
