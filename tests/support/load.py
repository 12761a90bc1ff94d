"""Steady client load for fault tests: every answer's status and time, the worst and the p99."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

__all__ = ["Load", "Outcome", "steady_load"]

Send = Callable[[requests.Session], requests.Response]
FAILED = 0  # the status recorded when no answer came (reset, refused, timed out)


@dataclass
class Outcome:
    """What the clients saw: (name, status, seconds) per request, 0 for no answer."""

    answers: list[tuple[str, int, float]] = field(default_factory=list)

    def statuses(self, name: str) -> set[int]:
        return {status for label, status, _ in self.answers if label == name}

    @property
    def server_errors(self) -> int:
        """Answers of 5xx, and requests that got no answer at all."""
        return sum(1 for _, status, _ in self.answers if status >= 500 or status == FAILED)

    @property
    def worst(self) -> float:
        return max((seconds for _, _, seconds in self.answers), default=0.0)

    def p99(self, *names: str) -> float:
        times = sorted(s for label, _, s in self.answers if not names or label in names)
        return times[int(len(times) * 0.99)] if times else 0.0

    def summary(self, title: str) -> str:
        """One line for the test's output: how many, the worst, the p99 and the 5xx."""
        line = (
            f"{title}: {len(self.answers)} requests, worst {self.worst * 1000:.0f} ms, "
            f"p99 {self.p99() * 1000:.0f} ms, 5xx or no answer {self.server_errors}"
        )
        print(f"\n{line}")
        return line


class Load:
    """Clients that send their requests in a loop, each on a session of its own, until stopped."""

    def __init__(self, senders: dict[str, Send], clients_each: int = 1) -> None:
        self.outcome = Outcome()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(name, send), daemon=True)
            for name, send in senders.items()
            for _ in range(clients_each)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> Outcome:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.outcome

    def _run(self, name: str, send: Send) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = send(session).status_code
                except requests.RequestException:
                    status = FAILED
                with self._lock:
                    self.outcome.answers.append((name, status, time.monotonic() - started))


@contextmanager
def steady_load(senders: dict[str, Send], clients_each: int = 1) -> Iterator[Outcome]:
    """Run `senders` in a loop for the duration of the block; the outcome fills as they go."""
    load = Load(senders, clients_each)
    load.start()
    try:
        yield load.outcome
    finally:
        load.stop()
