"""First load of a big offline tokenizer through the app vs the library reading the same file.

    .venv/bin/python bench/tokenizer_load.py [--rounds 3] [--names google/gemma-3-1b-it ...]

Each case runs in a fresh process (the app's loader caches per process), cases alternating
within each round; transformers and torch are imported before the clock starts in both, as
the running app has them. `raw` is `tokenizers.Tokenizer.from_file` on the pack's tokenizer.json:
one parse of the file, the floor for any loader. The app's load makes the transformers wrapper
(one parse) and one private copy for the other special-token behaviour (a Rust deep copy), so
about 2x raw is what it should cost. Reported: median seconds per case and app / raw.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from common import machine

PROLOGUE = """
import time, transformers, torch
from playground.settings import Settings
from playground.tokenization import catalogue, load
settings = Settings(offline=True); settings.apply_to_process()
spec = catalogue.get({name!r})
where = load.locate(spec, settings)
assert where.ready and where.where == "offline pack", where
"""
CASES = {
    "raw": "from tokenizers import Tokenizer\nfrom pathlib import Path\nt = time.perf_counter()\n"
           "Tokenizer.from_file(str(Path(where.target) / 'tokenizer.json'))\n",
    "app": "t = time.perf_counter()\nload.tokenizer(spec, settings).encode('Hello world')\n",
}
EPILOGUE = "print(time.perf_counter() - t)\n"


def run(name: str, case: str) -> float:
    code = PROLOGUE.format(name=name) + CASES[case] + EPILOGUE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--names", nargs="+", default=["google/gemma-3-1b-it", "Qwen/Qwen3-0.6B"])
    args = parser.parse_args()
    print(f"# First load of an offline tokenizer, fresh processes, {machine()}")
    for name in args.names:
        times: dict[str, list[float]] = {case: [] for case in CASES}
        for _ in range(args.rounds):
            for case in CASES:
                times[case].append(run(name, case))
        raw, app = statistics.median(times["raw"]), statistics.median(times["app"])
        print(f"{name:<28} raw {raw:6.2f} s   app {app:6.2f} s   app / raw = {app / raw:.2f}x")


if __name__ == "__main__":
    main()
