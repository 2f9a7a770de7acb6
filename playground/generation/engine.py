"""Stream a generation token by token, with each token's probability and its top-5 alternatives.

A request becomes a row in `generation.batch`: visitors generating with the same model at the same
time share decoding steps (one `model.generate` on the runtime's torch thread; see that module for
the design, the device slot and the model lock). The hooks (`generation.hooks`) put each of the
row's steps on its queue, which the caller's thread reads with a timeout, so a job that raises ends
the stream with an error instead of hanging. A `threading.Event` (the Stop button) ends this row
only, after its current token; a reader that goes away (a closed iterator: a client that left)
sets a second event, so its row stops too, and the reader never waits for the batch to end.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from playground import runtime
from playground.errors import ModelLoadError, PlaygroundError
from playground.generation import batch, models
from playground.generation.catalogue import ModelSpec
from playground.generation.hooks import eos_ids, token_text
from playground.generation.request import (
    GenerationRequest,
    GenerationUpdate,
    Prepared,
    TokenStep,
    model_context_length,
    prepare,
    render_prompt,
    resolve,
)
from playground.settings import Settings

log = logging.getLogger("playground")

POLL_S = 0.5  # how often a waiting stream checks how long it has waited
STALL_S = 300.0  # no token for this long: the job is stuck; end the stream with an error


class GenerationFailed(PlaygroundError):
    """The generation job raised or stopped answering; the stream ends with this message."""


def _on_gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """On a ZeroGPU Space (the `spaces` package is present), GPU work runs under `spaces.GPU`."""
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return fn
    wrapped: Callable[..., Any] = spaces.GPU(fn)
    return wrapped


def generate_stream(
    request: GenerationRequest, settings: Settings, stop: threading.Event | None = None,
) -> Iterator[GenerationUpdate]:
    """Yield an update as tokens arrive (several at once if the reader is slower than the model).

    The last update has `finished=True` and a `stop_reason`. Closing the iterator early (a client
    that went away) ends its row; the model is released when its batch has ended.
    """
    prepared = prepare(request, settings)
    stop = stop or threading.Event()
    yield from _on_gpu(_stream)(request, prepared, settings, stop)


def _stream(request: GenerationRequest, prepared: Prepared, settings: Settings,
            stop: threading.Event) -> Iterator[GenerationUpdate]:
    loaded = models.load_model(prepared.spec, settings)
    view = models.load_view(prepared.spec, settings)
    eos = eos_ids(loaded)
    abandon = threading.Event()  # set when the reader goes away; the caller's `stop` is theirs alone
    row = batch.Row(request, prepared, lambda: stop.is_set() or abandon.is_set())
    steps: list[TokenStep] = []
    generated: list[int] = []
    first_at = last_at = None
    finished = False
    batch.enqueue(loaded, row, settings)
    try:
        waited = 0.0
        while not finished:
            try:
                with runtime.waiting():
                    items = [row.out.get(timeout=POLL_S)]
            except queue.Empty:  # a failed batch puts its error on every row's queue: no token here means busy
                waited += POLL_S if row.started else 0.0  # time queued behind other torch work is not a stall
                if waited > STALL_S:
                    raise GenerationFailed(f"No new token for {STALL_S:.0f} s: the generation was abandoned.") from None
                continue
            waited = 0.0
            while True:  # take whatever else is ready: a slow reader gets several tokens per update
                try:
                    items.append(row.out.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item[0] == "error":
                    _raise_from_worker(item[1], prepared.spec)
                if item[0] == "end":
                    finished = True
                    break
                _, token, prob, top_ids, top_probs, at = item
                first_at = first_at or at
                last_at = at
                generated.append(token)
                top_texts = [token_text(view, t) for t in top_ids]
                steps.append(TokenStep(token, token_text(view, token), prob,
                                       list(zip(top_ids, top_texts, top_probs, strict=True)), token in view.special_ids))
            reason = _stop_reason(generated, eos, stop, prepared.max_new_tokens) if finished else None
            yield GenerationUpdate(
                text=loaded.tokenizer.decode(generated, skip_special_tokens=True),
                steps=list(steps), prompt_ids=prepared.ids, finished=finished, stop_reason=reason,
                stats=_stats(loaded, prepared, row, len(generated), first_at, last_at),
                notes=list(prepared.notes),
            )
    finally:
        abandon.set()  # a reader that went away (GeneratorExit) or an error ends its row after this token
        if not finished:
            log.info("generation with %s ended early after %d tokens (its reader left or it failed)",
                     prepared.spec.id, len(generated))


def _raise_from_worker(exc: BaseException, spec: ModelSpec) -> None:
    if models.is_oom(exc):
        models.free_all()
        raise models.OutOfMemory(f"generating with {spec.label}") from None
    if isinstance(exc, PlaygroundError):
        raise exc
    log.error("generation with %s failed on the torch thread", spec.id, exc_info=exc)
    raise GenerationFailed(f"The generation failed ({type(exc).__name__}); it has been logged. Try again.") from exc


def _stop_reason(generated: list[int], eos: set[int], stop: threading.Event, max_new: int) -> str:
    if generated and generated[-1] in eos:
        return "eos"
    if stop.is_set() and len(generated) < max_new:
        return "stopped"
    return "max_new_tokens"


def _stats(loaded: models.LoadedModel, prepared: Prepared, row: batch.Row, n: int,
           first_at: float | None, last_at: float | None) -> dict[str, Any]:
    started = row.started
    ttft = (first_at - started) if first_at and started else None
    if n > 1 and first_at and last_at and last_at > first_at:
        rate = (n - 1) / (last_at - first_at)  # decoding speed, after the prompt's own pass
    elif n and ttft:
        rate = n / ttft
    else:
        rate = None
    return {
        "prompt_tokens": len(prepared.ids), "new_tokens": n, "ttft_s": ttft, "tokens_per_s": rate,
        "total_s": (last_at - started) if last_at and started else None,
        "queued_s": (started - row.queued) if started else None,  # waiting for other visitors' generations
        "device": loaded.device, "dtype": loaded.dtype, "model_memory_mb": round(loaded.memory_mb, 1),
        "context_length": prepared.context_length, "max_new_tokens": prepared.max_new_tokens,
        "model": loaded.spec.id, "batch_size": row.batch_size,
    }


__all__ = ["GenerationFailed", "GenerationRequest", "GenerationUpdate", "ModelLoadError", "Prepared", "TokenStep",
           "generate_stream", "model_context_length", "prepare", "render_prompt", "resolve"]
