"""The API against its OpenAPI document, by schemathesis: every operation, every phase.

`st run` drives the production server, on a private PostgreSQL and a private Redis with rate
limits raised so that cases reach the logic, through the examples, coverage, fuzzing and
stateful phases (the document's links chain a create to the reads and writes of what it
created), with every check on and a fixed seed: once anonymous, once with an admin key.
Each operation that takes input gets at least MAX_EXAMPLES requests; one without input (health,
metrics) gets the few that differ.
tests/support/schemathesis_hooks.py says what the document cannot (valid ISBNs).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from shelf.auth.api_keys import digest
from tests.support.factories import make_key, migrate
from tests.support.private_postgres import PrivatePostgres
from tests.support.private_redis import PrivateRedis
from tests.support.servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
SEED = 20261130
MAX_EXAMPLES = 100
OWN_KEY_ID = 918_273_645
# Fuzzing draws ids at random rather than from the items the run created: drawn from those few,
# most cases repeat one and are sent once, leaving item operations short of MAX_EXAMPLES. The
# coverage and stateful phases still reach the created items.
CONFIG = """
[phases.fuzzing.extra-data-sources]
responses = false
"""
ST = Path(sys.executable).with_name("st")
# Every check of schemathesis but three: `negative_data_rejection` and `positive_data_acceptance`
# run as the hooks' variants (tests/support/schemathesis_hooks.py),
# and `max_response_time` (performance is measured by the bench, not asserted here).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection_beyond_unknown_query",
    "positive_data_acceptance_beyond_paging",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
]


@pytest.fixture
def server(postgres: PrivatePostgres, tmp_path: Path) -> Iterator[ServerProcess]:
    """The production server on the private PostgreSQL and Redis, limits out of the way."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    migrate(postgres.url)
    env = {
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "DEFAULT_RATE_LIMIT": "100000000",
    }
    process = ServerProcess(
        env, admin_key=_out_of_reach(postgres.url, make_key(postgres.url, "admin"))
    )
    yield process
    process.kill()
    redis.close()


def _out_of_reach(url: str, secret: str) -> str:
    """`secret`'s key, renumbered far from the ids the run draws: the run revokes and rotates
    the keys it reaches (DELETE /apikeys/1), and must not end its own credentials."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(
            "UPDATE api_keys SET id = %s WHERE key_hash = %s", (OWN_KEY_ID, digest(secret))
        )
    return secret


def _run(server: ServerProcess, report: Path, headers: dict[str, str]) -> dict[str, Any]:
    """One `st run` over the whole document; its exit code, output, JSON report and events."""
    config = report.parent / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(ST),
        *("--config-file", str(config), "run"),
        f"{server.url}/openapi.json",
        *("--checks", ",".join(CHECKS)),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        # One worker: with two threads, Python 3.11.7's AST constructor (which Hypothesis uses to
        # describe its strategies) now and then fails with "recursion depth mismatch"
        # (CPython gh-106905, fixed in 3.11.8), and the run reports a runtime error.
        *("--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"),
        *("--generation-database", "none", "--request-timeout", "10", "--no-color"),
        *("--report", "json,ndjson", "--report-dir", str(report)),
        *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        command, cwd=report.parent, env=env, capture_output=True, text=True, timeout=600
    )
    (result,) = report.glob("json-*.json")
    (events,) = report.glob("ndjson-*.ndjson")
    return {
        "exit_code": done.returncode,
        "output": done.stdout + done.stderr,
        "report": json.loads(result.read_text()),
        "events": [json.loads(line) for line in events.read_text().splitlines()],
    }


def _cases(events: list[dict[str, Any]]) -> tuple[collections.Counter[str], int, float]:
    """Requests sent per operation (`METHOD /path/{template}`), the 5xx, the slowest answer."""
    sent: collections.Counter[str] = collections.Counter()
    server_errors, worst = 0, 0.0
    for event in events:
        recorder = event.get("ScenarioFinished", {}).get("recorder") or {}
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            case = recorder["cases"][case_id]["value"]
            sent[f"{case['method']} {case['path']}"] += 1
            response = interaction.get("response") or {}
            server_errors += response.get("status_code", 0) >= 500
            worst = max(worst, response.get("elapsed", 0.0))
    return sent, server_errors, worst


def _operations(server: ServerProcess) -> dict[str, bool]:
    """The document's operations, and whether each takes input (parameters or a body)."""
    spec = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    return {
        f"{method.upper()} {path}": bool(
            operation.get("parameters") or operation.get("requestBody")
        )
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("caller", ["anonymous", "admin"])
def test_the_api_does_what_its_openapi_document_says(
    server: ServerProcess, tmp_path: Path, caller: str
) -> None:
    headers = {"X-API-KEY": server.admin_key} if caller == "admin" else {}
    run = _run(server, tmp_path / "report", headers)
    sent, server_errors, worst = _cases(run["events"])
    operations = _operations(server)
    print(f"\nschemathesis, {caller}, seed {SEED}: requests per operation")
    for label in operations:
        print(f"  {sent[label]:6d}  {label}")
    probes = sum(count for label, count in sent.items() if label not in operations)
    failures = run["report"]["failures"]
    print(
        f"schemathesis, {caller}: {sum(sent.values())} requests ({probes} to undeclared methods), "
        f"{sum(f['count'] for f in failures)} failures, {server_errors} 5xx, "
        f"worst response {worst * 1000:.0f} ms, {run['report']['running_time']:.0f} s"
    )
    assert not failures, run["output"][-20_000:]
    assert run["exit_code"] == 0, run["output"][-20_000:]
    assert server_errors == 0
    few = {
        op: sent[op]
        for op, has_input in operations.items()
        if has_input and sent[op] < MAX_EXAMPLES
    }
    assert not few, f"operations with fewer than {MAX_EXAMPLES} requests: {few}"
    assert run["report"]["phases"]["stateful"]["status"] == "success"
