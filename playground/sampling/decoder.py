"""Decode one token at a time with a KV cache, showing every step of the pipeline.

A `Decoder` is one run in progress: the ids so far, its own `DynamicCache`, the logits for the
next step, the processors generate builds for its settings, and its own `torch.Generator`.

Why a generator per run: `generate` draws with `torch.multinomial` from torch's global RNG after
`torch.manual_seed(seed)`. A fresh `torch.Generator(device).manual_seed(seed)` starts in exactly
that state, so a run reproduces generate's draws token for token (tests/test_sampling.py), while
other visitors' sampling on the same torch thread, between two of this run's steps, cannot shift
them. Every method here runs on the torch thread (`playground.runtime.call`), one step per job, so
several runs (and the side-by-side slots) interleave at token granularity.

Continuing from step k of a finished run copies that run's cache and crops it
(`DynamicCache.crop`) to the prompt plus the first k-1 tokens, then re-reads one token to get
step k's logits: the prefix is never recomputed.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from playground import runtime
from playground.sampling.pipeline import SamplingConfig, StepView, apply, processors

SEED_RANGE = 2**31 - 1


def new_seed() -> int:
    return secrets.randbelow(SEED_RANGE)


@dataclass(eq=False)
class Decoder:
    model: Any
    config: SamplingConfig
    seed: int
    ids: Any  # (1, n) long tensor: prompt + tokens so far
    cache: Any  # DynamicCache holding every id but the last one's successor
    logits: Any  # (1, vocab) float32: the next step's raw logits
    procs: Any
    generator: Any
    reused: int = 0  # prompt/prefix tokens taken from a cache instead of recomputed
    views: list[StepView] = field(default_factory=list)

    def step(self, forced: int | None = None, *, last: bool = False, stop_ids: AbstractSet[int] = frozenset()) -> StepView:
        """Draw (or take `forced`) one token; unless it is the `last` or a stop token, read it to get
        the next step's logits (the run's cache then covers every id but the last)."""
        return runtime.call(self._step, forced, last, stop_ids)

    def _step(self, forced: int | None, last: bool, stop_ids: AbstractSet[int]) -> StepView:
        import torch

        with torch.inference_mode():
            token, view = apply(self.procs, self.config, self.ids, self.logits, self.generator, forced)
            self.ids = torch.cat([self.ids, torch.tensor([[token]], device=self.ids.device)], dim=-1)
            if not last and token not in stop_ids:
                self.logits = _forward(self.model, self.ids[:, -1:], self.cache)
        self.views.append(view)
        return view


def _forward(model: Any, new_ids: Any, cache: Any) -> Any:
    import torch

    out = model(input_ids=new_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1].to(copy=True, dtype=torch.float32)


def _generator(device: Any, seed: int) -> Any:
    import torch

    return torch.Generator(device=device).manual_seed(seed)


def _fresh_cache(model: Any) -> Any:
    from transformers import DynamicCache

    return DynamicCache(config=model.config)


def start(model: Any, config: SamplingConfig, ids: list[int], seed: int, source: Any | None = None) -> Decoder:
    """A decoder at the end of `ids`, ready for its first step.

    `source` is a finished run's cache covering at least `ids[:-1]`: copied and cropped, so only the
    last id is read again. Without it (or when a model's cache cannot be cropped) the whole prefix
    is read in one pass.
    """
    return runtime.call(_start, model, config, ids, seed, source)


def _start(model: Any, config: SamplingConfig, ids: list[int], seed: int, source: Any | None) -> Decoder:
    import torch

    device = model.device
    with torch.inference_mode():
        tensor = torch.tensor([ids], device=device)
        cache, reused = _cropped(source, len(ids) - 1) if source is not None else (None, 0)
        if cache is None:
            cache, reused = _fresh_cache(model), 0
            logits = _forward(model, tensor, cache)
        else:
            logits = _forward(model, tensor[:, -1:], cache)
        procs = processors(model, config, tensor)
    return Decoder(model, config, seed, tensor, cache, logits, procs, _generator(device, seed), reused)


def _cropped(source: Any, keep: int) -> tuple[Any | None, int]:
    length = source.get_seq_length()
    if keep < 1 or keep > length:
        return None, 0
    cache = copy.deepcopy(source)  # the source stays whole: the same run can be branched again
    try:
        cache.crop(keep - length)  # transformers 5: a negative count of tokens to remove
    except (ValueError, NotImplementedError):  # e.g. a sliding-window layer that no longer holds the prefix
        return None, 0
    if cache.get_seq_length() != keep:
        return None, 0
    return cache, keep
