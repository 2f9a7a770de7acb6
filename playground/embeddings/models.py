"""Load embedding models once per process: offline pack first, then the Hub.

Loads go through one `SharedCache` per kind (two visitors asking at once load a model once),
least recently used first, `Settings.model_cache_size` entries each. Failures are not cached. Safe
loading only: no remote code, safetensors weights.

Loads run on the torch thread (`playground.runtime`), on the device and dtype it chooses. The
per-entry lock is taken on the caller's thread, never inside a torch job: a job that waited for
a lock held by a thread waiting for the torch thread would never finish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground import hub, lazy, runtime
from playground.cache import SharedCache
from playground.embeddings.catalogue import EmbeddingModelSpec
from playground.pack.entries import Pack
from playground.settings import Settings

_caches: dict[str, SharedCache[str, Any]] = {"sentence": SharedCache(2), "tokens": SharedCache(2)}


@dataclass(frozen=True)
class TokenEncoder:
    """A transformer and its tokenizer, for per-token (contextual) vectors."""

    spec: EmbeddingModelSpec
    tokenizer: Any  # a fast Hugging Face tokenizer (offsets needed)
    model: Any  # a transformers encoder (returns last_hidden_state)


def _cached(kind: str, spec: EmbeddingModelSpec, settings: Settings, load: Callable[[], Any]) -> Any:
    return _caches[kind].get_or_load(spec.id, load, max_entries=settings.model_cache_size)


def _where(spec: EmbeddingModelSpec, settings: Settings) -> tuple[str, bool]:
    """(path or hub id, local files only)."""
    if spec.pack == "minilm":
        local = Pack(settings).minilm_dir
        if local is not None:
            return str(local), True
    return spec.hub_id, bool(settings.offline)


def load_sentence_model(spec: EmbeddingModelSpec, settings: Settings) -> Any:
    """A `SentenceTransformer` on the runtime's device and dtype."""

    def load() -> Any:
        SentenceTransformer = lazy.sentence_transformers().SentenceTransformer  # noqa: N806 - the library's name
        where, local_only = _where(spec, settings)
        device, dtype = runtime.device_and_dtype()
        model = _hub_errors(spec, local_only, lambda: SentenceTransformer(
            where, device=device, local_files_only=local_only, trust_remote_code=False,
            model_kwargs={"use_safetensors": True, "dtype": dtype}, token=hub.token(),
        ))
        model.eval()
        return model

    return _cached("sentence", spec, settings, lambda: runtime.call(load))


def load_token_encoder(spec: EmbeddingModelSpec, settings: Settings) -> TokenEncoder:
    """The transformer under a sentence model (shared with it), or a plain encoder from the Hub."""
    if spec.sentence:
        st = load_sentence_model(spec, settings)
        first = st[0]
        return TokenEncoder(spec, first.tokenizer, first.auto_model)

    def load() -> TokenEncoder:
        transformers = lazy.transformers()  # first imports under the shared lock (see playground/lazy.py)
        AutoModel, AutoTokenizer = transformers.AutoModel, transformers.AutoTokenizer  # noqa: N806
        where, local_only = _where(spec, settings)
        token = hub.token()
        tokenizer = _hub_errors(spec, local_only, lambda: AutoTokenizer.from_pretrained(
            where, use_fast=True, local_files_only=local_only, trust_remote_code=False, token=token))
        device, dtype = runtime.device_and_dtype()
        model = _hub_errors(spec, local_only, lambda: AutoModel.from_pretrained(
            where, local_files_only=local_only, trust_remote_code=False, use_safetensors=True, token=token,
            dtype=dtype))
        model.to(device).eval()
        return TokenEncoder(spec, tokenizer, model)

    encoder: TokenEncoder = _cached("tokens", spec, settings, lambda: runtime.call(load))
    return encoder


def _hub_errors(spec: EmbeddingModelSpec, local_only: bool, load: Callable[[], Any]) -> Any:
    try:
        return load()
    except hub.hub_errors() as exc:
        raise hub.translate(exc, spec.hub_id, "model", local_only=local_only) from None


def availability(spec: EmbeddingModelSpec, settings: Settings) -> str:
    """'offline pack', 'Hub cache', 'Hub' or 'needs the Hub (offline)' — for the dropdown labels."""
    if spec.pack == "minilm" and Pack(settings).minilm_dir is not None:
        return "offline pack"
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(spec.hub_id, "config.json"), str):
        return "Hub cache"
    return "needs the Hub (offline)" if settings.offline else "Hub"
