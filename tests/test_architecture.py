"""The shape of the code: import layers, no cycles, small modules, one request state.

The import contracts live in pyproject.toml and run in `make lint`; these tests run the same
gate on the tree and on copies of it with one bad import added, so a contract that stops
catching what it should fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "shelf"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
RESOURCE_FILES = {"__init__.py", "models.py", "schemas.py", "service.py", "routes.py", "jobs.py"}


def lint_imports(source: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """Run the import gate on the package under `source`, with the contracts in `config`."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of src/ and pyproject.toml to break on purpose."""
    shutil.copytree(SRC, tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold(repo_root: Path) -> None:
    result = lint_imports(SRC, repo_root / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("core/errors.py", "import flask", "The core knows no web framework"),
        ("core/pagination.py", "from shelf.web import state", "Layers run downward"),
        ("books/service.py", "from shelf.web import links", "never import the web layer"),
    ],
)
def test_an_import_against_the_layers_fails_the_gate(
    tree_copy: Path, module: str, bad_import: str, contract: str
) -> None:
    path = tree_copy / "src" / "shelf" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = lint_imports(tree_copy / "src", tree_copy / "pyproject.toml")
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout


def test_an_import_cycle_hidden_inside_a_function_fails_the_gate(tree_copy: Path) -> None:
    # cache_store imports redis; an import back, even one deferred into a function, is a cycle.
    path = tree_copy / "src" / "shelf" / "core" / "redis.py"
    path.write_text(
        path.read_text() + "\n\ndef _late() -> None:\n    from shelf.core import cache_store\n"
    )
    result = lint_imports(tree_copy / "src", tree_copy / "pyproject.toml")
    assert result.returncode != 0
    assert "No import cycles" in result.stdout


def _modules() -> dict[Path, int]:
    """Line counts of the package's modules, but migrations and files under six lines."""
    counts = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text().splitlines())
        if lines >= 6:
            counts[path.relative_to(PACKAGE)] = lines
    return counts


def test_modules_stay_small() -> None:
    counts = _modules()
    too_long = {str(path): lines for path, lines in counts.items() if lines > 300}
    assert not too_long, "split these modules (over 300 lines)"
    assert statistics.median(counts.values()) <= 120


def test_a_resource_package_holds_at_most_five_modules() -> None:
    for package in ("books", "content_templates"):
        files = {path.name for path in (PACKAGE / package).glob("*.py")}
        assert files <= RESOURCE_FILES, f"{package}: {sorted(files - RESOURCE_FILES)}"
        assert len(files - {"__init__.py"}) <= 5


def test_no_flask_g_and_one_environ_key() -> None:
    sources = {path: path.read_text() for path in PACKAGE.rglob("*.py")}
    for path, text in sources.items():
        assert not re.search(r"\bg\.\w+|\bfrom flask import[^\n]*\bg\b", text), path
    environ_keys = {
        key
        for text in sources.values()
        for key in re.findall(r"environ(?:\.get\(|\.pop\(|\[)\s*\"(shelf\.[^\"]+)\"", text)
    }
    declared = set(re.findall(r'ENVIRON_KEY = "(shelf\.[^"]+)"', sources[PACKAGE / "web/state.py"]))
    assert declared == {"shelf.state"}
    assert environ_keys <= declared
