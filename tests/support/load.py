"""Client load for the fault tests: clients that each repeat one kind of request until the block
ends, and every answer's kind, start, time and status, whether it was problem+json, and whether
it carried Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

__all__ = ["Load", "Outcome", "Sample", "p99", "steady_load", "summary"]

Send = Callable[[requests.Session], requests.Response]
NO_ANSWER = 0  # the status recorded when no answer came (reset, refused, timed out)


@dataclass(frozen=True)
class Sample:
    """One request: its kind, when it started (monotonic), how long it took, what came back."""

    kind: str
    started: float
    seconds: float
    status: int  # NO_ANSWER when no answer came
    problem: bool = False  # the body is application/problem+json
    retry_after: bool = False  # the answer has Retry-After


def p99(samples: list[Sample]) -> float:
    times = sorted(s.seconds for s in samples)
    return times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0


def summary(name: str, samples: list[Sample]) -> str:
    """One line: how many requests, the worst and the 99th percentile time, how many 5xx."""
    worst = max((s.seconds for s in samples), default=0.0)
    errors = sum(1 for s in samples if s.status >= 500 or s.status == NO_ANSWER)
    return (
        f"{name}: {len(samples)} requests, worst {worst * 1000:.0f} ms, "
        f"p99 {p99(samples) * 1000:.0f} ms, 5xx or no answer {errors}"
    )


@dataclass
class Outcome:
    """What the clients saw, a sample per request."""

    samples: list[Sample] = field(default_factory=list)

    def of(self, kind: str, start: float = 0.0, end: float = float("inf")) -> list[Sample]:
        """The samples of `kind` whose request started in [start, end)."""
        return [s for s in self.samples if s.kind == kind and start <= s.started < end]

    def statuses(self, kind: str) -> set[int]:
        return {s.status for s in self.of(kind)}

    @property
    def server_errors(self) -> int:
        """Answers of 5xx, and requests that got no answer at all."""
        return sum(1 for s in self.samples if s.status >= 500 or s.status == NO_ANSWER)

    def p99(self, *kinds: str) -> float:
        return p99([s for s in self.samples if not kinds or s.kind in kinds])

    def summary(self, title: str) -> str:
        """Print and return one line for the test's output (`summary`)."""
        line = summary(title, self.samples)
        print(f"\n{line}")
        return line


class Load:
    """Threads that each repeat one kind of request, on a keep-alive session of their own, for
    the duration of the block; the block gets the outcome, which fills as they go."""

    def __init__(self) -> None:
        self.outcome = Outcome()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, send: Send, *, clients: int = 1, pause: float = 0.0) -> None:
        """`clients` threads sending `send`, each pausing `pause` seconds after each answer
        (so that clients, which share this process's CPU and GIL, measure the server)."""
        for _ in range(clients):
            thread = threading.Thread(target=self._run, args=(kind, send, pause), daemon=True)
            self._threads.append(thread)

    def __enter__(self) -> Outcome:
        for thread in self._threads:
            thread.start()
        return self.outcome

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, kind: str, send: Send, pause: float) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = send(session)
                except requests.RequestException:
                    sample = Sample(kind, started, time.monotonic() - started, NO_ANSWER)
                else:
                    sample = Sample(
                        kind,
                        started,
                        time.monotonic() - started,
                        response.status_code,
                        response.headers.get("Content-Type") == "application/problem+json",
                        "Retry-After" in response.headers,
                    )
                self.outcome.samples.append(sample)
                time.sleep(pause)


@contextmanager
def steady_load(senders: dict[str, Send], clients_each: int = 1) -> Iterator[Outcome]:
    """Run each of `senders` (kind: send) in a loop for the duration of the block."""
    load = Load()
    for kind, send in senders.items():
        load.add(kind, send, clients=clients_each)
    with load as outcome:
        yield outcome
