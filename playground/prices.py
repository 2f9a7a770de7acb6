"""Prices and context windows, read from LiteLLM's maintained map (never a hand-typed table).

The map is JSON data: the offline pack extracts it from the pinned `litellm` wheel, and an
installed `litellm` package works too. It is read, never imported as code.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from playground.errors import PlaygroundError
from playground.pack import PRICE_MAP_NAME, Pack, package_dir
from playground.settings import Settings

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")  # gpt-4o-2024-05-13, gpt-4-0613: snapshots


def money(value: float | None) -> str:
    """$0.000123 with enough digits to see a fraction of a cent; None → 'no price listed' (never $0)."""
    if value is None:
        return "no price listed"
    if value == 0:
        return "$0"
    return f"${value:,.4f}" if value >= 0.01 else f"${value:.6f}"


@dataclass(frozen=True)
class ModelPrice:
    model: str
    input_per_token: float | None
    output_per_token: float | None
    context_window: int | None  # max input tokens
    max_output_tokens: int | None

    def input_cost(self, tokens: int) -> float | None:
        return None if self.input_per_token is None else tokens * self.input_per_token

    def output_cost(self, tokens: int) -> float | None:
        return None if self.output_per_token is None else tokens * self.output_per_token

    def context_fraction(self, tokens: int) -> float | None:
        return None if not self.context_window else tokens / self.context_window


class PriceMap:
    def __init__(self, path: Path, source: str):
        self.path, self.source = path, source

    @cached_property
    def _data(self) -> dict[str, dict]:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        data.pop("sample_spec", None)
        return data

    @property
    def version(self) -> str:
        return self.source

    def lookup(self, model: str) -> ModelPrice | None:
        entry = self._data.get(model) or self._data.get(f"openai/{model}")
        if entry is None:
            return None
        return ModelPrice(
            model,
            entry.get("input_cost_per_token"),
            entry.get("output_cost_per_token"),
            entry.get("max_input_tokens") or entry.get("max_tokens"),
            entry.get("max_output_tokens"),
        )

    @cached_property
    def _openai_chat_models(self) -> list[str]:
        return sorted(
            name for name, entry in self._data.items()
            if entry.get("litellm_provider") == "openai" and entry.get("mode") in {"chat", "responses"}
            and "/" not in name and not _DATED.search(name) and "realtime" not in name and "audio" not in name
            and "search" not in name
        )

    def models_for_encoding(self, encoding: str, limit: int = 16) -> list[ModelPrice]:
        """OpenAI chat models that tiktoken maps to `encoding`, cheapest input first."""
        from playground.tokenization.catalogue import openai_encoding_for

        found = [self.lookup(m) for m in self._openai_chat_models if openai_encoding_for(m) == encoding]
        prices = [p for p in found if p is not None]
        prices.sort(key=lambda p: (p.input_per_token is None, p.input_per_token or 0, p.model))
        return prices[:limit]


_lock = threading.Lock()
_maps: dict[Path, PriceMap] = {}
_last_failure = [0.0]  # monotonic time of the last failed fetch
RETRY_FETCH_AFTER_S = 600


def _fetch(pack: Pack) -> list[tuple[Path, str]]:
    """Download the pinned wheel's map once; after a failure, wait before trying again, so a
    broken network costs one slow request, not one per keystroke."""
    import subprocess

    from playground.pack import build_prices

    if time.monotonic() - _last_failure[0] < RETRY_FETCH_AFTER_S and _last_failure[0]:
        return []
    try:
        build_prices(pack)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        _last_failure[0] = time.monotonic()
        return []
    return [(pack.price_map, (pack.price_map.parent / "SOURCE").read_text().strip())]


def price_map(settings: Settings) -> PriceMap:
    """The price map: the pack's copy, else an installed litellm's, else fetch the pinned wheel."""
    pack = Pack(settings)
    with _lock:
        if pack.price_map in _maps:
            return _maps[pack.price_map]
        candidates: list[tuple[Path, str]] = []
        if pack.price_map.is_file():
            source_file = pack.price_map.parent / "SOURCE"
            label = source_file.read_text().strip() if source_file.is_file() else "LiteLLM"
            candidates.append((pack.price_map, label))
        installed = package_dir("litellm")
        if installed and (installed / PRICE_MAP_NAME).is_file():
            from importlib.metadata import version

            candidates.append((installed / PRICE_MAP_NAME, f"litellm=={version('litellm')}"))
        if not candidates and not settings.offline:
            candidates += _fetch(pack)  # a Space installs requirements.txt only: fetch the map on first use
        if not candidates:
            raise PlaygroundError("Prices are unavailable: no price map here. Run `python -m playground.pack build` "
                                  "(or `make run`) to add LiteLLM's map.")
        path, label = candidates[0]
        _maps[pack.price_map] = PriceMap(path, label)
        return _maps[pack.price_map]


@dataclass(frozen=True)
class CostRow:
    model: str
    input_cost: float | None  # this many tokens sent as input, in USD
    output_cost: float | None  # … or generated as output
    context_window: int | None
    context_fraction: float | None
    context_source: str  # where the context window comes from


def cost_rows(tokenizer: object, n_tokens: int, settings: Settings) -> list[CostRow]:
    """What `n_tokens` of this tokenizer cost and how much context they fill, per model.

    tiktoken encodings: every OpenAI chat model that uses the encoding, priced from the map.
    Hub tokenizers: no price (they are open models), the context length from the model's
    config (`max_position_embeddings`) or the tokenizer (`model_max_length`).
    """
    encoding = getattr(tokenizer, "encoding_name", None)
    spec = tokenizer.spec
    if encoding and spec.source.name == "TIKTOKEN":
        rows = []
        for price in price_map(settings).models_for_encoding(encoding):
            rows.append(CostRow(
                price.model, price.input_cost(n_tokens), price.output_cost(n_tokens), price.context_window,
                price.context_fraction(n_tokens), "LiteLLM map",
            ))
        return rows
    window, source = hub_context_length(tokenizer)
    return [CostRow(spec.ref, None, None, window, (n_tokens / window) if window else None, source)]


def hub_context_length(tokenizer: object) -> tuple[int | None, str]:
    source_path = getattr(tokenizer, "source_path", None)
    config = _read_config(source_path) if source_path else None
    if config:
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = config.get(key) or (config.get("text_config") or {}).get(key)
            if isinstance(value, int):
                return value, f"config.json {key}"
    max_len = getattr(tokenizer, "model_max_length", None)
    if max_len:
        return max_len, "tokenizer model_max_length"
    return None, "unknown"


def _read_config(source_path: str) -> dict | None:
    local = Path(source_path) / "config.json"
    try:
        if local.is_file():
            return json.loads(local.read_text())
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source_path, "config.json")
        return json.loads(Path(cached).read_text()) if isinstance(cached, str) else None
    except (OSError, ValueError):
        return None
