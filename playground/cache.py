"""One cache for everything the app loads once and shares between visitors.

Tokenizers, generation and embedding models, their configs, comparison facts, corpus
embeddings, the price map: each is a `SharedCache`, so eviction, locking and failure behave
the same everywhere:

- **Bounded, least recently used first** (`cachetools.LRUCache`): by entry count, and by
  bytes when a `sizeof` is given. Visitor-typed ids must not grow memory without limit.
- **Single flight**: concurrent misses of one key run one load; the others wait for it and
  get its value (or its exception). Loads of different keys run in parallel, and no lock is
  held while loading, so a slow Hub download of one entry never blocks hits on others.
- **A failed load is never cached**: the next request tries again (the network may be back).
- **An optional wait limit** (`timeout`): the load then runs in its own thread and a caller
  that waits longer gets `TimeoutError` while the load goes on for the next caller.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedCache(Generic[K, V]):
    """A thread-safe LRU with single-flight loading. `max_entries` may be changed per insert
    (`put`/`get_or_load(..., max_entries=n)`) for bounds that come from settings."""

    def __init__(self, max_entries: int, *, max_bytes: int | None = None, sizeof: Callable[[V], int] | None = None,
                 on_evict: Callable[[K], None] | None = None):
        self.max_entries = max(1, max_entries)
        self._data: LRUCache[K, V] = LRUCache(maxsize=max_bytes if max_bytes is not None else math.inf,
                                              getsizeof=sizeof)
        self._loading: dict[K, Future[V]] = {}
        self._lock = threading.Lock()
        self._on_evict = on_evict
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        """The cached value (now the most recently used), or None."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def __contains__(self, key: object) -> bool:
        """Cached right now (does not count as a use)."""
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._data.keys())

    def put(self, key: K, value: V, *, max_entries: int | None = None) -> None:
        """Store `value`; a value larger than the whole byte budget is not stored (and evicts nothing)."""
        with self._lock:
            evicted = self._put_locked(key, value, max_entries)
        self._report(evicted)

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def get_or_load(self, key: K, load: Callable[[], V], *, max_entries: int | None = None,
                    timeout: float | None = None) -> V:
        """The cached value, or `load()`'s, loaded once however many callers ask at the same moment."""
        with self._lock:
            if key in self._data:
                self.hits += 1
                return self._data[key]
            self.misses += 1
            future = self._loading.get(key)
            leader = future is None
            if future is None:
                future = self._loading[key] = Future()
        if leader:
            if timeout is None:
                self._run(key, load, future, max_entries)
            else:
                threading.Thread(target=self._run, args=(key, load, future, max_entries), daemon=True,
                                 name=f"load {key!r}"[:60]).start()
        return future.result(timeout)

    def _run(self, key: K, load: Callable[[], V], future: Future[V], max_entries: int | None) -> None:
        try:
            value = load()
        except BaseException as exc:  # handed to every waiter, then forgotten: failures are not cached
            with self._lock:
                self._loading.pop(key, None)
            future.set_exception(exc)
            return
        with self._lock:
            evicted = self._put_locked(key, value, max_entries)
            self._loading.pop(key, None)
        future.set_result(value)
        self._report(evicted)

    def _put_locked(self, key: K, value: V, max_entries: int | None) -> list[K]:
        if max_entries is not None:
            self.max_entries = max(1, max_entries)
        before = set(self._data.keys())
        try:
            self._data[key] = value  # cachetools evicts least recently used entries over the byte budget
        except ValueError:  # larger than the whole budget
            self._data.pop(key, None)
        while len(self._data) > self.max_entries:
            self._data.popitem()  # least recently used first
        return [k for k in before if k not in self._data] if self._on_evict else []

    def _report(self, evicted: list[K]) -> None:
        if self._on_evict:
            for key in evicted:
                self._on_evict(key)
