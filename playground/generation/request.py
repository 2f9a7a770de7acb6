"""What a generation is asked and what it gives back, and the checks before any model runs.

`prepare` validates a request, renders the prompt (chat template or raw text), tokenizes it and
fits `max_new_tokens` into the server cap and the model's context, with a note for each change.
It needs the tokenizer only, never the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.errors import InputTooLarge, InvalidInput
from playground.generation import catalogue, models
from playground.generation.catalogue import DEFAULT_MODEL, ModelSpec
from playground.settings import Settings

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class GenerationRequest:
    model_id: str = DEFAULT_MODEL
    messages: list[dict[str, str]] | None = None  # chat-template mode: [{"role": ..., "content": ...}]
    prompt: str | None = None  # raw-prompt mode (exactly one of messages / prompt)
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 50
    repetition_penalty: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class TokenStep:
    id: int
    text: str  # this token's own bytes as text; a piece of a multi-byte character shows as \xNN
    prob: float  # the model's probability for this token at this step
    top: list[tuple[int, str, float]]  # the 5 most likely tokens at this step: (id, text, prob)
    special: bool = False  # a control token such as <|im_end|>


@dataclass(frozen=True)
class GenerationUpdate:
    text: str  # all generated text so far (special tokens left out)
    steps: list[TokenStep]  # all generated tokens so far
    prompt_ids: list[int]
    finished: bool
    stop_reason: str | None  # "eos", "max_new_tokens", "stopped", or None while running
    stats: dict[str, Any]  # prompt_tokens, new_tokens, queued_s, ttft_s, tokens_per_s, total_s, device, dtype, model_memory_mb
    notes: list[str] = field(default_factory=list)  # e.g. "max_new_tokens clamped to 512 (server cap)"


@dataclass(frozen=True)
class Prepared:
    """A validated request: the spec, the prompt as text and ids, and the effective limits."""

    spec: ModelSpec
    text: str
    ids: list[int]
    add_special_tokens: bool  # raw mode lets the tokenizer add its BOS; the chat template writes its own
    max_new_tokens: int
    context_length: int | None
    notes: list[str]


# --- validation and the prompt ----------------------------------------------------------------


def resolve(model_id: str, settings: Settings) -> ModelSpec:
    return catalogue.get(model_id or DEFAULT_MODEL, allow_custom=bool(settings.allow_custom_models))


def _check_text(request: GenerationRequest, settings: Settings) -> None:
    if (request.messages is None) == (request.prompt is None):
        raise InvalidInput("Give either chat messages or a raw prompt, not both (and not neither).")
    if request.prompt is not None:
        if not request.prompt.strip():
            raise InvalidInput("The prompt is empty: type some text for the model to continue.")
        if len(request.prompt) > settings.max_input_chars:
            raise InputTooLarge("The prompt", len(request.prompt), settings.max_input_chars)
        return
    messages = request.messages or []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            raise InvalidInput(f"Message {i + 1} must look like {{'role': 'system'|'user'|'assistant', 'content': '…'}}.")
    if not any(m["content"].strip() for m in messages if m["role"] != "system"):
        raise InvalidInput("The message is empty: type a user message for the model to answer.")
    total = sum(len(m["content"]) for m in messages)
    if total > settings.max_input_chars:
        raise InputTooLarge("The conversation", total, settings.max_input_chars)


def _check_parameters(request: GenerationRequest) -> None:
    if request.max_new_tokens < 1:
        raise InvalidInput("max_new_tokens must be at least 1.")
    if request.do_sample:
        if not request.temperature > 0:
            raise InvalidInput("Temperature must be above 0 when sampling (use greedy decoding for temperature 0).")
        if not 0 < request.top_p <= 1:
            raise InvalidInput("top_p must be in (0, 1].")
        if request.top_k < 0:
            raise InvalidInput("top_k must be 0 (off) or more.")
    if not request.repetition_penalty > 0:
        raise InvalidInput("repetition_penalty must be above 0 (1.0 means no penalty).")


def _render_text(request: GenerationRequest, spec: ModelSpec, tokenizer: Any) -> tuple[str, bool]:
    if request.prompt is not None:
        return request.prompt, True
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInput(f"{spec.label} has no chat template. Use raw prompt mode and write the turns yourself.")
    try:
        text = tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - a template that rejects this conversation (e.g. roles out of order)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{spec.label}'s chat template rejects these messages: {first}") from None
    return text, False


def check(request: GenerationRequest, settings: Settings) -> None:
    """What every backend (the local model or a server) asks of a request before anything runs."""
    _check_text(request, settings)
    _check_parameters(request)


def prepare(request: GenerationRequest, settings: Settings) -> Prepared:
    """Validate, render the prompt, tokenize it and fit max_new_tokens into the caps (with notes)."""
    check(request, settings)
    spec = resolve(request.model_id, settings)
    tokenizer = models.load_tokenizer(spec, settings)
    text, add_special = _render_text(request, spec, tokenizer)
    ids = tokenizer(text, add_special_tokens=add_special)["input_ids"]
    notes: list[str] = []
    max_new = request.max_new_tokens
    if max_new > settings.max_new_tokens:
        notes.append(f"max_new_tokens clamped to {settings.max_new_tokens} (server cap; you asked for {max_new}).")
        max_new = settings.max_new_tokens
    context = models.context_length(spec, settings)
    if context is not None:
        if len(ids) >= context:
            raise InvalidInput(
                f"The prompt is {len(ids):,} tokens, but {spec.label} reads at most {context:,} tokens "
                f"(its context window), including the tokens it generates. Shorten the prompt by at least "
                f"{len(ids) - context + 1:,} tokens."
            )
        if len(ids) + max_new > context:
            max_new = context - len(ids)
            notes.append(f"max_new_tokens lowered to {max_new} so that prompt + answer fit the {context:,}-token context.")
    return Prepared(spec, text, list(ids), add_special, max_new, context, notes)


def render_prompt(request: GenerationRequest, settings: Settings) -> tuple[str, list[int]]:
    """The exact prompt text the model reads (after the chat template) and its token ids."""
    prepared = prepare(request, settings)
    return prepared.text, prepared.ids


def model_context_length(model_id: str, settings: Settings) -> int | None:
    return models.context_length(resolve(model_id, settings), settings)
