"""Tokens, cost and context window of one chat call.

Tokens come from the server's `usage` when it sends one; otherwise they are counted with the
model's tokenizer (tiktoken for OpenAI model names, the catalogue for others, o200k_base as a
stated approximation for names nobody knows) and marked "counted". Prices and context windows
come from LiteLLM's map; an unlisted model has *no price listed*, never $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from playground.errors import PlaygroundError
from playground.prices.data import PricesUnavailable, money, price_map
from playground.settings import Settings

if TYPE_CHECKING:
    from playground.chat.conversation import JSONDict, Message
    from playground.tokenization.backends import Tokenizer

FALLBACK_ENCODING = "o200k_base"
# OpenAI's documented way to count a chat prompt: every message is wrapped in a few format
# tokens (<|start|>role … <|end|>), and the reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3


@dataclass(frozen=True)
class Counter:
    """Counts tokens of a chat prompt and of an answer for one model."""

    tokenizer: Tokenizer
    label: str  # e.g. "o200k_base", "o200k_base (approximation: unknown model)"
    exact: bool  # the model's own tokenizer (False: a stand-in)

    def text_tokens(self, text: str) -> int:
        return len(self.tokenizer.raw_encode(text, add_special_tokens=False))

    def prompt_tokens(self, messages: list[Message]) -> int:
        total = REPLY_PRIMING
        for message in messages:
            total += TOKENS_PER_MESSAGE + self.text_tokens(message["role"]) + self.text_tokens(message["content"])
        return total


def counter_for(model: str, settings: Settings) -> Counter:
    return _counter(model, settings)


@lru_cache(maxsize=64)  # specs and loaded tokenizers are cached globally already; this saves the lookups
def _counter(model: str, settings: Settings) -> Counter:
    from playground.tokenization import catalogue, load

    try:
        spec = catalogue.resolve(model, allow_custom=False)
        tokenizer = load.tokenizer(spec, settings)
        return Counter(tokenizer, spec.id, True)
    except PlaygroundError:
        spec = catalogue.get(FALLBACK_ENCODING)
        return Counter(load.tokenizer(spec, settings), f"{FALLBACK_ENCODING} (approximation: {model!r} has no "
                       "tokenizer here)", False)


@dataclass(frozen=True)
class CallUsage:
    prompt_tokens: int
    completion_tokens: int
    source: str  # "api" (the server's usage), "counted"
    counted_with: str | None  # the tokenizer, when counted
    input_cost: float | None  # USD; None: no price listed
    output_cost: float | None
    price_source: str  # "LiteLLM map (litellm==…)" or why there is no price
    context_window: int | None
    context_source: str
    free: bool = False  # runs on this server: no API bill

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost(self) -> float | None:
        if self.free:
            return 0.0
        if self.input_cost is None or self.output_cost is None:
            return None
        return self.input_cost + self.output_cost

    @property
    def context_fraction(self) -> float | None:
        return self.total_tokens / self.context_window if self.context_window else None

    def as_dict(self) -> JSONDict:
        return {
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens, "source": self.source, "counted_with": self.counted_with,
            "input_cost_usd": self.input_cost, "output_cost_usd": self.output_cost, "cost_usd": self.cost,
            "price_source": self.price_source, "context_window": self.context_window,
            "context_source": self.context_source, "context_fraction": self.context_fraction, "free": self.free,
        }


@dataclass(frozen=True)
class ModelFacts:
    """Price and context window of a model, with where they come from."""

    input_per_token: float | None
    output_per_token: float | None
    price_source: str
    context_window: int | None
    context_source: str
    free: bool = False

    @property
    def priced(self) -> bool:
        return self.input_per_token is not None and self.output_per_token is not None


def remote_facts(model: str, settings: Settings) -> ModelFacts:
    """Prices are never a hard dependency: without a map the call goes on as "no price listed"
    (and the operator-key rule in `turn` still refuses unpriced OpenAI models)."""
    try:
        pm = price_map(settings)
    except PricesUnavailable as exc:
        return ModelFacts(None, None, f"no price listed ({exc})", None, "unknown")
    price = pm.lookup(model)
    if price is None:
        return ModelFacts(None, None, f"no price listed for {model!r} in LiteLLM's map", None, "unknown")
    priced = price.input_per_token is not None and price.output_per_token is not None
    return ModelFacts(
        price.input_per_token, price.output_per_token,
        f"LiteLLM map ({pm.version})" if priced else f"no price listed for {model!r} in LiteLLM's map",
        price.context_window, "LiteLLM map" if price.context_window else "unknown",
    )


def local_facts(model: str, settings: Settings) -> ModelFacts:
    from playground.generation.engine import model_context_length

    window = model_context_length(model, settings)
    # A model on this server costs electricity, not an API bill: say so rather than print $0.
    return ModelFacts(None, None, "runs on this server: no API price", window,
                      "model config" if window else "unknown", free=True)


def call_usage(facts: ModelFacts, prompt_tokens: int, completion_tokens: int, source: str,
               counted_with: str | None) -> CallUsage:
    def cost(per_token: float | None, n: int) -> float | None:
        return None if per_token is None else per_token * n

    return CallUsage(
        prompt_tokens, completion_tokens, source, counted_with,
        cost(facts.input_per_token, prompt_tokens), cost(facts.output_per_token, completion_tokens),
        facts.price_source, facts.context_window, facts.context_source, facts.free,
    )


def cost_text(call: CallUsage) -> str:
    """The cost of a call as a learner should read it: dollars, 'no price listed', or free because local."""
    if call.free:
        return "free (local)"
    return money(call.cost)
