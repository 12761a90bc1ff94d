"""The Dockerfile: hadolint-clean, built as designed, and its start command serves /health."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dockerfile_parse import DockerfileParser

from tests.support.factories import migrate
from tests.support.servers import free_port
from tests.support.tools import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def parsed() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def runtime_stage() -> list[dict[str, str]]:
    """The instructions after the last FROM."""
    instructions = parsed().structure
    last_from = max(i for i, item in enumerate(instructions) if item["instruction"] == "FROM")
    return instructions[last_from:]


def test_hadolint_passes() -> None:
    result = run(tool("hadolint"), "--failure-threshold", "style", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_runtime_stage_is_pinned_slim_non_root_and_copies_only_the_virtualenv() -> None:
    stage = runtime_stage()
    base = stage[0]["value"].split()[0]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base), base
    user = [item["value"] for item in stage if item["instruction"] == "USER"]
    assert user
    assert user[-1].split(":")[0] == "1001"
    copies = [item["value"] for item in stage if item["instruction"] == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    runs = " ".join(item["value"] for item in stage if item["instruction"] == "RUN")
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|apt-get)\b", runs)
    assert "8080" in [item["value"] for item in stage if item["instruction"] == "EXPOSE"]
    healthcheck = [item["value"] for item in stage if item["instruction"] == "HEALTHCHECK"]
    assert healthcheck
    assert "/health" in healthcheck[0]


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's exec-form command."""
    (healthcheck,) = [i["value"] for i in runtime_stage() if i["instruction"] == "HEALTHCHECK"]
    command: list[str] = json.loads(healthcheck.split("CMD", 1)[1])
    return command


def test_dockerignore_keeps_out_local_state_and_secrets() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var/", ".env", ".pytest_cache", ".mypy_cache", ".ruff_cache"):
        assert entry in ignored


def image_environment(tmp_path: Path) -> dict[str, str]:
    """The environment the image sets, plus what a deployment must add (secret, database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DB_", "REDIS_"))}
    for key, value in parsed().envs.items():
        if key != "PATH":  # the image's PATH points at /opt/venv; this runs from .venv
            env[key] = value
    url = f"sqlite:///{tmp_path / 'shelf.db'}"
    migrate(url)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PORT=str(free_port()),
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=url,
        WEB_CONCURRENCY="2",
        SHUTDOWN_DRAIN_SECONDS="0.5",
    )
    return env


@pytest.mark.server
def test_image_start_command_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
    command = json.loads(parsed().cmd)  # exec form, as hadolint requires
    assert command == ["shelf", "serve"]
    env = image_environment(tmp_path)
    assert env["APP_ENV"] == "production"
    assert env["HOST"] == "0.0.0.0"
    started = time.monotonic()
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so no worker can outlive the test
    )
    try:
        status = None
        while time.monotonic() - started < 10 and server.poll() is None:
            try:
                status = requests.get(f"http://127.0.0.1:{env['PORT']}/health", timeout=1)
                if status.status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        assert status is not None, "no answer from /health within 10 s"
        assert status.status_code == 200
        assert status.json() == {"status": "ok"}
        print(f"healthy after {time.monotonic() - started:.1f} s")
        probe = subprocess.run(healthcheck_command(), env=env, timeout=10, check=False)
        assert probe.returncode == 0
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        output = server.communicate()[0].decode(errors="replace")
    assert "Traceback" not in output, output
