"""The `messages` list: what is sent on each call, fitting it into the context, export, code.

The history holds user and assistant turns; the system prompt is kept apart and put first on
every call. With "resend history" off, a call carries only the system prompt and the latest
user message: the model then knows nothing of the earlier turns, which is the lesson.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from playground.errors import InputTooLarge, InvalidInput
from playground.settings import Settings

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."
MAX_MESSAGES = 400
ROLES = ("system", "user", "assistant")

# One chat message, {"role": "system" | "user" | "assistant", "content": "<text>"}, as the
# openai client, chat templates and the Generation tab's engine all take it.
Message = dict[str, str]
# The request view, the request arguments and exports: JSON-ready values.
JSONDict = dict[str, object]


class PromptCounter(Protocol):
    """Counts the tokens of a prompt (a whole messages list), as the model will see it."""

    def __call__(self, messages: list[Message], /) -> int: ...


def check_history(messages: Sequence[object], settings: Settings) -> list[Message]:
    """Validate a history from the UI or the API: a list of {"role", "content"} with plain text."""
    if not isinstance(messages, (list, tuple)):
        raise InvalidInput('The conversation must be a list of {"role": …, "content": …} messages.')
    if len(messages) > MAX_MESSAGES:
        raise InputTooLarge("The conversation", len(messages), MAX_MESSAGES, "messages")
    clean: list[Message] = []
    total = 0
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) \
                or message.get("role") not in ROLES:
            raise InvalidInput(f'Message {i} is not {{"role": "system"|"user"|"assistant", "content": "<text>"}}.')
        total += len(message["content"])
        clean.append({"role": message["role"], "content": message["content"]})
    if total > settings.max_input_chars:
        raise InputTooLarge("The conversation", total, settings.max_input_chars)
    return clean


def split_system(messages: list[Message]) -> tuple[str | None, list[Message]]:
    """A leading system message (from an API caller's history) and the turns after it."""
    if messages and messages[0]["role"] == "system":
        return messages[0]["content"], messages[1:]
    return None, messages


def messages_to_send(system_prompt: str, history: list[Message], message: str, resend_history: bool) -> list[Message]:
    sent: list[Message] = []
    if system_prompt.strip():
        sent.append({"role": "system", "content": system_prompt})
    if resend_history:
        sent.extend({"role": m["role"], "content": m["content"]} for m in history if m["role"] != "system")
    sent.append({"role": "user", "content": message})
    return sent


@dataclass(frozen=True)
class Fitted:
    messages: list[Message]
    prompt_tokens: int  # estimate before the call
    dropped: int  # messages dropped from the front of the history


def fit_to_context(messages: list[Message], count: PromptCounter, window: int | None, max_tokens: int, drop_oldest: bool,
                   *, model: str, counted_with: str) -> Fitted:
    """Check that prompt + max_tokens fits the window; optionally drop the oldest turns until it does.

    `count(messages) -> int` counts a prompt. The system prompt and the latest user message are
    never dropped; turns go oldest first, a user message with the answer that followed it.
    """
    from playground.chat.errors import ContextOverflow

    tokens = count(messages)
    if window is None or tokens + max_tokens <= window:
        return Fitted(messages, tokens, 0)
    if not drop_oldest:
        raise ContextOverflow(tokens, max_tokens, window, model, counted_with)
    head = messages[:1] if messages and messages[0]["role"] == "system" else []
    body, last = messages[len(head):-1], messages[-1:]
    dropped = 0
    while body:
        # Drop one whole turn: the first message and any non-user messages up to the next user message.
        cut = 1
        while cut < len(body) and body[cut]["role"] != "user":
            cut += 1
        body, dropped = body[cut:], dropped + cut
        candidate = head + body + last
        tokens = count(candidate)
        if tokens + max_tokens <= window:
            return Fitted(candidate, tokens, dropped)
    raise ContextOverflow(tokens, max_tokens, window, model, counted_with)


def request_view(kind: str, base_url: str | None, kwargs: JSONDict, key_source: str) -> JSONDict:
    """The last request as shown in the page and exported: everything but the key."""
    view: JSONDict = {"backend": kind}
    if base_url:
        view["base_url"] = base_url
        view["api_key"] = {"typed": "[redacted: the key typed in this session]",
                           "server": "[redacted: the server's OPENAI_API_KEY]",
                           "none": "[none sent]"}.get(key_source, "[redacted]")
    view.update(kwargs)
    return view


def copy_as_code(kind: str, base_url: str | None, kwargs: JSONDict) -> str:
    """Python that reproduces the last request with openai-python (the key read from the environment)."""
    args = {k: v for k, v in kwargs.items() if k not in {"stream", "stream_options"}}
    body = ",\n".join(f"    {k}={_py(v)}" for k, v in args.items())
    if kind == "local":
        return (
            "# The local model is not behind an HTTP server here. Serve it with any OpenAI-compatible server,\n"
            f"# e.g. `vllm serve {args.get('model')}`, and this call reproduces the request:\n"
            "from openai import OpenAI\n\n"
            'client = OpenAI(base_url="http://localhost:8000/v1", api_key="no-key")\n'
            f"response = client.chat.completions.create(\n{body},\n)\n"
            "print(response.choices[0].message.content, response.choices[0].finish_reason)\n"
            "print(response.usage)\n"
        )
    url_arg = "" if base_url in (None, "https://api.openai.com/v1") else f", base_url={base_url!r}"
    return (
        "import os\n\nfrom openai import OpenAI\n\n"
        f'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"]{url_arg})\n'
        f"response = client.chat.completions.create(\n{body},\n)\n"
        "print(response.choices[0].message.content, response.choices[0].finish_reason)\n"
        "print(response.usage)\n"
    )


def _py(value: object) -> str:
    if isinstance(value, list):
        inner = ",\n".join(f"        {json.dumps(v, ensure_ascii=False)}" for v in value)
        return f"[\n{inner},\n    ]" if value else "[]"
    return repr(value)
