"""Side-by-side runs: 2–4 slots sample the same prompt at once, and a word diff against slot 1.

Each slot has its own model, temperature, top-p, seed and system prompt (top-k off, so only those
steer). The slots advance round-robin, one token each per round (each token a torch-thread job),
so they stream together; every slot has its own generator, so a slot's output does not depend on
the others (the "same seed twice" preset shows it).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from playground.errors import InvalidInput
from playground.generation import models
from playground.generation.engine import GenerationRequest, prepare
from playground.generation.hooks import eos_ids
from playground.sampling import decoder
from playground.sampling.pipeline import SamplingConfig
from playground.sampling.runs import chat_messages
from playground.settings import Settings

MAX_SLOTS = 4
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Slot:
    model_id: str
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = 42
    system: str = ""

    def config(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_k=0, top_p=self.top_p, seed=self.seed)


@dataclass
class SlotResult:
    label: str
    text: str = ""
    tokens: int = 0
    done: bool = False


PRESETS: dict[str, list[dict[str, float]]] = {
    "temperature sweep": [{"temperature": t, "top_p": 1.0, "seed": 42} for t in (0.0, 0.7, 1.0, 1.5)],
    "same seed twice": [{"temperature": 1.0, "top_p": 1.0, "seed": 42}, {"temperature": 1.0, "top_p": 1.0, "seed": 42}],
}


def word_diff(base: str, other: str) -> list[tuple[str, bool]]:
    """`other` as (piece, differs from `base`) pairs, by words (whitespace kept as its own pieces)."""
    a, b = _WORDS.findall(base), _WORDS.findall(other)
    out: list[tuple[str, bool]] = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        out.extend((w, tag != "equal" and not w.isspace()) for w in b[j1:j2])
    return out


def run_slots(slots: list[Slot], user: str, max_new: int, settings: Settings) -> Iterator[list[SlotResult]]:
    """Yield every slot's text after each round of one token per slot."""
    if not 1 <= len(slots) <= MAX_SLOTS:
        raise InvalidInput(f"Use 1 to {MAX_SLOTS} slots.")
    runs = []
    for slot in slots:
        slot.config().check()
        prepared = prepare(GenerationRequest(model_id=slot.model_id, messages=chat_messages(slot.system, user),
                                             max_new_tokens=max_new), settings)
        loaded = models.load_model(prepared.spec, settings)
        seed = slot.seed if slot.seed is not None else decoder.new_seed()
        run = decoder.start(loaded.model, slot.config(), prepared.ids, seed)
        label = f"{prepared.spec.label} · {slot.config().label()} · seed {seed}"
        if slot.system.strip():
            label += f" · system: {slot.system.strip()[:40]}"
        runs.append((loaded, run, eos_ids(loaded), prepared.max_new_tokens,
                     SlotResult(label)))
    while not all(r[4].done for r in runs):
        for loaded, run, stop_ids, limit, result in runs:
            if result.done:
                continue
            view = run.step(last=result.tokens >= limit - 1, stop_ids=stop_ids)
            result.tokens += 1
            ids = [v.token for v in run.views]
            result.text = loaded.tokenizer.decode(ids, skip_special_tokens=True)
            result.done = view.token in stop_ids or result.tokens >= limit
        yield [r[4] for r in runs]
