"""Encoding throughput: the app's backend vs raw `SentenceTransformer.encode`, same texts, same batch size.

    .venv/bin/python bench/embeddings_encode.py [--texts 500] [--rounds 2] [--repeat 3]

Method: every measurement runs in a freshly started Python process, so the raw baseline is what
a notebook gets (torch used from the main thread only) and the app path is what the app does
(MiniLM loaded and run on `playground.runtime`'s torch thread, through `search.corpus_vectors`
with its cache cleared before each call, so it really encodes and pays for hashing and caching).
Processes alternate raw, app, app, raw (ABBA) for `--rounds`; each warms up once, then times
`--repeat` encodes and reports its median. The ratio compares the medians over processes. The
app processes also time a new query on a cached corpus.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.embeddings import examples, search  # noqa: E402
from playground.embeddings.catalogue import get  # noqa: E402
from playground.settings import Settings  # noqa: E402


def corpus(n: int) -> list[str]:
    base = list(examples.TEXTS) + list(examples.QUERIES) + list(examples.CONTEXT_SENTENCES)
    return [f"{base[i % len(base)]} (variant {i}: {'more words ' * (i % 7)})" for i in range(n)]


def child(mode: str, n_texts: int, repeat: int) -> dict:
    """One fresh process: load MiniLM, warm up, time `repeat` encodes of the corpus."""
    settings = Settings(offline=True)
    settings.apply_to_process()
    spec = get("minilm")
    texts = corpus(n_texts)
    times: list[float] = []
    hits: list[float] = []
    if mode == "raw":
        from sentence_transformers import SentenceTransformer

        from playground.pack.entries import Pack

        model = SentenceTransformer(str(Pack(settings).minilm_dir), local_files_only=True)
        model.encode(texts[:64], batch_size=search.BATCH_SIZE)  # warm up torch
        for _ in range(repeat):
            started = time.perf_counter()
            model.encode(texts, batch_size=search.BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                         show_progress_bar=False)
            times.append(time.perf_counter() - started)
    else:
        encoder = search.LocalEncoder(spec, settings)
        encoder.encode(texts[:64])  # loads on the torch thread and warms it up
        for _ in range(repeat):
            search._vectors.clear()
            started = time.perf_counter()
            search.corpus_vectors(encoder, texts)
            times.append(time.perf_counter() - started)
        for number in range(6):  # the first also computes the PCA map (then cached); the others only the query
            started = time.perf_counter()
            search.embed_search(f"a new query number {number}", texts, "minilm", 5, "PCA", settings)
            hits.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "fastest": min(times), "hits": hits}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["raw", "app"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.texts, args.repeat)))
        return
    results: dict[str, list[dict]] = {"raw": [], "app": []}
    for _ in range(args.rounds):
        for mode in ("raw", "app", "app", "raw"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--texts", str(args.texts), "--repeat",
                                  str(args.repeat)], capture_output=True, text=True, check=True).stdout
            results[mode].append(json.loads(out.strip().splitlines()[-1]))
            print(f"  {mode} process: median {results[mode][-1]['median']:.2f} s", file=sys.stderr, flush=True)
    raw = statistics.median(r["median"] for r in results["raw"])
    app = statistics.median(r["median"] for r in results["app"])
    hits = [h for r in results["app"] for h in r["hits"][1:]]
    n = args.texts
    print(f"texts={n} batch_size={search.BATCH_SIZE}; {args.rounds} ABBA rounds of fresh processes, "
          f"{args.repeat} timed encodes each")
    print(f"raw SentenceTransformer.encode (main thread) : median {raw:6.2f} s ({n / raw:6.1f} texts/s)")
    print(f"app backend (torch thread, corpus_vectors)   : median {app:6.2f} s ({n / app:6.1f} texts/s)")
    print(f"throughput ratio app/raw                     : {raw / app:.3f}  (target >= 0.95)")
    print(f"new query on the cached corpus               : first {results['app'][0]['hits'][0] * 1000:.0f} ms "
          f"(computes the PCA map), then median {statistics.median(hits) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
