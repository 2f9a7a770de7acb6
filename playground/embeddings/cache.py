"""A small thread-safe LRU for corpus embeddings and their 2-D maps.

Keys are (model id, sha256 of the texts, …): the same corpus sent again (a new query, another
projection) is served from here instead of being re-encoded. Entries are derived from content,
so two visitors only share an entry when they sent exactly the same texts. Bounded by entry
count and total bytes, so a busy server cannot grow it without limit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np


def texts_key(texts: Sequence[str]) -> str:
    """sha256 over the texts, each length-prefixed so ["ab", "c"] and ["a", "bc"] differ."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    return sum(v.nbytes for v in vars(value).values() if isinstance(v, np.ndarray)) if hasattr(value, "__dict__") \
        else 1024


class LRUCache:
    def __init__(self, max_entries: int = 32, max_bytes: int = 512 * 2**20):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key][0]
            self.misses += 1
            return None

    def peek(self, key: Hashable) -> bool:
        """Whether `key` is cached, without counting a hit or refreshing it."""
        with self._lock:
            return key in self._data

    def put(self, key: Hashable, value: Any) -> None:
        size = _size(value)
        with self._lock:
            if key in self._data:
                self._bytes -= self._data.pop(key)[1]
            if size > self.max_bytes:
                return  # larger than the whole cache: do not evict everything for it
            self._data[key] = (value, size)
            self._bytes += size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, evicted) = self._data.popitem(last=False)
                self._bytes -= evicted

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Computed outside the lock: a slow encode must not block hits on other keys."""
        found = self.get(key)
        if found is None:
            found = compute()
            self.put(key, found)
        return found

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
