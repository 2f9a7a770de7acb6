"""The one shared cache: eviction order, single flight, failures not cached, byte budget, wait limit."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from playground.cache import SharedCache


def test_least_recently_used_goes_first() -> None:
    evicted: list[str] = []
    cache: SharedCache[str, int] = SharedCache(2, on_evict=evicted.append)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert evicted == ["b"] and cache.keys() == ["a", "c"]
    assert "a" in cache and "b" not in cache
    cache.get_or_load("d", lambda: 4)  # "a" was used before "c" was stored: "a" goes
    assert evicted == ["b", "a"]


def test_a_smaller_bound_on_insert_trims_oldest_first() -> None:
    cache: SharedCache[str, int] = SharedCache(5)
    for i, key in enumerate("abcd"):
        cache.put(key, i)
    cache.put("e", 9, max_entries=2)
    assert cache.keys() == ["d", "e"]


def test_byte_budget_and_oversized_values() -> None:
    cache: SharedCache[str, np.ndarray] = SharedCache(10, max_bytes=1_000, sizeof=lambda a: a.nbytes)
    cache.put("a", np.zeros(50))  # 400 bytes
    cache.put("b", np.zeros(50))
    cache.put("c", np.zeros(50))  # 1,200 > 1,000: "a" goes
    assert cache.keys() == ["b", "c"]
    cache.put("big", np.zeros(500))  # larger than the whole budget: not stored, nothing evicted for it
    assert cache.keys() == ["b", "c"]


def test_two_threads_one_load() -> None:
    cache: SharedCache[str, object] = SharedCache(4)
    calls = []
    started = threading.Event()

    def slow_load() -> object:
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_load("k", slow_load))) for _ in range(2)]
    threads[0].start()
    started.wait(5)
    threads[1].start()
    for t in threads:
        t.join(10)
    assert calls == [1] and len(results) == 2 and results[0] is results[1]


def test_other_keys_load_while_one_is_slow() -> None:
    cache: SharedCache[str, int] = SharedCache(4)
    release = threading.Event()
    slow = threading.Thread(target=lambda: cache.get_or_load("slow", lambda: int(release.wait(10))))
    slow.start()
    try:
        started = time.perf_counter()
        assert cache.get_or_load("fast", lambda: 7) == 7
        assert time.perf_counter() - started < 1
    finally:
        release.set()
        slow.join(10)
    assert cache.get("slow") == 1


def test_a_failed_load_is_shared_by_waiters_but_not_cached() -> None:
    cache: SharedCache[str, int] = SharedCache(4)
    gate = threading.Event()
    attempts = []

    def failing() -> int:
        attempts.append(1)
        gate.wait(5)
        raise OSError("no network")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            cache.get_or_load("k", failing)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(errors) == 3 and attempts == [1]
    assert "k" not in cache
    assert cache.get_or_load("k", lambda: 5) == 5  # the network is back: the next call loads


def test_wait_limit_leaves_the_load_running_for_the_next_caller() -> None:
    cache: SharedCache[str, str] = SharedCache(2)
    release = threading.Event()
    with pytest.raises(TimeoutError):
        cache.get_or_load("map", lambda: "loaded" if release.wait(10) else "late", timeout=0.1)
    release.set()
    assert cache.get_or_load("map", lambda: "second load", timeout=5) == "loaded"
