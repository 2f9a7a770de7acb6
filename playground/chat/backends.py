"""One chat interface, three backends: OpenAI, any OpenAI-compatible server, the local model.

Every backend takes the same `messages` list and yields the same `StreamEvent`s, so the tab
never branches on the backend. Where the key and base URL come from, in order: typed in the
UI for this session → the operator's `OPENAI_API_KEY` / `OPENAI_BASE_URL` (environment or
`.env`) → OpenAI's public URL. The operator's key is only ever sent to the operator's base URL,
never to a URL a visitor typed.

Keys: a client holding a key is built for one call and dropped; nothing here keeps a key in a
module variable, logs it or puts it in a message or a `repr`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlparse

from playground.chat.errors import BackendError, NoApiKey
from playground.errors import InvalidInput, NotAllowed, UnknownName
from playground.generation.catalogue import DEFAULT_MODEL as DEFAULT_LOCAL_MODEL
from playground.generation.catalogue import MODELS as LOCAL_MODELS
from playground.settings import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Sent as the key to servers that need none (Ollama, llama.cpp, vLLM without --api-key):
# the openai client refuses an empty key.
NO_KEY = "no-key"
MAX_KEY_CHARS = 512
MAX_URL_CHARS = 512


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


@dataclass(frozen=True)
class Connection:
    """Where a remote call goes and with which key (the key never in the repr)."""

    base_url: str
    api_key: str = field(repr=False)
    key_source: str  # "typed", "server" (the operator's), "none"

    @property
    def operator_key(self) -> bool:
        return self.key_source == "server"


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


def check_base_url(url: str) -> str:
    url = normalize_url(url)
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"The base URL is longer than {MAX_URL_CHARS} characters.")
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise InvalidInput(f"{url!r} is not a base URL: type one like http://localhost:11434/v1 or "
                           "https://my-vllm.example.org/v1.")
    if parsed.username or parsed.password:
        raise InvalidInput("Put the key in the 'API key' box, not in the base URL.")
    return url


def check_key(key: str) -> str:
    # Header values cannot hold spaces or control characters; say so without ever echoing the key.
    if len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise InvalidInput("The API key has spaces, line breaks or unusual characters in it: paste it again.")
    return key


def resolve_connection(config: BackendConfig, settings: Settings) -> Connection:
    """The base URL and key for a remote call (see the module docstring for the order)."""
    operator_url = normalize_url(settings.openai_base_url or OPENAI_BASE_URL)
    if config.base_url:
        base_url = check_base_url(config.base_url)
        if base_url != operator_url and not settings.allow_custom_base_url:
            raise NotAllowed("This server only sends chat requests to its own backend; typed base URLs are off "
                             "here (PLAYGROUND_ALLOW_CUSTOM_BASE_URL). Leave the base URL empty, or run the "
                             "playground yourself to use another server.")
    elif config.kind is BackendKind.OPENAI or settings.openai_base_url:
        base_url = operator_url
    else:
        raise InvalidInput("Type the server's base URL, e.g. http://localhost:11434/v1 (Ollama), "
                           "http://localhost:8000/v1 (vLLM) or http://localhost:1234/v1 (LM Studio).")
    if config.api_key:
        return Connection(base_url, check_key(config.api_key), "typed")
    if settings.openai_api_key and base_url == operator_url:
        return Connection(base_url, settings.openai_api_key, "server")
    if config.kind is BackendKind.OPENAI:
        raise NoApiKey(base_url)
    return Connection(base_url, NO_KEY, "none")


@dataclass(frozen=True)
class ChatParams:
    max_tokens: int
    temperature: float


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

def stream_remote(config: BackendConfig, connection: Connection, messages: list[dict], params: ChatParams,
                  settings: Settings, stop: threading.Event | None = None) -> Iterator[StreamEvent]:
    """Stream one chat completion through the official openai client."""
    import openai

    # Built per call, never shared: it holds this visitor's key. Short explicit timeout, one retry.
    client = openai.OpenAI(api_key=connection.api_key, base_url=connection.base_url,
                           timeout=settings.chat_timeout_s, max_retries=1)
    kwargs = request_kwargs(config, messages, params)
    answering = False
    try:
        try:
            stream = client.chat.completions.create(**kwargs)
        except openai.BadRequestError as exc:
            if "stream_options" not in _server_message(exc):
                raise
            # Older compatible servers reject stream_options; usage is then counted instead.
            kwargs.pop("stream_options")
            stream = client.chat.completions.create(**kwargs)
        answering = True  # from here on, a broken connection broke an answer, not a connect
        with stream:
            yield from _events(stream, stop)
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        if not answering:
            raise translate_error(exc, connection, config.model, settings.chat_timeout_s) from None
        raise _broken(connection) from None
    except openai.APIError as exc:
        raise translate_error(exc, connection, config.model, settings.chat_timeout_s) from None
    except Exception as exc:  # noqa: BLE001 - transport errors while reading the stream
        if type(exc).__module__.split(".")[0] not in {"httpx", "httpx2", "httpcore", "h11"}:
            raise
        raise _broken(connection) from None
    finally:
        client.close()


def _broken(connection: Connection) -> BackendError:
    return BackendError(f"The connection to {connection.base_url} broke in the middle of the answer. Nothing was "
                        "added to the conversation: send again.")


def request_kwargs(config: BackendConfig, messages: list[dict], params: ChatParams) -> dict:
    """The arguments of `chat.completions.create` (also shown in the request view and as code)."""
    kwargs: dict = {"model": config.model, "messages": messages}
    # OpenAI's newer models refuse `max_tokens`; compatible servers do not all know the new name.
    token_arg = "max_completion_tokens" if config.kind is BackendKind.OPENAI else "max_tokens"
    kwargs[token_arg] = params.max_tokens
    kwargs["temperature"] = params.temperature
    kwargs["stream"] = True
    kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _events(stream, stop: threading.Event | None) -> Iterator[StreamEvent]:
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


def _server_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    return ""


def redact(text: str, key: str | None) -> str:
    if key and key != NO_KEY and len(key) >= 4:
        text = text.replace(key, "[redacted key]")
    return text


def translate_error(exc, connection: Connection, model: str, timeout_s: float) -> BackendError:
    """An openai exception → a message saying what happened and what to do (never the key)."""
    import openai

    where = connection.base_url
    whose = {"typed": "The key you typed", "server": "The server's own key (OPENAI_API_KEY)",
             "none": "No key was sent, and the server"}[connection.key_source]
    detail = redact(_server_message(exc), connection.api_key)[:300]
    suffix = f" Server said: {detail}" if detail else ""
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"{where} did not answer within {timeout_s:g} s: try again, pick a smaller model or "
                            "lower max_tokens. Nothing was added to the conversation.")
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"Cannot connect to {where}: is the server running, and is the base URL right "
                            "(it usually ends in /v1)? Nothing was added to the conversation.")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.AuthenticationError):
        # Never quote a 401 body: OpenAI's echoes part of the key.
        return BackendError(f"{whose} was rejected by {where} (401 Unauthorized). Check the key, or type another "
                            "in the 'API key' box.", 401)
    if isinstance(exc, openai.PermissionDeniedError):
        return BackendError(f"{whose} is not allowed to use {model!r} at {where} (403 Forbidden): the project or "
                            f"organisation may lack access to this model, or the region is not supported.{suffix}", 403)
    if isinstance(exc, openai.NotFoundError):
        return BackendError(f"Model {model!r} was not found at {where} (404). Check the model name (the server's "
                            f"/v1/models lists what it serves) and the base URL.{suffix}", 404)
    if isinstance(exc, openai.RateLimitError):
        return BackendError(f"Rate limit or quota reached at {where} (429). Wait a little and retry; if it persists, "
                            f"the account's quota or billing needs attention.{suffix}", 429)
    if isinstance(exc, openai.BadRequestError):
        return BackendError(f"{where} refused the request (400).{suffix or ' Check the model name and settings.'}",
                            400)
    if isinstance(exc, openai.InternalServerError) or (status is not None and status >= 500):
        return BackendError(f"{where} had an internal error ({status}). It is on their side: retry in a moment."
                            f"{suffix}", status)
    if status is not None:
        return BackendError(f"{where} answered with an error ({status}).{suffix}", status)
    return BackendError(f"The call to {where} failed ({type(exc).__name__}): retry.")


# ---------------------------------------------------------------- local (the Generation tab's engine)

FINISH_REASONS = {"eos": "stop", "max_new_tokens": "length", "stopped": "stopped"}


def local_request(config: BackendConfig, messages: list[dict], params: ChatParams, settings: Settings):
    from playground.generation.engine import GenerationRequest

    if params.max_tokens > settings.max_new_tokens:
        raise InvalidInput(f"max_tokens is {params.max_tokens:,}; the local model's limit on this server is "
                           f"{settings.max_new_tokens:,} (PLAYGROUND_MAX_NEW_TOKENS).")
    return GenerationRequest(
        model_id=config.model, messages=messages, max_new_tokens=params.max_tokens,
        do_sample=params.temperature > 0, temperature=max(params.temperature, 1e-3), seed=0,
    )


def stream_local(config: BackendConfig, messages: list[dict], params: ChatParams, settings: Settings,
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
