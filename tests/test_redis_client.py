"""The shared Redis client helpers, against the real Redis."""

from __future__ import annotations

import os
import threading

import pytest
import redis

from shelf.redis_client import PinnedClient


@pytest.fixture
def shared(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=1)


def client_id(client: redis.Redis) -> int:
    info: dict[str, int] = client.client_info()  # type: ignore[assignment]
    return info["id"]


def test_a_thread_keeps_its_connection(shared: redis.Redis) -> None:
    pinned = PinnedClient(shared)
    assert pinned.get() is pinned.get()
    assert client_id(pinned.get()) == client_id(pinned.get())


def test_each_thread_has_its_own_connection(shared: redis.Redis) -> None:
    pinned = PinnedClient(shared)
    ids: list[int] = []
    compared = threading.Event()

    def other_thread() -> None:
        ids.append(client_id(pinned.get()))
        compared.wait(5)  # keep this thread's connection while the main thread takes one

    thread = threading.Thread(target=other_thread)
    thread.start()
    while not ids:
        thread.join(0.01)
    assert ids[0] != client_id(pinned.get())
    compared.set()
    thread.join()


def test_a_forked_child_does_not_use_its_parents_connection(
    shared: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = PinnedClient(shared)
    parent = pinned.get()
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as seen from a forked child
    assert pinned.get() is not parent
