"""Branching on a serving engine: runs and branches from a server's `top_logprobs`.

A server run is the Generate tab's server call (`generation.remote.stream.generate_remote`, with
the Chat tab's key, exposure and spend rules): each token with its probability and the top-5 at
that step. Continuing from step k with one of those alternatives (or a typed text) sends the
prompt again with the branch's first k tokens and the chosen one as the start of the answer:

- a raw prompt: the completions API with prompt + that start (any server with completions);
- chat messages: the start as a final assistant message, continued, not answered
  (`continue_final_message: true, add_generation_prompt: false`: vLLM, SGLang). OpenAI's chat API
  has no such prefill: the branch is refused with a note saying what works instead.

The server reads the whole prefix again (no KV cache of ours to crop; vLLM's prefix caching
does it on its side). What a visitor sampled lives in that visitor's `Tree` (`gr.State`); the
key typed in the tab is never kept in it, only passed in for each call.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from playground.chat.backends import BackendConfig, BackendKind
from playground.errors import InvalidInput
from playground.generation.remote.logprobs import ServerTokens, as_text
from playground.generation.remote.stream import generate_remote
from playground.generation.request import GenerationRequest, TokenStep
from playground.sampling.tree import BeyondRun, Tree
from playground.settings import Settings


@dataclass
class ServerBranch:
    id: str
    kind: BackendKind
    model: str
    base_url: str | None  # as typed (None: the operator's); the key is never kept here
    request: GenerationRequest  # the run's prompt and settings
    tokens: ServerTokens  # shared by a run and its branches: their steps' stand-in ids point into it
    parent: str | None = None
    split: int | None = None
    steps: list[TokenStep] = field(default_factory=list)
    forced: int | None = None  # the step whose token was chosen, not drawn
    text: str = ""
    stop_reason: str | None = None
    server: str = ""
    cost_usd: float | None = None  # on the server's own key: what the call cost (the session's cap counts it)
    operator_key: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def log_prob(self) -> float:
        return sum(math.log(max(s.prob, 1e-45)) for s in self.steps)

    @property
    def perplexity(self) -> float | None:
        return math.exp(-self.log_prob / len(self.steps)) if self.steps else None

    def config(self, api_key: str | None) -> BackendConfig:
        return BackendConfig.of(self.kind, self.model, self.base_url, api_key)


ServerTree = Tree[ServerBranch]


def new_tree(settings: Settings) -> ServerTree:
    return Tree[ServerBranch](limit=settings.sampling_max_branches)


def sample(tree: ServerTree, request: GenerationRequest, config: BackendConfig, settings: Settings, *,
           stop: threading.Event | None = None, session_spent: float = 0.0) -> Iterator[ServerBranch]:
    """A new run at the root; yields the branch as tokens arrive."""
    branch = ServerBranch(tree.new_id(), config.kind, config.model, config.base_url, request, ServerTokens())
    yield from _stream(tree, branch, request, config, settings, stop, session_spent, continue_final=False)


def choose(parent: ServerBranch, step: int, token: str) -> TokenStep:
    """The token that starts the branch: `#n` is the n-th of that step's top-5, any other text is taken as typed."""
    if not parent.steps or not 0 <= step < len(parent.steps):
        raise BeyondRun(f"Step {step} is beyond branch {parent.id}: it has {len(parent.steps)} tokens"
                        + (f", steps 0–{len(parent.steps) - 1}." if parent.steps else "."))
    at = parent.steps[step]
    value = (token or "").strip() if (token or "").strip().startswith("#") else (token or "")
    if value.startswith("#"):
        try:
            n = int(value[1:])
        except ValueError:
            raise InvalidInput(f"{value!r}: write # and the place in the top-5 (#1 is the likeliest).") from None
        if not 1 <= n <= len(at.top):
            raise InvalidInput(f"Step {step} has {len(at.top)} alternatives from the server: pick #1–#{len(at.top)}.")
        token_id, text, prob = at.top[n - 1]
        return TokenStep(token_id, text, prob, list(at.top))
    if not value:
        raise InvalidInput("Pick one of the server's top-5 tokens, or type the text to continue with.")
    # A typed text: the server gave no probability for it (it is not one of the top-5 it sent).
    known = next((alt for alt in at.top if alt[1] == value), None)
    if known is not None:
        return TokenStep(known[0], value, known[2], list(at.top))
    return TokenStep(parent.tokens.add(value.encode("utf-8")), value, 0.0, list(at.top))


def continue_from(tree: ServerTree, branch_id: str, step: int, token: str, api_key: str | None, settings: Settings, *,
                  stop: threading.Event | None = None, session_spent: float = 0.0) -> Iterator[ServerBranch]:
    """A new branch: the parent's first `step` tokens, then the chosen token, then the server's continuation."""
    parent = tree.get(branch_id)
    chosen = choose(parent, int(step), token)
    step = int(step)
    kept = parent.steps[:step] + [chosen]
    start = as_text(b"".join(parent.tokens.token_bytes([s.id for s in kept])))
    base = parent.request
    left = base.max_new_tokens - len(kept)
    if left < 1:
        raise InvalidInput(f"Branch {parent.id} was limited to {base.max_new_tokens} tokens and step {step} is its "
                           "last: nothing is left to generate. Pick an earlier step.")
    if base.messages is not None:
        request = replace(base, messages=[*base.messages, {"role": "assistant", "content": start}],
                          max_new_tokens=left)
    else:
        request = replace(base, prompt=(base.prompt or "") + start, max_new_tokens=left)
    branch = ServerBranch(tree.new_id(), parent.kind, parent.model, parent.base_url, base, parent.tokens,
                          parent=parent.id, split=step, steps=list(kept), forced=step, text=start)
    if chosen.prob == 0.0:
        branch.notes.append(f"{token!r} is not among the server's top-5 at step {step}: its probability is unknown "
                            "(counted as 0 in the log-probability).")
    yield from _stream(tree, branch, request, parent.config(api_key), settings, stop, session_spent,
                       continue_final=base.messages is not None)


def _stream(tree: ServerTree, branch: ServerBranch, request: GenerationRequest, config: BackendConfig,
            settings: Settings, stop: threading.Event | None, session_spent: float, *,
            continue_final: bool) -> Iterator[ServerBranch]:
    head, start = list(branch.steps), branch.text
    updates = generate_remote(request, config, settings, stop=stop, want_prompt=False, session_spent=session_spent,
                              continue_final=continue_final, tokens=branch.tokens)
    added = False
    for update in updates:
        if not added:  # the call went through: only now does the branch join the tree
            branch.notes += tree.add(branch)
            added = True
        branch.steps, branch.text, branch.server = head + update.steps, start + update.text, update.server
        if update.finished:
            branch.stop_reason, branch.cost_usd, branch.operator_key = (update.stop_reason, update.cost_usd,
                                                                        update.operator_key)
            branch.notes += update.notes
            if not update.steps and update.text:
                branch.notes.append(f"{update.server} sent no logprobs: this branch has no alternatives to branch "
                                    "from.")
        yield branch
