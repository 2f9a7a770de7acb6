"""The few numbers of a model's shape that decide what each token costs.

For the capacity plot every catalogue model needs layers, KV heads, head size, hidden size,
parameters and context window. A loaded model gives them from its own config; for a model
that is not loaded (and offline, whose config cannot be fetched) they are shipped here as
data, copied from each model's `config.json` on the Hugging Face Hub (the URL is kept with
the numbers, and the UI says which numbers came from where).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

LOADED = "config of the loaded model"


@dataclass(frozen=True)
class Arch:
    layers: int
    heads: int  # query heads
    kv_heads: int  # key/value heads (fewer than query heads: grouped-query attention)
    head_dim: int
    hidden: int
    params: int
    context: int  # positions the model was trained for
    source: str  # where the numbers come from
    sliding_window: int | None = None  # local layers keep only this many positions in the cache
    sliding_layers: int = 0

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        """2 (a key and a value) × layers × KV heads × head dim × bytes per number."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes

    def kv_bytes(self, tokens: int, dtype_bytes: int) -> int:
        """The KV cache for `tokens` positions (sliding-window layers stop growing at their window)."""
        per_layer_token = 2 * self.kv_heads * self.head_dim * dtype_bytes
        full = self.layers - self.sliding_layers
        local = min(tokens, self.sliding_window or tokens)
        return per_layer_token * (full * tokens + self.sliding_layers * local)

    def flops_per_token(self, context: int) -> float:
        """Forward FLOPs for one new token: 2 × parameters (every weight is one multiply-add), plus
        attention over the context: per layer, the scores q·k and the weighted sum of values each
        cost 2 × context × (heads × head dim) (Kaplan et al. 2020, table 1, count the same terms)."""
        return 2.0 * self.params + 2.0 * self.layers * context * self.heads * self.head_dim * 2


def _hub(repo: str) -> str:
    return f"shipped data from huggingface.co/{repo}/blob/main/config.json"


# Shape numbers copied from each repository's config.json; parameters are the model card's figure
# (rounded to three digits, except SmolLM2-135M, counted from the offline pack's weights).
SHIPPED: dict[str, Arch] = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": Arch(30, 9, 3, 64, 576, 134_515_008, 8192,
                                                _hub("HuggingFaceTB/SmolLM2-135M-Instruct")),
    "HuggingFaceTB/SmolLM2-360M-Instruct": Arch(32, 15, 5, 64, 960, 362_000_000, 8192,
                                                _hub("HuggingFaceTB/SmolLM2-360M-Instruct")),
    "HuggingFaceTB/SmolLM2-1.7B-Instruct": Arch(24, 32, 32, 64, 2048, 1_710_000_000, 8192,
                                                _hub("HuggingFaceTB/SmolLM2-1.7B-Instruct")),
    "Qwen/Qwen2.5-0.5B-Instruct": Arch(24, 14, 2, 64, 896, 494_000_000, 32768, _hub("Qwen/Qwen2.5-0.5B-Instruct")),
    "Qwen/Qwen2.5-1.5B-Instruct": Arch(28, 12, 2, 128, 1536, 1_540_000_000, 32768, _hub("Qwen/Qwen2.5-1.5B-Instruct")),
    "microsoft/Phi-3-mini-4k-instruct": Arch(32, 32, 32, 96, 3072, 3_820_000_000, 4096,
                                             _hub("microsoft/Phi-3-mini-4k-instruct")),
    # Gemma 3: five local layers (512-token sliding window) for every global one.
    "google/gemma-3-1b-it": Arch(26, 4, 1, 256, 1152, 1_000_000_000, 32768, _hub("google/gemma-3-1b-it"),
                                 sliding_window=512, sliding_layers=22),
}


def from_config(config: Any, params: int, source: str = LOADED) -> Arch:
    """The numbers from a transformers config (GPT-2 style names included)."""
    config = getattr(config, "text_config", None) or config

    def first(*names: str) -> Any:
        return next((getattr(config, n) for n in names if getattr(config, n, None) is not None), None)

    layers = int(first("num_hidden_layers", "n_layer"))
    heads = int(first("num_attention_heads", "n_head"))
    hidden = int(first("hidden_size", "n_embd"))
    kv_heads = int(first("num_key_value_heads") or heads)
    head_dim = int(first("head_dim") or hidden // heads)
    context = int(first("max_position_embeddings", "n_positions") or 0)
    types = list(getattr(config, "layer_types", None) or [])
    window = first("sliding_window") if "sliding_attention" in types else None
    return Arch(layers, heads, kv_heads, head_dim, hidden, int(params), context, source,
                sliding_window=int(window) if window else None,
                sliding_layers=types.count("sliding_attention") if window else 0)


def of_loaded(model: Any) -> Arch:
    return from_config(model.config, sum(p.numel() for p in model.parameters()))


def shipped(model_id: str) -> Arch | None:
    return SHIPPED.get(model_id)


def with_source(arch: Arch, source: str) -> Arch:
    return replace(arch, source=source)
