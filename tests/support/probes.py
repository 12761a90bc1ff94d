"""Probing clients for the database fault tests: each calls one endpoint in a loop and keeps
every answer's time and status (`tests.support.load` is the other fault tests' steady load)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

__all__ = ["Load", "Sample", "summary"]

Call = Callable[[requests.Session, str], requests.Response]
CLIENT_TIMEOUT = 15.0  # seconds; a request that takes longer counts as unanswered (status 0)


@dataclass(frozen=True)
class Sample:
    """One request: its kind, when it started (monotonic), how long it took, what came back."""

    kind: str
    started: float
    seconds: float
    status: int  # 0 when no answer came
    problem: bool  # the body is application/problem+json
    retry_after: bool  # the answer has Retry-After


class Load:
    """Threads that each repeat one kind of request against `url` until the block ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, call: Call, *, clients: int = 1, pause: float = 0.01) -> None:
        """`clients` threads, each with a keep-alive session of its own, calling `call` and
        pausing `pause` seconds after each answer (so that the clients, which share this
        process's CPU and GIL, measure the server rather than themselves)."""
        for _ in range(clients):
            self._threads.append(threading.Thread(target=self._run, args=(kind, call, pause)))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def of(self, kind: str, start: float = 0.0, end: float = float("inf")) -> list[Sample]:
        """The samples of `kind` whose request started in [start, end)."""
        return [s for s in self.samples if s.kind == kind and start <= s.started < end]

    def _run(self, kind: str, call: Call, pause: float) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = call(session, self.url)
                except requests.RequestException:
                    self.samples.append(
                        Sample(kind, started, time.monotonic() - started, 0, False, False)
                    )
                    time.sleep(pause)
                    continue
                self.samples.append(
                    Sample(
                        kind,
                        started,
                        time.monotonic() - started,
                        response.status_code,
                        response.headers.get("Content-Type") == "application/problem+json",
                        "Retry-After" in response.headers,
                    )
                )
                time.sleep(pause)


def summary(name: str, samples: list[Sample]) -> str:
    """One line: how many requests, the worst and the 99th percentile time, how many 5xx."""
    times = sorted(s.seconds for s in samples)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0
    errors = sum(1 for s in samples if s.status >= 500 or s.status == 0)
    return (
        f"{name}: {len(samples)} requests, worst {max(times, default=0.0) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, {errors} 5xx or unanswered"
    )
