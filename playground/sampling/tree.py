"""A visitor's runs and branches: a small tree kept in the session (`gr.State`), plain data.

Each branch holds its whole token list (the prefix it shares with its parent is copied, so a
branch stays readable after its parent is dropped), the step where it split off, and every step's
pipeline view. The tree is bounded (`Settings.sampling_max_branches`): adding one more drops the
oldest, with a note. The same tree holds a serving engine's branches (`sampling.server`).
"""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from playground.errors import InvalidInput, PlaygroundError
from playground.sampling.pipeline import SamplingConfig, StepView


class RunGone(PlaygroundError):
    """The session no longer holds this run (dropped as the oldest, or from another session)."""


class BeyondRun(InvalidInput):
    """A step number past the end of a run."""


class NotInVocabulary(InvalidInput):
    """A token id the model's vocabulary does not have."""


@dataclass
class Branch:
    id: str  # "b1", "b2", … within the session
    model_id: str
    model_label: str
    config: SamplingConfig
    seed: int  # the seed actually used (drawn at random when none was given)
    prompt_ids: list[int]
    max_new: int
    parent: str | None = None
    split: int | None = None  # the step where this branch left its parent (the forced token's index)
    steps: list[StepView] = field(default_factory=list)
    text: str = ""
    stop_reason: str | None = None  # "eos", "max_new_tokens", or None while running
    reused_tokens: int = 0  # prefix tokens read from the parent's KV cache instead of recomputed
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> list[int]:
        return [s.token for s in self.steps]

    @property
    def log_prob(self) -> float:
        """Sum of ln p(token) under the model's own distribution (before any sampling setting)."""
        return sum(math.log(max(s.model_prob, 1e-45)) for s in self.steps)

    @property
    def perplexity(self) -> float | None:
        return math.exp(-self.log_prob / len(self.steps)) if self.steps else None

    def step(self, index: int) -> StepView:
        if not self.steps:
            raise BeyondRun(f"Branch {self.id} has no tokens yet.")
        if not 0 <= index < len(self.steps):
            raise BeyondRun(f"Step {index} is beyond branch {self.id}: it has {len(self.steps)} tokens, "
                            f"steps 0–{len(self.steps) - 1}. Click one of its tokens.")
        return self.steps[index]


class Named(Protocol):
    @property
    def id(self) -> str: ...


B = TypeVar("B", bound=Named)


@dataclass
class Tree(Generic[B]):
    limit: int
    uid: str = field(default_factory=lambda: secrets.token_hex(8))  # keys this session's KV caches
    branches: OrderedDict[str, B] = field(default_factory=OrderedDict)
    counter: int = 0
    dropped: list[str] = field(default_factory=list)

    def new_id(self) -> str:
        self.counter += 1
        return f"b{self.counter}"

    def add(self, branch: B) -> list[str]:
        """Keep `branch`; drop the oldest beyond the limit. Returns a note per dropped branch."""
        self.branches[branch.id] = branch
        notes = []
        while len(self.branches) > max(1, self.limit):
            old, _ = self.branches.popitem(last=False)
            self.dropped.append(old)
            notes.append(f"Branch {old} was dropped: this session keeps at most {self.limit} runs and branches "
                         "(the oldest go first).")
        return notes

    def get(self, branch_id: str) -> B:
        name = (branch_id or "").strip()
        if name in self.branches:
            return self.branches[name]
        if name in self.dropped:
            raise RunGone(f"Branch {name} is no longer in this session: at most {self.limit} runs and branches are "
                          "kept and it was the oldest. Start a new run or pick a branch from the list.")
        known = ", ".join(self.branches) or "none yet"
        raise RunGone(f"This session holds no run {name!r} (it holds: {known}). Press Sample to start one.")

    def key(self, branch_id: str) -> str:
        return f"{self.uid}:{branch_id}"
