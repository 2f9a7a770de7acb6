"""The sampling pipeline at one step: transformers' own processors, one stage at a time.

`processors(model, config, input_ids)` asks the model for the very `LogitsProcessorList` that
`generate` builds for these settings (`_prepare_generation_config` then `_get_logits_processor`,
transformers 5.23), so the order is generate's: repetition penalty, then temperature, top-k,
top-p, min-p. `apply(...)` runs that list one processor at a time and summarises the
distribution after each (top candidates, which of the previous top ones it removed, the mass it
kept, the entropy), then draws the token the way `generate._sample` does: `softmax` of the final
scores and `torch.multinomial`, or `argmax` when greedy.

These functions take and return torch tensors: call them on the torch thread
(`playground.runtime.call`). The summaries are plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playground.errors import InvalidInput

TOP_SHOWN = 8  # candidates listed per stage

# transformers class → the stage's name in the view, in generate's order.
STAGE_NAMES = {
    "RepetitionPenaltyLogitsProcessor": "repetition penalty",
    "TemperatureLogitsWarper": "temperature",
    "TopKLogitsWarper": "top-k",
    "TopPLogitsWarper": "top-p",
    "MinPLogitsWarper": "min-p",
}
ORDER = ("raw", "repetition penalty", "temperature", "top-k", "top-p", "min-p", "final")


@dataclass(frozen=True)
class SamplingConfig:
    """What steers the draw. temperature 0 means greedy (generate's `do_sample=False`)."""

    temperature: float = 0.7
    top_k: int = 50  # 0 = off
    top_p: float = 0.95  # 1 = off
    min_p: float = 0.0  # 0 = off
    repetition_penalty: float = 1.0  # 1 = off
    seed: int | None = None

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0

    def check(self) -> None:
        if not self.temperature >= 0 or not math.isfinite(self.temperature):
            raise InvalidInput("Temperature must be 0 (greedy) or more.")
        if not 0 < self.top_p <= 1:
            raise InvalidInput("top-p must be in (0, 1] (1 = off).")
        if self.top_k < 0:
            raise InvalidInput("top-k must be 0 (off) or more.")
        if not 0 <= self.min_p < 1:
            raise InvalidInput("min-p must be in [0, 1) (0 = off).")
        if not self.repetition_penalty > 0:
            raise InvalidInput("The repetition penalty must be above 0 (1 = none).")

    def generate_kwargs(self) -> dict[str, Any]:
        """The arguments `model.generate` takes for these settings (the replay test uses them too)."""
        kwargs: dict[str, Any] = {"do_sample": self.do_sample, "repetition_penalty": self.repetition_penalty}
        if self.do_sample:
            kwargs.update(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                          min_p=self.min_p or None)
        return kwargs

    def label(self) -> str:
        if not self.do_sample:
            parts = ["greedy"]
        else:
            parts = [f"T={self.temperature:g}", f"top-k={self.top_k or 'off'}", f"top-p={self.top_p:g}"]
            if self.min_p:
                parts.append(f"min-p={self.min_p:g}")
        if self.repetition_penalty != 1:
            parts.append(f"rep={self.repetition_penalty:g}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Candidate:
    id: int
    prob: float


@dataclass(frozen=True)
class Stage:
    name: str  # one of ORDER
    setting: str  # "0.7", "off", …
    applied: bool  # False: generate builds no processor for this setting
    top: list[Candidate]  # the most likely tokens after this stage
    removed: list[Candidate]  # tokens of the previous stage's top list this stage set to -inf (with their old prob)
    kept: int  # tokens still possible
    mass_left: float  # probability (under the previous stage) of the tokens still possible
    entropy_bits: float


@dataclass(frozen=True)
class StepView:
    """One step of a run: the distribution through every stage and the token that was drawn."""

    stages: list[Stage]
    token: int
    token_prob: float  # its probability in the final distribution (0 if a visitor forced a removed token)
    model_prob: float  # its probability under the model alone (raw softmax): log-prob and perplexity use this
    raw_top: list[Candidate]  # the model's top-5 at this step: the branch choices
    forced: bool = False  # picked by the visitor, not drawn


def processors(model: Any, config: SamplingConfig, input_ids: Any) -> Any:
    """The `LogitsProcessorList` `generate` builds for these settings (no custom processors)."""
    import torch

    generation_config, _ = model._prepare_generation_config(None, **config.generate_kwargs())
    mask = torch.ones_like(input_ids)
    return model._get_logits_processor(
        generation_config=generation_config, input_ids_seq_length=input_ids.shape[-1], encoder_input_ids=input_ids,
        device=input_ids.device, model_kwargs={"attention_mask": mask},
    )


def _setting(name: str, config: SamplingConfig) -> str:
    value = {"repetition penalty": config.repetition_penalty, "temperature": config.temperature,
             "top-k": config.top_k, "top-p": config.top_p, "min-p": config.min_p}[name]
    return f"{value:g}"


def _summary(name: str, setting: str, applied: bool, probs: Any, previous: Any | None,
             previous_top: list[Candidate]) -> Stage:
    import torch

    from playground import runtime

    possible = probs > 0
    values, ids = probs.topk(TOP_SHOWN)
    top = [Candidate(int(i), float(p)) for i, p in zip(runtime.to_numpy(ids), runtime.to_numpy(values), strict=True)
           if p > 0]
    if previous is None:
        removed, mass = [], 1.0
    else:
        removed = [c for c in previous_top if not bool(possible[c.id])]
        mass = min(1.0, float(previous[possible].double().sum()))  # float32 sums can exceed 1 by 1e-5
    logp = torch.where(possible, probs.log(), torch.zeros_like(probs))
    entropy = float(-(probs * logp).sum()) / math.log(2)
    return Stage(name, setting, applied, top, removed, int(possible.sum()), mass, max(0.0, entropy))


def apply(procs: Any, config: SamplingConfig, input_ids: Any, logits: Any, generator: Any | None,
          forced: int | None = None) -> tuple[int, StepView]:
    """Run the processors stage by stage on one row of logits (shape (1, vocab), float32) and draw.

    The draw is generate's: `multinomial(softmax(scores))` with the run's own generator, or
    `argmax` when greedy. `forced` replaces the draw with a visitor's token (a branch point).
    """
    import torch

    scores = logits
    raw = torch.softmax(logits[0], dim=-1)
    stages = [_summary("raw", "softmax", True, raw, None, [])]
    previous = raw

    def skipped(upto: int) -> None:  # the stages generate builds no processor for (setting off)
        done = {s.name for s in stages}
        for name in ORDER[1:upto]:
            if name not in done:
                stages.append(_summary(name, _setting(name, config), False, previous, previous, stages[-1].top))

    for proc in procs:
        cls = type(proc).__name__
        name = STAGE_NAMES.get(cls, cls)  # a processor the model's own generation config adds keeps its class name
        if name in ORDER:
            skipped(ORDER.index(name))
        scores = proc(input_ids, scores)
        probs = torch.softmax(scores[0], dim=-1)
        setting = _setting(name, config) if name in ORDER else ""
        stages.append(_summary(name, setting, True, probs, previous, stages[-1].top))
        previous = probs
    skipped(len(ORDER) - 1)
    if forced is not None:
        token = forced
    elif config.do_sample:
        token = int(torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1, generator=generator)[0, 0])
    else:
        token = int(torch.argmax(scores, dim=-1)[0])
    final = stages[-1]
    stages.append(Stage("final", "sample" if config.do_sample else "argmax", True, final.top, [], final.kept, 1.0,
                        final.entropy_bits))
    raw_top = [Candidate(c.id, c.prob) for c in stages[0].top[:5]]
    view = StepView(stages, token, float(previous[token]), float(raw[token]), raw_top, forced=forced is not None)
    return token, view
