"""`/generate`: the Generate tab as plain JSON for notebooks and scripts (see README, API), local or on a server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.chat.backends import BackendConfig, BackendKind, backend_spec, redact
from playground.generation import catalogue
from playground.generation.engine import (
    GenerationFailed,
    GenerationRequest,
    GenerationUpdate,
    TokenStep,
    generate_stream,
)
from playground.generation.remote.stream import RemoteUpdate, generate_remote
from playground.settings import Settings
from playground.ui.api_types import checked
from playground.ui.common import Pace, at_edge
from playground.ui.queues import queue

API_UPDATE_EVERY_S = 0.5  # /generate's partial results: often enough to notice a client that left


def server_config(kind: str, server_model: str, base_url: str, api_key: str) -> BackendConfig | None:
    """The server the visitor chose, or None for the local model."""
    if backend_spec(kind).kind is BackendKind.LOCAL:
        return None
    return BackendConfig.of(kind, server_model, base_url or None, api_key or None)



def api_result(update: GenerationUpdate) -> dict[str, Any]:
    """`/generate`'s JSON for one update (partial while `finished` is false). A server names its tokens
    by text only (chat logprobs): their `id` is then null."""
    def token(s: TokenStep) -> dict[str, Any]:
        return {"id": _api_id(s.id), "text": s.text, "prob": s.prob, "special": s.special,
                "top": [{"id": _api_id(i), "text": t, "prob": p} for i, t, p in s.top]}

    out = {
        "text": update.text, "ids": [_api_id(s.id) for s in update.steps], "stop_reason": update.stop_reason,
        "finished": update.finished, "stats": update.stats, "notes": update.notes, "prompt_ids": update.prompt_ids,
        "tokens": [token(s) for s in update.steps],
    }
    if isinstance(update, RemoteUpdate):
        out["server"], out["logprobs"], out["request"] = update.server, update.logprobs, update.request
        out["prompt_tokens"] = None if update.prompt is None else [
            {"id": _api_id(p.id), "text": p.text, "prob": None if p.step is None else p.step.prob,
             "top": [] if p.step is None else token(p.step)["top"]} for p in update.prompt]
    return out


def _api_id(token_id: int) -> int | None:
    return token_id if token_id >= 0 else None


def register_api(settings: Settings) -> None:
    """`/generate`: plain JSON for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def generate(prompt: str = "", messages: list[dict[str, Any]] | None = None, model: str = "",
                 max_new_tokens: int = 128, do_sample: bool = False, temperature: float = 0.7, top_p: float = 0.95,
                 top_k: int = 50, repetition_penalty: float = 1.0, seed: int | None = None, backend: str = "local",
                 base_url: str = "", api_key: str = "", prompt_tokens: bool = True) -> Iterator[dict[str, Any]]:
        """Generate with a local model, or with a serving engine: `backend` "openai" or "compatible" (with
        `base_url`, `api_key` if it needs one, and `model` the name it serves). Give `messages`
        ([{"role": "user", "content": "…"}], rendered with the model's chat template) or a raw `prompt` (a
        server's completions API, with echo). Returns the text, the generated tokens (each with its
        probability and top-5 alternatives; a server's chat tokens have no id), the stop reason ("eos",
        "max_new_tokens") and stats; from a server also `prompt_tokens` where it offers them, and notes on what
        it lacks. It streams partial results (`"finished": false`) while generating; `predict` returns the
        final one."""
        server = server_config(backend, model, base_url, api_key)
        request = GenerationRequest(
            model_id=(model if server is None else "") or catalogue.DEFAULT_MODEL, messages=messages or None,
            prompt=None if messages else (prompt or ""), max_new_tokens=int(max_new_tokens), do_sample=bool(do_sample),
            temperature=float(temperature), top_p=float(top_p), top_k=int(top_k),
            repetition_penalty=float(repetition_penalty), seed=None if seed is None else int(seed),
        )
        # A generator, so a client that leaves (or cancels its job) is noticed at the next partial result:
        # Gradio then closes this iterator, and closing the stream stops the generation (and, for a
        # server, gives back its spend reservation). Stateless: only the server-wide cap applies.
        updates: Iterator[GenerationUpdate] = (generate_stream(request, settings) if server is None
                                               else generate_remote(request, server, settings,
                                                                    want_prompt=bool(prompt_tokens)))
        pace = Pace(API_UPDATE_EVERY_S)
        for update in updates:
            if update.finished:
                yield json.loads(redact(json.dumps(api_result(update)), api_key or None))
                return
            if pace.due():
                yield api_result(update)
        raise GenerationFailed("The generation ended without a final result. Try again.")

    # One endpoint, one queue: a server run through the API waits with the local ones (the tab's server
    # runs have their own queue: `ui.queues`).
    gr.api(generate, api_name="generate", **queue("generation", settings))
