"""Visitors generating with the same model at the same time share decoding steps (issue 11.2).

Design: requests that arrive together (or while the model is busy) are decoded by one
`model.generate` call on their prompts, left-padded with an attention mask: transformers' own
batched decoding. Each row (one visitor) gets its token, probability and top-5 from
`generation.hooks` every step, and stops on its own: its own `max_new_tokens`, an end-of-turn
token, or its visitor's Stop or departure, through the per-row flags a transformers stopping
criterion returns. A finished row is padding until its batch ends (transformers does not shrink a
batch); the batch ends as soon as every row has. A request that arrives while a batch runs does
not wait for it to finish: after `MIN_SEGMENT` steps the batch makes room (every row pauses) and
the next `generate` runs the paused rows, each re-reading its prompt and its tokens so far in one
pass, together with the newcomers. Same greedy tokens and top-5 (tested). That pass costs every
row time: 3 rows of 41 tokens take as long as 4.4 decoding steps on this 2-core CPU (2.8 for one
row), so a batch that ends within `MIN_SEGMENT` steps anyway finishes first, and the newcomers
start right after it. Other torch work waiting on the runtime thread (a sentence to embed, work on
another model) does not pause the batch: it runs between two decoding steps
(`runtime.between_steps`) and decoding goes on with its KV cache. That includes work on this very
model (a Sampling step, the Inside view): each such job keeps its own state, so the batch's
tokens are the same as alone (tested). Only another long job (a batch of
another model) makes the batch pause, as a newcomer does. The scheduling is "whoever waits when
the model frees up, oldest first": no scheduler of our own beyond that.

Why this and not transformers' continuous batching (`init_continuous_batching` /
`ContinuousBatchingManager`, measured in `bench/batching.py` on SmolLM2-135M, 64 greedy tokens):
 * exactness: its paged-attention batches gave different greedy ids from the single stream at 8
   requests; the padded `generate` gave the same ids and the same top-5 at 1–16 (tests check it);
 * no top-5: it returns token ids only, so every step would need a second forward pass;
 * threads: the manager decodes on a thread of its own, a second OpenMP team next to the
   runtime's (`playground.runtime`: that halves CPU speed), while this stays on the one thread.
Its advantage, rows joining mid-flight without a new prompt pass, is bought back here by the
pause-and-continue above at the cost of one batched prompt pass per join.

Greedy and sampling rows, with any temperature / top-k / top-p / repetition penalty, share a batch
(`generation.hooks` applies each row's own). Seeded sampling runs alone, so a seed repeats its run
exactly: nothing else draws from torch's RNG during it.

Who runs what: a short-lived dispatcher thread per busy model (plain Python, no torch) takes a
device slot (`--generation-concurrency`) and the model's lock, waits `GATHER_S` for visitors who
clicked at the same moment, and hands the batch to the torch thread as one job; it releases slot
and lock when that job has really ended, whatever happened, and exits once nobody is waiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playground import runtime
from playground.generation import models
from playground.generation.hooks import batch_kwargs, eos_ids, make_hooks
from playground.generation.request import GenerationRequest, Prepared
from playground.settings import Settings

log = logging.getLogger("playground")

GATHER_S = 0.05  # a batch about to start waits this long for requests sent at the same moment

_slots_guard = threading.Lock()
_device_slots: dict[int, threading.BoundedSemaphore] = {}


def device_slots(settings: Settings) -> threading.BoundedSemaphore:
    """Batches at once on this process's device, whichever tab or model asks (the Chat tab's
    local backend too): `--generation-concurrency`."""
    with _slots_guard:
        return _device_slots.setdefault(settings.generation_concurrency,
                                        threading.BoundedSemaphore(max(1, settings.generation_concurrency)))


@dataclass(eq=False)
class Row:
    """One visitor's generation: its prompt, its limits and the queue its reader drains."""

    request: GenerationRequest
    prepared: Prepared
    cancelled: Callable[[], bool]  # Stop pressed or the reader left
    out: queue.Queue[tuple[Any, ...]] = field(default_factory=queue.Queue)
    queued: float = field(default_factory=time.perf_counter)  # when it asked for the model
    started: float = 0.0  # when its first batch began decoding (time queued before is not decoding)
    batch_size: int = 0  # the most visitors it shared decoding steps with (itself included)
    generated: list[int] = field(default_factory=list)
    ended: bool = False

    @property
    def max_new(self) -> int:
        return self.prepared.max_new_tokens

    @property
    def count(self) -> int:
        return len(self.generated)

    @property
    def ids(self) -> list[int]:
        """What the next batch reads for this row: the prompt and the tokens generated so far."""
        return self.prepared.ids + self.generated

    def finish(self) -> None:
        if not self.ended:
            self.ended = True
            self.out.put(("end",))

    def fail(self, exc: BaseException) -> None:
        if not self.ended:
            self.ended = True
            self.out.put(("error", exc))

    @property
    def seeded(self) -> bool:
        return self.request.do_sample and self.request.seed is not None

    def key(self) -> tuple[Any, ...]:
        """Rows with equal keys may share a batch: all but seeded sampling, which runs alone."""
        return ("seeded", id(self)) if self.seeded else ("shared",)


class Batcher:
    """The rows waiting for one loaded model, and the dispatcher that runs them in batches."""

    def __init__(self, loaded: models.LoadedModel, settings: Settings):
        self.loaded, self.settings = loaded, settings
        self.pending: list[Row] = []
        self.dispatching = False

    def _take(self) -> list[Row]:
        """The oldest waiting row and every waiting row that decodes like it, up to the batch size."""
        for row in [r for r in self.pending if r.cancelled()]:  # left while waiting: never started
            self.pending.remove(row)
            row.finish()
        if not self.pending:
            return []
        key = self.pending[0].key()
        rows = [r for r in self.pending if r.key() == key][: max(1, self.settings.generation_batch)]
        for row in rows:
            self.pending.remove(row)
        return rows

    def newcomer(self, size: int) -> bool:
        """A request that could join is waiting, and a batch of `size` has room for it."""
        return size < self.settings.generation_batch and any(
            not r.seeded and not r.cancelled() for r in self.pending)

    def dispatch(self) -> None:
        slots = device_slots(self.settings)
        gather = GATHER_S  # only the first batch after idle: later ones gathered during the one before
        while True:
            with _guard:
                if not any(not r.cancelled() for r in self.pending):
                    self._take()  # ends the abandoned ones
                    self.dispatching = False
                    if _batchers.get(self.loaded.spec.id) is self:
                        del _batchers[self.loaded.spec.id]  # an evicted model is not kept alive by us
                    return
            slots.acquire()
            self.loaded.lock.acquire()
            rows: list[Row] = []
            try:
                if gather and len(self.pending) < self.settings.generation_batch:
                    time.sleep(gather)
                gather = 0.0
                with _guard:
                    rows = self._take()
                if rows:
                    # run_batch never raises: its rows saw any error already
                    rest = runtime.call(run_batch, self.loaded, rows, self.newcomer, long=True)
                    with _guard:
                        self.pending[:0] = rest  # made room for newcomers: continue first, with them
            except BaseException as exc:  # noqa: BLE001 - every row taken must end, whatever failed here
                for row in rows:
                    row.fail(exc)
                log.exception("generation dispatcher for %s failed", self.loaded.spec.id)
            finally:
                self.loaded.lock.release()
                slots.release()


_guard = threading.Lock()
_batchers: dict[str, Batcher] = {}


def enqueue(loaded: models.LoadedModel, row: Row, settings: Settings) -> None:
    """Queue a row for this model; it starts in the next batch."""
    with _guard:
        batcher = _batchers.get(loaded.spec.id)
        if batcher is None or batcher.loaded is not loaded:
            batcher = _batchers[loaded.spec.id] = Batcher(loaded, settings)
        batcher.pending.append(row)
        if not batcher.dispatching:
            batcher.dispatching = True
            threading.Thread(target=batcher.dispatch, name=f"batcher-{loaded.spec.id}", daemon=True).start()


def run_batch(loaded: models.LoadedModel, rows: list[Row], newcomer: Callable[[int], bool]) -> list[Row]:
    """The job on the torch thread: one `model.generate` over the rows' left-padded prompts.

    Returns the rows to continue in the next batch: those still running when this one made room
    for a newcomer (`MIN_SEGMENT`). They re-read their prompt and tokens so far in one pass there.
    """
    import torch

    rest: list[Row] = []
    try:
        live = [row for row in rows if not row.cancelled()]
        for row in rows:
            if row not in live:
                row.finish()
        if not live:
            return []
        first = live[0].request
        kwargs = batch_kwargs(loaded, live)
        pad = kwargs["pad_token_id"]
        inputs = [row.ids for row in live]
        width = max(map(len, inputs))
        device = loaded.model.device
        ids = torch.tensor([[pad] * (width - len(x)) + x for x in inputs], device=device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in inputs], device=device)
        alone = first.do_sample and first.seed is not None  # a seeded row is alone (Row.key) and runs to its end
        recorder, criterion = make_hooks(loaded, live, eos_ids(loaded),
                                         (lambda: False) if alone else (lambda: newcomer(len(live)) or runtime.long_jobs_waiting()),
                                         short_jobs=not alone)
        with torch.inference_mode():
            if alone:
                torch.manual_seed(first.seed)
            started = time.perf_counter()
            for row in live:
                row.started = row.started or started
                row.batch_size = max(row.batch_size, len(live))
            loaded.model.generate(input_ids=ids, attention_mask=mask, logits_processor=[recorder],
                                  stopping_criteria=[criterion], **kwargs)
        rest = [row for row in live if not row.ended and not row.cancelled()]
    except BaseException as exc:  # noqa: BLE001 - handed to each row's reader, which raises it
        for row in rows:
            row.fail(exc)
    finally:
        for row in rows:
            if row not in rest:
                row.finish()
    return rest
