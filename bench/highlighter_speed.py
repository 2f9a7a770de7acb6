"""Highlighter path vs the tokenizer library's own encode, on 1 MB of mixed text.

    .venv/bin/python bench/highlighter_speed.py [--chars 1000000] [--repeat 5]

The full path is what one highlighter request costs: sanitize, encode with character
offsets, stats (unknown, special, dropped characters, lost bytes), the chip HTML for the
first `max_view_tokens` tokens and the ids text. Target (issue 2): at most 2x the raw encode.
Method: median of --repeat runs after one warm-up, same process, same text.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from common import machine, median_time, mixed_text

from playground.settings import Settings
from playground.tokenization import catalogue, load
from playground.tokenization.highlight import tokenize_text
from playground.tokenization.render import ids_text


def transformers_encode(tok, text):
    return tok.hf.encode(text, add_special_tokens=True, split_special_tokens=True, verbose=False)


def tokenizers_encode(tok, text):  # the Rust `tokenizers` library under transformers: the stricter baseline
    return tok._plain.encode(text, add_special_tokens=True).ids


CASES = [
    ("tiktoken o200k_base", "o200k_base", "tiktoken encode_ordinary", lambda tok, text: tok._enc.encode_ordinary(text)),
    ("SmolLM2 (byte-level BPE)", "HuggingFaceTB/SmolLM2-135M-Instruct", "transformers encode", transformers_encode),
    ("SmolLM2 (byte-level BPE)", "HuggingFaceTB/SmolLM2-135M-Instruct", "tokenizers encode", tokenizers_encode),
    ("MiniLM (WordPiece)", "minilm", "transformers encode", transformers_encode),
    ("MiniLM (WordPiece)", "minilm", "tokenizers encode", tokenizers_encode),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = replace(Settings(offline=True), max_input_chars=args.chars)
    settings.apply_to_process()
    text = mixed_text(args.chars)
    print(f"# Highlighter vs raw encode, {len(text):,} chars ({len(text.encode()):,} bytes), {machine()}")
    print(f"{'tokenizer':<26} {'baseline':<26} {'tokens':>9} {'baseline':>9} {'highlighter':>12} {'ratio':>6}")
    for label, name, baseline, raw in CASES:
        tok = load.tokenizer(catalogue.get(name), settings)

        def full_path(name: str = name) -> None:
            result = tokenize_text(text, name, settings)
            result.chips_html(settings.max_view_tokens)
            ids_text(result.ids)

        raw_s = median_time(lambda raw=raw, tok=tok: raw(tok, text), args.repeat)
        full_s = median_time(full_path, args.repeat)
        n = tokenize_text(text, name, settings).stats.tokens
        print(f"{label:<26} {baseline:<26} {n:>9,} {raw_s * 1000:>7.0f}ms {full_s * 1000:>10.0f}ms {full_s / raw_s:>5.2f}x")


if __name__ == "__main__":
    main()
