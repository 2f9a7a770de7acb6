"""The logprobs formats servers send, read into the Generate tab's `TokenStep`s.

Three formats, all plain data in, `TokenStep`s out (no network here):

- chat completions: `choices[0].logprobs.content[i] = {token, logprob, bytes, top_logprobs: [...]}`,
  streamed a few tokens per chunk or whole in one response;
- the legacy completions API: `logprobs = {tokens, token_logprobs, top_logprobs: [{token: logprob}],
  text_offset}`; with `echo` the prompt's tokens come first (the first has no logprob);
- vLLM's `prompt_logprobs`: one `{token_id: {logprob, rank, decoded_token}}` per prompt token, the
  prompt's own token first, then its top alternatives (the first token: `null`).

A chat server names tokens by text and bytes, not ids. `ServerTokens` gives each distinct token a
stand-in id below zero (the chips show no id for those) and keeps its bytes, so the tab's chip
renderer (`generation.view.generated_html`) draws server tokens exactly as it draws local ones.
Token text comes from each token's bytes: a piece of an emoji stays a piece (shown as hex).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.generation.request import TokenStep

TOP = 5
_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")


def _get(obj: Any, name: str) -> Any:
    """A field of a parsed openai object or of a plain dict (the raw JSON)."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def token_data(token: str, raw: Sequence[int] | None = None) -> bytes:
    """A token's bytes: the server's `bytes` when sent, else `bytes:\\xNN…` (OpenAI's spelling of a
    piece of a character), else the text itself."""
    if raw:
        return bytes(raw)
    if token.startswith("bytes:") and _HEX.search(token):
        return bytes(int(h, 16) for h in _HEX.findall(token))
    return token.encode("utf-8")


def as_text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def prob(logprob: float | None) -> float | None:
    if logprob is None or not math.isfinite(logprob):
        return 0.0 if logprob is not None and logprob < 0 else None
    return math.exp(min(logprob, 0.0))


@dataclass
class ServerTokens:
    """The tokens one server named in one generation; `token_bytes` as the tab's tokenizer views have it."""

    _bytes: dict[int, bytes] = field(default_factory=dict)
    _stand_in: dict[bytes, int] = field(default_factory=dict)

    def add(self, data: bytes, token_id: int | None = None) -> int:
        """The token's id (the server's when it sent one, else a stand-in below zero)."""
        if token_id is None:
            token_id = self._stand_in.setdefault(data, -1 - len(self._stand_in))
        if data or token_id not in self._bytes:  # an id first seen without its text (vLLM's first prompt token)
            self._bytes[token_id] = data
        return token_id

    def token_bytes(self, ids: Iterable[int]) -> list[bytes]:
        return [self._bytes.get(i, b"") for i in ids]


def _step(tokens: ServerTokens, data: bytes, logprob: float | None,
          top: Iterable[tuple[bytes, float, int | None]], token_id: int | None = None) -> TokenStep:
    own = tokens.add(data, token_id)
    alternatives = [(tokens.add(d, i), as_text(d), prob(lp) or 0.0) for d, lp, i in top][:TOP]
    p = prob(logprob)
    return TokenStep(own, as_text(data), 0.0 if p is None else p, alternatives)


def chat_steps(content: Iterable[Any] | None, tokens: ServerTokens) -> list[TokenStep]:
    """`choices[i].logprobs.content` of a chat completion (or of one streamed chunk)."""
    out = []
    for entry in content or []:
        top = [(token_data(_get(t, "token") or "", _get(t, "bytes")), _get(t, "logprob"), None)
               for t in _get(entry, "top_logprobs") or []]
        out.append(_step(tokens, token_data(_get(entry, "token") or "", _get(entry, "bytes")),
                         _get(entry, "logprob"), top))
    return out


@dataclass(frozen=True)
class PromptToken:
    """One token of the prompt as the server read it; `step` is None for the first (nothing before it)."""

    id: int
    text: str
    step: TokenStep | None


def completion_steps(logprobs: Any, tokens: ServerTokens, prompt_chars: int | None) -> tuple[
        list[PromptToken], list[TokenStep]]:
    """A legacy completions `logprobs` block split into prompt tokens (echo: `text_offset` inside
    the prompt) and generated ones. `prompt_chars` None: no echo, everything is generated."""
    prompt: list[PromptToken] = []
    generated: list[TokenStep] = []
    if logprobs is None:
        return prompt, generated
    names = _get(logprobs, "tokens") or []
    lps = _get(logprobs, "token_logprobs") or [None] * len(names)
    tops = _get(logprobs, "top_logprobs") or [None] * len(names)
    offsets = _get(logprobs, "text_offset") or [None] * len(names)
    for name, lp, top, offset in zip(names, lps, tops, offsets, strict=False):
        alternatives = sorted(((token_data(t), v, None) for t, v in (top or {}).items()),
                              key=lambda a: -a[1])
        data = token_data(name)
        if prompt_chars is not None and offset is not None and offset < prompt_chars:
            step = None if lp is None else _step(tokens, data, lp, alternatives)
            prompt.append(PromptToken(tokens.add(data), as_text(data), step))
        else:
            generated.append(_step(tokens, data, lp, alternatives))
    return prompt, generated


def vllm_prompt_tokens(prompt_logprobs: Sequence[Any] | None, prompt_ids: Sequence[int] | None,
                       tokens: ServerTokens) -> list[PromptToken]:
    """vLLM's `prompt_logprobs` (and `prompt_token_ids` when sent) as prompt tokens with their ids."""
    out: list[PromptToken] = []
    for i, position in enumerate(prompt_logprobs or []):
        if not position:  # the first token: the model predicted nothing before it, so vLLM sends null
            token_id = prompt_ids[i] if prompt_ids and i < len(prompt_ids) else None
            out.append(PromptToken(tokens.add(b"", token_id), "", None))
            continue
        entries = [(int(k), v) for k, v in position.items()]
        own_id, own = entries[0]  # vLLM puts the prompt's own token first, then its top alternatives
        if prompt_ids and i < len(prompt_ids) and prompt_ids[i] in dict(entries):
            own_id = prompt_ids[i]
            own = dict(entries)[own_id]
        ranked = sorted(entries, key=lambda e: _get(e[1], "rank") or math.inf)
        top = [(token_data(_get(v, "decoded_token") or ""), _get(v, "logprob"), k) for k, v in ranked]
        data = token_data(_get(own, "decoded_token") or "")
        step = _step(tokens, data, _get(own, "logprob"), top, own_id)
        out.append(PromptToken(step.id, step.text, step))
    return out
