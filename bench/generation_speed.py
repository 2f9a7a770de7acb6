"""Benchmark: streaming generation with per-token top-5 probabilities vs a plain `model.generate`.

    .venv/bin/python bench/generation_speed.py                        # SmolLM2-135M, offline pack, CPU
    .venv/bin/python bench/generation_speed.py --tokens 128 --repeats 7
    .venv/bin/python bench/generation_speed.py --model Qwen/Qwen2.5-0.5B-Instruct --online   # on a GPU host

Method: one process, one loaded model, the same raw prompt and the same number of new tokens
(greedy; the prompt is a story opening that does not reach an end-of-turn token). The two ways
run alternately, `--repeats` times each after a warm-up, and the medians of new tokens per second
(wall clock, prompt pass included) are compared. The target is engine ≥ 0.9 × plain.

It also times the load of the offline model in fresh processes (the converted cache is present;
the target for the second load is under 3 s), and prints the bandwidth bound. Decoding one token
reads every weight once, so tokens/s ≤ memory bandwidth ÷ weight bytes. On a CPU the bandwidth
here is measured with a large numpy copy; on a GPU pass `--bandwidth-gbs` from the card's data
sheet (e.g. 300 for a T4, 2039 for an A100 80 GB, 3350 for an H100 SXM) and compare.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who"

LOAD_ONCE = """
import time, sys
sys.path.insert(0, {root!r})
from playground.settings import Settings
s = Settings(offline=True); s.apply_to_process()
t = time.perf_counter()
# Python modules, timed apart from the load itself: transformers imports a model family's code
# (and, for llama, its activations and kernel hub glue: ~1.5 s here) on first use, once per process.
import torch, transformers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from playground.generation import catalogue, models
imports = time.perf_counter() - t
t = time.perf_counter()
models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), s)
print(f"{{imports:.3f}} {{time.perf_counter() - t:.3f}}")
"""


def copy_bandwidth_gbs(size_mb: int = 512) -> float:
    """Rough host memory bandwidth: read + write of a large array, best of 5."""
    import numpy as np

    src = np.ones(size_mb * 2**20 // 8)
    dst = np.empty_like(src)
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(5))
    return 2 * src.nbytes / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="catalogue id or hub id (default: the offline SmolLM2-135M)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--online", action="store_true", help="allow the Hugging Face Hub")
    parser.add_argument("--bandwidth-gbs", type=float, default=None, help="GPU memory bandwidth from the data sheet")
    parser.add_argument("--skip-load", action="store_true", help="skip the fresh-process load timing")
    args = parser.parse_args()

    from playground.settings import Settings

    settings = replace(Settings.from_env(), offline=not args.online, allow_custom_models=True,
                       max_new_tokens=max(args.tokens, 512))
    settings.apply_to_process()
    import torch

    from playground.generation import catalogue, models
    from playground.generation.engine import GenerationRequest, generate_stream

    spec = catalogue.get(args.model or catalogue.DEFAULT_MODEL, allow_custom=True)
    if not args.skip_load and spec.id == catalogue.DEFAULT_MODEL:
        code = LOAD_ONCE.format(root=str(Path(__file__).resolve().parent.parent))
        runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                .stdout.strip().splitlines()[-1].split() for _ in range(2)]
        (imp1, load1), (imp2, load2) = [(float(a), float(b)) for a, b in runs]
        print(f"load of the offline model (tokenizer + weights) in a fresh process: first {load1:.2f} s, "
              f"second {load2:.2f} s (target < 3 s: {'OK' if load2 < 3 else 'MISSED'}); "
              f"importing torch + transformers + the llama modules before it: {imp1:.2f} s, {imp2:.2f} s")

    loaded = models.load_model(spec, settings)
    model, tok = loaded.model, loaded.tokenizer
    ids = tok(PROMPT, return_tensors="pt").to(model.device)
    n = args.tokens
    request = GenerationRequest(model_id=spec.id, prompt=PROMPT, max_new_tokens=n)

    def plain() -> tuple[float, int]:
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=n, do_sample=False)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t, out.shape[1] - ids["input_ids"].shape[1]

    def plain_in_thread() -> tuple[float, int]:
        # The engine runs generate in a worker thread; on a busy machine torch's CPU kernels behave
        # differently there than in the main thread, so the baseline is measured both ways.
        box: list[tuple[float, int]] = []
        worker = threading.Thread(target=lambda: box.append(plain()))
        worker.start()
        worker.join()
        return box[0]

    def engine() -> tuple[float, int]:
        t = time.perf_counter()
        final = None
        for update in generate_stream(request, settings):
            final = update
        return time.perf_counter() - t, len(final.steps)

    plain(), plain_in_thread(), engine()  # warm-up: first calls allocate caches
    results: dict[str, list[float]] = {"plain": [], "plain_thread": [], "engine": []}
    per_cpu: dict[str, list[float]] = {k: [] for k in results}
    for _ in range(args.repeats):
        for name, fn in (("plain", plain), ("plain_thread", plain_in_thread), ("engine", engine)):
            cpu = time.process_time()
            elapsed, produced = fn()
            cpu = time.process_time() - cpu
            if produced != n:
                sys.exit(f"{name} produced {produced} tokens, not {n}: pick a prompt that does not end early")
            results[name].append(produced / elapsed)
            per_cpu[name].append(produced / cpu)
    med = {k: statistics.median(v) for k, v in results.items()}
    med_cpu = {k: statistics.median(v) for k, v in per_cpu.items()}
    print(f"model {spec.id} on {loaded.device} ({loaded.dtype}), torch threads {torch.get_num_threads()}, "
          f"prompt {ids['input_ids'].shape[1]} tokens, {n} new tokens, {args.repeats} repeats (median)")
    print(f"  plain model.generate:                   {med['plain']:6.1f} tokens/s  {_spread(results['plain'])}")
    print(f"  plain model.generate in a thread:       {med['plain_thread']:6.1f} tokens/s  "
          f"{_spread(results['plain_thread'])}")
    print(f"  engine (streaming + top-5 per token):   {med['engine']:6.1f} tokens/s  {_spread(results['engine'])}")
    best = max(med["plain"], med["plain_thread"])
    ratio = med["engine"] / best
    print(f"  ratio engine / faster plain: {ratio:.3f} (target ≥ 0.9: {'OK' if ratio >= 0.9 else 'MISSED'})")
    # On a shared machine wall-clock speed swings with other load; tokens per CPU-second (all threads of
    # this process) shows the engine's own overhead with less noise.
    cpu_ratio = med_cpu["engine"] / max(med_cpu["plain"], med_cpu["plain_thread"])
    print(f"  tokens per CPU-second: plain {med_cpu['plain']:.1f}, in a thread {med_cpu['plain_thread']:.1f}, "
          f"engine {med_cpu['engine']:.1f}; ratio {cpu_ratio:.3f}")
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    if args.bandwidth_gbs:
        bw, how = args.bandwidth_gbs, "from --bandwidth-gbs"
    elif loaded.device == "cpu":
        bw, how = copy_bandwidth_gbs(), "measured with a numpy copy"
    else:
        bw, how = None, ""
    if bw:
        bound = bw * 1e9 / weight_bytes
        print(f"  bound: {bw:.1f} GB/s ({how}) ÷ {weight_bytes / 1e6:.0f} MB of weights = {bound:.0f} tokens/s; "
              f"plain reaches {best / bound:.0%} of it")
    else:
        print(f"  bound: pass --bandwidth-gbs (data sheet) ÷ {weight_bytes / 1e6:.0f} MB of weights")


def _spread(values: list[float]) -> str:
    return f"(min {min(values):.1f}, max {max(values):.1f})"


if __name__ == "__main__":
    main()
