"""Variables of the older template service's `.env` that Shelf has no use for."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

__all__ = ["IGNORED_VARIABLES", "ignored_variables"]

# Variables of the older template service's .env that Shelf has no use for, and what to do
# instead: named at start-up, so that none is dropped without a word.
IGNORED_VARIABLES = {
    "FLASK_APP": "the app is found by the `shelf` command",
    "FLASK_ENV": "set APP_ENV",
    "PROMETHEUS_ENABLED": "metrics are always served at /metrics",
    "PROMETHEUS_DBLAT_TABLE": "readiness times the database (shelf_dependency_check_seconds)",
    "PROMETHEUS_DBLAT_COLUMN": "readiness times the database (shelf_dependency_check_seconds)",
    "AWS_REGION": "nothing is stored in S3",
    "AWS_S3_BUCKET": "nothing is stored in S3",
    "AWS_S3_BUCKET_PREFIX": "nothing is stored in S3",
}


def ignored_variables(env_file: Path = Path(".env")) -> dict[str, str]:
    """The variables set in the environment or `env_file` that Shelf ignores, and why."""
    present = set(os.environ) | set(dotenv_values(env_file) if env_file.is_file() else {})
    return {name: why for name, why in IGNORED_VARIABLES.items() if name in present}
