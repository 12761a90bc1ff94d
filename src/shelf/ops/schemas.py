"""Response shapes of the operational endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Check", "Health", "Info", "Readiness"]


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
    status: Literal["ok", "failing"] = Field(examples=["ok"])
    latency_ms: float = Field(examples=[0.8])
    error: str | None = Field(
        None,
        description="Why it fails: no answer in time, or the answer was an error (whose words "
        "are in the server's log, not here).",
        examples=["no answer within 2.0 s"],
    )


class Readiness(BaseModel):
    """Ready, or degraded: serving while a dependency that is not required fails."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "degraded",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.8},
                        "redis": {
                            "status": "failing",
                            "latency_ms": 500.4,
                            "error": "answered with an error: ConnectionError (see the log)",
                        },
                    },
                    "required": [],
                }
            ]
        }
    )
    status: Literal["ready", "degraded"]
    checks: dict[str, Check]
    required: list[str] = Field(
        description="The dependencies whose failure makes readiness 503 (READINESS_REQUIRES)."
    )
