"""Stream a generation token by token, with each token's probability and its top-5 alternatives.

`model.generate` runs as a job on the runtime's torch thread (`playground.runtime`: one thread
for all torch work keeps CPU decoding at full speed). The hooks (`generation.hooks`) put each
step on a queue that the caller's thread reads with a timeout, so a job that raises ends the
stream with an error instead of hanging. A `threading.Event` (the Stop button) is checked by a
stopping criterion after every token; a reader that goes away (a closed iterator: a client that
left) sets a second event, so its job stops too.

A device slot (`--generation-concurrency`, shared by the Generate and Chat tabs) and the model's
lock are held until the job has really ended (not merely been asked to stop), so a model is
never used by two generations at once. Seeded sampling is reproducible because a job sets its
seed and then runs to the end on the one torch thread: nothing else draws from torch's RNG
in between.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from playground import runtime
from playground.errors import ModelLoadError, PlaygroundError
from playground.generation import models
from playground.generation.catalogue import ModelSpec
from playground.generation.hooks import eos_ids, generation_kwargs, make_hooks, token_text
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

POLL_S = 0.5  # how often a waiting stream checks that its job is still running
STALL_S = 300.0  # no token for this long: the job is stuck; end the stream with an error

_slots_guard = threading.Lock()
_device_slots: dict[int, threading.BoundedSemaphore] = {}


def device_slots(settings: Settings) -> threading.BoundedSemaphore:
    """Generations at once on this process's device, whichever tab or model asks (the Chat tab's
    local backend too): `--generation-concurrency`."""
    with _slots_guard:
        return _device_slots.setdefault(settings.generation_concurrency,
                                        threading.BoundedSemaphore(max(1, settings.generation_concurrency)))


class GenerationFailed(PlaygroundError):
    """The generation job raised or stopped answering; the stream ends with this message."""


def _on_gpu(fn: Callable) -> Callable:
    """On a ZeroGPU Space (the `spaces` package is present), GPU work runs under `spaces.GPU`."""
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return fn
    return spaces.GPU(fn)


def generate_stream(
    request: GenerationRequest, settings: Settings, stop: threading.Event | None = None,
) -> Iterator[GenerationUpdate]:
    """Yield an update as tokens arrive (several at once if the reader is slower than the model).

    The last update has `finished=True` and a `stop_reason`. Closing the iterator early (a client
    that went away) stops the job and releases the model once the job has ended.
    """
    prepared = prepare(request, settings)
    stop = stop or threading.Event()
    yield from _on_gpu(_stream)(request, prepared, settings, stop)


def _run(loaded: models.LoadedModel, prepared: Prepared, request: GenerationRequest, hooks: tuple,
         kwargs: dict, started: list[float], abandon: threading.Event) -> None:
    """The job on the torch thread: one `model.generate` call feeding the hooks."""
    import torch

    recorder, stop_criterion, streamer = hooks
    if abandon.is_set():  # the reader left while this job waited for the torch thread
        streamer.end()
        return
    with torch.inference_mode():
        if request.do_sample and request.seed is not None:
            torch.manual_seed(request.seed)
        ids = torch.tensor([prepared.ids], device=loaded.model.device)
        started[0] = time.perf_counter()
        loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), logits_processor=[recorder],
                              stopping_criteria=[stop_criterion], streamer=streamer, **kwargs)


def _stream(request: GenerationRequest, prepared: Prepared, settings: Settings,
            stop: threading.Event) -> Iterator[GenerationUpdate]:
    loaded = models.load_model(prepared.spec, settings)
    view = models.load_view(prepared.spec, settings)
    eos = eos_ids(loaded)
    kwargs = generation_kwargs(loaded, request, prepared.max_new_tokens)
    out: queue.Queue = queue.Queue()
    abandon = threading.Event()  # set when the reader goes away; the caller's `stop` is theirs alone
    hooks = make_hooks(out, lambda: stop.is_set() or abandon.is_set())
    started = [0.0]
    steps: list[TokenStep] = []
    generated: list[int] = []
    first_at = last_at = None
    slots = device_slots(settings)
    slots.acquire()  # queued behind generations with any model on this device
    loaded.lock.acquire()  # …and behind other generations with this model
    job: Future | None = None
    finished = False
    try:
        job = runtime.submit(_run, loaded, prepared, request, hooks, kwargs, started, abandon)
        waited = 0.0
        while not finished:
            try:
                items = [out.get(timeout=POLL_S)]
            except queue.Empty:
                if job.done() and out.empty():
                    error = job.exception()
                    if error is not None:
                        _raise_from_worker(error, prepared.spec)
                    raise GenerationFailed("The generation stopped without finishing. Try again.") from None
                waited += POLL_S if started[0] else 0.0  # time queued behind other torch work is not a stall
                if waited > STALL_S:
                    raise GenerationFailed(f"No new token for {STALL_S:.0f} s: the generation was abandoned.") from None
                continue
            waited = 0.0
            while True:  # take whatever else is ready: a slow reader gets several tokens per update
                try:
                    items.append(out.get_nowait())
                except queue.Empty:
                    break
            for item in items:
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
            if finished and job.exception(timeout=STALL_S) is not None:  # `end` comes before a late raise
                _raise_from_worker(job.exception(), prepared.spec)
            reason = _stop_reason(generated, eos, stop, prepared.max_new_tokens) if finished else None
            yield GenerationUpdate(
                text=loaded.tokenizer.decode(generated, skip_special_tokens=True),
                steps=list(steps), prompt_ids=prepared.ids, finished=finished, stop_reason=reason,
                stats=_stats(loaded, prepared, len(generated), started[0], first_at, last_at),
                notes=list(prepared.notes),
            )
    finally:
        abandon.set()  # a reader that went away (GeneratorExit) or an error stops the job after this token

        def release(_: object = None) -> None:
            loaded.lock.release()
            slots.release()
            if not finished:
                log.info("generation with %s ended early after %d tokens (its reader left or it failed)",
                         prepared.spec.id, len(generated))

        # The model stays locked until its job has really ended (a second generation must never share
        # it), but the reader does not wait for that: a stream closed by Gradio's event loop (a client
        # that left) must not block the loop while the job finishes its current token.
        if job is None:
            release()
        else:
            job.add_done_callback(release)


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


def _stats(loaded: models.LoadedModel, prepared: Prepared, n: int, started: float,
           first_at: float | None, last_at: float | None) -> dict:
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
        "device": loaded.device, "dtype": loaded.dtype, "model_memory_mb": round(loaded.memory_mb, 1),
        "context_length": prepared.context_length, "max_new_tokens": prepared.max_new_tokens,
        "model": loaded.spec.id,
    }


__all__ = ["GenerationFailed", "GenerationRequest", "GenerationUpdate", "ModelLoadError", "Prepared", "TokenStep",
           "generate_stream", "model_context_length", "prepare", "render_prompt", "resolve"]
