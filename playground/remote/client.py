"""The official openai client for one remote call, with the shared server's rules built in.

Built per call and closed after: it holds a key (the visitor's or the operator's), so it is
never cached or kept in a module variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.remote.addresses import GuardedBackend
from playground.remote.connection import Connection
from playground.settings import Settings

if TYPE_CHECKING:  # imported when a call is made: openai takes a while to import
    import httpx2
    import openai


def guarded(connection: Connection, settings: Settings) -> bool:
    """Whether this call's addresses are checked: a visitor's own URL on an exposed app.
    The operator's base URL is trusted (it may well be a server on this machine)."""
    return connection.typed_url and settings.is_exposed


def openai_client(connection: Connection, settings: Settings, *, timeout: float | None = None,
                  max_retries: int = 1) -> openai.OpenAI:
    """`openai.OpenAI` for `connection` (see the package docstring); close it when done."""
    import openai

    kwargs: dict[str, Any] = {}  # the client's optional arguments, set only when they apply
    if connection.typed_url:
        # The operator's organisation and project ids (OPENAI_ORG_ID / OPENAI_PROJECT_ID, read by the
        # client from the environment) are the operator's business: never sent to a visitor's server.
        kwargs["default_headers"] = {"OpenAI-Organization": openai.Omit(), "OpenAI-Project": openai.Omit()}
    if guarded(connection, settings):
        kwargs["http_client"] = guarded_http_client(settings.allow_private_base_urls)
    return openai.OpenAI(api_key=connection.api_key, base_url=connection.base_url,
                         timeout=settings.chat_timeout_s if timeout is None else timeout,
                         max_retries=max_retries, **kwargs)


def guarded_http_client(allow_private: bool) -> httpx2.Client:
    """The openai client's own httpx defaults, over a transport that checks every address it connects to.

    `trust_env=False`: an HTTP(S)_PROXY from the environment would make the proxy the address
    checked, and the proxy would then reach the visitor's target unchecked."""
    import httpcore2
    import httpx2
    import openai

    class GuardedTransport(httpx2.HTTPTransport):
        def __init__(self) -> None:
            super().__init__(trust_env=False)
            # httpx2 exposes no network-backend option; its pool (httpcore2's public API) does.
            self._pool = httpcore2.ConnectionPool(ssl_context=httpx2.create_ssl_context(trust_env=False),
                                                  network_backend=GuardedBackend(allow_private))

    return openai.DefaultHttpxClient(transport=GuardedTransport(), trust_env=False)
