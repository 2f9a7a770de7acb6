"""One chat turn, streamed: build the messages, fit the context, call the backend, account.

`run_turn` is what the tab and the `/chat` endpoint share. It never changes the history it is
given: the caller appends the turn only when the last update (with its `result`) arrives, so a
failed call leaves the conversation exactly as it was.

Spend caps protect the operator's key (`OPENAI_API_KEY` on the server): a per-session cap (the
caller passes what this session has spent) and a process-wide total, both in
`playground.remote.spend`: a call's worst case is reserved before it starts and settled to its
real cost when it finishes, or given back on every other way out (errors, a client that leaves).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from playground.chat import backends, conversation, usage
from playground.chat.backends import BackendConfig, BackendKind, ChatParams
from playground.chat.conversation import JSONDict, Message, PromptCounter
from playground.chat.errors import ChatError
from playground.errors import InputTooLarge, InvalidInput
from playground.remote.spend import OPERATOR_SPEND, Hold, SpendLedger
from playground.settings import Settings

MAX_REMOTE_TOKENS = 16_384


@dataclass(frozen=True)
class TurnOptions:
    system_prompt: str = conversation.DEFAULT_SYSTEM_PROMPT
    resend_history: bool = True
    max_tokens: int = 256
    temperature: float = 0.7
    seed: int | None = None  # local model: same seed, same sample; None: fresh samples on every call
    drop_oldest: bool = False


@dataclass(frozen=True)
class TurnResult:
    message: str  # the user's message
    reply: str
    finish_reason: str
    messages_sent: list[Message]
    request: JSONDict  # key-free view of the request
    code: str  # copy as code
    usage: usage.CallUsage
    dropped: int  # history messages dropped to fit the context
    operator_key: bool  # paid with the server's key (counts toward the caps)
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> JSONDict:
        return {
            "reply": self.reply, "finish_reason": self.finish_reason, "messages_sent": self.messages_sent,
            "usage": self.usage.as_dict(), "dropped_messages": self.dropped, "seconds": round(self.seconds, 3),
            "request": self.request, "notes": self.notes,
        }


@dataclass(frozen=True)
class TurnUpdate:
    reply: str  # the answer so far
    messages_sent: list[Message]
    result: TurnResult | None = None  # set on the last update only


def check_options(options: TurnOptions, kind: BackendKind, settings: Settings) -> None:
    limit = settings.max_new_tokens if kind is BackendKind.LOCAL else MAX_REMOTE_TOKENS
    if not 1 <= options.max_tokens <= limit:
        raise InvalidInput(f"max_tokens must be between 1 and {limit:,} here (it is {options.max_tokens:,}).")
    if not 0.0 <= options.temperature <= 2.0:
        raise InvalidInput(f"temperature must be between 0 and 2 (it is {options.temperature}).")
    if options.seed is not None and not 0 <= options.seed < 2**32:
        raise InvalidInput(f"seed must be a whole number from 0 to {2**32 - 1:,} (it is {options.seed}).")
    if len(options.system_prompt) > settings.max_input_chars:
        raise InputTooLarge("The system prompt", len(options.system_prompt), settings.max_input_chars)


def run_turn(history: list[Message], message: str, options: TurnOptions, config: BackendConfig, settings: Settings,
             *, session_spent: float = 0.0, ledger: SpendLedger = OPERATOR_SPEND,
             stop: threading.Event | None = None) -> Iterator[TurnUpdate]:
    """Stream one turn; the last update carries the `TurnResult`. Raises `PlaygroundError`s."""
    if not message.strip():
        raise InvalidInput("The message is empty.")
    if len(message) > settings.max_input_chars:
        raise InputTooLarge("The message", len(message), settings.max_input_chars)
    check_options(options, config.kind, settings)
    history = conversation.check_history(history, settings)
    system, history = conversation.split_system(history)
    system_prompt = options.system_prompt if options.system_prompt.strip() or system is None else system
    sent = conversation.messages_to_send(system_prompt, history, message, options.resend_history)
    params = ChatParams(options.max_tokens, options.temperature, options.seed)
    notes: list[str] = []

    if config.kind is BackendKind.LOCAL:
        facts = usage.local_facts(config.model, settings)
        counted_with = f"{config.model}'s own tokenizer and chat template"
        count = _local_counter(config, params, settings)
        connection = None
    else:
        connection = backends.resolve_connection(config, settings)
        facts = usage.remote_facts(config.model, settings)
        counter = usage.counter_for(config.model, settings)
        counted_with, count = counter.label, counter.prompt_tokens
        if connection.operator_key:
            note = ledger.admit(connection.base_url, config.model, facts.priced, session_spent, settings)
            if note:
                notes.append(note)

    fitted = conversation.fit_to_context(sent, count, facts.context_window, options.max_tokens,
                                         options.drop_oldest, model=config.model, counted_with=counted_with)
    sent = fitted.messages
    if fitted.dropped:
        notes.append(f"Dropped the {fitted.dropped} oldest messages so the conversation fits the "
                     f"{facts.context_window:,}-token context window.")

    operator = connection is not None and connection.operator_key
    hold: AbstractContextManager[Hold | None] = nullcontext(None)
    if operator and facts.priced:
        worst = usage.call_usage(facts, fitted.prompt_tokens, options.max_tokens, "counted", counted_with).cost
        hold = ledger.reserve(worst or 0.0, settings, session_spent)

    if connection is None:
        kwargs = {"model": config.model, "messages": sent, "max_tokens": params.max_tokens,
                  "temperature": params.temperature, **({"seed": params.seed} if params.seed is not None else {})}
        events = backends.stream_local(config, sent, params, settings, stop)
        base_url, key_source = None, "none"
    else:
        kwargs = backends.request_kwargs(config, sent, params)
        events = backends.stream_remote(config, connection, sent, params, settings, stop)
        base_url, key_source = connection.base_url, connection.key_source
    request = conversation.request_view(config.kind.value, base_url, kwargs, key_source)
    code = conversation.copy_as_code(config.kind.value, base_url, kwargs)

    started = time.perf_counter()
    reply = ""
    # The reservation is held from before the first yield to the end: any way out (an error, the
    # caller closing this generator) gives it back unless the call was settled.
    with hold as reservation:
        yield TurnUpdate(reply, sent)
        for event in events:
            if event.delta:
                reply += event.delta
                yield TurnUpdate(reply, sent)
            if not event.done:
                continue
            if event.full_text is not None:
                reply = event.full_text
            if event.prompt_tokens is not None and event.completion_tokens is not None:
                source = "api" if event.usage_from == "api" else "counted"
                prompt, completion = event.prompt_tokens, event.completion_tokens
                with_ = None if source == "api" else counted_with
            else:  # the server sent no usage: count it ourselves, and say so
                source, with_ = "counted", counted_with
                prompt = fitted.prompt_tokens
                completion = counter.text_tokens(reply) if connection is not None else 0
            call = usage.call_usage(facts, prompt, completion, source, with_)
            if reservation is not None:
                reservation.settle(call.cost or 0.0)
            elif operator and call.cost:
                ledger.add(call.cost)
            result = TurnResult(message, reply, event.finish_reason or "stop", sent, request, code, call,
                                fitted.dropped, operator, time.perf_counter() - started, notes)
            yield TurnUpdate(reply, sent, result)
            return


def _local_counter(config: BackendConfig, params: ChatParams, settings: Settings) -> PromptCounter:
    """Count a prompt exactly as the local model will see it: its chat template, its tokenizer.

    The engine's own `render_prompt` refuses a prompt longer than the context, and here we need
    the number itself (to say how far over it is, and to drop turns until it fits).
    """
    from playground.generation import engine, models

    tokenizer = models.load_tokenizer(engine.resolve(config.model, settings), settings)

    def count(messages: list[Message]) -> int:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def drain(updates: Iterator[TurnUpdate]) -> TurnResult:
    """Run a turn to the end (for callers that do not stream)."""
    for update in updates:
        if update.result is not None:
            return update.result
    raise ChatError("The turn ended without an answer.")
