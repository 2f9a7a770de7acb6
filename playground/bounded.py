"""Insert into an insertion-ordered cache and drop the oldest entries beyond a bound.

Shared by the loaders' caches (tokenizers, generation models and their tokenizers, comparison
facts): on a shared server, ids a visitor types must not grow memory without limit. The caller
holds whatever lock guards the cache; the evicted keys come back so it can release their locks.
"""

from __future__ import annotations

from typing import Any


def put_bounded(cache: dict, key: Any, value: Any, limit: int) -> list[Any]:
    cache[key] = value
    evicted = []
    while len(cache) > max(1, limit):
        oldest = next(iter(cache))
        del cache[oldest]
        evicted.append(oldest)
    return evicted
