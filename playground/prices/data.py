"""Prices and context windows, read from LiteLLM's maintained map (never a hand-typed table).

The map is JSON data: the offline pack extracts it from the pinned `litellm` wheel, and an
installed `litellm` package works too. It is read, never imported as code.

Prices are never a hard dependency: with no map, `lookup` answers None ("no price listed") and
`price_map` raises `PricesUnavailable`, which the views show as a note. On a Space (no pack)
the first use fetches the pinned wheel once, single-flight, and waits at most
`FETCH_WAIT_S`: the fetch goes on in its own thread, outside any lock tokenizing waits on.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from playground.cache import SharedCache
from playground.errors import PlaygroundError
from playground.pack.entries import PRICE_MAP_NAME, Pack, package_dir
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

    @property
    def priced(self) -> bool:
        """Both prices listed (an entry may list a context window and no price)."""
        return self.input_per_token is not None and self.output_per_token is not None

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
    def _data(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))
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

        found = (self.lookup(m) for m in self._openai_chat_models if openai_encoding_for(m) == encoding)
        prices = [p for p in found if p is not None]
        prices.sort(key=lambda p: (p.input_per_token is None, p.input_per_token or 0, p.model))
        return prices[:limit]


class PricesUnavailable(PlaygroundError):
    """No price map here (yet): tokens, counts and chat work without one."""


FETCH_WAIT_S = 10.0  # a request waits this long for the first fetch; the fetch itself goes on
RETRY_FETCH_AFTER_S = 600
_maps: SharedCache[Path, PriceMap] = SharedCache(4)
_last_failure = [0.0]  # monotonic time of the last failed fetch


def _fetch(pack: Pack) -> tuple[Path, str] | None:
    """Download the pinned wheel's map once; after a failure, wait before trying again, so a
    broken network costs one slow request, not one per keystroke."""
    from playground.pack.build import build_prices  # the builder only on this rare path

    if _last_failure[0] and time.monotonic() - _last_failure[0] < RETRY_FETCH_AFTER_S:
        return None
    try:
        build_prices(pack)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        _last_failure[0] = time.monotonic()
        return None
    return pack.price_map, (pack.price_map.parent / "SOURCE").read_text().strip()


def _find(settings: Settings) -> PriceMap:
    pack = Pack(settings)
    if pack.price_map.is_file():
        source_file = pack.price_map.parent / "SOURCE"
        return PriceMap(pack.price_map, source_file.read_text().strip() if source_file.is_file() else "LiteLLM")
    installed = package_dir("litellm")
    if installed and (installed / PRICE_MAP_NAME).is_file():
        from importlib.metadata import version

        return PriceMap(installed / PRICE_MAP_NAME, f"litellm=={version('litellm')}")
    fetched = None if settings.offline else _fetch(pack)  # a Space installs requirements.txt only
    if fetched is None:
        raise PricesUnavailable("Prices are unavailable: no price map here. Run `python -m playground.pack build` "
                                "(or `make run`) to add LiteLLM's map.")
    return PriceMap(*fetched)


def price_map(settings: Settings) -> PriceMap:
    """The price map: the pack's copy, else an installed litellm's, else the pinned wheel, fetched once."""
    try:
        return _maps.get_or_load(Pack(settings).price_map, lambda: _find(settings), timeout=FETCH_WAIT_S)
    except TimeoutError:
        raise PricesUnavailable("The price map is still being fetched; prices appear on the next update.") from None


def lookup(model: str, settings: Settings) -> ModelPrice | None:
    """The model's price and context window, or None when it is not listed or there is no map."""
    try:
        return price_map(settings).lookup(model)
    except PricesUnavailable:
        return None
