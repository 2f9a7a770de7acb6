"""Comparison path vs the sum of each library's own encode, on 100 KB of mixed text.

    .venv/bin/python bench/compare_speed.py [--chars 100000] [--repeat 5] [--preset "Offline set (works with no network)"]

Target (issue 3): compare(...) for N tokenizers stays within 1.5x the sum of the N raw
encodes plus a fixed overhead. What the tab shows is bounded whatever the text's length: the
aligned view covers the first 2,000 characters. So the fixed overhead is measured as
compare + view on the first 2,000 characters minus those characters' raw encodes (loading
excluded: tokenizers are cached per process).
Method: median of --repeat runs after one warm-up, same process, same text. By default the
tab's own default pick (7 quick ones offline); `--preset` takes one of the tab's presets, e.g.
the offline set of 12 with Gemma 3's 262k vocabulary. The first load of each tokenizer is timed
apart (it is what a visitor waits for once, on first pick).
"""

from __future__ import annotations

import argparse
import time

from common import machine, median_time, mixed_text

from playground.settings import Settings
from playground.tokenization import catalogue, load
from playground.tokenization.compare import PRESETS, columns, compare, default_choices
from playground.tokenization.compare_render import comparison_html


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--preset", choices=sorted(PRESETS), help="compare this preset instead of the default pick")
    args = parser.parse_args()
    settings = Settings(offline=True)
    settings.apply_to_process()
    names = list(PRESETS[args.preset]) if args.preset else default_choices(settings)
    text = mixed_text(args.chars)
    started = time.perf_counter()
    toks = [load.tokenizer(catalogue.get(n), settings) for n in names]
    load_s = time.perf_counter() - started
    compare(text[:100], names, settings)  # first compare: per-vocabulary tables (byte lengths) built once
    first_s = time.perf_counter() - started - load_s

    def raw_all() -> None:
        for tok in toks:  # each library's own encode, as a user of that library would call it
            tok.raw_encode(text, add_special_tokens=False)

    def view(sample: str) -> None:
        comparison = compare(sample, names, settings)
        comparison_html(comparison, columns(comparison.cuts, comparison.boundaries, 2_000), settings.max_view_tokens)
        comparison.table()

    head = text[:2_000]

    def raw_head() -> None:
        for tok in toks:
            tok.raw_encode(head, add_special_tokens=False)

    raw_s = median_time(raw_all, args.repeat)
    fixed_s = median_time(lambda: view(head), args.repeat) - median_time(raw_head, args.repeat)
    full_s = median_time(lambda: view(text), args.repeat)
    print(f"# Compare {len(names)} tokenizers on {len(text):,} chars, {machine()}")
    print(f"tokenizers: {', '.join(names)}")
    print(f"first load of all : {load_s:8.1f} s;  first compare after it: {first_s:.2f} s")
    print(f"sum of raw encodes : {raw_s * 1000:8.1f} ms")
    print(f"fixed overhead     : {fixed_s * 1000:8.1f} ms  (view of the first 2,000 chars, minus their encodes)")
    print(f"compare + view     : {full_s * 1000:8.1f} ms")
    print(f"full / raw = {full_s / raw_s:.2f}x;  (full - fixed) / raw = {(full_s - fixed_s) / raw_s:.2f}x   (target <= 1.5x)")


if __name__ == "__main__":
    main()
