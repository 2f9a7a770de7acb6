"""Encoding throughput: the app's backend vs raw `SentenceTransformer.encode`, same texts, same batch size.

    .venv/bin/python bench/embeddings_encode.py [--texts 2000] [--rounds 5]

Method: one MiniLM (offline pack) loaded once and shared; each round runs raw, backend, backend,
raw (ABBA) so both see the same machine state; the backend path is `search.corpus_vectors` with
its cache cleared before each call (so it really encodes, and pays for hashing and caching).
The fastest and the median time of each are compared (the fastest is the least disturbed by
other processes on a shared machine). Also prints a cache hit (a new query on the same corpus).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.embeddings import examples, search  # noqa: E402
from playground.embeddings.catalogue import get  # noqa: E402
from playground.embeddings.models import load_sentence_model  # noqa: E402
from playground.settings import Settings  # noqa: E402


def corpus(n: int) -> list[str]:
    base = list(examples.TEXTS) + list(examples.QUERIES) + list(examples.CONTEXT_SENTENCES)
    return [f"{base[i % len(base)]} (variant {i}: {'more words ' * (i % 7)})" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    settings = Settings(offline=True)
    settings.apply_to_process()
    spec = get("minilm")
    model = load_sentence_model(spec, settings)
    texts = corpus(args.texts)
    model.encode(texts[:64], batch_size=search.BATCH_SIZE)  # warm up torch
    raw_times: list[float] = []
    app_times: list[float] = []

    def raw_run() -> None:
        started = time.perf_counter()
        model.encode(texts, batch_size=search.BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                     show_progress_bar=False)
        raw_times.append(time.perf_counter() - started)

    def app_run() -> None:
        search._vectors.clear()
        started = time.perf_counter()
        search.corpus_vectors(search.LocalEncoder(spec, settings), texts)
        app_times.append(time.perf_counter() - started)

    for _ in range(args.rounds):
        raw_run(), app_run(), app_run(), raw_run()
    raw, app = min(raw_times), min(app_times)
    hits = []
    for number in range(6):  # the first also computes the PCA map (then cached); the others only the query
        started = time.perf_counter()
        search.embed_search(f"a new query number {number}", texts, "minilm", 5, "PCA", settings)
        hits.append(time.perf_counter() - started)
    raw_med, app_med = statistics.median(raw_times), statistics.median(app_times)
    print(f"texts={len(texts)} batch_size={search.BATCH_SIZE} rounds={args.rounds} (ABBA, {len(raw_times)} runs each)")
    print(f"raw SentenceTransformer.encode : fastest {raw:6.2f} s ({len(texts) / raw:6.1f} texts/s), median {raw_med:6.2f} s")
    print(f"app backend (corpus_vectors)   : fastest {app:6.2f} s ({len(texts) / app:6.1f} texts/s), median {app_med:6.2f} s")
    print(f"throughput ratio app/raw       : fastest {raw / app:.3f}, median {raw_med / app_med:.3f}  (target >= 0.95)")
    print(f"new query on the cached corpus : first {hits[0] * 1000:.0f} ms (computes the PCA map), then median "
          f"{statistics.median(hits[1:]) * 1000:.0f} ms (encode the query, neighbours, cached map)")


if __name__ == "__main__":
    main()
