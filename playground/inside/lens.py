"""The logit lens, fast: every layer × position through the final norm and the unembedding.

For SmolLM2 that is 30 layers × 64 positions = 1,920 rows through a 49,152 × 576 output layer:
about 6× the multiply-adds of the forward pass itself, plus a softmax over 49k logits per cell.
On this CPU (2 threads) the lens takes ≈ 0.22 s: its bf16 matmuls ≈ 50 ms, the reductions the
rest (README, Benchmarks; bench/inside_speed.py prints it op by op). How:

- **Vocabulary blocks, all rows at once.** Each block of the output layer (`BLOCK` entries) is
  read once and multiplied with every row (one large matmul), and its logits are reduced right
  away (`lens_blocks.read_block`): per slice of `SLICE` columns its max, Σ e^(l−max) and
  Σ e^(l−max)·(l−max) (for the entropy) and the count of logits above the chosen token's (its
  rank), combined over the slices at the end (`lens_blocks.Slices`); per block a shortlist that
  holds its best `CANDIDATES` ids. No (rows × vocabulary) array is ever held.
- **Reductions in few, cheap passes.** With the matmul in bf16 the reductions are most of the
  time, and each is one pass of a torch kernel over (rows × SLICE) fp32 values: about ten per
  slice (copy, count, group maxima, shift, clamp, exp, three sums, a product), so what counts
  is their number and kind. Every value is read relative to the chosen token's logit c (the
  bulk matmul returns l − c: `bulk_weight`), so the rank is the count of values > 0: a clamp
  and a float sum (`lens_blocks.positives`; torch's bool kernels are 2.5× slower). exp's
  argument is clamped at `FLOOR` (−80: e^−80 is nothing next to the max, whose term is 1)
  because torch's CPU exp (MKL's vector exp) takes a ≈ 100× slower path below ≈ −87, which
  the lens's logits, spread over 80–190 nats, reach in every row. The candidates come from the
  maxima of strided groups of `GROUP` values (`lens_blocks.group_maxima`: an element-wise max
  of contiguous slabs, 5× faster than a max over adjacent columns), one top-k over each block's
  group maxima and one over all the shortlists at the end (`lens_blocks.Shortlists`). The large
  buffers are kept with the model and reused (`buffers`: fresh ones cost page faults and cold
  caches on every call, ≈ 30 ms), rows going through ROWS at a time to bound them (111 MB for
  SmolLM2's 1,920 rows).
  What was measured and left: cache-sized tiles (rows × columns small enough for L2) are no
  faster, the per-op overhead eats the gain; a first fused numba kernel on one thread was slower
  than these passes on two, and two threads would need a second pool beside torch's OpenMP team.
- **Reduced precision, exact winners.** On a CPU with native bf16 dot products (avx512_bf16) and
  an fp32 model, the blocks run in bf16 (`fast_dtype`). The best candidates of every row are then
  recomputed in fp32 and replace their bf16 terms in the sums, the rank count takes their exact
  verdicts, and the chosen token's logit is always exact. So the top-1 and its logit are exact
  unless bf16 rounding (≈ 0.4 % of a logit) reorders tokens outside the candidates, and the
  tail's rounding averages out in the sums: `tests/test_inside_lens.py` checks it against the
  fp32 path on real text (`*_TOLERANCE` below). A GPU runs the same code in the model's dtype.
- **The last row is the model's own logits**, reduced exactly (no lens needed: the final hidden
  state is already normed; its top is the chosen token, so its ranks are 0).
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from playground import runtime
from playground.errors import NotAllowed
from playground.inside.lens_blocks import (
    CANDIDATES,
    FLOOR,
    GROUP,
    Buffers,
    Shortlists,
    Slices,
    Target,
    group_maxima,
    read_block,
    shortlist,
)

BLOCK = 16384  # vocabulary entries per matmul and per round of candidates (8192: 10 % slower, half the buffer)
SLICE = 2048  # vocabulary entries per fp32 pass over a block
EXACT_ROWS = 128  # rows per gather of the candidates' weights
ROWS = 2048  # rows per pass over the vocabulary: bounds the buffers kept with the model (`_buffers`)
STORED = 8  # blocks' shortlists kept before they are merged (bounds that buffer for large vocabularies)
# What the bf16 path promises against the fp32 one (tests/test_inside_lens.py checks real text): the
# top-1 id equal, ranks below CANDIDATES equal, and otherwise within these.
PROB_TOLERANCE = 0.01  # absolute, on the top guess's probability
ENTROPY_TOLERANCE = 0.15  # bits
RANK_TOLERANCE = 0.15  # relative, ranks of CANDIDATES and more (± 1)


def final_norm(model: Any) -> Any:
    """The norm the model applies after its last layer (Llama/Qwen/Gemma/Phi `norm`, GPT-2 `ln_f`)."""
    base = model.base_model
    for name in ("norm", "ln_f", "final_layernorm"):
        if hasattr(base, name):
            return getattr(base, name)
    raise NotAllowed(f"{type(model).__name__} has no final norm this view knows; the logit lens needs it.")


def softcap(model: Any) -> float | None:
    config = getattr(model.config, "text_config", None) or model.config
    cap = getattr(config, "final_logit_softcapping", None)
    return float(cap) if cap else None


def fast_dtype(model: Any) -> Any:
    """The dtype of the lens's bulk matmul: bf16 for an fp32 model on a CPU that has native bf16 dot
    products (without them bf16 is emulated, slower than fp32), otherwise the model's own dtype."""
    import torch

    if model.dtype != torch.float32:
        return model.dtype  # a GPU model is bf16/fp16 already: its lens runs in that precision
    if model.device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return torch.float32


_bulk: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def bulk_weight(head: Any, dtype: Any) -> Any:
    """The output layer's weight for the bulk matmul, made once per model and freed with it (keyed by
    the module: tensors compare element-wise, modules by identity). Torch thread only, so no lock.

    In reduced precision it gets two extra columns of ones: the rows get −c split into a bf16 high and
    low part, so the matmul returns l − c (c = the chosen token's exact logit) and bf16's rounding of
    its output is relative to |l − c|, not to |l|: fine near the chosen token, where ranks are decided."""
    import torch

    if head.weight.dtype == dtype:
        return head.weight
    copies = _bulk.setdefault(head, {})
    if dtype not in copies:
        w = head.weight.detach()
        copies[dtype] = torch.cat([w, torch.ones(w.shape[0], 2, dtype=w.dtype, device=w.device)], 1).to(dtype)
    return copies[dtype]


def _capped(logits: Any, cap: float | None) -> Any:
    return logits if cap is None else cap * (logits / cap).tanh()


def _bulk_rows(rows: Any, raw_chosen: Any, dtype: Any) -> tuple[Any, bool]:
    """Rows for the bulk matmul, and whether they carry the −c columns (see `bulk_weight`)."""
    import torch

    if rows.dtype == dtype:
        return rows, False
    high = raw_chosen.to(dtype)
    low = (raw_chosen - high.float()).to(dtype)
    return torch.cat([rows.to(dtype), -high[:, None], -low[:, None]], 1), True


def _best(values: Any) -> tuple[Any, Any]:
    """The CANDIDATES largest values of each row of `values` (r, w) and their columns, unsorted, through the
    group maxima (`stats` does the same per block; this is that path on one matrix)."""
    r, width = values.shape
    k = min(CANDIDATES, width)
    if width % GROUP or width < GROUP * k:
        found = values.topk(k, dim=-1, sorted=False)
        return found.values, found.indices
    maxima = values.new_empty(r, width // GROUP)
    group_maxima(values, maxima)
    members, columns = shortlist(maxima, values, width, k)
    found = members.topk(k, dim=-1, sorted=False)
    return found.values, columns.gather(1, found.indices)


_buffers: weakref.WeakKeyDictionary[Any, dict[Any, Buffers]] = weakref.WeakKeyDictionary()


def buffers(head: Any, rows: int, dtype: Any, device: Any) -> Buffers:
    """The model's buffers for `rows` rows (at most ROWS) with bulk values in `dtype`, made or grown on demand.
    Torch thread only, so no lock; keyed by the output layer as `bulk_weight` is, and freed with it."""
    import torch

    vocabulary = head.weight.shape[0]
    width = min(BLOCK, vocabulary)
    part, listed = min(SLICE, width), (min(STORED, -(-vocabulary // width)), GROUP * CANDIDATES)
    key = (dtype, str(device), width, part, listed)  # the sizes too: the tests shrink BLOCK
    kept = _buffers.setdefault(head, {})
    if key not in kept or kept[key].block.shape[0] < rows:
        kept[key] = Buffers(
            block=torch.empty(rows, width, dtype=dtype, device=device),
            values=torch.empty(rows, part, device=device), work=torch.empty(rows, part, device=device),
            maxima=torch.empty(rows, width // GROUP, device=device),
            listed_values=torch.empty(rows, *listed, dtype=dtype, device=device),
            listed_ids=torch.empty(rows, *listed, dtype=torch.int32, device=device))
    return kept[key].first(rows)


def _exact_logits(rows: Any, weight: Any, ids: Any) -> Any:
    """rows (r, hidden) fp32 · weight[ids]ᵀ (ids (r, k)) in fp32, EXACT_ROWS rows at a time (all at once gathers
    r × k × hidden floats: 70 MB for SmolLM2's lens, a fresh allocation that costs more than the products). The
    rows of the weight come through `embedding` (an index_select): 2× faster than `weight[ids]` here."""
    import torch

    out = torch.empty(ids.shape, device=rows.device)
    for start in range(0, rows.shape[0], EXACT_ROWS):
        end = start + EXACT_ROWS
        picked = torch.nn.functional.embedding(ids[start:end], weight).float()  # (rows, k, hidden)
        out[start:end] = torch.bmm(picked, rows[start:end, :, None])[:, :, 0]
    return out


def stats(rows: Any, head: Any, chosen: Any, cap: float | None, dtype: Any) -> dict[str, Any]:
    """Top id, its probability, the entropy (bits) and the chosen token's rank (0 = top) of softmax(rows · weightᵀ).

    `rows` (r, hidden) normed hidden states, `head` the output layer (weight: vocabulary × hidden),
    `chosen` (r,) the token whose rank is counted; the bulk runs in `dtype`, the candidates in fp32.
    ROWS rows at a time."""
    import torch

    parts = [_stats(rows[at:at + ROWS], head, chosen[at:at + ROWS], cap, dtype) for at in range(0, rows.shape[0], ROWS)]
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


def _stats(rows: Any, head: Any, chosen: Any, cap: float | None, dtype: Any) -> dict[str, Any]:
    """`stats` of at most ROWS rows. Every value is read relative to the chosen token's logit: softmax does not
    mind, and its rank is the count of values above 0."""
    import torch

    r, weight, device = rows.shape[0], head.weight, rows.device
    exact_rows = rows.float()
    raw_chosen = _exact_logits(exact_rows, weight, chosen[:, None])[:, 0]  # (r,) exact, before any soft cap
    bulk_rows, shifted = _bulk_rows(rows, raw_chosen, dtype)
    bulk = bulk_weight(head, dtype)
    target = Target(raw=raw_chosen, logit=_capped(raw_chosen, cap), cap=cap, shifted=shifted)
    scratch = buffers(head, r, bulk.dtype, device)
    vocabulary, block_width = weight.shape[0], scratch.block.shape[1]
    per_block = -(-block_width // scratch.values.shape[1])  # slices per block
    slices = Slices(*torch.zeros(4, -(-vocabulary // block_width) * per_block, r, device=device))
    shortlists = Shortlists(values=scratch.listed_values, ids=scratch.listed_ids)
    self_counted = torch.zeros(r, device=device)
    for number, start in enumerate(range(0, vocabulary, block_width)):
        width = min(block_width, vocabulary - start)
        block = torch.mm(bulk_rows, bulk[start:start + width].T, out=scratch.block[:, :width])
        self_counted += read_block(block, start, number * per_block, target, chosen, slices, shortlists, scratch)
    top, z, d, above = slices.total()
    above -= self_counted
    # the candidates, recomputed in fp32, replace their bulk terms in the sums
    bulk_values, ids = shortlists.best()
    bulk_values = target.relative(bulk_values)
    exact = _capped(_exact_logits(exact_rows, weight, ids), cap) - target.logit[:, None]
    old, new = bulk_values - top[:, None], exact - top[:, None]
    z = z - old.exp().sum(-1) + new.exp().sum(-1)
    d = d - (old.exp() * old).sum(-1) + (new.exp() * new).sum(-1)
    best_value, best_at = exact.max(-1)
    top_ids = ids.gather(1, best_at[:, None])[:, 0]
    # The chosen token among the candidates: its rank is small and counted exactly among them (every
    # token above it is a candidate too). Otherwise the bulk count, with the candidates counted by their exact
    # values instead of their bulk ones (a token just below the chosen one that rounds above it in bf16 would
    # otherwise push it out of the candidates and make a true rank of 15 a 16).
    listed = ids == chosen[:, None]
    exact_above = ((exact > 0) & ~listed).sum(-1)
    corrected = above.long() + exact_above - (bulk_values > 0).sum(-1)
    rank = torch.where(listed.any(-1), exact_above, corrected)
    prob = torch.exp(best_value - top) / z
    entropy = (torch.log(z) - d / z) / math.log(2)
    return {"top_ids": top_ids, "top_probs": prob, "entropy": entropy, "rank": rank}


def exact_stats(logits: Any, scratch: Buffers | None = None) -> dict[str, Any]:
    """The same numbers straight from a (r, vocabulary) logits array whose top is the chosen token: the model's own
    last row, so every rank is 0. One max, then the sums against it as in the bulk (exp of arguments clamped at
    FLOOR: a confident row has log-probabilities far below −87, where torch.exp is slow). The two temporaries live
    in `scratch`'s fp32 buffers when given, as many rows at a time as fit (fresh, they cost 6 of SmolLM2's 10 ms
    in page faults)."""
    import torch

    logits = logits.float()
    r, vocabulary = logits.shape
    best = logits.max(-1)  # the first of the largest, as argmax (which is 3× slower here)
    z, d = torch.empty(r, device=logits.device), torch.empty(r, device=logits.device)
    if scratch is not None and scratch.values.numel() < vocabulary:
        scratch = None  # not even one row fits
    step = scratch.values.numel() // vocabulary if scratch is not None else r
    for at in range(0, r, step):
        part = logits[at:at + step]
        shifted = torch.sub(part, best.values[at:at + step, None], out=_room(scratch, "values", part.shape))
        e = torch.exp(shifted.clamp_(min=FLOOR), out=_room(scratch, "work", part.shape))
        torch.sum(e, -1, out=z[at:at + step])
        torch.sum(e.mul_(shifted), -1, out=d[at:at + step])
    return {"top_ids": best.indices, "top_probs": 1 / z, "entropy": (torch.log(z) - d / z) / math.log(2),
            "rank": torch.zeros_like(best.indices)}


def _room(scratch: Buffers | None, name: str, shape: Any) -> Any:
    """A view of the fp32 buffer `name` of `scratch` as `shape` (None: a fresh tensor, which `out=` then makes)."""
    if scratch is None:
        return None
    buffer = getattr(scratch, name)
    return buffer.view(-1)[:math.prod(shape)].view(shape)


def lens(model: Any, hidden_states: tuple[Any, ...], final_logits: Any, dtype: Any = None) -> dict[str, np.ndarray]:
    """The logit lens for every (layer, position): hidden state → final norm → output layer.

    Row 0 is the embeddings; the last row is the model's own logits (its last hidden state is
    already normed, so reading it through the output layer gives exactly those). `dtype` None:
    `fast_dtype(model)`; pass `torch.float32` for the all-exact path."""
    import torch

    norm, head = final_norm(model), model.get_output_embeddings()
    dtype = fast_dtype(model) if dtype is None else dtype
    rows = norm(torch.cat([h[0] for h in hidden_states[:-1]]))  # (layers × positions, hidden), layer-major
    last = exact_stats(final_logits, buffers(head, min(rows.shape[0], ROWS), bulk_weight(head, dtype).dtype,
                                             rows.device))
    chosen, n = last["top_ids"], final_logits.shape[0]
    layers = stats(rows, head, chosen.repeat(len(hidden_states) - 1), softcap(model), dtype)
    out = {key: runtime.to_numpy(torch.cat([layers[key], last[key]])).reshape(-1, n) for key in layers}
    return {"top_ids": out["top_ids"].astype(np.int64), "top_probs": out["top_probs"].astype(np.float32),
            "entropy": out["entropy"].astype(np.float32), "rank": out["rank"].astype(np.int64),
            "chosen": runtime.to_numpy(chosen).astype(np.int64)}
