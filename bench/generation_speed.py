"""Benchmark: `/generate` in the app vs plain `model.generate` in a freshly started process (issue 11.1).

    .venv/bin/python bench/generation_speed.py                  # SmolLM2-135M, offline pack, 3 rounds
    .venv/bin/python bench/generation_speed.py --rounds 5 --tokens 128

Method: `--rounds` rounds; each round runs, in this order (so the three cases alternate):
  * plain: a NEW Python process loads the model with transformers, warms up once, then times
    `--repeats` greedy `model.generate` calls in its main thread (what a notebook gets);
  * fresh app: a NEW `python app.py --offline`; one `/generate` loads the model, then `--repeats`
    timed `/generate` calls through gradio_client;
  * after: in that same app, `/embed_search`, `/word_neighbors`, `/analogy` and a local `/chat` run
    (torch and BLAS work on other tabs' code paths), then `--repeats` timed `/generate` calls again.
Tokens/s is new tokens ÷ the generation's own time (prompt pass included, HTTP excluded: the server's
`total_s` for the app, the `generate` call for plain), median over all rounds. The prompt is a story
opening that does not reach an end-of-turn token, so every call makes exactly `--tokens` tokens.
Tokens per CPU-second (all threads of the measured process: plain's own, the app server's) is less
sensitive to other load on a shared machine. Targets: after / fresh app ≥ 0.9; fresh app / plain ≥ 0.9
(stretch 0.97).

It also times the load of the offline model in fresh processes (target for the second load < 3 s)
and prints the bandwidth bound: decoding one token reads every weight once, so tokens/s ≤ memory
bandwidth ÷ weight bytes (measured here with a large numpy copy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

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

# Plain transformers in a fresh process's main thread: the baseline a notebook gets.
PLAIN = """
import json, sys, time
sys.path.insert(0, {root!r})
from playground.settings import Settings
from playground.pack.entries import Pack
s = Settings(offline=True); s.apply_to_process()
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder = str(Pack(s).smollm2_dir)
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
ids = tok({prompt!r}, return_tensors="pt")
def run():
    with torch.inference_mode():
        cpu, t = time.process_time(), time.perf_counter()
        out = model.generate(**ids, max_new_tokens={n}, do_sample=False)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    assert out.shape[1] - ids["input_ids"].shape[1] == {n}
    return {n} / wall, {n} / cpu
run()
print(json.dumps([run() for _ in range({repeats})]))
"""


def plain_round(n: int, repeats: int) -> list[tuple[float, float]]:
    code = PLAIN.format(root=str(ROOT), prompt=PROMPT, n=n, repeats=repeats)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [tuple(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]


def app_round(n: int, repeats: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(fresh app, after the other tabs) rates: [(tokens/s, tokens per CPU-second of the server)]."""
    import psutil
    from conftest import launch_app, stop_app
    from gradio_client import Client

    proc, url, _ = launch_app()
    try:
        client = Client(url, verbose=False)
        server = psutil.Process(proc.pid)

        def timed() -> list[tuple[float, float]]:
            rates = []
            for _ in range(repeats):
                cpu = sum(server.cpu_times()[:2])
                out = client.predict(prompt=PROMPT, max_new_tokens=n, api_name="/generate")
                cpu = sum(server.cpu_times()[:2]) - cpu
                if out["stats"]["new_tokens"] != n:
                    sys.exit(f"/generate made {out['stats']['new_tokens']} tokens, not {n}")
                rates.append((n / out["stats"]["total_s"], n / cpu))
            return rates

        client.predict(prompt=PROMPT, max_new_tokens=n, api_name="/generate")  # loads the model, warms up
        fresh = timed()
        corpus = ["The cat sat on the mat.", "Stocks fell on Monday.", "A kitten sleeps in the sun."]
        client.predict(query="a sleepy kitten", texts=corpus, k=2, api_name="/embed_search")
        client.predict(word="king", k=5, api_name="/word_neighbors")
        client.predict(a="king", b="man", c="woman", k=3, api_name="/analogy")
        client.predict(messages=[], message="Say hi.", backend="local", max_tokens=8, api_name="/chat")
        return fresh, timed()
    finally:
        stop_app(proc)


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
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true", help="skip the fresh-process load timing")
    args = parser.parse_args()

    if not args.skip_load:
        code = LOAD_ONCE.format(root=str(ROOT))
        runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                .stdout.strip().splitlines()[-1].split() for _ in range(2)]
        (imp1, load1), (imp2, load2) = [(float(a), float(b)) for a, b in runs]
        print(f"load of the offline model (tokenizer + weights) in a fresh process: first {load1:.2f} s, "
              f"second {load2:.2f} s (target < 3 s: {'OK' if load2 < 3 else 'MISSED'}); "
              f"importing torch + transformers + the llama modules before it: {imp1:.2f} s, {imp2:.2f} s")

    cases: dict[str, list[tuple[float, float]]] = {"plain": [], "fresh": [], "after": []}
    for r in range(args.rounds):
        cases["plain"] += plain_round(args.tokens, args.repeats)
        fresh, after = app_round(args.tokens, args.repeats)
        cases["fresh"] += fresh
        cases["after"] += after
        print(f"round {r + 1}: " + ", ".join(f"{k} {statistics.median(x[0] for x in v[-args.repeats:]):.1f}"
                                            for k, v in cases.items()) + " tokens/s", flush=True)
    med = {k: statistics.median(x[0] for x in v) for k, v in cases.items()}
    cpu = {k: statistics.median(x[1] for x in v) for k, v in cases.items()}
    print(f"SmolLM2-135M-Instruct, {args.tokens} new tokens (greedy), {args.rounds} rounds × {args.repeats} calls, "
          "median; cases alternate within each round")
    labels = {"plain": "plain model.generate, fresh process", "fresh": "/generate, fresh app",
              "after": "/generate, after embeddings + word vectors + chat"}
    for k, label in labels.items():
        rates = [x[0] for x in cases[k]]
        print(f"  {label:52s} {med[k]:6.1f} tokens/s {_spread(rates)}  {cpu[k]:6.1f} tokens per CPU-second")
    for name, a, b, target in (("after / fresh app", "after", "fresh", 0.9), ("fresh app / plain", "fresh", "plain", 0.9)):
        ratio, cpu_ratio = med[a] / med[b], cpu[a] / cpu[b]
        print(f"  {name}: {ratio:.3f} (target ≥ {target}: {'OK' if ratio >= target else 'MISSED'}); "
              f"per CPU-second {cpu_ratio:.3f}")
    bw = copy_bandwidth_gbs()
    weight_bytes = 134.5e6 * 4  # SmolLM2-135M in fp32
    bound = bw * 1e9 / weight_bytes
    print(f"  bound: {bw:.1f} GB/s (numpy copy) ÷ {weight_bytes / 1e6:.0f} MB of weights = {bound:.0f} tokens/s; "
          f"plain reaches {med['plain'] / bound:.0%} of it")


def _spread(values: list[float]) -> str:
    return f"(min {min(values):.1f}, max {max(values):.1f})"


if __name__ == "__main__":
    main()
