"""deploy/nomad: the job parses as HCL and has the groups, checks and update policy it needs.

The nomad binary is not on the registries this project installs from, so `nomad fmt -check`
is replaced by a full HCL parse.
"""

from __future__ import annotations

from typing import Any

import hcl2

from tests.support.tools import ROOT


def job() -> dict[str, Any]:
    options = hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    with (ROOT / "deploy/nomad/shelf.nomad.hcl").open() as file:
        document = hcl2.load(file, serialization_options=options)
    result: dict[str, Any] = document["job"][0]["shelf"]
    return result


def groups() -> dict[str, Any]:
    return {name: body for group in job()["group"] for name, body in group.items()}


def tasks(group: str) -> dict[str, Any]:
    return {name: body for task in groups()[group]["task"] for name, body in task.items()}


def test_rolling_update_with_health_checks_and_auto_revert() -> None:
    (update,) = job()["update"]
    assert update["max_parallel"] == 1
    assert update["health_check"] == "checks"
    assert update["auto_revert"] is True


def test_api_group_checks_health_and_readiness() -> None:
    (service,) = groups()["api"]["service"]
    assert {check["path"] for check in service["check"]} == {"/health", "/readiness"}
    api = tasks("api")["api"]
    assert api["config"][0]["args"] == ["serve"]
    assert api["shutdown_delay"]
    migrate = tasks("api")["migrate"]
    assert migrate["lifecycle"][0]["hook"] == "prestart"
    assert migrate["config"][0]["args"] == ["db", "upgrade"]


def test_worker_group_runs_the_worker() -> None:
    worker = tasks("worker")["worker"]
    assert worker["config"][0]["command"] == "shelf"
    assert worker["config"][0]["args"] == ["worker"]


def test_every_task_declares_resources() -> None:
    for group in ("api", "worker"):
        for name, task in tasks(group).items():
            (resources,) = task["resources"]
            assert resources["cpu"] > 0, name
            assert resources["memory"] > 0, name
