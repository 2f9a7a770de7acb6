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
ORDER_KEEPING = frozenset({"temperature", "top-k", "top-p", "min-p"})  # scale or remove: the ranking stays
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


def _summaries(names: list[str], settings: list[str], applied: list[bool], rows: list[Any]) -> list[Stage]:
    """Every stage's summary from its scores, in a handful of batched tensor operations.

    One (stages × vocabulary) softmax, top-k, entropy and mask instead of a dozen small operations
    per stage: on a CPU each small operation costs a thread wake-up, and these views must not slow
    decoding down (bench/sampling_branch.py).
    """
    import torch

    from playground import runtime

    scores = torch.stack(rows)  # (stages, vocab)
    probs = torch.softmax(scores, dim=-1)
    possible = scores != float("-inf")
    kept = possible.sum(dim=-1)
    entropy = torch.special.entr(probs).sum(dim=-1) / math.log(2)  # entr(0) = 0: removed tokens add nothing
    mass = (probs[:-1] * possible[1:]).sum(dim=-1)
    # Sorting the vocabulary is the one costly operation here. Temperature, top-k, top-p and min-p keep
    # the order of the tokens (they scale or remove), so a stage after them lists the survivors of the
    # last order-changing stage's top tokens: a top-k per order-changing stage (raw, penalty) only.
    bases = [n for n, name in enumerate(names) if name not in ORDER_KEEPING]
    base_of = [max(b for b in bases if b <= n) for n in range(len(names))]
    top_i = probs[bases].topk(TOP_SHOWN, dim=-1).indices[[bases.index(b) for b in base_of]]
    top_p = probs.gather(1, top_i)
    survived = possible[1:].gather(1, top_i[:-1])  # did each of the previous stage's top tokens stay?
    top_probs, top_ids, stayed = runtime.to_numpy(top_p), top_i.cpu().numpy(), survived.cpu().numpy()
    kept_n: list[int] = kept.cpu().tolist()
    entropies: list[float] = runtime.to_numpy(entropy).tolist()
    masses: list[float] = runtime.to_numpy(mass).tolist()
    stages: list[Stage] = []
    for n, name in enumerate(names):
        top = [Candidate(int(i), float(p)) for i, p in zip(top_ids[n], top_probs[n], strict=True) if p > 0]
        if n == 0:
            removed, left = [], 1.0
        else:
            previous = stages[-1].top
            removed = [c for c, stays in zip(previous, stayed[n - 1], strict=False) if not stays]
            left = min(1.0, masses[n - 1])  # float32 sums can exceed 1 by 1e-5
        stages.append(Stage(name, settings[n], applied[n], top, removed, int(kept_n[n]), left,
                            max(0.0, entropies[n])))
    return stages


def apply(procs: Any, config: SamplingConfig, input_ids: Any, logits: Any, generator: Any | None,
          forced: int | None = None) -> tuple[int, StepView]:
    """Run the processors stage by stage on one row of logits (shape (1, vocab), float32) and draw.

    The draw is generate's: `multinomial(softmax(scores))` with the run's own generator, or
    `argmax` when greedy. `forced` replaces the draw with a visitor's token (a branch point).
    """
    import torch

    scores = logits
    names, settings, applied, rows = ["raw"], ["softmax"], [True], [logits[0]]

    def skipped(upto: int) -> None:  # the stages generate builds no processor for (setting off)
        for name in ORDER[1:upto]:
            if name not in names:
                names.append(name)
                settings.append(_setting(name, config))
                applied.append(False)
                rows.append(rows[-1])

    for proc in procs:
        cls = type(proc).__name__
        name = STAGE_NAMES.get(cls, cls)  # a processor the model's own generation config adds keeps its class name
        if name in ORDER:
            skipped(ORDER.index(name))
        scores = proc(input_ids, scores)
        names.append(name)
        settings.append(_setting(name, config) if name in ORDER else "")
        applied.append(True)
        rows.append(scores[0])
    skipped(len(ORDER) - 1)
    if forced is not None:
        token = forced
    elif config.do_sample:
        token = int(torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1, generator=generator)[0, 0])
    else:
        token = int(torch.argmax(scores, dim=-1)[0])
    stages = _summaries(names, settings, applied, rows)
    final = stages[-1]
    stages.append(Stage("final", "sample" if config.do_sample else "argmax", True, final.top, [], final.kept, 1.0,
                        final.entropy_bits))
    chosen = torch.softmax(torch.stack([logits[0], scores[0]]), dim=-1)[:, token]
    model_prob, token_prob = runtime_floats(chosen)
    view = StepView(stages, token, token_prob, model_prob, stages[0].top[:5], forced=forced is not None)
    return token, view


def runtime_floats(tensor: Any) -> list[float]:
    from playground import runtime

    return [float(x) for x in runtime.to_numpy(tensor).tolist()]
