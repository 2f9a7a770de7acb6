"""Benchmark: continuing a branch from step k vs generating only the new tokens with transformers.

    .venv/bin/python bench/sampling_branch.py                 # SmolLM2-135M, offline pack
    .venv/bin/python bench/sampling_branch.py --rounds 5 --new 48 --split 20

Method. A raw prompt of about 300 tokens; a sampled run of `split + new` tokens. Three ways of
producing the `new` tokens after a different token at step `split`, each timed in its own freshly
started process (the model loaded, one warm-up, then the median of `--repeats`), the processes
alternating round after round:

- **branch**: `runs.continue_from` — the Sampling tab's path: copy and crop the run's KV cache,
  re-read one token, then every step through the stage-by-stage pipeline (7 stage summaries).
- **raw**: `model.generate(max_new_tokens=new)` from a KV cache that already holds the prefix
  (built before the clock starts): only the new tokens, the library's own loop, no views.
- **recompute**: `runs.continue_from` with the run's cache evicted: the prefix is read again.

Target: branch ≤ 1.2 × raw (median over rounds of the per-round ratio). The machine may be shared
with other work: the per-round ratios, not the absolute times, are the result.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine  # noqa: E402

PROMPT = ("The harbour town woke slowly. Fishermen mended their nets, gulls argued over scraps, and the baker "
          "opened her shutters to the smell of salt and bread. ") * 9 + "On that morning, the old captain said"

WORKER = """
import copy, statistics, sys, time
sys.path.insert(0, {root!r})
from playground.settings import Settings
s = Settings(offline=True); s.apply_to_process()
import torch
from playground import runtime
from playground.generation import catalogue, models
from playground.sampling import runs
from playground.sampling.pipeline import SamplingConfig
from playground.sampling.tree import Tree
loaded = models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), s)
config = SamplingConfig(temperature=0.9, top_k=50, top_p=0.95, seed=1)
split, new, way = {split}, {new}, {way!r}

def drain(it):
    for x in it:
        pass
    return x

tree = Tree(limit=1000)
run = drain(runs.sample(tree, runs.RunRequest(catalogue.DEFAULT_MODEL, prompt={prompt!r}, max_new_tokens=split + new + 1,
                                               config=config), s))
alt = "#" + str(run.steps[split].raw_top[1].id)
prefix = run.prompt_ids + run.tokens[:split] + [run.steps[split].raw_top[1].id]

def raw_prefix_cache():
    from transformers import DynamicCache
    cache = DynamicCache(config=loaded.model.config)
    with torch.inference_mode():
        loaded.model(input_ids=torch.tensor([prefix[:-1]]), past_key_values=cache, use_cache=True)
    return cache

def once():
    if way == "raw":
        cache = runtime.call(raw_prefix_cache)
        def work():
            torch.manual_seed(1)
            x = torch.tensor([prefix])
            with torch.inference_mode():
                start = time.perf_counter()
                loaded.model.generate(input_ids=x, attention_mask=torch.ones_like(x), past_key_values=cache,
                                      max_new_tokens=new, min_new_tokens=new, pad_token_id=0,
                                      **config.generate_kwargs())
                return time.perf_counter() - start
        return runtime.call(work)
    if way == "recompute":
        runs._caches.clear()
    start = time.perf_counter()
    b = drain(runs.continue_from(tree, run.id, split, alt, s))
    elapsed = time.perf_counter() - start
    assert (b.reused_tokens > 0) == (way == "branch"), b.reused_tokens
    assert len(b.steps) - split - 1 == new or b.stop_reason == "eos", (len(b.steps), b.stop_reason)
    return elapsed

once()
times = [once() for _ in range({repeats})]
print(statistics.median(times), len(run.prompt_ids))
"""


def measure(way: str, args: argparse.Namespace) -> tuple[float, int]:
    code = WORKER.format(root=str(Path(__file__).resolve().parent.parent), split=args.split, new=args.new, way=way,
                         prompt=PROMPT, repeats=args.repeats)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{way} worker failed:\n{out.stderr[-3000:]}")
    median, prompt_tokens = out.stdout.split()[-2:]
    return float(median), int(prompt_tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--split", type=int, default=20)
    parser.add_argument("--new", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {machine()} (possibly shared with other work: compare the ratios)")
    ratios, recompute_ratios = [], []
    for r in range(args.rounds):
        times = {}
        for way in (("branch", "raw", "recompute") if r % 2 == 0 else ("recompute", "raw", "branch")):
            times[way], prompt_tokens = measure(way, args)
        ratios.append(times["branch"] / times["raw"])
        recompute_ratios.append(times["recompute"] / times["raw"])
        print(f"round {r + 1}: prompt {prompt_tokens} tokens, split at {args.split}, {args.new} new tokens · "
              f"branch {times['branch']:.2f} s · raw generate {times['raw']:.2f} s · recompute "
              f"{times['recompute']:.2f} s · branch/raw {ratios[-1]:.3f} · recompute/raw {recompute_ratios[-1]:.3f}")
    ratio = statistics.median(ratios)
    print(f"median branch/raw = {ratio:.3f} (target ≤ 1.2): {'PASS' if ratio <= 1.2 else 'FAIL'}; "
          f"median recompute/raw = {statistics.median(recompute_ratios):.3f}")


if __name__ == "__main__":
    main()
