"""Errors of remote calls: each says what happened and what to do next, never the key.

`translate_error` turns an exception of the official openai client into one of these. What a
visitor-typed server said is quoted only as its status code and the `error.message` of an
OpenAI-shaped body, so a server aimed at something private cannot read it back through the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from playground.errors import NotAllowed, PlaygroundError

# Sent as the key to servers that need none (Ollama, llama.cpp, vLLM without --api-key):
# the openai client refuses an empty key. Here because `redact` must never treat it as a secret.
NO_KEY = "no-key"

MAX_QUOTED_CHARS = 200
TRANSPORT_MODULES = {"httpx", "httpx2", "httpcore", "httpcore2", "h11"}  # errors of a stream read mid-answer


class Endpoint(Protocol):
    """What an error message may say about a call's target: a `connection.Connection` (not imported
    here, since `connection` raises these errors)."""

    @property
    def base_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def key_source(self) -> str: ...
    @property
    def typed_url(self) -> bool: ...


class RemoteError(PlaygroundError):
    """Base class for failures of a call to a remote server."""


class BackendError(RemoteError):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NoApiKey(RemoteError):
    def __init__(self, base_url: str):
        super().__init__(
            f"No API key for {base_url}. Type one in the 'API key' box (it is kept for this browser session "
            "only), or have the server's operator set OPENAI_API_KEY in the environment or the .env file. "
            "The 'Local model' backend needs no key and no network."
        )


class SpendCapReached(RemoteError):
    def __init__(self, scope: str, spent: float, cap: float):
        super().__init__(
            f"The spend cap for the server's own API key is reached ({scope}: ${spent:.4f} of ${cap:.2f}). "
            "Type your own API key to go on, or use the 'Local model' backend, which is free."
        )


class UnpricedModel(RemoteError):
    """The operator's key was asked to pay for an OpenAI model the spend cap cannot price."""

    def __init__(self, model: str):
        super().__init__(f"The server's own key only pays for models with a listed price, so the spend cap can count "
                         f"them, and {model!r} has none. Pick another model, or type your own key.")


class BlockedAddress(NotAllowed):
    """A visitor-typed base URL leads to an address a shared server must not call."""

    def __init__(self, host: str, reason: str):
        super().__init__(
            f"This shared server does not call {host!r}: it leads to a {reason} address. Base URLs typed here must "
            "be public servers on the internet. Run the playground on your own machine to use a local or LAN "
            "server (or, as the operator, start it with --allow-private-base-urls for a LAN server)."
        )


def server_message(exc: object, *, strict: bool = False) -> str:
    """What the server said: `strict` takes only the `error.message` of an OpenAI-shaped body
    (`{"error": {"message": "..."}}`, read from the raw response); otherwise any message field."""
    if strict:
        response = getattr(exc, "response", None)  # the raw HTTP response, when there was one
        try:
            data: object = response.json() if response is not None else None
        except Exception:  # noqa: BLE001 - not JSON: nothing to quote
            return ""
        inner = data.get("error") if isinstance(data, dict) else None
        message = inner.get("message") if isinstance(inner, dict) else None
        return message if isinstance(message, str) else ""
    body = getattr(exc, "body", None)  # the openai client already unwrapped "error" here
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def redact(text: str, key: str | None) -> str:
    if key and key != NO_KEY and len(key) >= 4:
        text = text.replace(key, "[redacted key]")
    return text


def translate_error(exc: Exception, connection: Endpoint, model: str, timeout_s: float) -> BackendError:
    """An openai exception → a message saying what happened and what to do (never the key)."""
    import openai

    where = connection.base_url
    whose = {"typed": "The key you typed", "server": "The server's own key (OPENAI_API_KEY)",
             "none": "No key was sent, and the server"}[connection.key_source]
    # From a visitor's own server: only an OpenAI-shaped `error.message`, short; nothing else of the body.
    detail = server_message(exc, strict=connection.typed_url)
    detail = redact(" ".join(detail.split()), connection.api_key)[:MAX_QUOTED_CHARS if connection.typed_url else 300]
    suffix = f" Server said: {detail}" if detail else ""
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"{where} did not answer within {timeout_s:g} s: try again, pick a smaller model or "
                            "lower max_tokens.")
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"Cannot connect to {where}: is the server running, and is the base URL right "
                            "(it usually ends in /v1)?")
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


def broken(connection: Endpoint, what_now: str) -> BackendError:
    return BackendError(f"The connection to {connection.base_url} broke in the middle of the answer. {what_now}")


@contextmanager
def translating(connection: Endpoint, model: str, timeout_s: float, what_now: str) -> Iterator[dict[str, bool]]:
    """Around one streamed call: openai and transport errors become `BackendError`s naming the server.
    Before the answer started (set `state["answering"]` once it has), the usual message for the
    error; after, that the stream broke, and `what_now`."""
    import openai

    state = {"answering": False}
    try:
        yield state
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        if not state["answering"]:
            raise translate_error(exc, connection, model, timeout_s) from None
        raise broken(connection, what_now) from None
    except openai.APIError as exc:
        raise translate_error(exc, connection, model, timeout_s) from None
    except Exception as exc:  # noqa: BLE001 - transport errors while reading the stream
        if type(exc).__module__.split(".")[0] not in TRANSPORT_MODULES:
            raise
        raise broken(connection, what_now) from None
