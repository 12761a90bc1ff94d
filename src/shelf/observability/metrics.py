"""Prometheus metrics and the log line of every request.

Metrics are labelled with the route template, never the raw path, and work across server
worker processes (`PROMETHEUS_MULTIPROC_DIR`).
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "exposition", "record_dependency", "record_request"]

REQUESTS = Counter(
    "shelf_http_requests_total", "HTTP requests served.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "shelf_http_request_duration_seconds",
    "Time spent serving HTTP requests.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Set at each readiness check; across workers, the most recent check of a live one counts.
DEPENDENCY_UP = Gauge(
    "shelf_dependency_up",
    "Whether the dependency answered the last readiness check (1) or not (0).",
    ["dependency"],
    multiprocess_mode="livemostrecent",
)
DEPENDENCY_CHECK_SECONDS = Gauge(
    "shelf_dependency_check_seconds",
    "How long the last readiness check of the dependency took (at most READINESS_TIMEOUT).",
    ["dependency"],
    multiprocess_mode="livemostrecent",
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_CACHED_SERIES = 1000
# The labelled children of REQUESTS and LATENCY by (method, route, status): looked up once.
_series: dict[tuple[str, str, str], tuple[Any, Any]] = {}
log = structlog.get_logger("shelf.request")


def record_request(environ: dict[str, Any], route: str, status: str, elapsed: float) -> None:
    """Count and time one request, by route template, and log its line."""
    method = environ["REQUEST_METHOD"]
    labelled = _series.get((method, route, status))
    if labelled is None:
        # Any token is a valid HTTP method: label only the known ones, or a client could
        # create series without end.
        label = method if method in KNOWN_METHODS else "OTHER"
        labelled = REQUESTS.labels(label, route, status), LATENCY.labels(label, route)
        if len(_series) < MAX_CACHED_SERIES:
            _series[method, route, status] = labelled
    labelled[0].inc()
    labelled[1].observe(elapsed)
    log.info(
        "request",
        method=method,
        path=environ.get("PATH_INFO", ""),
        route=route,
        status=int(status),
        duration_ms=round(elapsed * 1000, 2),
        remote_addr=environ.get("REMOTE_ADDR"),
    )


def record_dependency(name: str, up: bool, seconds: float) -> None:
    """Set the gauges of one dependency from its readiness check."""
    DEPENDENCY_UP.labels(name).set(1 if up else 0)
    DEPENDENCY_CHECK_SECONDS.labels(name).set(seconds)


def exposition() -> bytes:
    """The Prometheus text of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
