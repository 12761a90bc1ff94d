"""Reading the Prometheus counters the way a scraper does, so tests can assert increases.

The counters are process-global: a test asserts by how much one grew, never what it holds.
"""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["counted", "gauge", "requests_counted"]


def counted(exposition: str, **labels: str) -> float:
    """The sum of `shelf_http_requests_total` over the series with `labels` in `exposition`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "shelf_http_requests_total"
        and all(sample.labels.get(name) == value for name, value in labels.items())
    )


def requests_counted(client: FlaskClient, **labels: str) -> float:
    """`counted` in the app's own /metrics."""
    return counted(client.get("/metrics").get_data(as_text=True), **labels)


def gauge(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the gauge `name` with `labels` in `exposition`, or None when absent."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None
