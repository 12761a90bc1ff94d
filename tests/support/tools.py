"""Locating the command-line tools the deployment tests drive."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.services import unavailable

__all__ = ["ROOT", "run", "tool"]

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """The path of a tool: the project's virtualenv first, then PATH; skip (or fail) without."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed")
    assert found is not None
    return found


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository, capturing its output as text."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False, **kwargs
    )
