"""The shared Redis client helpers, against the real Redis."""

from __future__ import annotations

import os
import threading

import pytest
import redis

from shelf.core.redis import PinnedClient
from tests.support.private_redis import PrivateRedis


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


COUNT = "return redis.call('INCR', KEYS[1])"


def test_evalsha_runs_the_script_on_the_pinned_connection(
    shared: redis.Redis, redis_prefix: str
) -> None:
    pinned = PinnedClient(shared)
    script = shared.register_script(COUNT)
    key = f"{redis_prefix}count"
    assert [pinned.evalsha(script, [key], []) for _ in range(3)] == [1, 2, 3]


def test_evalsha_loads_the_script_again_when_redis_lost_it(private_redis: PrivateRedis) -> None:
    client = redis.Redis.from_url(private_redis.url, socket_timeout=1)
    pinned = PinnedClient(client)
    script = client.register_script(COUNT)
    assert pinned.evalsha(script, ["n"], []) == 1
    client.script_flush()
    assert pinned.evalsha(script, ["n"], []) == 2


def test_after_a_failure_the_next_call_reconnects(private_redis: PrivateRedis) -> None:
    client = redis.Redis.from_url(private_redis.url, socket_timeout=0.5)
    pinned = PinnedClient(client)
    script = client.register_script(COUNT)
    assert pinned.evalsha(script, ["n"], []) == 1
    private_redis.freeze()
    with pytest.raises(redis.TimeoutError):
        pinned.evalsha(script, ["n"], [])  # the reply never comes: the socket is dropped
    private_redis.thaw()
    # The unread reply of the timed-out call died with its socket; this one reads its own.
    assert pinned.evalsha(script, ["n"], []) == 3
