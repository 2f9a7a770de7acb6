"""The hooks `model.generate` calls on every step, and the arguments it gets besides the inputs.

One `generate` call decodes a batch of rows (`generation.batch`: one row per visitor), and rows
may decode differently: greedy next to sampling at its own temperature / top-k / top-p, each with
its own repetition penalty. So the batch runs with transformers' own processors turned off and one
logits processor applies them row group by row group, using transformers' processor classes
(`RepetitionPenaltyLogitsProcessor`, `TemperatureLogitsWarper`, `TopKLogitsWarper`,
`TopPLogitsWarper`; a greedy row in a sampling batch keeps only its argmax, so the draw is the
argmax). Between the penalty and the warpers it keeps a reference to the scores: the
probabilities shown are the model's own distribution at that step, after the repetition penalty,
before temperature / top-k / top-p, as in a single `generate`.

A stopping criterion, which transformers calls once per step right after the new tokens are
appended, reads them: for every row still running it puts the chosen token, its probability and
the top-5 on that row's queue (softmax and top-5 for the whole batch in one op: microseconds next
to a forward pass), and it ends a row that reached its own `max_new_tokens`, an end-of-turn token,
or whose visitor pressed Stop or left (transformers' per-row stop flags: that row only). The
criterion, not a streamer, records the tokens because a streamer may be called a step late
(transformers defers the stop check on some devices), when the scores are already the next step's.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from playground import lazy, runtime
from playground.generation import models
from playground.generation.request import GenerationRequest


class Row(Protocol):
    """What the hooks read and write of a visitor's row (`generation.batch.Row`)."""

    request: GenerationRequest
    out: queue.Queue[tuple[Any, ...]]
    generated: list[int]
    ended: bool

    @property
    def ids(self) -> list[int]: ...

    @property
    def max_new(self) -> int: ...

    @property
    def count(self) -> int: ...

    def cancelled(self) -> bool: ...

    def finish(self) -> None: ...

TOP_K_SHOWN = 5
# A batch makes room for a request that arrived meanwhile after decoding this many steps, and only if
# it would otherwise go on for more than this many: pausing makes every row re-read its prompt and
# tokens (for a few rows on a CPU, as long as several steps), so a batch about to end finishes first.
MIN_SEGMENT = 8


def token_text(view: Any, token_id: int) -> str:
    data = view.token_bytes([token_id])[0]
    return str(data.decode("utf-8", errors="backslashreplace"))


def pad_id(loaded: models.LoadedModel) -> int:
    """The id that fills a shorter prompt's left side in a batch (masked out: never read)."""
    config_pad = loaded.model.generation_config.pad_token_id
    for candidate in (config_pad, loaded.tokenizer.pad_token_id, loaded.tokenizer.eos_token_id):
        if isinstance(candidate, int):
            return candidate
    return 0


def eos_ids(loaded: models.LoadedModel) -> set[int]:
    eos = loaded.model.generation_config.eos_token_id
    if eos is None:
        eos = loaded.tokenizer.eos_token_id
    return set(eos if isinstance(eos, list) else [eos] if eos is not None else [])


def penalty(loaded: models.LoadedModel, request: GenerationRequest) -> float:
    """The repetition penalty a single `generate` would apply: the request's, else the model's default."""
    if request.repetition_penalty != 1.0:
        return request.repetition_penalty
    default = getattr(loaded.model.generation_config, "repetition_penalty", None)
    return float(default) if isinstance(default, int | float) else 1.0


def batch_kwargs(loaded: models.LoadedModel, rows: Sequence[Row]) -> dict[str, Any]:
    """`generate`'s own arguments for a batch: its processors off (the batch's processor applies them per row)."""
    kwargs: dict[str, Any] = {"max_new_tokens": max(row.max_new for row in rows), "repetition_penalty": 1.0,
                              "pad_token_id": pad_id(loaded)}
    if any(row.request.do_sample for row in rows):
        kwargs.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
    else:
        kwargs["do_sample"] = False
    return kwargs


def make_hooks(loaded: models.LoadedModel, rows: Sequence[Row], eos: set[int],
               make_room: Callable[[], bool], short_jobs: bool = True) -> tuple[Any, Any]:
    """(logits processor, stopping criterion) for one batch; classes built lazily (torch).

    `make_room()` true (someone is waiting to join) ends the whole batch after `MIN_SEGMENT` steps,
    unless it has at most that many left, without ending its rows: they continue, with the newcomer,
    in the next batch. If `short_jobs` (false for a seeded run), after each step the runtime runs the
    short torch jobs waiting behind the batch and fits its threads to the free cores
    (`runtime.between_steps`)."""
    import torch
    transformers = lazy.transformers()
    LogitsProcessor: Any = transformers.LogitsProcessor  # noqa: N806 - the library's names
    StoppingCriteria: Any = transformers.StoppingCriteria  # noqa: N806
    sampling = any(row.request.do_sample for row in rows)

    def argmax_only(input_ids: Any, scores: Any) -> Any:
        return torch.full_like(scores, -float("inf")).scatter(1, scores.argmax(-1, keepdim=True), 0.0)

    lengths = [len(row.ids) for row in rows]  # taken before the batch starts: the rows grow as it runs
    width = max(lengths)

    def group_processors(index: list[int], rep: float) -> tuple[list[Any], list[Any]]:
        request = rows[index[0]].request
        pads = [width - lengths[i] for i in index]  # a left pad is no repetition: skip it
        ignore = torch.tensor(pads, device=loaded.model.device) if any(pads) else None
        before = [transformers.RepetitionPenaltyLogitsProcessor(float(rep), ignore)] if rep != 1.0 else []
        if not request.do_sample:
            return before, [argmax_only] if sampling else []
        after: list[Any] = [transformers.TemperatureLogitsWarper(request.temperature)] if request.temperature != 1.0 else []
        if request.top_k > 0:
            after.append(transformers.TopKLogitsWarper(request.top_k))
        if request.top_p < 1.0:
            after.append(transformers.TopPLogitsWarper(request.top_p))
        return before, after

    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, row in enumerate(rows):
        r = row.request
        key = (r.do_sample, r.temperature, r.top_p, r.top_k) if r.do_sample else (False,)
        groups.setdefault((*key, penalty(loaded, r)), []).append(i)
    plan: list[tuple[Any, list[Any], list[Any]]] = [(torch.tensor(index, device=loaded.model.device), *group_processors(index, key[-1]))
            for key, index in groups.items()]
    whole = len(plan) == 1  # the usual case (and always a single visitor): no row indexing at all

    def apply(fns: list[Any], input_ids: Any, scores: Any) -> Any:
        for fn in fns:
            scores = fn(input_ids, scores)
        return scores

    class RowProcessors(LogitsProcessor):  # type: ignore[misc]
        last: Any = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            for stage in (1, 2):
                if whole:
                    scores = apply(plan[0][stage], input_ids, scores)
                elif any(group[stage] for group in plan):
                    scores = scores.clone()  # the processors return new tensors; the rows are written back
                    for index, *fns in plan:
                        if fns[stage - 1]:
                            scores[index] = apply(fns[stage - 1], input_ids[index], scores[index])
                if stage == 1:
                    self.last = scores  # a reference: nothing is copied on the hot path
            return scores

    recorder = RowProcessors()

    def steps_left() -> int:
        """The most steps any running row may still take (its own `max_new_tokens`)."""
        return max((row.max_new - row.count for row in rows if not row.ended), default=0)

    class RowSteps(StoppingCriteria):  # type: ignore[misc]
        steps = 0

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            self.steps += 1
            live = [i for i, row in enumerate(rows) if not row.ended]
            if live:
                at = time.perf_counter()
                if len(live) == len(rows):  # every row running (always so for one visitor): no gather
                    tokens, scores = input_ids[:, -1], recorder.last
                else:
                    index = torch.tensor(live, device=input_ids.device)
                    tokens, scores = input_ids[index, -1], recorder.last[index]
                probs = torch.softmax(scores.float(), dim=-1)
                top_p, top_i = probs.topk(TOP_K_SHOWN, dim=-1)
                chosen = probs.gather(1, tokens[:, None])[:, 0]
                for i, token, prob, ids, ps in zip(live, tokens.tolist(), chosen.tolist(), top_i.tolist(),
                                                   top_p.tolist(), strict=True):
                    row = rows[i]
                    row.generated.append(token)
                    row.out.put(("token", token, prob, ids, ps, at))
                    if token in eos or row.count >= row.max_new or row.cancelled():
                        row.finish()
            for row in rows:  # Stop pressed (or the reader left) while this step ran
                if not row.ended and row.cancelled():
                    row.finish()
            if not all(row.ended for row in rows):
                runtime.between_steps(short_jobs)  # a query to embed waits one step, not the whole batch
            if self.steps >= MIN_SEGMENT and steps_left() > MIN_SEGMENT and make_room():
                return torch.ones(len(rows), dtype=torch.bool, device=input_ids.device)  # all pause, go on in the next batch
            return torch.tensor([row.ended for row in rows], dtype=torch.bool, device=input_ids.device)

    return recorder, RowSteps()
