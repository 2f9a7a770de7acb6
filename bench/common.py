"""Helpers shared by the benchmarks: a repeatable mixed text and a median timer."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.tokenization import samples  # noqa: E402


def mixed_text(n_chars: int) -> str:
    """English, code, numbers, emoji, CJK, RTL and whitespace runs, repeated with variation to n_chars."""
    parts = list(samples.TEXTS.values())
    out, i = [], 0
    size = 0
    while size < n_chars:
        piece = f"{parts[i % len(parts)]} [{i}]\n"
        out.append(piece)
        size += len(piece)
        i += 1
    return "".join(out)[:n_chars]


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
