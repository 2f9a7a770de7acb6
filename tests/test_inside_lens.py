"""The fast logit lens (playground/inside/lens.py) against a plain softmax over the whole vocabulary.

Fast: random rows through a random output layer, in several vocabulary blocks, with and without
Gemma's soft cap: the fp32 path equals the plain softmax, the bf16 path stays within the stated
tolerances. Slow: SmolLM2 on real text (this README), the bf16 path against the fp32 one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from playground import runtime
from playground.generation import catalogue, models
from playground.inside import lens


def reference(rows, weight, chosen, cap):
    logits = (rows.float() @ weight.float().T)
    if cap:
        logits = cap * (logits / cap).tanh()
    log_probs = logits.log_softmax(-1)
    return {"top_ids": log_probs.argmax(-1).numpy(), "top_probs": log_probs.max(-1).values.exp().numpy(),
            "entropy": (-(log_probs.exp() * log_probs).sum(-1) / math.log(2)).numpy(),
            "rank": (logits > logits.gather(-1, chosen[:, None])).sum(-1).numpy()}


def close_enough(found, expected, prob, entropy):
    assert np.array_equal(found["top_ids"], expected["top_ids"])
    assert np.allclose(found["top_probs"], expected["top_probs"], atol=prob)
    assert np.allclose(found["entropy"], expected["entropy"], atol=entropy)
    small = expected["rank"] < lens.CANDIDATES
    assert np.array_equal(found["rank"][small], expected["rank"][small])  # small ranks: exact
    assert np.all(np.abs(found["rank"] - expected["rank"]) <= 1 + lens.RANK_TOLERANCE * expected["rank"])


@pytest.mark.parametrize("cap", [None, 30.0])
def test_blocks_and_candidates_equal_a_plain_softmax(monkeypatch, cap):
    import torch

    monkeypatch.setattr(lens, "BLOCK", 256)  # three blocks: two through the group maxima, the last one short
    torch.manual_seed(0)
    head = torch.nn.Linear(64, 600, bias=False)
    with torch.no_grad():
        head.weight.mul_(torch.linspace(0.5, 8, 600)[:, None])  # some rows far more likely: peaked and flat rows
    rows = torch.randn(40, 64) * torch.linspace(0.1, 3, 40)[:, None]
    chosen = torch.randint(0, 600, (40,))
    near_top = (rows @ head.weight.detach().T).topk(3, -1).indices  # half the rows: a small rank
    chosen[:20] = near_top[torch.arange(20), torch.arange(20) % 3]
    expected = reference(rows, head.weight.detach(), chosen, cap)
    assert expected["rank"].min() < lens.CANDIDATES <= expected["rank"].max()  # both rank paths are used

    def run(dtype):
        with torch.inference_mode():
            return {k: v.numpy() for k, v in lens.stats(rows, head, chosen, cap, dtype).items()}

    close_enough(runtime.call(run, torch.float32), expected, prob=1e-5, entropy=1e-4)
    close_enough(runtime.call(run, torch.bfloat16), expected, prob=lens.PROB_TOLERANCE,
                 entropy=lens.ENTROPY_TOLERANCE)


@pytest.mark.parametrize("cap", [None, 30.0])
def test_slices_row_chunks_and_a_one_block_store_change_nothing(monkeypatch, cap):
    """Blocks of two slices (candidates from the group maxima of both), rows in chunks of 16 and the shortlists
    merged after every block: the same numbers as the plain softmax, and as the lens without them."""
    import torch

    monkeypatch.setattr(lens, "BLOCK", 256)
    torch.manual_seed(2)
    head = torch.nn.Linear(64, 600, bias=False)
    with torch.no_grad():  # the likely tokens spread over every block
        head.weight.mul_(torch.linspace(0.5, 8, 600)[torch.randperm(600)][:, None])
    rows = torch.randn(40, 64) * torch.linspace(0.1, 3, 40)[:, None]
    chosen = torch.randint(0, 600, (40,))
    near_top = (rows @ head.weight.detach().T).topk(3, -1).indices
    chosen[:20] = near_top[torch.arange(20), torch.arange(20) % 3]
    expected = reference(rows, head.weight.detach(), chosen, cap)

    def run(dtype):
        with torch.inference_mode():
            return {k: v.numpy() for k, v in lens.stats(rows, head, chosen, cap, dtype).items()}

    whole = runtime.call(run, torch.float32)
    monkeypatch.setattr(lens, "SLICE", 128)
    monkeypatch.setattr(lens, "ROWS", 16)
    monkeypatch.setattr(lens, "STORED", 1)
    sliced = runtime.call(run, torch.float32)
    close_enough(sliced, expected, prob=1e-5, entropy=1e-4)
    close_enough(sliced, whole, prob=1e-6, entropy=1e-5)
    close_enough(runtime.call(run, torch.bfloat16), expected, prob=lens.PROB_TOLERANCE,
                 entropy=lens.ENTROPY_TOLERANCE)


def test_the_buffers_are_kept_with_the_model_and_grown_on_demand():
    import torch

    head = torch.nn.Linear(8, 300, bias=False)
    first = lens.buffers(head, 10, torch.bfloat16, "cpu")
    again = lens.buffers(head, 6, torch.bfloat16, "cpu")
    assert again.block.shape[0] == 6 and again.block.data_ptr() == first.block.data_ptr()  # the same memory
    grown = lens.buffers(head, 20, torch.bfloat16, "cpu")
    assert grown.block.shape == (20, 300) and grown.listed_ids.shape == (20, 1, lens.GROUP * lens.CANDIDATES)
    assert lens.buffers(head, 20, torch.float32, "cpu").block.dtype == torch.float32  # one set per dtype


def test_the_last_row_equals_a_plain_softmax_with_and_without_room_in_the_buffers():
    import torch

    torch.manual_seed(3)
    head = torch.nn.Linear(4, 300, bias=False)
    for logits, scratch in [(torch.randn(7, 300) * 30, None),
                            (torch.randn(7, 300) * 30, lens.buffers(head, 2, torch.bfloat16, "cpu")),  # 2 rows a time
                            (torch.randn(7, 1000) * 30, lens.buffers(head, 2, torch.bfloat16, "cpu"))]:  # no room
        found = {k: v.numpy() for k, v in lens.exact_stats(logits, scratch).items()}
        chosen = logits.argmax(-1)
        expected = reference(logits, torch.eye(logits.shape[1]), chosen, None)  # the logits through an identity
        close_enough(found, expected, prob=1e-5, entropy=1e-4)
        assert np.array_equal(found["top_ids"], chosen.numpy()) and not found["rank"].any()


def test_the_best_values_through_group_maxima_are_the_top_k():
    import torch

    torch.manual_seed(1)
    values = torch.randn(50, 2048)
    values[:5, :64] += 10  # rows whose best values crowd into the same few groups
    found_v, found_i = lens._best(values)
    expected = values.topk(lens.CANDIDATES, dim=-1)
    assert torch.equal(found_v.sort(-1, descending=True).values, expected.values)
    assert torch.equal(values.gather(1, found_i), found_v)


def test_the_bulk_weight_is_made_once_per_model_with_the_shift_columns():
    import torch

    head = torch.nn.Linear(8, 5, bias=False)
    first = lens.bulk_weight(head, torch.bfloat16)
    assert first.shape == (5, 10) and first.dtype == torch.bfloat16 and torch.all(first[:, 8:] == 1)
    assert lens.bulk_weight(head, torch.bfloat16) is first
    assert lens.bulk_weight(head, torch.float32) is head.weight  # the exact path uses the weight itself


@pytest.mark.slow
def test_the_fast_lens_equals_the_fp32_lens_on_real_text(settings):
    import torch

    loaded = models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()[:6000]
    ids = loaded.tokenizer(text)["input_ids"][:96]

    def both():
        with torch.inference_mode():
            out = loaded.model(torch.tensor([ids], device=loaded.model.device), output_hidden_states=True)
            return (lens.lens(loaded.model, out.hidden_states, out.logits[0]),
                    lens.lens(loaded.model, out.hidden_states, out.logits[0], torch.float32),
                    runtime.to_numpy(out.logits[0].argmax(-1)))

    fast, exact, argmax = runtime.call(both)
    assert fast["top_ids"].shape == (31, 96)
    assert np.array_equal(fast["top_ids"][-1], argmax) and np.array_equal(exact["top_ids"][-1], argmax)
    assert np.array_equal(fast["top_probs"][-1], exact["top_probs"][-1])  # the last row never goes through bf16
    if lens.fast_dtype(loaded.model) == torch.float32:
        pytest.skip("no native bf16 here: the fast path is the exact one")
    close_enough(fast, exact, prob=lens.PROB_TOLERANCE, entropy=lens.ENTROPY_TOLERANCE)


@pytest.mark.slow
def test_the_fast_lens_equals_the_fp32_lens_on_the_benchmark_prompt(settings):
    """bench/inside_speed.py's repeated sentence: one cell there has the final choice at rank 15 with a token
    just below it that bf16 rounds above it, which pushed it out of the candidates (rank 16) until the
    candidates' exact values corrected the bulk count."""
    import torch

    loaded = models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    if lens.fast_dtype(loaded.model) == torch.float32:
        pytest.skip("no native bf16 here: the fast path is the exact one")
    words = "The quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat by the door . " * 8
    ids = loaded.tokenizer(words)["input_ids"][:64]

    def both():
        with torch.inference_mode():
            out = loaded.model(torch.tensor([ids], device=loaded.model.device), output_hidden_states=True)
            return (lens.lens(loaded.model, out.hidden_states, out.logits[0]),
                    lens.lens(loaded.model, out.hidden_states, out.logits[0], torch.float32))

    fast, exact = runtime.call(both)
    close_enough(fast, exact, prob=lens.PROB_TOLERANCE, entropy=lens.ENTROPY_TOLERANCE)
