"""One generation on a serving engine (OpenAI or any OpenAI-compatible server), streamed as the
Generate tab's updates: the text, each token's probability and top-5, the prompt's tokens where
the server offers them.

Chat messages go to `chat.completions` with `logprobs: true, top_logprobs: 5`; a raw prompt goes
to the legacy `completions` API with `logprobs: 5` and `echo: true` (the prompt's own tokens
come back first). For chat messages on a compatible server, vLLM's `prompt_logprobs` (which vLLM
refuses on a stream) is asked for in a one-token call before the stream. Whatever a server lacks
(logprobs, echo, prompt_logprobs) is retried without it and said in a note naming the server;
the text still streams.

Where the call goes, with which key, through which client, what its errors say and what the
operator's key may spend: `playground.remote`, with the Chat tab's rules (`chat.backends`,
`chat.usage`): the worst case is reserved before the call and settled to the real cost when it
ends, or given back on every other way out (an error, a timeout, a stream dying mid-answer, a
reader that closes this generator). Stop ends the stream and pays for the tokens received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from playground import runtime
from playground.chat import conversation, usage
from playground.chat.backends import BackendConfig, BackendKind, resolve_connection
from playground.chat.turn import MAX_REMOTE_TOKENS
from playground.errors import InvalidInput
from playground.generation import request as local_request
from playground.generation.remote.logprobs import (
    TOP,
    PromptToken,
    ServerTokens,
    chat_steps,
    completion_steps,
    vllm_prompt_tokens,
)
from playground.generation.request import GenerationRequest, GenerationUpdate, TokenStep
from playground.remote.client import openai_client
from playground.remote.errors import BackendError, server_message, translating
from playground.remote.spend import OPERATOR_SPEND, Hold, SpendLedger
from playground.settings import Settings

FINISH = {"stop": "eos", "length": "max_new_tokens", "stopped": "stopped"}


@dataclass(frozen=True)
class RemoteUpdate(GenerationUpdate):
    """A `GenerationUpdate` from a server, with what only a server run has."""

    server: str = ""
    tokens: ServerTokens = field(default_factory=ServerTokens)  # bytes of every token named, for the chips
    prompt: list[PromptToken] | None = None  # None: the server sent no prompt tokens
    logprobs: bool = True  # False: the server sent no per-token logprobs (the text still streams)
    request: dict[str, Any] = field(default_factory=dict)  # the request as sent, key redacted
    code: str = ""
    cost_usd: float | None = None
    operator_key: bool = False


@dataclass
class _Run:
    """What one call has gathered so far."""

    server: str
    text: str = ""
    steps: list[TokenStep] = field(default_factory=list)
    prompt: list[PromptToken] | None = None
    notes: list[str] = field(default_factory=list)
    saw_logprobs: bool = False
    echo: bool = False  # the completions call still asks for echo (the server did not refuse it)
    raw: str = ""  # all text a completions stream sent, the echoed prompt included
    finish: str | None = None
    usage: tuple[int, int] | None = None
    probe_usage: tuple[int, int] | None = None  # the one-token prompt_logprobs call, paid for too
    started: float = field(default_factory=time.perf_counter)
    first_at: float | None = None
    last_at: float | None = None


def check(request: GenerationRequest, config: BackendConfig, settings: Settings) -> None:
    if config.kind is BackendKind.LOCAL:
        raise InvalidInput("The local model runs through generation.engine, not a server.")
    local_request.check(request, settings)
    if request.max_new_tokens > MAX_REMOTE_TOKENS:
        raise InvalidInput(f"max_new_tokens must be at most {MAX_REMOTE_TOKENS:,} for a server "
                           f"(it is {request.max_new_tokens:,}).")
    if request.seed is not None and not 0 <= request.seed < 2**32:
        raise InvalidInput(f"seed must be a whole number from 0 to {2**32 - 1:,} (it is {request.seed}).")


def request_kwargs(request: GenerationRequest, config: BackendConfig, *, echo: bool = True,
                   continue_final: bool = False) -> tuple[str, dict[str, Any], list[str]]:
    """Which API (`"chat"` or `"completions"`), its arguments, and notes on settings not sent.

    `continue_final`: the last message is the start of the assistant's answer, to be continued (vLLM's
    `continue_final_message`; OpenAI's chat API has no such prefill)."""
    kwargs: dict[str, Any] = {"model": config.model}
    extra: dict[str, Any] = {}
    notes: list[str] = []
    if request.messages is not None:
        api = "chat"
        kwargs["messages"] = request.messages
        kwargs["logprobs"], kwargs["top_logprobs"] = True, TOP
        token_arg = "max_completion_tokens" if config.kind is BackendKind.OPENAI else "max_tokens"
        if continue_final:
            if config.kind is BackendKind.OPENAI:
                raise InvalidInput("OpenAI's chat API cannot continue an answer from a given start (it has no "
                                   "assistant prefill). Branch with 'Raw prompt' (the completions API, e.g. "
                                   "gpt-3.5-turbo-instruct) or on a vLLM server.")
            extra["continue_final_message"], extra["add_generation_prompt"] = True, False
    else:
        api = "completions"
        kwargs["prompt"] = request.prompt
        kwargs["logprobs"] = TOP
        if echo:
            kwargs["echo"] = True
        token_arg = "max_tokens"
    kwargs[token_arg] = request.max_new_tokens
    if request.do_sample:
        kwargs["temperature"], kwargs["top_p"] = request.temperature, request.top_p
        if request.seed is not None:
            kwargs["seed"] = request.seed
    else:
        kwargs["temperature"] = 0.0  # greedy: what every server understands as "most likely token"
    vllm_only = {"top_k": request.top_k if request.do_sample and request.top_k else None,
                 "repetition_penalty": request.repetition_penalty if request.repetition_penalty != 1.0 else None}
    for name, value in vllm_only.items():
        if value is None:
            continue
        if config.kind is BackendKind.OPENAI:
            notes.append(f"{name} is not an OpenAI API parameter: not sent.")
        else:
            extra[name] = value  # vLLM, SGLang and llama.cpp read these; others ignore them
    if extra:
        kwargs["extra_body"] = extra
    kwargs["stream"], kwargs["stream_options"] = True, {"include_usage": True}
    return api, kwargs, notes


def code(api: str, base_url: str, kwargs: dict[str, Any]) -> str:
    """Copy as code: the chat call is the Chat tab's; the completions call differs in a line or two."""
    text = conversation.copy_as_code("remote", base_url, kwargs)
    if api == "completions":
        text = text.replace("chat.completions.create", "completions.create").replace(
            "response.choices[0].message.content", "response.choices[0].text")
    return text + "print(response.choices[0].logprobs)\n"


def generate_remote(request: GenerationRequest, config: BackendConfig, settings: Settings, *,
                    stop: threading.Event | None = None, want_prompt: bool = True, session_spent: float = 0.0,
                    ledger: SpendLedger = OPERATOR_SPEND, continue_final: bool = False,
                    tokens: ServerTokens | None = None) -> Iterator[RemoteUpdate]:
    """Stream one generation from a server (see the module docstring). Raises `PlaygroundError`s.

    `continue_final` continues the last (assistant) message; `tokens` gathers the token bytes of
    several runs in one place (the Sampling tab's branches share it)."""
    check(request, config, settings)
    connection = resolve_connection(config, settings)
    facts = usage.remote_facts(config.model, settings)
    counter = usage.counter_for(config.model, settings)
    prompt_count = (counter.prompt_tokens(request.messages) if request.messages is not None
                    else counter.text_tokens(request.prompt or ""))
    api, kwargs, notes = request_kwargs(request, config, echo=want_prompt, continue_final=continue_final)
    probe = want_prompt and api == "chat" and config.kind is BackendKind.COMPATIBLE
    if api == "chat" and not probe and want_prompt:
        notes.append(f"{connection.base_url}'s chat API does not return the prompt's tokens"
                     + (" (OpenAI's never does): " if config.kind is BackendKind.OPENAI else ": ")
                     + "use 'Raw prompt' (the completions API with echo) to see them.")
    hold: AbstractContextManager[Hold | None] = nullcontext(None)
    if connection.operator_key:
        # The same admission rule as every other tab (caps, and no unpriced OpenAI model on this key).
        note = ledger.admit(connection.base_url, config.model, facts.priced, session_spent, settings)
        if note:
            notes.append(note)
        worst = usage.call_usage(facts, prompt_count * (2 if probe else 1), request.max_new_tokens + probe,
                                 "counted", counter.label).cost
        if facts.priced:
            hold = ledger.reserve(worst or 0.0, settings, session_spent)
    view = conversation.request_view(config.kind.value, connection.base_url, kwargs, connection.key_source)
    snippet = code(api, connection.base_url, kwargs)
    run = _Run(connection.base_url, notes=notes)
    tokens = tokens if tokens is not None else ServerTokens()

    def update(finished: bool, cost: float | None = None) -> RemoteUpdate:
        return RemoteUpdate(
            text=run.text, steps=list(run.steps), prompt_ids=[p.id for p in run.prompt or [] if p.id >= 0],
            finished=finished, stop_reason=FINISH.get(run.finish or "", run.finish) if finished else None,
            stats=_stats(run, config, request, prompt_count), notes=list(run.notes), server=run.server,
            tokens=tokens, prompt=run.prompt, logprobs=run.saw_logprobs or not run.steps and not run.text,
            request=view, code=snippet, cost_usd=cost, operator_key=connection.operator_key)

    client = openai_client(connection, settings, timeout=settings.chat_timeout_s, max_retries=1)
    # The reservation is held from before the first yield to the end: any way out (an error, the
    # reader closing this generator) gives it back unless the call was settled.
    # runtime.waiting: the server does the work; this thread needs no core meanwhile
    with hold as reservation, runtime.waiting(), \
            translating(connection, config.model, settings.chat_timeout_s, BROKEN_HINT) as state:
        try:
            if probe:
                run.prompt = _probe_prompt(client, kwargs, run, tokens, prompt_count)
            run.started = time.perf_counter()  # time to first token counts from the generating call
            stream = _open(client, api, kwargs, run)
            state["answering"] = True
            yield update(False)
            with stream:
                for chunk in stream:
                    if stop is not None and stop.is_set():
                        run.finish = "stopped"
                        break
                    if _read_chunk(chunk, api, request, run, tokens):
                        yield update(False)
        finally:
            client.close()
        if run.finish is None:
            raise BackendError(f"{run.server} closed the stream without finishing the answer (no finish_reason): "
                               "generate again.")
        if not run.saw_logprobs and run.steps == [] and "logprobs" not in " ".join(run.notes):
            run.notes.append(f"{run.server} sent no logprobs for {config.model!r}: the text streamed, but there "
                             "are no probabilities or top-5 to show. Servers with logprobs: OpenAI (chat "
                             "models), vLLM, SGLang, llama.cpp server, recent Ollama and LM Studio.")
        prompt_used, completion = run.usage or (prompt_count, len(run.steps) or counter.text_tokens(run.text))
        if run.usage is None:
            run.notes.append(f"No usage from {run.server}: tokens counted with {counter.label}.")
        cost = usage.call_usage(facts, prompt_used, completion, "api" if run.usage else "counted",
                                None if run.usage else counter.label).cost
        if run.probe_usage is not None and cost is not None:  # the prompt-token call read the prompt once more
            cost += usage.call_usage(facts, *run.probe_usage, "api", None).cost or 0.0
        if reservation is not None:
            reservation.settle(cost or 0.0)
        elif connection.operator_key and cost:
            ledger.add(cost)
        yield update(True, cost)


BROKEN_HINT = "Generate again: everything else in this session is as it was."


def _without(create: Callable[[dict[str, Any]], Any], kwargs: dict[str, Any], run: _Run) -> Any:
    """Call `create`; a 400 about a feature this server lacks is retried without it, with a note."""
    import openai

    lacking = {"stream_options": None, "echo": "the prompt's tokens (echo)", "top_logprobs": "logprobs",
               "logprobs": "logprobs (probabilities and top-5 per token)"}
    while True:
        try:
            return create(kwargs)
        except openai.BadRequestError as exc:
            said = server_message(exc).lower()
            name = next((n for n in lacking if n in said and n in kwargs), None)
            if name is None:
                raise
            what = lacking[name]
            if name in {"logprobs", "top_logprobs"}:
                kwargs.pop("top_logprobs", None)
                kwargs.pop("logprobs", None)
            else:
                kwargs.pop(name)
            if what:
                run.notes.append(f"{run.server} does not offer {what} for {kwargs['model']!r}: it refused them "
                                 "(400), so they were left out; the text still streams.")


def _open(client: Any, api: str, kwargs: dict[str, Any], run: _Run) -> Any:
    endpoint = client.chat.completions if api == "chat" else client.completions
    sent = dict(kwargs)
    stream = _without(lambda k: endpoint.create(**k), sent, run)
    run.echo = bool(sent.get("echo"))
    return stream


def _probe_prompt(client: Any, kwargs: dict[str, Any], run: _Run, tokens: ServerTokens,
                  counted_prompt: int) -> list[PromptToken] | None:
    """The prompt's tokens from vLLM's `prompt_logprobs` (not offered on a stream): one token, no stream."""
    import openai

    probe = {k: v for k, v in kwargs.items() if k not in {"stream", "stream_options", "logprobs", "top_logprobs",
                                                         "max_tokens", "max_completion_tokens"}}
    probe["max_tokens"] = 1
    probe["extra_body"] = {**kwargs.get("extra_body", {}), "prompt_logprobs": TOP, "return_token_ids": True}
    try:
        response = client.chat.completions.create(**probe)
    except openai.BadRequestError as exc:
        said = " ".join(server_message(exc, strict=True).split())[:160]
        run.notes.append(f"{run.server} does not offer the prompt's tokens (vLLM's prompt_logprobs): it refused "
                         f"them (400{': ' + said if said else ''}).")
        return None
    run.probe_usage = ((response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage is not None
                       else (counted_prompt, 1))
    extra = response.model_extra or {}
    found = extra.get("prompt_logprobs")
    if not found:
        run.notes.append(f"{run.server} sent no prompt tokens (vLLM's prompt_logprobs): only the answer's "
                         "tokens are shown.")
        return None
    return vllm_prompt_tokens(found, extra.get("prompt_token_ids"), tokens)


def _read_chunk(chunk: Any, api: str, request: GenerationRequest, run: _Run, tokens: ServerTokens) -> bool:
    """Take one streamed chunk into `run`; whether anything visible changed."""
    changed = False
    if chunk.usage is not None:
        run.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
    for choice in chunk.choices or []:
        now = time.perf_counter()
        if api == "chat":
            piece = (choice.delta.content or "") if choice.delta is not None else ""
            content = choice.logprobs.content if choice.logprobs is not None else None
            steps = chat_steps(content, tokens)
        else:
            prompt_text = request.prompt or ""
            run.raw += choice.text or ""
            # Only a server that really echoed the prompt has prompt tokens in front (some ignore `echo`).
            echoed = run.echo and (run.raw.startswith(prompt_text) or prompt_text.startswith(run.raw))
            prompt, steps = completion_steps(choice.logprobs, tokens, len(prompt_text) if echoed else None)
            if prompt:
                run.prompt = (run.prompt or []) + prompt
                changed = True
            text = run.raw[len(prompt_text):] if echoed else run.raw
            piece = text[len(run.text):]
        if steps:
            run.saw_logprobs = True
            run.steps += steps
        if piece or steps:
            run.first_at = run.first_at or now
            run.last_at = now
            run.text += piece
            changed = True
        if choice.finish_reason:
            run.finish = choice.finish_reason
    return changed


def _stats(run: _Run, config: BackendConfig, request: GenerationRequest, prompt_count: int) -> dict[str, Any]:
    n = len(run.steps) if run.steps else (run.usage[1] if run.usage else None)
    ttft = run.first_at - run.started if run.first_at else None
    rate = None
    if n and n > 1 and run.first_at and run.last_at and run.last_at > run.first_at:
        rate = (n - 1) / (run.last_at - run.first_at)
    return {
        "prompt_tokens": run.usage[0] if run.usage else (len(run.prompt) if run.prompt else prompt_count),
        "new_tokens": n or 0, "ttft_s": ttft, "tokens_per_s": rate,
        "total_s": (run.last_at - run.started) if run.last_at else None,
        "device": urlparse(run.server).netloc, "dtype": None, "model_memory_mb": None, "context_length": None,
        "max_new_tokens": request.max_new_tokens, "model": config.model, "backend": config.kind.value,
    }
