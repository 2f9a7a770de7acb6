"""Configuration in one place.

Order, most specific first: a value typed in the UI for one session (API key, base URL) →
command-line flag → environment variable → `.env` file → the default below. `Settings` is
frozen: it is shared by every visitor, so nothing per-visitor may ever live in it except the
operator's own key, which is never shown, logged or put in a `repr`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENV_PREFIX = "PLAYGROUND_"


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
    allow_custom_models: bool = True  # user-typed hub ids
    model_size_budget_gb: float = 4.0
    model_cache_size: int = 2
    generation_concurrency: int = 1
    queue_max_size: int = 64
    sampling_max_branches: int = 12  # runs and branches kept per visitor in the Sampling tab (oldest dropped)

    # Chat
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    allow_custom_base_url: bool = True  # visitors may point the chat tab at another server
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
        """Read `PLAYGROUND_*` (and a few standard names) from the environment and `.env`."""
        env = dict(_read_dotenv(dotenv_path or PROJECT_DIR / ".env"))
        env.update(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        if env.get("SPACE_ID"):
            # On a Hugging Face Space the app must listen on all interfaces, and visitors
            # are strangers: user-typed model ids are off unless the operator turns them on.
            values.update(host="0.0.0.0", allow_custom_models=False, allow_custom_base_url=False)
        for f in fields(cls):
            names = (ENV_PREFIX + f.name.upper(), *cls._ALIASES.get(f.name, ()))
            raw = next((env[n] for n in names if env.get(n) not in (None, "")), None)
            if raw is not None:
                values[f.name] = _convert(f.name, f.type, raw)
        return cls(**values)

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Command-line flags over the environment: one `--flag` per setting, so none is forgotten."""
        base = cls.from_env(environ)
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
                                    type=lambda raw, name=f.name, kind=f.type: _convert(name, kind, raw),
                                    help=f"{_HELP.get(f.name, '')} (now: {'set' if f.name == 'auth' and default else default})")
        args = parser.parse_args(argv)
        overrides = {k: v for k, v in vars(args).items() if v is not None}
        return replace(base, **overrides)

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
    "max_file_size": "largest upload, e.g. 5mb", "allow_custom_models": "accept user-typed Hugging Face ids",
    "model_size_budget_gb": "refuse hub models larger than this", "model_cache_size": "models kept loaded",
    "generation_concurrency": "generations at once per model", "queue_max_size": "requests waiting at most",
    "sampling_max_branches": "runs and branches kept per visitor in the Sampling tab",
    "openai_base_url": "OpenAI-compatible server for the chat tab",
    "allow_custom_base_url": "let visitors point the chat tab at another server", "chat_timeout_s": "chat request timeout",
    "spend_cap_session_usd": "operator-key spend per visitor", "spend_cap_total_usd": "operator-key spend in total",
}


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


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
