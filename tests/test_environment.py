"""The suite ignores the shell that runs it: the README tells users to export DATABASE_URL and
REDIS_URL, and a deployment's variables may be exported too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.environment import SETTINGS_VARIABLES

HOSTILE = {
    "DATABASE_URL": "sqlite:////nonexistent/hostile.db",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "APP_ENV": "production",
    "SECRET_KEY": "short",
    "DEFAULT_RATE_LIMIT": "1",
    "CACHE_ENABLED": "false",
    "WEB_CONCURRENCY": "8",
    "API_PREFIX": "/elsewhere",
    "PROMETHEUS_MULTIPROC_DIR": "/nonexistent/metrics",
    "db_host": "hostile.invalid",
}


def test_the_suite_passes_in_a_hostile_environment(repo_root: Path) -> None:
    env = {**os.environ, **HOSTILE}
    # Tests that build apps, count limits, cache per caller and read the metrics.
    chosen = ["tests/web", "tests/test_ops.py", "tests/contract/test_caching.py", "-k", "sqlite"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider", *chosen],
        env=env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout


def test_every_variable_settings_reads_is_scrubbed() -> None:
    assert {name.upper() for name in HOSTILE} <= SETTINGS_VARIABLES
    assert not SETTINGS_VARIABLES & {name.upper() for name in os.environ}


def test_make_run_installs_the_runtime_dependencies_only(repo_root: Path) -> None:
    # The development tools (pytest, linters, kubectl, hadolint...) come with `make test`.
    plan = subprocess.run(
        ["make", "-n", "-B", "run"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout
    syncs = [line for line in plan.splitlines() if " sync " in line]
    assert syncs, plan
    assert all("--no-dev" in line for line in syncs), syncs
