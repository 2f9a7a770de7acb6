"""Load generation models once, keep a few, free the least recently used.

Loads go through `SharedCache`s (two visitors asking for the same model at the same moment
load it once; a failed load is not cached), in an LRU bounded by `Settings.model_cache_size`
(tokenizers, views and context lengths: `SMALL_CACHE`, least recently used first). Each loaded model
carries its own lock, held by its generation batches from start to end: one batch per model at a
time. Other work on the model (Sampling, Inside, the glitch probe) takes no lock: it is one job
on the torch thread, run between two decoding steps, and keeps its state (KV cache, random
generator, an attention switch) to itself. Tokenizers are cached apart: rendering a prompt must
not need the weights.

Safety: safetensors only, never `trust_remote_code`, and a user-typed id is checked against
`Settings.model_size_budget_gb` (from the Hub's safetensors metadata) before any download.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from playground import hub, lazy, runtime
from playground.cache import SharedCache
from playground.errors import ModelLoadError, NotAllowed, PlaygroundError
from playground.generation.catalogue import ModelSpec
from playground.pack.entries import Pack
from playground.settings import Settings

log = logging.getLogger("playground")

# Bytes per parameter for the dtypes the Hub reports in safetensors metadata.
DTYPE_BYTES = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
               "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class OutOfMemory(ModelLoadError):
    """Loading or generating ran out of memory; the model cache has been freed."""

    def __init__(self, what: str):
        super().__init__(
            f"Out of memory while {what}. Every cached model has been freed so the app keeps serving. "
            "Try a smaller model, fewer new tokens or a shorter prompt."
        )


@dataclass(eq=False)
class LoadedModel:
    spec: ModelSpec
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers fast tokenizer
    source: str  # the hub id a reader would pass to `from_pretrained` (copy-as-code uses it)
    device: str
    dtype: str  # "float32", "bfloat16", …
    memory_mb: float
    load_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Location:
    source: str  # folder or hub id
    local_only: bool
    offline_pack: bool


SMALL_CACHE = 32  # tokenizers, views, context lengths: user-typed ids must not grow these forever


def _freed(model_id: str) -> None:
    log.info("generation model cache: freed %s (least recently used)", model_id)
    gc.collect()  # give the evicted model's memory back now, not at some later collection


_models: SharedCache[str, LoadedModel] = SharedCache(2, on_evict=_freed)  # bound: settings.model_cache_size
_tokenizers: SharedCache[str, Any] = SharedCache(SMALL_CACHE)
_views: SharedCache[str, Any] = SharedCache(SMALL_CACHE)
_contexts: SharedCache[str, int | None] = SharedCache(SMALL_CACHE)


def locate(spec: ModelSpec, settings: Settings) -> Location:
    local = Pack(settings).local_dir(spec.pack) if spec.pack else None
    if local is not None:
        return Location(str(local), True, True)
    return Location(spec.hub_id, bool(settings.offline), False)


def is_ready(spec: ModelSpec, settings: Settings) -> bool:
    """Loadable right now: in the offline pack, in the local Hub cache, or the Hub is reachable."""
    where = locate(spec, settings)
    if where.offline_pack or not settings.offline:
        return True
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.hub_id, "config.json"), str)




def _translate_hub_error(exc: Exception, spec: ModelSpec, where: Location, what: str) -> PlaygroundError:
    return hub.translate(exc, spec.hub_id, what, local_only=where.local_only)


def load_tokenizer(spec: ModelSpec, settings: Settings) -> Any:
    """The model's fast tokenizer (with its chat template), cached; no weights are read."""

    def load() -> Any:
        check_size_budget(spec, settings)
        where = locate(spec, settings)
        AutoTokenizer = lazy.transformers().AutoTokenizer  # noqa: N806 - the library's name

        try:
            tok = AutoTokenizer.from_pretrained(where.source, use_fast=True, trust_remote_code=False,
                                                local_files_only=where.local_only, token=hub.token())
        except Exception as exc:  # noqa: BLE001 - translated into a message the user can act on
            raise _translate_hub_error(exc, spec, where, "tokenizer") from None
        if not getattr(tok, "is_fast", False):
            raise ModelLoadError(f"{spec.hub_id!r} has no fast tokenizer (tokenizer.json).")
        return tok

    return _tokenizers.get_or_load(spec.id, load)


def load_view(spec: ModelSpec, settings: Settings) -> Any:
    """The tokenizer behind the app's one tokenizer interface (token bytes, chips, special ids)."""

    def load() -> Any:
        from playground.tokenization.backends import HFTokenizer
        from playground.tokenization.catalogue import Family, Source, TokenizerSpec

        tok = load_tokenizer(spec, settings)
        tspec = TokenizerSpec(spec.id, spec.label, Family.OTHER, Source.HUB, spec.hub_id)  # family is re-detected
        return HFTokenizer(tspec, tok, locate(spec, settings).source)

    return _views.get_or_load(spec.id, load)


def context_length(spec: ModelSpec, settings: Settings) -> int | None:
    """Positions the model was trained for (config), or None when unknown or unreachable."""

    def load() -> int | None:
        where = locate(spec, settings)
        AutoConfig = lazy.transformers().AutoConfig  # noqa: N806

        try:
            config = AutoConfig.from_pretrained(where.source, trust_remote_code=False,
                                                local_files_only=where.local_only, token=hub.token())
        except Exception:  # noqa: BLE001 - unknown is an honest answer here
            return None
        config = getattr(config, "text_config", None) or config
        names = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")
        return next((getattr(config, n) for n in names if isinstance(getattr(config, n, None), int)), None)

    return _contexts.get_or_load(spec.id, load)


def check_size_budget(spec: ModelSpec, settings: Settings) -> None:
    """Refuse a user-typed id whose weights exceed the budget, before downloading anything."""
    if not spec.custom or settings.offline:
        return  # catalogue entries are the operator's choice; offline nothing is downloaded
    from huggingface_hub import model_info

    where = locate(spec, settings)
    try:
        info = model_info(spec.hub_id, token=hub.token())
    except Exception as exc:  # noqa: BLE001
        raise _translate_hub_error(exc, spec, where, "metadata") from None
    st = getattr(info, "safetensors", None)
    if st is None or not st.parameters:
        raise NotAllowed(f"{spec.hub_id!r} publishes no safetensors weights; this app loads safetensors only.")
    size_gb = sum(n * DTYPE_BYTES.get(dtype.upper(), 4) for dtype, n in st.parameters.items()) / 1e9
    device, _ = runtime.device_and_dtype()
    in_memory_gb = st.total * (4 if device == "cpu" else 2) / 1e9
    biggest = max(size_gb, in_memory_gb)
    if biggest > settings.model_size_budget_gb:
        raise NotAllowed(
            f"{spec.hub_id!r} has {st.total / 1e9:.2f} B parameters: {size_gb:.1f} GB of weights, "
            f"{in_memory_gb:.1f} GB in memory on {device}. The size budget on this server is "
            f"{settings.model_size_budget_gb:g} GB (PLAYGROUND_MODEL_SIZE_BUDGET_GB). Pick a smaller model."
        )


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_all() -> None:
    """Drop every cached model (after an out-of-memory error) and give the memory back."""
    _models.clear()
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_model(spec: ModelSpec, settings: Settings) -> LoadedModel:
    """The loaded model, from the cache or loaded now (evicting the least recently used)."""
    # Weights are torch work: the load runs on the torch thread (playground.runtime).
    return _models.get_or_load(spec.id, lambda: runtime.call(_load, spec, settings),
                               max_entries=settings.model_cache_size)


def loaded_ids() -> list[str]:
    return _models.keys()


def _load(spec: ModelSpec, settings: Settings) -> LoadedModel:
    tokenizer = load_tokenizer(spec, settings)  # also checks the size budget
    where = locate(spec, settings)
    AutoModelForCausalLM = lazy.transformers().AutoModelForCausalLM  # noqa: N806

    device, dtype = runtime.device_and_dtype()
    started = time.perf_counter()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            where.source, dtype=dtype, device_map="auto", use_safetensors=True, trust_remote_code=False,
            local_files_only=where.local_only, token=hub.token(),
        )
    except Exception as exc:  # noqa: BLE001
        if is_oom(exc):
            free_all()
            raise OutOfMemory(f"loading {spec.hub_id}") from None
        raise _translate_hub_error(exc, spec, where, "model") from None
    model.eval()
    elapsed = time.perf_counter() - started
    log.info("loaded %s on %s (%s) in %.1f s", spec.id, device, str(dtype).removeprefix("torch."), elapsed)
    return LoadedModel(
        spec=spec, model=model, tokenizer=tokenizer, source=where.source if not where.offline_pack else spec.hub_id,
        device=str(model.device), dtype=str(model.dtype).removeprefix("torch."),
        memory_mb=model.get_memory_footprint() / 2**20, load_s=elapsed,
    )
