"""Benchmark: the whole Inside-the-model view vs one plain forward pass with `output_hidden_states`.

    .venv/bin/python bench/inside_speed.py                   # SmolLM2-135M, 64-token prompt, 2 fresh processes
    .venv/bin/python bench/inside_speed.py --processes 3 --repeats 7

Targets (issue 12): whole view ≤ 3 × one plain forward pass, and < 3 s in absolute terms.

Method: each run is a freshly started Python process that loads SmolLM2 from the offline pack
once, builds a raw prompt of exactly 64 tokens, and then alternates, `--repeats` times each after
one warm-up of each:
  plain — `model(ids, output_hidden_states=True)` with plain transformers (sdpa attention);
  view  — `forward.inspect_text` (tokenize, eager-attention pass, logit lens over every layer,
          RoPE demonstration, token labels) plus building the four plotly figures of the tab;
  view with the all-fp32 lens — the same, the lens's bulk matmul forced to fp32 (what bf16 buys);
  the lens alone — `lens.lens` on a pass's hidden states (the breakdown: its bulk matmuls timed apart,
          and one more call under the torch profiler for the time of each op).
Both run on the app's one torch thread (`runtime.call`). Reported: medians per process, the
ratio of medians, and the overall median ratio. It also times the eager switch itself
(`set_attn_implementation` there and back) against the memory a second, eager-loaded copy of
the weights would take. On a shared machine absolute times are noisy; the alternating ratio is
the fair number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from playground.settings import Settings
s = Settings(offline=True); s.apply_to_process()
import torch
if {threads}:
    torch.set_num_threads({threads})
from playground import runtime
from playground.generation import catalogue, models
from playground.inside import forward, lens, plots

spec = catalogue.get(catalogue.DEFAULT_MODEL)
loaded = models.load_model(spec, s)
words = "The quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat by the door . " * 8
ids = loaded.tokenizer(words)["input_ids"][:64]
text = loaded.tokenizer.decode(ids)
assert len(loaded.tokenizer(text)["input_ids"]) == 64, "the prompt must be exactly 64 tokens"

def plain():
    def run():
        with torch.inference_mode():
            return loaded.model(torch.tensor([ids], device=loaded.model.device), output_hidden_states=True)
    runtime.call(run)

parts = {{"pass_and_lens": [], "lens": [], "matmul": [], "figures": []}}
fast_dtype = lens.fast_dtype

def view(exact=False):
    lens.fast_dtype = (lambda model: torch.float32) if exact else fast_dtype
    v = forward.inspect_text(spec.id, text, s, chat=False, new_tokens=0)
    if not exact:
        parts["pass_and_lens"].append(v.forward_s)
    started = time.perf_counter()
    plots.attention_heatmap(v.attentions[-1].mean(0), v.labels, "a")
    plots.looks_at(v.attentions[-1].mean(0), v.labels, len(v.labels) - 1, "b")
    plots.lens_heatmap(v.lens, v.labels, next(iter(plots.LENS_METRICS)), "c", len(v.labels) - plots.LENS_WINDOW)
    p = v.positions
    plots.rope_scores(p.offsets, p.scores_start.mean(0), p.scores_later.mean(0), 200, p.query_cosine, "x", "d")
    if not exact:
        parts["figures"].append(time.perf_counter() - started)

def lens_only():
    lens.fast_dtype = fast_dtype
    def run():
        with torch.inference_mode():
            out = loaded.model(torch.tensor([ids], device=loaded.model.device), output_hidden_states=True)
            started = time.perf_counter()
            lens.lens(loaded.model, out.hidden_states, out.logits[0])
            parts["lens"].append(time.perf_counter() - started)
            # the lens's matmuls alone, without the reductions over each block
            head = loaded.model.get_output_embeddings()
            rows = lens.final_norm(loaded.model)(torch.cat([h[0] for h in out.hidden_states[:-1]]))
            dtype = fast_dtype(loaded.model)
            bulk, (bulk_rows, _) = lens.bulk_weight(head, dtype), lens._bulk_rows(rows, rows[:, 0], dtype)
            block = lens.buffers(head, bulk_rows.shape[0], bulk.dtype, bulk.device).block  # the lens's own buffer
            started = time.perf_counter()
            for start in range(0, bulk.shape[0], block.shape[1]):
                part = bulk[start:start + block.shape[1]]
                torch.mm(bulk_rows, part.T, out=block[:, :part.shape[0]])
            parts["matmul"].append(time.perf_counter() - started)
    runtime.call(run)

def lens_ops():
    # One more lens call under the torch profiler: milliseconds per op (self time on the torch thread, which
    # waits for its OpenMP workers inside each op). The profiler's overhead inflates the total a little.
    from torch.profiler import ProfilerActivity, profile

    def run():
        with torch.inference_mode():
            out = loaded.model(torch.tensor([ids], device=loaded.model.device), output_hidden_states=True)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                lens.lens(loaded.model, out.hidden_states, out.logits[0])
        return {{e.key.removeprefix("aten::"): e.self_cpu_time_total / 1e6 for e in prof.key_averages()}}
    return runtime.call(run)

def switch():
    def run():
        loaded.model.set_attn_implementation("eager")
        loaded.model.set_attn_implementation("sdpa")
    runtime.call(run)

def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t

plain(); view(); view(True); lens_only()  # warm-up
for key in parts:
    parts[key].clear()
times = {{"plain": [], "view": [], "view_exact": []}}
for _ in range({repeats}):
    times["plain"].append(timed(plain))
    times["view"].append(timed(view))
    times["view_exact"].append(timed(lambda: view(True)))
    lens_only()
switch_s = statistics.median(timed(switch) for _ in range(20))
ops = lens_ops()
print(json.dumps({{**times, **parts, "switch_s": switch_s, "ops": ops, "bulk": str(fast_dtype(loaded.model)),
                  "weights_mb": loaded.memory_mb, "threads": torch.get_num_threads()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: torch's default, as the app). 1 shows the ratio of CPU work even when "
                             "other jobs load the machine, where 2 threads wait for each other at every barrier")
    args = parser.parse_args()
    from bench.common import machine

    print(f"machine: {machine()} (shared with other work while measured: absolute times are noisy)")
    ratios, views = [], []
    for number in range(args.processes):
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), repeats=args.repeats, threads=args.threads)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        plain, view = statistics.median(result["plain"]), statistics.median(result["view"])
        exact = statistics.median(result["view_exact"])
        ratios.append(view / plain)
        views.append(view)
        print(f"process {number + 1}: plain forward {plain * 1000:.0f} ms, whole view {view * 1000:.0f} ms, "
              f"ratio {view / plain:.2f}; with the all-fp32 lens {exact * 1000:.0f} ms, ratio {exact / plain:.2f} "
              f"(medians of {args.repeats}, alternating; torch threads {result['threads']}; lens bulk {result['bulk']})")
        part = {key: statistics.median(result[key]) for key in ("pass_and_lens", "lens", "matmul", "figures")}
        print(f"  inside the view: eager pass + lens {part['pass_and_lens'] * 1000:.0f} ms, of which the lens "
              f"≈ {part['lens'] * 1000:.0f} ms (timed alone: its matmuls {part['matmul'] * 1000:.0f} ms, the "
              f"reductions the rest); plotly figures {part['figures'] * 1000:.0f} ms")
        ops = sorted(result["ops"].items(), key=lambda kv: -kv[1])[:9]
        print("  the lens op by op (one profiled call, ms): " + ", ".join(f"{k} {v * 1000:.0f}" for k, v in ops))
        print(f"  eager switch there and back: {result['switch_s'] * 1e6:.0f} µs; an eager-loaded second copy would "
              f"add {result['weights_mb']:.0f} MB")
    ratio, view = statistics.median(ratios), statistics.median(views)
    print(f"median ratio view / plain forward: {ratio:.2f} (target ≤ 3) {'OK' if ratio <= 3 else 'MISSED'}")
    print(f"median whole view: {view:.2f} s (target < 3 s) {'OK' if view < 3 else 'MISSED'}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
