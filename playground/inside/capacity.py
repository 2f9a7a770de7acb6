"""What each token costs: KV-cache memory, weight memory, and compute, for every catalogue model.

While generating, a model keeps the key and value of every earlier token in every layer (the
KV cache) so it never recomputes them: memory grows linearly with the context until it runs
out. Compute per new token is about 2 × parameters FLOPs plus an attention term that grows with
the context. The time per token is also measured on this machine, for a loaded model, with a
KV cache of each length (random numbers of the right shape: time does not depend on values).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground import runtime
from playground.cache import SharedCache
from playground.generation import catalogue, models
from playground.inside import architecture
from playground.inside.architecture import Arch
from playground.settings import Settings

GPU_BYTES = 2  # bf16 / fp16, what the app loads on a GPU
GPUS = {"T4 (16 GB)": 16e9, "A10G (24 GB)": 24e9, "A100 (80 GB)": 80e9, "H100 (80 GB)": 80e9}
MACHINE = "this machine's RAM"
MEASURE_CONTEXTS = (16, 512, 2048)
MEASURE_KV_LIMIT = 1e9  # bytes of random cache built for one measurement point, at most


@dataclass(frozen=True)
class Target:
    name: str
    memory: float  # bytes
    dtype_bytes: int


@dataclass(frozen=True)
class Row:
    model_id: str
    label: str
    arch: Arch
    weights_bytes: float
    kv_bytes_per_token: int
    fits_tokens: int | None  # longest context that fits beside the weights (None: the weights alone do not)
    contexts: np.ndarray  # x of the memory curve
    total_bytes: np.ndarray  # weights + KV cache at each context


def targets() -> dict[str, Target]:
    import psutil  # type: ignore[import-untyped]  # no stubs pinned; two calls below

    _, dtype = runtime.device_and_dtype()
    out = {name: Target(name, memory, GPU_BYTES) for name, memory in GPUS.items()}
    machine = dtype_size(dtype)
    out[MACHINE] = Target(f"{MACHINE} ({psutil.virtual_memory().total / 1e9:.0f} GB)", psutil.virtual_memory().total,
                          machine)
    return out


def dtype_size(dtype: Any) -> int:
    import torch

    return torch.empty((), dtype=dtype).element_size()


def arch_for(spec: catalogue.ModelSpec, settings: Settings) -> Arch | None:
    """The loaded model's own config when it is loaded, else the shipped numbers."""
    if spec.id in models.loaded_ids():
        return architecture.of_loaded(models.load_model(spec, settings).model)
    return architecture.shipped(spec.id)


def fits_tokens(arch: Arch, memory: float, dtype_bytes: int, users: int = 1) -> int | None:
    """The longest context (≤ the model's window) whose KV caches, one per concurrent conversation, fit
    beside one copy of the weights."""
    free = memory - arch.params * dtype_bytes
    if free < 0:
        return None
    if users * arch.kv_bytes(arch.context, dtype_bytes) <= free:
        return arch.context
    low, high = 0, arch.context  # kv_bytes grows with the length: bisect
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if users * arch.kv_bytes(mid, dtype_bytes) <= free else (low, mid - 1)
    return low


def rows(settings: Settings, target: Target, users: int = 1) -> list[Row]:
    """One row per catalogue model: memory for `users` conversations at each context length."""
    out = []
    for spec in catalogue.MODELS:
        arch = arch_for(spec, settings)
        if arch is None:
            continue
        contexts = np.unique(np.geomspace(1, arch.context, 80).astype(np.int64))
        weights = arch.params * target.dtype_bytes
        total = np.array([weights + users * arch.kv_bytes(int(n), target.dtype_bytes) for n in contexts],
                         dtype=np.float64)
        out.append(Row(spec.id, spec.label, arch, weights, arch.kv_bytes_per_token(target.dtype_bytes),
                       fits_tokens(arch, target.memory, target.dtype_bytes, users), contexts, total))
    return out


@dataclass(frozen=True)
class Timing:
    model_id: str
    device: str
    dtype: str
    contexts: list[int]
    seconds_per_token: list[float]


_timings: SharedCache[tuple[str, str, str], Timing] = SharedCache(32)  # per model, device and dtype


def measured(spec: catalogue.ModelSpec, settings: Settings) -> Timing:
    """Time one new token at several context lengths; measured once per model and device, then kept
    (single flight: a second visitor waits for the first measurement; a failed one is not kept)."""
    loaded = models.load_model(spec, settings)

    def measure() -> Timing:
        arch = architecture.of_loaded(loaded.model)
        size = dtype_size(loaded.model.dtype)
        contexts = [n for n in MEASURE_CONTEXTS if n < arch.context and arch.kv_bytes(n, size) <= MEASURE_KV_LIMIT]
        seconds = runtime.call(_time_steps, loaded.model, arch, contexts)
        return Timing(spec.id, loaded.device, loaded.dtype, contexts, seconds)

    return _timings.get_or_load((spec.id, loaded.device, loaded.dtype), measure)


def _time_steps(model: Any, arch: Arch, contexts: list[int], repeats: int = 2) -> list[float]:
    """Runs on the torch thread: one decoding step on top of a KV cache of each length."""
    import torch
    from transformers import DynamicCache

    out = []
    with torch.inference_mode():
        token = torch.tensor([[1]], device=model.device)
        for n in contexts:
            cache = DynamicCache(config=model.config)
            for layer in range(arch.layers):
                shape = (1, arch.kv_heads, n, arch.head_dim)
                cache.update(torch.randn(shape, dtype=model.dtype, device=model.device),
                             torch.randn(shape, dtype=model.dtype, device=model.device), layer)
            times = []
            for _ in range(repeats + 1):  # the first step warms up
                started = time.perf_counter()
                model(token, past_key_values=cache, position_ids=torch.tensor([[n]], device=model.device),
                      use_cache=True)
                if model.device.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - started)
                cache.crop(-1)  # drop the token just added: every repeat sees n positions
            out.append(float(np.median(times[1:])))
            del cache
    return out
