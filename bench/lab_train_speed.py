"""Tokenizer lab training vs calling the `tokenizers` trainer directly, on 1 MB with a 5k vocabulary.

    .venv/bin/python bench/lab_train_speed.py [--algorithm BPE] [--vocab 5000] [--runs 5]

Target (issue 14): `playground.lab.train.train` on 1 MB of text with a 5,000-token vocabulary
takes < 10 s on this CPU and ≤ 1.1× the raw trainer.
Method: every run is a freshly started Python process (no warm caches, no shared allocator
state); the lab and the raw runs alternate (lab, raw, lab, raw, …) so a load change on a shared
machine hits both alike. Each process reads the same 1 MB (the standard library's source, as
the lab's "python-source" example) before the clock starts and times only the training call
(TOKENIZERS_PARALLELISM=false in both, as the app sets it):
the lab's `train(...)` (progress reporting, the tokenizer.json text and the session record
included) against a hand-written tokenizer + trainer with the same settings and
`train_from_iterator`. Reported: median seconds of each, and the ratio of the medians; also
the CPU seconds of the training call (`time.process_time`: the trainers run on one thread with
TOKENIZERS_PARALLELISM=false), which a busy shared machine inflates far less than wall time.
Both sides use the trainers' default parameters, which for Unigram are SentencePiece's own
(seed_size 1,000,000, shrinking_factor 0.75, n_sub_iterations 2, max_piece_length 16).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from playground.lab import corpora
text = corpora.example("python-source")
kind, algorithm, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "lab":
    from playground.lab.train import train
    started, cpu = time.perf_counter(), time.process_time()
    trained = train(text, algorithm, vocab, name="bench", corpus="bench", max_vocab=10**6,
                    progress=lambda fraction, what: None)
    seconds, cpu, size = time.perf_counter() - started, time.process_time() - cpu, trained.vocab_size
else:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    lines = text.splitlines()
    started, cpu = time.perf_counter(), time.process_time()
    if algorithm == "BPE":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif algorithm == "WordPiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab, show_progress=False,
                                            special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=vocab, special_tokens=["<unk>", "<s>", "</s>"],
                                          unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(lines, trainer)
    seconds, cpu, size = time.perf_counter() - started, time.process_time() - cpu, tok.get_vocab_size()
print(json.dumps({{"seconds": seconds, "cpu": cpu, "vocab": size, "bytes": len(text.encode())}}))
"""


def run(kind: str, algorithm: str, vocab: int) -> dict:
    # As in the app (Settings.apply_to_process), for both sides alike.
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), kind, algorithm, str(vocab)],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algorithm", default="BPE", choices=["BPE", "WordPiece", "Unigram"])
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"lab": [], "raw": []}
    cpu: dict[str, list[float]] = {"lab": [], "raw": []}
    info = {}
    for _ in range(args.runs):
        for kind in ("lab", "raw"):
            info = run(kind, args.algorithm, args.vocab)
            times[kind].append(info["seconds"])
            cpu[kind].append(info["cpu"])
    lab, raw = statistics.median(times["lab"]), statistics.median(times["raw"])
    lab_cpu, raw_cpu = statistics.median(cpu["lab"]), statistics.median(cpu["raw"])
    print(f"# {args.algorithm}, {args.vocab:,}-token vocabulary, {info['bytes']:,} bytes; {machine()}")
    print(f"fresh process per run, alternating lab/raw, {args.runs} runs each")
    print(f"lab train(): median {lab:6.2f} s   runs {[round(t, 2) for t in times['lab']]}")
    print(f"raw trainer: median {raw:6.2f} s   runs {[round(t, 2) for t in times['raw']]}")
    print(f"lab / raw = {lab / raw:.3f}x   (targets: < 10 s, <= 1.1x)")
    print(f"CPU seconds: lab {lab_cpu:.2f}, raw {raw_cpu:.2f}, lab / raw = {lab_cpu / raw_cpu:.3f}x   "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
