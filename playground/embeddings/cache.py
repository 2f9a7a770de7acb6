"""Corpus embeddings and their 2-D maps, kept in the app's shared cache (`playground.cache`).

Keys are (model id, sha256 of the texts, …): the same corpus sent again (a new query, another
projection) is served from here instead of being re-encoded. Entries are derived from content,
so two visitors only share an entry when they sent exactly the same texts. Bounded by entry
count and total bytes, so a busy server cannot grow it without limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np

from playground.cache import SharedCache


def texts_key(texts: Sequence[str]) -> str:
    """sha256 over the texts, each length-prefixed so ["ab", "c"] and ["a", "bc"] differ."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


V = TypeVar("V")


def _size(value: object) -> int:
    """Bytes of an array, or of the arrays an object (a `numeric.Projection`) holds."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    return sum(v.nbytes for v in vars(value).values() if isinstance(v, np.ndarray)) if hasattr(value, "__dict__") \
        else 1024


class EmbeddingCache(SharedCache[Hashable, V]):
    """Corpus embeddings or maps: the app's one shared cache, bounded by entries and by the bytes
    of the arrays held (`in` peeks without counting a use; `get_or_load` computes once)."""

    def __init__(self, max_entries: int = 32, max_bytes: int = 512 * 2**20):
        super().__init__(max_entries, max_bytes=max_bytes, sizeof=_size)
