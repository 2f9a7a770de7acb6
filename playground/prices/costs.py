"""What a number of tokens costs, and how much of a model's context window it fills."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.prices.data import price_map
from playground.settings import Settings
from playground.tokenization.backends import HFTokenizer, TiktokenTokenizer, Tokenizer
from playground.tokenization.catalogue import Source


@dataclass(frozen=True)
class CostRow:
    model: str
    input_cost: float | None  # this many tokens sent as input, in USD
    output_cost: float | None  # … or generated as output
    context_window: int | None
    context_fraction: float | None
    context_source: str  # where the context window comes from


def cost_rows(tokenizer: Tokenizer, n_tokens: int, settings: Settings) -> list[CostRow]:
    """What `n_tokens` of this tokenizer cost and how much context they fill, per model.

    tiktoken encodings: every OpenAI chat model that uses the encoding, priced from the map.
    Hub tokenizers: no price (they are open models), the context length from the model's
    config (`max_position_embeddings`) or the tokenizer (`model_max_length`).
    """
    spec = tokenizer.spec
    if isinstance(tokenizer, TiktokenTokenizer) and spec.source is Source.TIKTOKEN:
        rows = []
        for price in price_map(settings).models_for_encoding(tokenizer.encoding_name):
            rows.append(CostRow(
                price.model, price.input_cost(n_tokens), price.output_cost(n_tokens), price.context_window,
                price.context_fraction(n_tokens), "LiteLLM map",
            ))
        return rows
    window, source = hub_context_length(tokenizer)
    return [CostRow(spec.ref, None, None, window, (n_tokens / window) if window else None, source)]


def hub_context_length(tokenizer: Tokenizer) -> tuple[int | None, str]:
    config = _read_config(tokenizer.source_path) if isinstance(tokenizer, HFTokenizer) else None
    if config:
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = config.get(key) or (config.get("text_config") or {}).get(key)
            if isinstance(value, int):
                return value, f"config.json {key}"
    if tokenizer.model_max_length:
        return tokenizer.model_max_length, "tokenizer model_max_length"
    return None, "unknown"


def _read_config(source_path: str) -> dict[str, Any] | None:
    local = Path(source_path) / "config.json"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = str(local) if local.is_file() else try_to_load_from_cache(source_path, "config.json")
        config: dict[str, Any] | None = json.loads(Path(cached).read_text()) if isinstance(cached, str) else None
        return config
    except (OSError, ValueError):
        return None
