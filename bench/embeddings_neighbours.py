"""Nearest neighbours over 100,000 cached 384-d vectors: `numeric.top_k` vs brute-force numpy.

    .venv/bin/python bench/embeddings_neighbours.py [--n 100000] [--queries 50] [--k 10]

Method: random normal vectors (float32, normalised once, as the cache holds them); for each
query, time `top_k` (float32 matrix-vector product + argpartition + sort of k) and a brute-force
baseline (cosine from scratch in float64 with norms, full argsort); check both give the same
indices; report median and 95th percentile per query.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.embeddings import numeric  # noqa: E402


def brute_force(query: np.ndarray, corpus: np.ndarray, k: int) -> np.ndarray:
    scores = (corpus.astype(np.float64) @ query) / (np.linalg.norm(corpus, axis=1) * np.linalg.norm(query))
    return np.argsort(-scores, kind="stable")[:k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    corpus = numeric.normalise(raw)
    queries = rng.normal(size=(args.queries, args.dim)).astype(np.float32)
    numeric.top_k(queries[0], corpus, args.k)  # first-touch of the pages
    fast, slow, agree = [], [], 0
    for q in queries:
        started = time.perf_counter()
        indices, _ = numeric.top_k(q, corpus, args.k)
        fast.append(time.perf_counter() - started)
        started = time.perf_counter()
        expected = brute_force(q, raw, args.k)
        slow.append(time.perf_counter() - started)
        agree += int(indices[0].tolist() == expected.tolist())
    f, s = np.array(fast) * 1000, np.array(slow) * 1000
    print(f"n={args.n:,} dim={args.dim} k={args.k} queries={args.queries}")
    print(f"top_k (float32 matmul + argpartition): median {np.median(f):6.2f} ms  p95 {np.percentile(f, 95):6.2f} ms"
          "  (target < 50 ms)")
    print(f"brute force (float64 cosine + argsort): median {np.median(s):6.2f} ms  p95 {np.percentile(s, 95):6.2f} ms")
    print(f"speed-up {np.median(s) / np.median(f):.1f}x; same top-{args.k} indices for {agree}/{args.queries} queries")


if __name__ == "__main__":
    main()
