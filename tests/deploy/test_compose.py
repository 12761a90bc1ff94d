"""compose.yaml: valid for `docker compose config`, and wired as the deployment needs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import ROOT, run, tool

ENV = {**os.environ, "SECRET_KEY": "a-random-value-of-at-least-32-characters-long"}


def compose_command(tmp_path: Path) -> list[str]:
    """`docker compose`, with the locked compose binary as the docker CLI's plugin.

    Without the docker CLI, the same binary runs standalone (`docker-compose`).
    """
    binary = tool("docker-compose")
    docker = shutil.which("docker")
    if docker is None:
        return [binary]
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    (plugins / "docker-compose").symlink_to(binary)
    ENV["DOCKER_CONFIG"] = str(tmp_path)
    return [docker, "compose"]


def services() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    result: dict[str, Any] = document["services"]
    return result


def test_docker_compose_config_passes(tmp_path: Path) -> None:
    command = compose_command(tmp_path)
    result = run(*command, "config", "--quiet", env=ENV)
    assert result.returncode == 0, result.stderr
    for profile in ("observability",):
        result = run(*command, "--profile", profile, "config", "--quiet", env=ENV)
        assert result.returncode == 0, result.stderr


def test_docker_compose_config_requires_a_secret_key(tmp_path: Path) -> None:
    command = compose_command(tmp_path)
    env = {key: value for key, value in ENV.items() if key != "SECRET_KEY"}
    result = run(*command, "config", "--quiet", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_api_waits_for_a_healthy_database_and_a_finished_migration() -> None:
    api = services()["api"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in api  # reached through the proxy only
    assert "/health" in " ".join(api["healthcheck"]["test"])


def test_a_buffering_proxy_in_front_of_the_api() -> None:
    proxy, api = services()["proxy"], services()["api"]
    assert proxy["ports"] == ["${SHELF_PORT:-8080}:8080"]
    assert proxy["environment"]["SHELF_UPSTREAM"] == "api:8080"
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    (mount,) = proxy["volumes"]
    assert (ROOT / mount.split(":")[0]).exists()
    assert api["environment"]["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-1}"


def test_migration_runs_once_after_the_database_is_healthy() -> None:
    migrate = services()["migrate"]
    assert migrate["command"] == ["shelf", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"


def test_two_workers_run_the_worker_command() -> None:
    worker = services()["worker"]
    assert worker["command"] == ["shelf", "worker"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_database_and_redis_have_healthchecks_and_volumes() -> None:
    for name in ("db", "redis"):
        service = services()[name]
        assert service["healthcheck"]["test"], name
        assert service["volumes"], name


def test_observability_profile_mounts_the_files_in_deploy() -> None:
    for name in ("prometheus", "grafana"):
        service = services()[name]
        assert service["profiles"] == ["observability"]
        mounts = [volume.split(":")[0] for volume in service["volumes"]]
        local = [mount for mount in mounts if mount.startswith("./")]
        assert local, name
        for mount in local:
            assert mount.startswith("./deploy/observability/")
            assert (ROOT / mount).exists(), mount
