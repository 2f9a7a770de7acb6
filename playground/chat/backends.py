"""One chat interface, three backends: OpenAI, any OpenAI-compatible server, the local model.

Every backend takes the same `messages` list and yields the same `StreamEvent`s, so the tab
never branches on the backend. Where a remote call goes, with which key, through which client
and what its errors say: `playground.remote` (the same rules for every tab that calls a server).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from playground import runtime
from playground.chat.conversation import Message
from playground.chat.errors import BackendError
from playground.errors import InvalidInput, UnknownName
from playground.generation.catalogue import DEFAULT_MODEL as DEFAULT_LOCAL_MODEL
from playground.generation.catalogue import MODELS as LOCAL_MODELS
from playground.remote import connection as remote
from playground.remote.client import openai_client
from playground.remote.connection import Connection
from playground.remote.errors import redact, server_message, translating
from playground.settings import Settings

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk

    from playground.generation.request import GenerationRequest

__all__ = ["Connection", "redact", "resolve_connection", "stream_local", "stream_remote"]


class BackendKind(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"
    COMPATIBLE = "compatible"


@dataclass(frozen=True)
class BackendSpec:
    kind: BackendKind
    label: str
    default_model: str
    models: tuple[str, ...]  # suggestions; any name the server knows works
    needs_key: bool
    note: str


BACKENDS: tuple[BackendSpec, ...] = (
    BackendSpec(
        BackendKind.LOCAL, "Local model (offline, no key)", DEFAULT_LOCAL_MODEL,
        tuple(m.id for m in LOCAL_MODELS), False,
        "Runs on this server with the Generation tab's models. Same message semantics, no key, no network.",
    ),
    BackendSpec(
        BackendKind.OPENAI, "OpenAI", "gpt-4.1-mini",
        ("gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-5-mini"), True,
        "OpenAI's API through the official openai client. Needs a key.",
    ),
    BackendSpec(
        BackendKind.COMPATIBLE, "OpenAI-compatible server", "",
        (), False,
        "vLLM, TGI, Ollama, LM Studio, llama.cpp server…: type its base URL (…/v1) and a model name it serves.",
    ),
)
_BY_KIND = {spec.kind: spec for spec in BACKENDS}


def backend_spec(kind: str | BackendKind) -> BackendSpec:
    try:
        return _BY_KIND[BackendKind(kind)]
    except ValueError:
        raise UnknownName("chat backend", str(kind), [k.value for k in BackendKind]) from None


@dataclass(frozen=True)
class BackendConfig:
    """What the visitor chose. `api_key` is theirs, typed for this session; it never leaves this object
    except as the Authorization header of a request to `base_url`."""

    kind: BackendKind
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, kind: str | BackendKind, model: str = "", base_url: str | None = None,
           api_key: str | None = None) -> BackendConfig:
        spec = backend_spec(kind)
        model = (model or "").strip() or spec.default_model
        if not model:
            raise InvalidInput("Type the model name the server serves (for Ollama e.g. 'llama3.2', for vLLM the "
                               "--model it was started with).")
        return cls(spec.kind, model, (base_url or "").strip() or None, (api_key or "").strip() or None)


def resolve_connection(config: BackendConfig, settings: Settings) -> Connection:
    """The base URL and key of a remote chat call (`playground.remote.connection`)."""
    return remote.resolve_connection(config.base_url, config.api_key, settings,
                                     openai_default=config.kind is BackendKind.OPENAI,
                                     needs_key=config.kind is BackendKind.OPENAI)


@dataclass(frozen=True)
class ChatParams:
    max_tokens: int
    temperature: float
    seed: int | None = None  # local sampling only


@dataclass(frozen=True)
class StreamEvent:
    """A piece of the answer; the last event has `finish_reason` and, if the server sent it, usage."""

    delta: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage_from: str = "api"  # "api": the server's `usage`; "model": the local model's own count
    full_text: str | None = None  # the whole answer, when the backend rewrote what it streamed
    done: bool = False


# ---------------------------------------------------------------- remote (openai client)

def stream_remote(config: BackendConfig, connection: Connection, messages: list[Message], params: ChatParams,
                  settings: Settings, stop: threading.Event | None = None) -> Iterator[StreamEvent]:
    """Stream one chat completion through the official openai client."""
    import openai

    # Built per call, never shared: it holds this visitor's key. Short explicit timeout, one retry.
    client = openai_client(connection, settings, timeout=settings.chat_timeout_s, max_retries=1)
    kwargs = request_kwargs(config, messages, params)
    try:
        # runtime.waiting: the server does the work; this thread needs no core meanwhile
        with runtime.waiting(), translating(connection, config.model, settings.chat_timeout_s, BROKEN_HINT) as state:
            try:
                stream = client.chat.completions.create(**kwargs)
            except openai.BadRequestError as exc:
                if "stream_options" not in server_message(exc):
                    raise
                # Older compatible servers reject stream_options; usage is then counted instead.
                kwargs.pop("stream_options")
                stream = client.chat.completions.create(**kwargs)
            state["answering"] = True  # from here on, a broken connection broke an answer, not a connect
            with stream:
                yield from _events(stream, stop)
    finally:
        client.close()


BROKEN_HINT = "Nothing was added to the conversation: send again."


def request_kwargs(config: BackendConfig, messages: list[Message], params: ChatParams) -> dict[str, Any]:
    """The arguments of `chat.completions.create` (also shown in the request view and as code).

    A plain dict, not the client's typed parameters: the same dict is shown and sent, and its
    keys depend on the backend; the server, not the type checker, judges a model's arguments."""
    kwargs: dict[str, Any] = {"model": config.model, "messages": messages}
    # OpenAI's newer models refuse `max_tokens`; compatible servers do not all know the new name.
    token_arg = "max_completion_tokens" if config.kind is BackendKind.OPENAI else "max_tokens"
    kwargs[token_arg] = params.max_tokens
    kwargs["temperature"] = params.temperature
    kwargs["stream"] = True
    kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _events(stream: Iterable[ChatCompletionChunk], stop: threading.Event | None) -> Iterator[StreamEvent]:
    finish: str | None = None
    prompt = completion = None
    for chunk in stream:
        if stop is not None and stop.is_set():
            finish = "stopped"
            break
        if chunk.usage is not None:
            prompt, completion = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
        for choice in chunk.choices or []:
            if choice.delta is not None and choice.delta.content:
                yield StreamEvent(delta=choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    if finish is None:
        raise BackendError("The server closed the stream without finishing the answer (no finish_reason). "
                           "Nothing was added to the conversation: send again.")
    yield StreamEvent(finish_reason=finish, prompt_tokens=prompt, completion_tokens=completion, done=True)


# ---------------------------------------------------------------- local (the Generation tab's engine)

FINISH_REASONS = {"eos": "stop", "max_new_tokens": "length", "stopped": "stopped"}


def local_request(config: BackendConfig, messages: list[Message], params: ChatParams,
                  settings: Settings) -> GenerationRequest:
    from playground.generation.request import GenerationRequest

    if params.max_tokens > settings.max_new_tokens:
        raise InvalidInput(f"max_tokens is {params.max_tokens:,}; the local model's limit on this server is "
                           f"{settings.max_new_tokens:,} (PLAYGROUND_MAX_NEW_TOKENS).")
    return GenerationRequest(
        model_id=config.model, messages=messages, max_new_tokens=params.max_tokens,
        # No seed: a Retry at temperature > 0 samples a new answer, as a remote API does.
        do_sample=params.temperature > 0, temperature=max(params.temperature, 1e-3), seed=params.seed,
    )


def stream_local(config: BackendConfig, messages: list[Message], params: ChatParams, settings: Settings,
                 stop: threading.Event | None = None) -> Iterator[StreamEvent]:
    """The local model through the Generation tab's engine, with the same events as a server."""
    from playground.generation.engine import generate_stream

    request = local_request(config, messages, params, settings)
    shown = ""
    for update in generate_stream(request, settings, stop):
        if update.text.startswith(shown) and len(update.text) > len(shown):
            yield StreamEvent(delta=update.text[len(shown):])
            shown = update.text
        if update.finished:
            yield StreamEvent(
                finish_reason=FINISH_REASONS.get(update.stop_reason or "", update.stop_reason or "stop"),
                prompt_tokens=update.stats.get("prompt_tokens"), completion_tokens=update.stats.get("new_tokens"),
                usage_from="model", full_text=update.text, done=True,
            )
            return
    raise BackendError("The local model stopped without finishing the answer: send again.")
