"""A clock that moves only when told to, for code that takes `clock=`."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Stands still until `advance`d: a TTL, a window or a backoff ends when the test says so."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
