"""CI definitions and quality gates: valid YAML, the Makefile targets of .ci/run, real floors."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import ROOT, run, tool


def ci_targets() -> list[str]:
    """The Makefile targets .ci/run calls, in order."""
    return re.findall(r"^make (\w+)$", (ROOT / ".ci/run").read_text(), flags=re.MULTILINE)


def scripts(node: Any) -> list[str]:
    """Every `run:` or `script:` command in a pipeline document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key == "script" and isinstance(value, list):
                found.extend(str(line) for line in value)
            else:
                found.extend(scripts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(scripts(item))
    return found


def test_ci_runs_lint_hooks_and_tests() -> None:
    assert ci_targets() == ["lint", "hooks", "test"]


def test_github_and_bitbucket_pipelines_call_the_same_targets() -> None:
    for path in (".github/workflows/ci.yml", "bitbucket-pipelines.yml"):
        document = yaml.safe_load((ROOT / path).read_text())
        commands = scripts(document)
        for target in ci_targets():
            assert f"make {target}" in commands, (path, target)


def test_github_pipeline_has_service_containers_and_pushes_only_tags() -> None:
    jobs = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())["jobs"]
    assert {"postgres", "redis"} <= set(jobs["test"]["services"])
    pushes = [step for step in jobs["image"]["steps"] if step.get("with", {}).get("push")]
    assert pushes
    assert all("refs/tags/" in step["if"] for step in pushes)


def test_pre_commit_runs_the_required_hooks() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "hadolint", "check-yaml", "end-of-file-fixer"} <= ids


def test_coverage_floor_is_90_and_make_test_measures_it() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["coverage"]["report"]["fail_under"] >= 90
    assert config["tool"]["coverage"]["run"]["source"] == ["shelf"]
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/pytest --cov" in makefile


def test_lint_runs_every_gate() -> None:
    lint = (ROOT / "Makefile").read_text().split("\nlint:")[1].split("\n\n")[0]
    for gate in (
        "ruff check",
        "ruff format --check",
        "mypy",
        "bandit",
        "hadolint",
        "audit",
        "drift",
    ):
        assert gate in lint, gate


def test_bandit_gate_fails_on_a_medium_finding(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("print(eval(input()))\n")  # B307, medium severity
    lint = (ROOT / "Makefile").read_text().split("\nlint:")[1]
    flags = re.search(r"bandit (.*?) -r src", lint)
    assert flags
    result = run(tool("bandit"), *flags.group(1).split(), "-r", str(tmp_path))
    assert result.returncode == 1, result.stdout
    clean = run(tool("bandit"), *flags.group(1).split(), "-r", "src")
    assert clean.returncode == 0, clean.stdout


def test_pipelines_match_their_published_schemas() -> None:
    for schema, path in (
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.bitbucket-pipelines", "bitbucket-pipelines.yml"),
    ):
        result = run(tool("check-jsonschema"), "--builtin-schema", schema, path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_and_mypy_gates_fail_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef double(x):\n    return x * 2\n")  # unused import; untyped
    config = str(ROOT / "pyproject.toml")
    ruff = run(tool("ruff"), "check", "--config", config, str(bad))
    assert ruff.returncode == 1
    assert "F401" in ruff.stdout
    mypy = run(tool("mypy"), "--config-file", config, "--cache-dir", str(tmp_path / "c"), str(bad))
    assert mypy.returncode == 1
    assert "no-untyped-def" in mypy.stdout


def test_coverage_gate_fails_a_run_below_the_floor(tmp_path: Path) -> None:
    (tmp_path / "test_little.py").write_text("def test_little():\n    import shelf.config\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env["COVERAGE_FILE"] = str(tmp_path / ".coverage")
    result = run(
        tool("pytest"), "--cov", "-p", "no:cacheprovider", str(tmp_path / "test_little.py"), env=env
    )
    assert result.returncode != 0
    assert "Required test coverage of 90.0% not reached" in result.stdout
