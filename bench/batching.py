"""Benchmark: can visitors generating at once share decoding steps on this CPU? (issue 11.2)

    .venv/bin/python bench/batching.py [--tokens 64] [--sizes 1 2 4 8 16]

Method: one process, the offline SmolLM2-135M in fp32, all torch work on the runtime's one
thread. N different prompts (a mix of raw story openings and chat-templated questions, like the
Generate and Chat tabs send), each forced to exactly `--tokens` new greedy tokens:
  * sequential: one `model.generate` after another (what the app does today);
  * continuous batching: transformers' engine, `model.generate_batch` (the ContinuousBatchingManager
    behind `init_continuous_batching`, paged KV cache), all N submitted together;
  * padded batch: one `model.generate` on the N prompts left-padded together.
Aggregate tokens/s = N × tokens ÷ wall time; time to first token is the sequential wait for the
last request (sequential) or the batch's first step (batched). Greedy ids of both batched ways are
checked against sequential: exactness is the condition for using either in the tab.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STORIES = ["Once upon a time, in a small village by the sea, there lived an old fisherman who",
           "The committee met on a rainy Tuesday to decide the fate of the old library, and",
           "Deep in the forest, the young engineer found a strange machine that"]
QUESTIONS = ["Explain what a token is to a ten-year-old.", "Write a short poem about the sea.",
             "List three facts about the Moon.", "How do I make a cup of tea?", "Why is the sky blue?"]


def prompts(tokenizer, n: int) -> list[list[int]]:
    out = []
    for i in range(n):
        if i % 2:
            text = tokenizer.apply_chat_template([{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
                                                 tokenize=False, add_generation_prompt=True)
            out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
        else:
            out.append(tokenizer(STORIES[i % len(STORIES)])["input_ids"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8, 16])
    args = parser.parse_args()

    from playground import runtime
    from playground.generation import catalogue, models
    from playground.settings import Settings

    settings = Settings(offline=True)
    settings.apply_to_process()
    loaded = models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    model, tok = loaded.model, loaded.tokenizer
    n_new = args.tokens

    def sequential(batch: list[list[int]]) -> tuple[float, float, list[list[int]]]:
        import torch

        start, outs, first = time.perf_counter(), [], None
        for ids in batch:
            x = torch.tensor([ids])
            with torch.inference_mode():
                y = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=n_new, min_new_tokens=n_new,
                                   do_sample=False, pad_token_id=tok.eos_token_id)
            outs.append(y[0, len(ids):].tolist())
            first = first or time.perf_counter() - start
        return time.perf_counter() - start, first or 0.0, outs

    def padded(batch: list[list[int]]) -> tuple[float, list[list[int]]]:
        import torch

        width = max(map(len, batch))
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        x = torch.tensor([[pad] * (width - len(b)) + b for b in batch])
        mask = torch.tensor([[0] * (width - len(b)) + [1] * len(b) for b in batch])
        start = time.perf_counter()
        with torch.inference_mode():
            y = model.generate(x, attention_mask=mask, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                               pad_token_id=pad)
        return time.perf_counter() - start, [row[width:].tolist() for row in y]

    def continuous(batch: list[list[int]]) -> tuple[float, list[list[int]]]:
        from transformers import GenerationConfig

        config = GenerationConfig(max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                                  eos_token_id=-1, pad_token_id=tok.eos_token_id)  # no early stop: exactly n_new
        start = time.perf_counter()
        results = model.generate_batch(inputs=batch, generation_config=config, warmup=False)
        elapsed = time.perf_counter() - start
        ordered = sorted(results.values(), key=lambda r: int(str(r.request_id).rsplit("_", 1)[-1]))
        return elapsed, [list(r.generated_tokens) for r in ordered]

    runtime.call(sequential, prompts(tok, 1))  # warm-up
    print(f"SmolLM2-135M fp32 on {loaded.device}, {n_new} new tokens per request, greedy; aggregate tokens/s")
    print(f"{'N':>3} {'sequential':>11} {'CB engine':>10} {'× seq':>6} {'CB exact':>9} {'padded':>8} {'× seq':>6} "
          f"{'padded exact':>13} {'seq TTFT last':>14}")
    for n in args.sizes:
        batch = prompts(tok, n)
        seq_s, _, seq_ids = runtime.call(sequential, batch)
        ttft_last = seq_s - seq_s / n  # the last request waits for all the others
        try:
            cb_s, cb_ids = runtime.call(continuous, batch)
            cb = f"{n * n_new / cb_s:10.1f} {seq_s / cb_s:6.2f} {str(cb_ids == seq_ids):>9}"
        except Exception as exc:  # noqa: BLE001 - the finding is that the engine does not run here
            cb = f"{'failed':>10} {'':>6} {type(exc).__name__:>9}"
            print(f"    continuous batching failed: {type(exc).__name__}: {str(exc)[:200]}")
        pad_s, pad_ids = runtime.call(padded, batch)
        print(f"{n:>3} {n * n_new / seq_s:11.1f} {cb} {n * n_new / pad_s:8.1f} {seq_s / pad_s:6.2f} "
              f"{str(pad_ids == seq_ids):>13} {ttft_last:13.1f}s", flush=True)


if __name__ == "__main__":
    main()
