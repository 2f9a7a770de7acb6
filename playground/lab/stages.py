"""The pipeline of a Hugging Face tokenizer, one stage at a time, from its own components.

normalizer (`normalize_str`) → pre-tokenizer (`pre_tokenize_str`: pieces with offsets) →
model (`model.tokenize` on each piece) → post-processor (the special tokens the full `encode`
adds). Each stage is the library's own answer, not a re-implementation, so what a learner
sees here is what the tokenizer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.errors import InputTooLarge

MAX_STAGE_CHARS = 2_000


@dataclass(frozen=True)
class Stages:
    normalizer: str  # the component's type, or "none"
    normalized: str
    pre_tokenizer: str
    pieces: list[tuple[str, tuple[int, int]]]  # (piece, offsets in the normalized text)
    model: str
    model_tokens: list[list[tuple[int, str]]]  # per piece: (id, token)
    post_processor: str
    final: list[tuple[int, str, bool]]  # (id, token, added by the post-processor)


def _kind(component: Any) -> str:
    return "none" if component is None else type(component).__name__


def _describe(component: Any) -> str:
    """The component's type, and its parts for a Sequence (from its own JSON form)."""
    if component is None:
        return "none"
    import json

    state = json.loads(component.__getstate__()) if hasattr(component, "__getstate__") else {}
    inner = state.get("normalizers") or state.get("pretokenizers") or state.get("processors") or []
    parts = [step.get("type", "?") for step in inner if isinstance(step, dict)]
    return f"{_kind(component)}({', '.join(parts)})" if parts else _kind(component)


def stages(rust_tokenizer: Any, text: str) -> Stages:
    """Run `text` through each stage of a `tokenizers.Tokenizer` and keep every stage's output."""
    if len(text) > MAX_STAGE_CHARS:
        raise InputTooLarge("The text for the pipeline view", len(text), MAX_STAGE_CHARS)
    if rust_tokenizer.padding or rust_tokenizer.truncation:
        # A private copy: the shared tokenizer may pad (MiniLM pads to 128), and must not be changed.
        from tokenizers import Tokenizer

        rust_tokenizer = Tokenizer.from_str(rust_tokenizer.to_str())
        rust_tokenizer.no_padding()
        rust_tokenizer.no_truncation()
    normalizer, pre = rust_tokenizer.normalizer, rust_tokenizer.pre_tokenizer
    normalized = normalizer.normalize_str(text) if normalizer is not None else text
    pieces = pre.pre_tokenize_str(normalized) if pre is not None else [(normalized, (0, len(normalized)))]
    model = rust_tokenizer.model
    model_tokens = [[(t.id, t.value) for t in model.tokenize(piece)] for piece, _ in pieces]
    full = rust_tokenizer.encode(text, add_special_tokens=True)
    # Added by the post-processor: a special token that covers no text ([CLS], <s>).
    added = [bool(mask) and start == end for mask, (start, end) in zip(full.special_tokens_mask, full.offsets)]
    final = list(zip(full.ids, full.tokens, added))
    return Stages(
        normalizer=_describe(normalizer), normalized=normalized, pre_tokenizer=_describe(pre),
        pieces=[(p, (int(a), int(b))) for p, (a, b) in pieces], model=_kind(model), model_tokens=model_tokens,
        post_processor=_describe(rust_tokenizer.post_processor), final=final,
    )
