"""What the server's master does when its workers end."""

from __future__ import annotations

from prometheus_client import multiprocess

__all__ = ["mark_dead"]


def mark_dead(pids: list[int | None]) -> None:
    """Leave the metric files of ended workers to the multiprocess collector."""
    for pid in pids:
        if pid is not None:
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
