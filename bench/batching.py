"""Benchmark: visitors generating at once share decoding steps (issue 11.2).

    .venv/bin/python bench/batching.py [--tokens 64] [--sizes 1 2 4 8 16] [--rounds 2]
    .venv/bin/python bench/batching.py --engines    # the raw comparison behind the design

Default (the app's own path): N visitors start together, half through the Generate tab's engine
(`generation.engine.generate_stream`, raw story openings, greedy) and half through the Chat tab's
local backend (`chat.backends.stream_local`, chat-templated requests at temperature 0.7), each
asking for `--tokens` new tokens, in one process with all torch work on the runtime's thread (as
in the app, minus HTTP). Aggregate tokens/s = all tokens received ÷ wall time from the common start
to the last answer; time to first token (TTFT) = from a request's start to its first token; p95 by
nearest rank. "× alone" divides by one Generate request alone (N = 1) in the same round. Each
greedy Generate row's ids and top-5 are checked against the same request run alone beforehand.
Rounds repeat the sizes in order, alternating; the table gives medians.

`--engines`: one process, the offline SmolLM2-135M in fp32, all torch work on the runtime's one
thread. N different prompts (a mix of raw story openings and chat-templated questions, like the
Generate and Chat tabs send), each forced to exactly `--tokens` new greedy tokens:
  * sequential: one `model.generate` after another (what the app did before batching);
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


def engines(args: argparse.Namespace) -> None:
    """The raw comparison behind the design: sequential, transformers' continuous batching, padded generate."""
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


LONG_ASKS = ["Write a long story about a dragon who learns to bake bread.",
             "Describe, in detail, a day in the life of a lighthouse keeper.",
             "Write a long letter from a sailor to his family at home.",
             "Tell a long story about a robot who wants to become a gardener."]


def app_path(args: argparse.Namespace) -> None:
    import statistics
    import threading

    from playground.chat.backends import BackendConfig, ChatParams, stream_local
    from playground.generation.engine import GenerationRequest, generate_stream
    from playground.settings import Settings

    settings = Settings(offline=True, generation_batch=max(args.sizes))
    settings.apply_to_process()
    n_new = args.tokens

    def generate_request(i: int) -> GenerationRequest:
        return GenerationRequest(prompt=STORIES[i % len(STORIES)] + f" (part {i})", max_new_tokens=n_new)

    def run_generate(i: int, t0: float, out: dict) -> None:
        first, final = None, None
        for update in generate_stream(generate_request(i), settings):
            first = first or (update.steps and time.perf_counter() - t0)
            final = update
        out[i] = (first, len(final.steps), final.steps, time.perf_counter() - t0)

    def run_chat(i: int, t0: float, out: dict) -> None:
        config = BackendConfig.of("local")
        messages = [{"role": "user", "content": LONG_ASKS[i % len(LONG_ASKS)]}]
        first, n = None, 0
        for event in stream_local(config, messages, ChatParams(max_tokens=n_new, temperature=0.7), settings):
            if event.delta and first is None:
                first = time.perf_counter() - t0
            if event.done:
                n = event.completion_tokens or 0
        out[i] = (first, n, None, time.perf_counter() - t0)

    def round_at(n: int) -> tuple[float, float, float, bool]:
        out: dict = {}
        t0 = time.perf_counter()
        threads = [threading.Thread(target=run_chat if i % 2 else run_generate, args=(i, t0, out)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = max(v[3] for v in out.values())
        ttfts = sorted(v[0] for v in out.values())
        p95 = ttfts[min(len(ttfts) - 1, max(0, -(-95 * len(ttfts) // 100) - 1))]
        exact = all(sig(out[i][2]) == alone_steps[i] for i in out if out[i][2] is not None)
        return sum(v[1] for v in out.values()) / wall, p95, statistics.median(ttfts), exact

    def sig(steps: list) -> list:
        return [(s.id, [t[0] for t in s.top]) for s in steps]

    alone_steps: dict[int, list] = {}
    for i in range(0, max(args.sizes), 2):  # the greedy Generate rows, each alone: the exactness reference
        ref: dict = {}
        run_generate(i, time.perf_counter(), ref)
        alone_steps[i] = sig(ref[i][2])
    results: dict[int, list[tuple[float, float, float, bool]]] = {n: [] for n in args.sizes}
    for r in range(args.rounds):
        for n in args.sizes:
            results[n].append(round_at(n))
            print(f"  round {r + 1} N={n}: {results[n][-1][0]:.1f} tok/s, TTFT p95 {results[n][-1][1]:.2f} s",
                  flush=True)
    alone = statistics.median(x[0] for x in results[args.sizes[0]])
    print(f"\nSmolLM2-135M fp32, {n_new} new tokens per request, Generate (greedy) and local Chat (T 0.7) mixed; "
          f"medians of {args.rounds} rounds")
    print(f"{'N':>3} {'aggregate tok/s':>16} {'× alone':>8} {'TTFT p50':>9} {'TTFT p95':>9} {'Generate rows exact':>20}")
    for n in args.sizes:
        rows = results[n]
        agg = statistics.median(x[0] for x in rows)
        print(f"{n:>3} {agg:16.1f} {agg / alone:8.2f} {statistics.median(x[2] for x in rows):8.2f}s "
              f"{statistics.median(x[1] for x in rows):8.2f}s {str(all(x[3] for x in rows)):>20}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--engines", action="store_true", help="the raw comparison behind the design")
    args = parser.parse_args()
    (engines if args.engines else app_path)(args)


if __name__ == "__main__":
    main()
