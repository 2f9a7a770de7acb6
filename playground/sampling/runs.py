"""Start a run, continue a branch from any step, read one step: the Sampling tab's backend.

Prompts are validated and rendered by the Generate tab's own `engine.prepare` (chat template or
raw text, the same caps and notes). Decoding is `playground.sampling.decoder`, one token per
torch-thread job with its own KV cache and random generator, so a step runs between two decoding
steps of a Generate-tab batch on the same model without touching its state. A finished branch's
KV cache is kept in a small process-wide LRU (keyed by the session's random id and the branch id)
so continuing from it crops that cache instead of reading the prefix again; when it has been
evicted, the prefix is read in one pass and the result is the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from playground.cache import SharedCache
from playground.errors import InvalidInput
from playground.generation import catalogue, models
from playground.generation.engine import GenerationRequest, prepare
from playground.generation.hooks import eos_ids
from playground.sampling import decoder
from playground.sampling.pipeline import SamplingConfig
from playground.sampling.tree import Branch, NotInVocabulary, Tree
from playground.settings import Settings

KV_KEPT = 8  # finished branches whose KV cache stays in memory (tens of MB each for a small model)

_caches: SharedCache[str, Any] = SharedCache(KV_KEPT)  # least recently used branch cache goes first


@dataclass(frozen=True)
class RunRequest:
    model_id: str
    messages: list[dict[str, str]] | None = None  # chat-template mode
    prompt: str | None = None  # raw mode
    max_new_tokens: int = 48
    config: SamplingConfig = SamplingConfig()


def chat_messages(system: str, user: str) -> list[dict[str, str]]:
    """A user message, after a system message when one is given."""
    return ([{"role": "system", "content": system}] if (system or "").strip() else []) + [
        {"role": "user", "content": user or ""}]


def _keep_cache(key: str, cache: Any) -> None:
    _caches.put(key, cache)


def _cache_for(key: str) -> Any | None:
    return _caches.get(key)


def cached_branches() -> int:
    return len(_caches)


def sample(tree: Tree[Branch], request: RunRequest, settings: Settings) -> Iterator[Branch]:
    """A new run at the root of the tree; yields the branch after every token."""
    request.config.check()
    prepared = prepare(GenerationRequest(model_id=request.model_id, messages=request.messages, prompt=request.prompt,
                                         max_new_tokens=request.max_new_tokens), settings)
    loaded = models.load_model(prepared.spec, settings)
    config = request.config
    seed = config.seed if config.seed is not None else decoder.new_seed()
    branch = Branch(tree.new_id(), prepared.spec.id, prepared.spec.label, config, seed, list(prepared.ids),
                    prepared.max_new_tokens, notes=list(prepared.notes))
    run = decoder.start(loaded.model, config, branch.prompt_ids, seed)
    branch.notes += tree.add(branch)
    yield from _decode(tree, branch, run, loaded, prepared.max_new_tokens)


def parse_token(text: str, loaded: models.LoadedModel) -> int:
    """`#123` is the id 123; anything else must be exactly one token of the model's vocabulary."""
    value = (text or "").strip() if (text or "").strip().startswith("#") else (text or "")
    size = min(len(loaded.tokenizer), int(loaded.model.config.get_text_config().vocab_size))
    if value.startswith("#"):
        try:
            token = int(value[1:])
        except ValueError:
            raise InvalidInput(f"{value!r} is not a token id: write # and a whole number, e.g. #1234.") from None
        if not 0 <= token < size:
            raise NotInVocabulary(f"Token id {token} is outside {loaded.spec.label}'s vocabulary (ids 0–{size - 1}).")
        return token
    if not value:
        raise InvalidInput("Pick one of the top-5 tokens, or type a token (its text, or # and its id).")
    ids = loaded.tokenizer(value, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        pieces = [loaded.tokenizer.convert_ids_to_tokens(i) for i in ids[:8]]
        raise InvalidInput(f"{value!r} is {len(ids)} tokens for {loaded.spec.label} ({pieces}), not one. Type a single "
                           "token (mind the leading space: ' Paris' and 'Paris' differ), or # and its id.")
    return int(ids[0])


def continue_from(tree: Tree[Branch], branch_id: str, step: int, token: str, settings: Settings) -> Iterator[Branch]:
    """A new branch: the parent's first `step` tokens, then `token`, then sampling with the same settings."""
    parent = tree.get(branch_id)
    parent.step(int(step))  # a step beyond the run fails here, with the run's length
    step = int(step)
    spec = catalogue.get(parent.model_id, allow_custom=bool(settings.allow_custom_models))
    loaded = models.load_model(spec, settings)
    forced = parse_token(token, loaded)
    prefix = parent.prompt_ids + parent.tokens[:step]
    run = decoder.start(loaded.model, parent.config, prefix, parent.seed, _cache_for(tree.key(parent.id)))
    branch = Branch(tree.new_id(), parent.model_id, parent.model_label, parent.config, parent.seed,
                    list(parent.prompt_ids), parent.max_new, parent=parent.id, split=step,
                    steps=list(parent.steps[:step]), reused_tokens=run.reused)
    branch.notes += tree.add(branch)
    yield from _decode(tree, branch, run, loaded, parent.max_new - step, forced)


def _decode(tree: Tree[Branch], branch: Branch, run: decoder.Decoder, loaded: models.LoadedModel, n: int,
            forced: int | None = None) -> Iterator[Branch]:
    stop_ids = eos_ids(loaded)
    try:
        for i in range(max(1, n)):
            view = run.step(forced if i == 0 else None, last=i >= n - 1, stop_ids=stop_ids)
            branch.steps.append(view)
            branch.text = loaded.tokenizer.decode(branch.tokens, skip_special_tokens=True)
            if view.token in stop_ids:
                branch.stop_reason = "eos"
                break
            if i < n - 1:
                yield branch
        else:
            branch.stop_reason = "max_new_tokens"
        yield branch
    finally:  # also when the visitor went away mid-run: what was read so far can still be branched from
        _keep_cache(tree.key(branch.id), run.cache)
