"""deploy/k8s: every overlay renders, every object is valid for Kubernetes, and the API is hardened.

Validation is offline, against the schemas shipped in the kubernetes-validate package.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml

from tests.support.metrics import counted
from tests.support.servers import ServerProcess
from tests.support.tools import ROOT, run, tool

KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ["dev", "staging", "prod"]
EXPECTED_KINDS = {
    "ServiceAccount",
    "ConfigMap",
    "Deployment",
    "Job",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
}


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = run(tool("kubectl"), "kustomize", f"deploy/k8s/overlays/{overlay}")
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(overlay: str, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in rendered(overlay) if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_kubernetes_schemas(overlay: str) -> None:
    objects = rendered(overlay)
    assert {o["kind"] for o in objects} >= EXPECTED_KINDS
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_overlays_image_is_the_one_every_pod_runs(overlay: str, tmp_path: Path) -> None:
    # A copy of the manifests whose overlay names another tag: every container must run it.
    shutil.copytree(ROOT / "deploy/k8s", tmp_path / "k8s")
    kustomization = tmp_path / "k8s/overlays" / overlay / "kustomization.yaml"
    config = yaml.safe_load(kustomization.read_text())
    (image,) = config["images"]
    image["newTag"] = "probe-4711"
    kustomization.write_text(yaml.safe_dump(config))
    result = run(tool("kubectl"), "kustomize", str(kustomization.parent))
    assert result.returncode == 0, result.stderr
    pods = [
        doc["spec"]["template"]["spec"]
        for doc in yaml.safe_load_all(result.stdout)
        if doc and doc["kind"] in ("Deployment", "Job")
    ]
    images = {c["image"] for pod in pods for c in pod["containers"] + pod.get("initContainers", [])}
    assert images == {f"{image['newName']}:probe-4711"}


def test_the_secret_example_is_valid() -> None:
    example = yaml.safe_load((ROOT / "deploy/k8s/base/secret.example.yaml").read_text())
    kubernetes_validate.validate(example, KUBERNETES_VERSION, strict=True)
    assert set(example["stringData"]) == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_deployment_has_probes_limits_and_security(overlay: str) -> None:
    spec = find(overlay, "Deployment", "shelf-api")["spec"]["template"]["spec"]
    (api,) = spec["containers"]
    assert api["command"] == ["shelf", "serve"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readiness"
    assert api["startupProbe"]["httpGet"]["path"] == "/health"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(api["resources"][kind])
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert api["securityContext"]["runAsNonRoot"] is True
    assert api["securityContext"]["readOnlyRootFilesystem"] is True
    assert api["securityContext"]["allowPrivilegeEscalation"] is False
    assert api["securityContext"]["capabilities"]["drop"] == ["ALL"]
    tmp = next(m for m in api["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in spec["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume
    assert api["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in keys


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_migration_and_ingress(overlay: str) -> None:
    worker = find(overlay, "Deployment", "shelf-worker")["spec"]["template"]["spec"]
    assert worker["containers"][0]["command"] == ["shelf", "worker"]
    job = find(overlay, "Job", "shelf-migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["shelf", "db", "upgrade"]
    ingress = find(overlay, "Ingress", "shelf-api")["spec"]
    assert ingress["tls"][0]["hosts"] == [ingress["rules"][0]["host"]]
    hpa = find(overlay, "HorizontalPodAutoscaler", "shelf-api")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "shelf-api"
    assert hpa["minReplicas"] <= hpa["maxReplicas"]


@pytest.mark.server
def test_api_container_serves_with_its_rendered_environment(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """The ConfigMap and the container's own variables, /tmp an empty volume as in the pod."""
    (api,) = find("prod", "Deployment", "shelf-api")["spec"]["template"]["spec"]["containers"]
    env = dict(find("prod", "ConfigMap", "shelf-config")["data"])
    env.update({item["name"]: item["value"] for item in api.get("env", []) if "value" in item})
    env = {name: value.replace("/tmp", str(tmp_path)) for name, value in env.items()}
    for local in ("HOST", "PORT", "APP_ENV"):  # the fixture's loopback port, no production secret
        env.pop(local)
    server = start_server(**env)
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
    metrics = requests.get(f"{server.url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert counted(metrics.text, route="/health", status="200") >= 1
    assert server.stop() == 0
