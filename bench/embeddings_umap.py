"""UMAP: cold import and warm-up in the background, and whether the main thread stays responsive.

    .venv/bin/python bench/embeddings_umap.py [--points 2000] [--fresh-numba-cache]

Method: a fresh process (so `import umap` is cold) starts `warmup.start()`, then the main thread
runs a 10 ms sleep loop until UMAP is ready and records the longest gap (a stand-in for the
server's event loop: the page freezes only if this thread starves). Then a UMAP map of
`--points` random 384-d vectors is timed twice (first real fit, then warm), next to PCA and t-SNE.
numba keeps compiled code on disk after the first run; `--fresh-numba-cache` points it at an
empty folder, to measure the very first start on a new machine (or a fresh Space).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.embeddings import numeric, warmup  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--fresh-numba-cache", action="store_true", help="compile everything as on a new machine")
    args = parser.parse_args()
    if args.fresh_numba_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cache-")
    assert "umap" not in sys.modules and "numba" not in sys.modules
    started = time.perf_counter()
    warmup.start()
    returned = time.perf_counter() - started
    gaps, last = [], time.perf_counter()
    while not warmup.status().ready and warmup.status().state != "failed":
        time.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last - 0.01)
        last = now
    state = warmup.status()
    total = time.perf_counter() - started
    print(f"numba cache: {'fresh (empty)' if args.fresh_numba_cache else 'as left by earlier runs'}")
    print(f"warmup.start() returned in {returned * 1000:.1f} ms; state {state.state}")
    print(f"cold `import umap` {state.import_s:.1f} s, warm-up fits {state.first_fit_s:.1f} s, total {total:.1f} s")
    print(f"main thread during warm-up: longest stall {max(gaps) * 1000:.0f} ms, median {np.median(gaps) * 1000:.1f} ms "
          f"over {len(gaps)} ticks")
    x = np.random.default_rng(0).normal(size=(args.points, 384)).astype(np.float32)
    for label in ("UMAP first real fit", "UMAP warm fit"):
        t = time.perf_counter()
        numeric.umap_2d(x)
        print(f"{label} ({args.points} x 384): {time.perf_counter() - t:.1f} s")
    for method in ("PCA", "t-SNE"):
        t = time.perf_counter()
        numeric.project(x, method)
        print(f"{method} ({args.points} x 384): {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
