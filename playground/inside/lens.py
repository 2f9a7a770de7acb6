"""The logit lens, fast: every layer × position through the final norm and the unembedding.

For SmolLM2 that is 30 layers × 64 positions = 1,920 rows through a 49,152 × 576 output layer:
about 6× the multiply-adds of the forward pass itself, plus a softmax over 49k logits per cell.
Three things keep it cheap (numbers: README, Benchmarks):

- **Vocabulary blocks, all rows at once.** Each block of the output layer is read once and
  multiplied with every row (one large matmul per block), and its logits are reduced while
  they are still in the CPU cache with an online softmax: the running max, Σ e^(l−max) and
  Σ e^(l−max)·(l−max) (for the entropy), the count of logits above the chosen token's (its
  rank) and the best `CANDIDATES` ids. No (rows × vocabulary) array is ever held. These
  reductions, not the matmul, are most of the lens's time on a CPU (README, Benchmarks).
- **Reduced precision, exact winners.** On a CPU with native bf16 dot products (avx512_bf16) and
  an fp32 model, the blocks run in bf16 (`fast_dtype`). The best candidates of every row are then
  recomputed in fp32 and replace their bf16 terms in the sums, and the chosen token's logit is
  always exact. So the top-1 and its logit are exact unless bf16 rounding (≈ 0.4 % of a logit)
  reorders tokens outside the candidates, and the tail's rounding averages out in the sums:
  `tests/test_inside_lens.py` checks it against the fp32 path on real text (`*_TOLERANCE` below).
- **The last row is the model's own logits**, reduced exactly (no lens needed: the final hidden
  state is already normed).
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from playground import runtime
from playground.errors import NotAllowed

BLOCK = 2048  # vocabulary entries per block: all rows × BLOCK fp32 logits stay within the L3 cache
CANDIDATES = 16  # best ids per row recomputed exactly
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


GROUP = 16  # `_best` looks at group maxima first


def _best(values: Any) -> tuple[Any, Any]:
    """The CANDIDATES largest values of each row and their columns, unsorted. A top-k over the whole
    block is the slowest step of the lens; instead: the max of every group of GROUP columns, the
    CANDIDATES best groups, then the best values among their members. Exact: a value among a row's
    best k lies in a group whose max beats all but fewer than k other groups' maxima."""
    import torch

    r, width = values.shape
    k = min(CANDIDATES, width)
    if width % GROUP or width < GROUP * k:
        found = values.topk(k, dim=-1, sorted=False)
        return found.values, found.indices
    groups = values.view(r, width // GROUP, GROUP)
    chosen_groups = groups.amax(-1).topk(k, dim=-1, sorted=False).indices  # (r, k)
    members = groups.gather(1, chosen_groups[:, :, None].expand(r, k, GROUP)).reshape(r, k * GROUP)
    columns = (chosen_groups[:, :, None] * GROUP + torch.arange(GROUP, device=values.device)).reshape(r, k * GROUP)
    found = members.topk(k, dim=-1, sorted=False)
    return found.values, columns.gather(1, found.indices)


def stats(rows: Any, head: Any, chosen: Any, cap: float | None, dtype: Any) -> dict[str, Any]:
    """Top id, its probability, the entropy (bits) and the chosen token's rank (0 = top) of softmax(rows · weightᵀ).

    `rows` (r, hidden) normed hidden states, `head` the output layer (weight: vocabulary × hidden),
    `chosen` (r,) the token whose rank is counted; the bulk runs in `dtype`, the candidates in fp32.
    The bulk values are logits minus a per-row `offset` (0, or the chosen logit c): softmax does not mind."""
    import torch

    r, weight = rows.shape[0], head.weight
    exact_rows = rows.float()
    raw_chosen = (exact_rows * weight[chosen].float()).sum(-1)  # (r,) exact, before any soft cap
    chosen_logit = _capped(raw_chosen, cap)
    bulk_rows, shifted_rows = _bulk_rows(rows, raw_chosen, dtype)
    bulk = bulk_weight(head, dtype)
    offset = chosen_logit if shifted_rows else torch.zeros_like(chosen_logit)  # absolute = value + offset
    threshold = (chosen_logit - offset)[:, None]
    top = threshold[:, 0].clone()  # running reference for the sums (any finite start; ends at the max)
    z = torch.zeros(r, device=rows.device)  # Σ e^(v − top)
    d = torch.zeros(r, device=rows.device)  # Σ e^(v − top) · (v − top)
    above = torch.zeros(r, dtype=torch.int64, device=rows.device)  # values above the chosen token's
    cand_v = torch.full((r, 0), -math.inf, device=rows.device)  # best values so far, and their ids
    cand_i = torch.zeros((r, 0), dtype=torch.int64, device=rows.device)
    for start in range(0, weight.shape[0], BLOCK):
        values = (bulk_rows @ bulk[start:start + BLOCK].T).float()  # one conversion: bf16 reductions are slower
        if cap is not None:
            values = _capped(values + raw_chosen[:, None], cap) - offset[:, None] if shifted_rows else _capped(values, cap)
        width = values.shape[1]
        best_v, best_i = _best(values)
        merged_v, merged_i = torch.cat([cand_v, best_v], 1), torch.cat([cand_i, best_i + start], 1)
        keep = merged_v.topk(min(CANDIDATES, merged_v.shape[1]), dim=-1).indices
        cand_v, cand_i = merged_v.gather(1, keep), merged_i.gather(1, keep)
        above += (values > threshold).sum(-1, dtype=torch.int32)  # an int32 sum: 3× faster than the default int64
        inside = (chosen >= start) & (chosen < start + width)  # the chosen token is no rival of itself
        own = values.gather(1, (chosen - start).clamp(0, width - 1)[:, None])[:, 0]
        above -= (inside & (own > threshold[:, 0])).long()
        new_top = torch.maximum(top, best_v.amax(-1))
        moved = top - new_top  # ≤ 0: rescale the sums to the new reference
        shrink = moved.exp()
        d, z = shrink * (d + z * moved), shrink * z
        shifted = values.sub_(new_top[:, None])
        e = shifted.exp()
        z += e.sum(-1)
        d += torch.linalg.vecdot(e, shifted)
        top = new_top
    # the candidates, recomputed in fp32, replace their bulk terms in the sums
    exact = _capped(torch.einsum("rh,rkh->rk", exact_rows, weight[cand_i].float()), cap) - offset[:, None]
    old, new = cand_v - top[:, None], exact - top[:, None]
    z = z - old.exp().sum(-1) + new.exp().sum(-1)
    d = d - (old.exp() * old).sum(-1) + (new.exp() * new).sum(-1)
    best_value, best_at = exact.max(-1)
    top_ids = cand_i.gather(1, best_at[:, None])[:, 0]
    # The chosen token among the candidates: its rank is small and counted exactly among them (every
    # token above it is a candidate too). Otherwise the bulk count.
    listed = cand_i == chosen[:, None]
    exact_above = ((exact > threshold) & ~listed).sum(-1)
    rank = torch.where(listed.any(-1), exact_above, above)
    prob = torch.exp(best_value - top) / z
    entropy = (torch.log(z) - d / z) / math.log(2)
    return {"top_ids": top_ids, "top_probs": prob, "entropy": entropy, "rank": rank}


def exact_stats(logits: Any, chosen: Any) -> dict[str, Any]:
    """The same numbers straight from a (r, vocabulary) logits array (the model's own last row)."""
    import torch

    logits = logits.float()
    log_probs = logits.log_softmax(-1)
    best = log_probs.max(-1)
    entropy = -(log_probs.exp() * log_probs).sum(-1) / math.log(2)
    rank = (logits > logits.gather(-1, chosen[:, None])).sum(-1)
    return {"top_ids": best.indices, "top_probs": best.values.exp(), "entropy": entropy, "rank": rank.to(torch.int64)}


def lens(model: Any, hidden_states: tuple[Any, ...], final_logits: Any, dtype: Any = None) -> dict[str, np.ndarray]:
    """The logit lens for every (layer, position): hidden state → final norm → output layer.

    Row 0 is the embeddings; the last row is the model's own logits (its last hidden state is
    already normed, so reading it through the output layer gives exactly those). `dtype` None:
    `fast_dtype(model)`; pass `torch.float32` for the all-exact path."""
    chosen = final_logits.argmax(-1)
    n = final_logits.shape[0]
    import torch

    norm, head = final_norm(model), model.get_output_embeddings()
    rows = norm(torch.cat([h[0] for h in hidden_states[:-1]]))  # (layers × positions, hidden), layer-major
    layers = stats(rows, head, chosen.repeat(len(hidden_states) - 1), softcap(model),
                   fast_dtype(model) if dtype is None else dtype)
    last = exact_stats(final_logits, chosen)
    out = {key: runtime.to_numpy(torch.cat([layers[key], last[key]])).reshape(-1, n) for key in layers}
    return {"top_ids": out["top_ids"].astype(np.int64), "top_probs": out["top_probs"].astype(np.float32),
            "entropy": out["entropy"].astype(np.float32), "rank": out["rank"].astype(np.int64),
            "chosen": runtime.to_numpy(chosen).astype(np.int64)}
