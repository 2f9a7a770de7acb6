"""Where a remote call goes and with which key.

Order: a base URL / key typed in the UI for this session → the operator's `OPENAI_BASE_URL` /
`OPENAI_API_KEY` (flag, environment or `.env`) → OpenAI's public URL. The operator's key is only
ever sent to the operator's base URL, never to a URL a visitor typed. A `Connection` holding a
key is built for one call and dropped; the key is never in its `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from playground.errors import InvalidInput, NotAllowed
from playground.remote.errors import NO_KEY, NoApiKey
from playground.settings import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_KEY_CHARS = 512
MAX_URL_CHARS = 512
URL_EXAMPLES = ("http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM) or "
                "http://localhost:1234/v1 (LM Studio)")


@dataclass(frozen=True)
class Connection:
    """Where a remote call goes and with which key (the key never in the repr)."""

    base_url: str
    api_key: str = field(repr=False)
    key_source: str  # "typed", "server" (the operator's), "none"
    typed_url: bool = False  # the visitor's own base URL, not the operator's: untrusted

    @property
    def operator_key(self) -> bool:
        return self.key_source == "server"


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


def operator_url(settings: Settings) -> str:
    return normalize_url(settings.openai_base_url or OPENAI_BASE_URL)


def check_base_url(url: str) -> str:
    url = normalize_url(url)
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"The base URL is longer than {MAX_URL_CHARS} characters.")
    try:
        parsed = urlparse(url)
        host, _port = parsed.hostname, parsed.port  # .port raises on a port that is not a number
    except ValueError:
        host = None
    if parsed.scheme not in {"http", "https"} or not host or not url.isprintable() or " " in url:
        raise InvalidInput(f"{url[:80]!r} is not a base URL: type one like http://localhost:11434/v1 or "
                           "https://my-vllm.example.org/v1.")
    if parsed.username or parsed.password:
        raise InvalidInput("Put the key in the 'API key' box, not in the base URL.")
    return url


def check_key(key: str) -> str:
    # Header values cannot hold spaces or control characters; say so without ever echoing the key.
    if len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise InvalidInput("The API key has spaces, line breaks or unusual characters in it: paste it again.")
    return key


def resolve_connection(typed_url: str | None, typed_key: str | None, settings: Settings, *,
                       openai_default: bool, needs_key: bool) -> Connection:
    """The base URL and key of one call (see the module docstring for the order).

    `openai_default`: with no URL typed and no operator URL, call OpenAI (else ask for a URL).
    `needs_key`: with no key at all, refuse (`NoApiKey`) instead of sending none."""
    own = operator_url(settings)
    typed_url = (typed_url or "").strip() or None
    typed_key = (typed_key or "").strip() or None
    if typed_url:
        base_url = check_base_url(typed_url)
        if base_url != own and not settings.allow_custom_base_url:
            raise NotAllowed("This server only sends requests to its own backend; typed base URLs are off "
                             "here (--allow-custom-base-url). Leave the base URL empty, or run the "
                             "playground yourself to use another server.")
    elif openai_default or settings.openai_base_url:
        base_url = own
    else:
        raise InvalidInput(f"Type the server's base URL, e.g. {URL_EXAMPLES}.")
    typed = base_url != own
    if typed_key:
        return Connection(base_url, check_key(typed_key), "typed", typed)
    if settings.openai_api_key and not typed:
        return Connection(base_url, settings.openai_api_key, "server", typed)
    if needs_key:
        raise NoApiKey(base_url)
    return Connection(base_url, NO_KEY, "none", typed)
