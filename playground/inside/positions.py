"""How the model knows word order, from the loaded model's own weights.

Attention by itself is blind to order: shuffle the tokens and every score stays the same. RoPE
models (SmolLM2, Qwen, Llama, Phi-3, Gemma) rotate each query and key, pair of dimensions by
pair, by an angle proportional to the position; the rotation frequencies fall from fast to
slow across the pairs. So the same token gets a different query at every position, yet the
score q·k depends only on how far apart the two positions are: shown here with real q/k vectors
of layer 1. GPT-2-style models add a learned vector per position instead: their similarity
matrix is shown.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground import runtime

OFFSETS = 128  # offsets plotted
LATER = 200  # the same pairs, shifted this many positions to the right
LEARNED_SHOWN = 128  # position vectors in the similarity heatmap


@dataclass
class Positions:
    kind: str  # "rope", "learned" or "none"
    note: str = ""
    inv_freq: np.ndarray | None = None  # (head_dim / 2,) radians per position, one per dimension pair
    token_id: int | None = None
    token_label: str = ""
    offsets: np.ndarray | None = None  # (OFFSETS,)
    scores_start: np.ndarray | None = None  # (heads, OFFSETS): query at d, key at 0
    scores_later: np.ndarray | None = None  # (heads, OFFSETS): query at LATER + d, key at LATER
    query_cosine: np.ndarray | None = None  # (positions,): mean over heads of cos(q at 0, q at p)
    similarity: np.ndarray | None = None  # learned: (n, n) cosine of position vectors
    extra: dict[str, float] = field(default_factory=dict)


def pick_token(ids: list[int], special: set[int]) -> int | None:
    """The most frequent ordinary token of the text (the first one on a tie)."""
    counts = Counter(i for i in ids if i not in special)
    return counts.most_common(1)[0][0] if counts else None


def compute(model: Any, token: int) -> Positions:
    """Runs on the torch thread. `token` is the word whose query and key are moved along positions."""
    base = model.base_model
    if hasattr(base, "rotary_emb") and hasattr(base, "layers"):
        return _rope(model, base, token)
    table = getattr(base, "wpe", None) or getattr(base, "embed_positions", None)
    if table is not None:
        return _learned(table.weight)
    return Positions("none", note=f"{type(model).__name__} uses neither RoPE nor learned position vectors that this "
                                  "view knows how to show.")


def _learned(weight: Any) -> Positions:
    import torch

    w = weight[:LEARNED_SHOWN].float()
    w = torch.nn.functional.normalize(w, dim=-1)
    return Positions("learned", similarity=runtime.to_numpy(w @ w.T),
                     note="Learned absolute positions: one trained vector per position, added to the token's embedding.")


def _qk(attn: Any, x: Any, heads: int, kv_heads: int, head_dim: int) -> tuple[Any, Any]:
    if hasattr(attn, "qkv_proj"):  # Phi-3 fuses the three projections
        qkv = attn.qkv_proj(x)
        q, k = qkv[..., : heads * head_dim], qkv[..., heads * head_dim: (heads + kv_heads) * head_dim]
    else:
        q, k = attn.q_proj(x), attn.k_proj(x)
    q = q.view(1, -1, heads, head_dim).transpose(1, 2)
    k = k.view(1, -1, kv_heads, head_dim).transpose(1, 2)
    if hasattr(attn, "q_norm"):  # Qwen3 / Gemma 3 normalise q and k per head before rotating
        q, k = attn.q_norm(q), attn.k_norm(k)
    return q, k


def _rotary(base: Any, x: Any, position_ids: Any) -> tuple[Any, Any]:
    try:
        cos, sin = base.rotary_emb(x, position_ids)
    except TypeError:  # Gemma 3 keeps one rotation per layer type
        cos, sin = base.rotary_emb(x, position_ids, "full_attention")
    return cos, sin


def _rope(model: Any, base: Any, token: int) -> Positions:
    import torch

    config = getattr(model.config, "text_config", None) or model.config
    heads, hidden = config.num_attention_heads, config.hidden_size
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    layer = base.layers[0]
    attn = layer.self_attn
    apply = sys.modules[type(attn).__module__].apply_rotary_pos_emb
    count = LATER + OFFSETS
    x = layer.input_layernorm(base.embed_tokens(torch.tensor([[token]], device=model.device)))
    q, k = _qk(attn, x, heads, kv_heads, head_dim)  # (1, heads, 1, head_dim): no position yet
    q, k = q.expand(1, heads, count, head_dim), k.expand(1, kv_heads, count, head_dim)
    cos, sin = _rotary(base, x.expand(1, count, hidden), torch.arange(count, device=model.device)[None])
    q, k = apply(q, k, cos, sin)
    q, k = q[0].float(), k[0].float().repeat_interleave(heads // kv_heads, dim=0)  # kv head per query head
    scale = head_dim ** -0.5
    d = torch.arange(OFFSETS, device=q.device)
    start = (q[:, d] * k[:, :1]).sum(-1) * scale  # query at d, key at 0
    later = (q[:, LATER + d] * k[:, LATER:LATER + 1]).sum(-1) * scale  # the same offsets, LATER positions on
    qn = torch.nn.functional.normalize(q, dim=-1)
    cosine = (qn * qn[:, :1]).sum(-1).mean(0)
    inv_freq = getattr(base.rotary_emb, "inv_freq", None)
    if inv_freq is None:
        inv_freq = next(b for n, b in base.rotary_emb.named_buffers() if n.endswith("inv_freq"))
    return Positions(
        "rope", inv_freq=runtime.to_numpy(inv_freq), token_id=int(token), offsets=runtime.to_numpy(d),
        scores_start=runtime.to_numpy(start), scores_later=runtime.to_numpy(later),
        query_cosine=runtime.to_numpy(cosine),
        note="RoPE: queries and keys are rotated by an angle proportional to their position.",
        extra={"max_difference": float((start - later).abs().max())},
    )
