"""Configuration in one place.

Order, most specific first: a value typed in the UI for one session (API key, base URL) →
command-line flag → environment variable → `.env` file → the default below. `Settings` is
frozen: it is shared by every visitor, so nothing per-visitor may ever live in it except the
operator's own key, which is never shown, logged or put in a `repr`.

Exposure: the app is *exposed* when strangers can reach it: on a Hugging Face Space
(`SPACE_ID`), with `--share`, or listening on a host that is not loopback (`--host 0.0.0.0`);
`--exposed` / `--no-exposed` says so explicitly. On an exposed app visitor-typed model and
tokenizer ids and visitor-typed base URLs are off unless the operator turns them on
(`--allow-custom-models`, `--allow-custom-base-url`; both "auto" by default, resolved from
exposure when the settings are built), and a typed base URL may not lead to a loopback,
private, link-local or otherwise non-public address (`--allow-private-base-urls` admits a LAN).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENV_PREFIX = "PLAYGROUND_"


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback literal; anything else (0.0.0.0, a LAN name, "") may be reachable."""
    if host.strip().lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true/false)")


def _parse_optional_bool(value: str) -> bool | None:
    return None if value.strip().lower() in {"auto", ""} else _parse_bool(value)


@dataclass(frozen=True)
class Settings:
    # Serving
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    auth: str | None = field(default=None, repr=False)  # "user:password"
    # None = find out at start-up with one short probe of the Hub.
    offline: bool | None = None
    cache_dir: Path = PROJECT_DIR / ".cache"

    # Limits that protect a shared server
    max_input_chars: int = 200_000
    max_view_tokens: int = 3_000  # chips drawn in the page; stats and downloads cover all
    max_new_tokens: int = 512
    max_corpus_texts: int = 5_000
    max_corpus_text_chars: int = 2_000
    max_file_size: str = "5mb"
    # User-typed hub ids. None ("auto"): on unless the app is exposed (resolved in __post_init__).
    allow_custom_models: bool | None = None
    model_size_budget_gb: float = 4.0
    model_cache_size: int = 2
    generation_concurrency: int = 1
    generation_batch: int = 8  # visitors whose generations share one model's decoding steps
    queue_max_size: int = 64
    inside_max_tokens: int = 128  # Inside the model: attention grows with the square of the length
    lab_max_corpus_bytes: int = 2_000_000  # Tokenizer lab: text one training may read
    lab_max_vocab_size: int = 30_000  # Tokenizer lab: largest vocabulary a visitor may train
    lab_max_trained: int = 6  # Tokenizer lab: trained tokenizers kept per visitor
    sampling_max_branches: int = 12  # runs and branches kept per visitor in the Sampling tab (oldest dropped)

    # Chat
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    allow_custom_base_url: bool | None = None  # visitors may point remote calls elsewhere; None: auto, as above
    allow_private_base_urls: bool = False  # exposed app: typed base URLs may lead to a LAN (never loopback)
    exposed: bool | None = None  # strangers can reach the app; None: a Space, --share or a non-loopback host
    chat_timeout_s: float = 30.0
    spend_cap_session_usd: float = 0.50
    spend_cap_total_usd: float = 10.0

    # Where each field comes from in the environment (besides PLAYGROUND_<NAME>).
    _ALIASES = {
        "port": ("GRADIO_SERVER_PORT",),
        "host": ("GRADIO_SERVER_NAME",),
        "openai_api_key": ("OPENAI_API_KEY",),
        "openai_base_url": ("OPENAI_BASE_URL",),
        "offline": ("HF_HUB_OFFLINE",),
    }

    def __post_init__(self) -> None:
        # "auto" becomes a plain bool once, here, so every reader sees on/off. `replace()` passes the
        # resolved value on: to re-resolve after changing the exposure, pass None again.
        for name in ("allow_custom_models", "allow_custom_base_url"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, not self.is_exposed)

    @property
    def is_exposed(self) -> bool:
        """Strangers can reach this app (see the module docstring)."""
        if self.exposed is not None:
            return self.exposed
        return self.share or not is_loopback_host(self.host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
        """Read `PLAYGROUND_*` (and a few standard names) from the environment and `.env`."""
        return cls(**cls._env_values(environ, dotenv_path))

    @classmethod
    def _env_values(cls, environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> dict[str, Any]:
        """Field name → value, each already converted to its field's type by `_convert`."""
        env = dict(_read_dotenv(dotenv_path or PROJECT_DIR / ".env"))
        env.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        if env.get("SPACE_ID"):
            # On a Hugging Face Space the app must listen on all interfaces, and visitors are strangers.
            values.update(host="0.0.0.0", exposed=True)
        for f in fields(cls):
            names = (ENV_PREFIX + f.name.upper(), *cls._ALIASES.get(f.name, ()))
            raw = next((env[n] for n in names if env.get(n) not in (None, "")), None)
            if raw is not None:
                values[f.name] = _convert(f.name, f.type, raw)
        return values

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Command-line flags over the environment: one `--flag` per setting, so none is forgotten."""
        env_values = cls._env_values(environ)
        base = cls(**env_values)
        parser = argparse.ArgumentParser(
            description="LLM Tokens & Embeddings Playground. Every flag can also be set as PLAYGROUND_<NAME> "
                        "in the environment or a .env file.")
        for f in fields(cls):
            if f.name in _NOT_FLAGS:
                continue
            flag = "--" + f.name.replace("_", "-")
            default = getattr(base, f.name)
            if str(f.type) in {"bool", "bool | None"}:
                parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                    help=f"{_HELP.get(f.name, '')} (now: {default})")
            else:
                parser.add_argument(flag, dest=f.name, default=None, metavar=f.name.upper(),
                                    type=_flag_type(f.name, f.type),
                                    help=f"{_HELP.get(f.name, '')} (now: {'set' if f.name == 'auth' and default else default})")
        args = parser.parse_args(argv)
        overrides = {k: v for k, v in vars(args).items() if v is not None}
        # Built once from everything, so "auto" resolves with the final host/share (not the environment's).
        return cls(**{**env_values, **overrides})

    # Derived paths: one layout for the pack builder and the loaders.
    @property
    def tiktoken_dir(self) -> Path:
        return self.cache_dir / "tiktoken"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def auth_pair(self) -> tuple[str, str] | None:
        if not self.auth:
            return None
        user, sep, password = self.auth.partition(":")
        if not sep or not user or not password:
            raise ValueError("auth must look like user:password")
        return user, password

    def apply_to_process(self) -> None:
        """Point the libraries at the project cache before they are imported.

        tiktoken reads `TIKTOKEN_CACHE_DIR` on every load; huggingface_hub reads
        `HF_HUB_OFFLINE` once at import, which is why this runs before any model code.
        """
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(self.tiktoken_dir))
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if self.offline:
            os.environ["HF_HUB_OFFLINE"] = "1"


# Secrets never on the command line (other users of the machine can read it); `auth` is
# the exception operators expect (`--auth user:password`); `--help` and `repr` never show it.
_NOT_FLAGS = {"openai_api_key"}
_HELP = {
    "host": "interface to listen on", "port": "port", "share": "also open a public gradio.live link",
    "auth": "protect the app with user:password", "offline": "never contact the Hugging Face Hub",
    "cache_dir": "offline pack and caches", "max_input_chars": "longest text accepted",
    "max_view_tokens": "token chips drawn in the page", "max_new_tokens": "cap on generated tokens",
    "max_corpus_texts": "most texts in an embedding corpus", "max_corpus_text_chars": "longest corpus text",
    "max_file_size": "largest upload, e.g. 5mb", "allow_custom_models": "accept user-typed Hugging Face ids (default: only when not exposed)",
    "model_size_budget_gb": "refuse hub models larger than this", "model_cache_size": "models kept loaded",
    "generation_concurrency": "generation batches at once per device",
    "generation_batch": "visitors sharing one batch of decoding steps", "queue_max_size": "requests waiting at most",
    "inside_max_tokens": "tokens shown in the Inside the model tab (attention is n × n per head)",
    "sampling_max_branches": "runs and branches kept per visitor in the Sampling tab",
    "openai_base_url": "OpenAI-compatible server for the chat tab",
    "lab_max_corpus_bytes": "largest training text in the Tokenizer lab (bytes)",
    "lab_max_vocab_size": "largest vocabulary trained in the Tokenizer lab",
    "lab_max_trained": "trained tokenizers kept per visitor",
    "allow_custom_base_url": "let visitors point remote calls at another server (default: only when not exposed)",
    "allow_private_base_urls": "exposed app: let typed base URLs reach LAN addresses (never loopback/metadata)",
    "exposed": "strangers can reach the app (default: a Space, --share, or a non-loopback host)",
    "chat_timeout_s": "chat request timeout",
    "spend_cap_session_usd": "operator-key spend per visitor", "spend_cap_total_usd": "operator-key spend in total",
}


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _flag_type(name: str, type_name: object) -> Callable[[str], object]:
    """argparse's `type=` for one setting: a bad value is reported as the setting's own message."""
    def convert(raw: str) -> object:
        try:
            return _convert(name, type_name, raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _convert(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    try:
        if kind == "bool | None":
            return _parse_optional_bool(raw)
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser()
    except ValueError as exc:
        raise ValueError(f"setting {name}: {exc}") from None
    return raw
