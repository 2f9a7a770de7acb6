"""Stream a generation token by token, with each token's probability and its top-5 alternatives.

`model.generate` runs in a worker thread. A logits processor keeps a reference to each step's
scores (no copy, no second pass) and a streamer turns the chosen token plus those scores into a
`TokenStep` (softmax and top-5 on one row: microseconds next to a forward pass). Steps go
through a queue read with a timeout, so a worker that raises or dies ends the stream with an
error instead of hanging. A `threading.Event` (the Stop button) is checked by a stopping
criterion after every token. A device slot (`--generation-concurrency`, shared by the Generate
and Chat tabs) and the model's lock are held for the whole generation, so concurrent requests
queue up; sampling also holds a process-wide lock, because torch's sampling RNG is global.

Probabilities are the model's own distribution at that step (after the repetition penalty,
before temperature / top-k / top-p, which transformers applies after custom processors).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from playground import lazy
from playground.errors import InputTooLarge, InvalidInput, ModelLoadError, PlaygroundError
from playground.generation import catalogue, models
from playground.generation.catalogue import DEFAULT_MODEL, ModelSpec
from playground.settings import Settings

log = logging.getLogger("playground")

TOP_K_SHOWN = 5
POLL_S = 0.5  # how often a waiting stream checks that its worker is alive
STALL_S = 300.0  # no token for this long: the worker is stuck; end the stream with an error
ROLES = ("system", "user", "assistant")

_rng_lock = threading.Lock()  # torch's sampling RNG is process-wide: one sampling run at a time
_slots_guard = threading.Lock()
_device_slots: dict[int, threading.BoundedSemaphore] = {}


def device_slots(settings: Settings) -> threading.BoundedSemaphore:
    """Generations at once on this process's device, whichever tab or model asks (the Chat tab's
    local backend too): `--generation-concurrency`."""
    with _slots_guard:
        return _device_slots.setdefault(settings.generation_concurrency,
                                        threading.BoundedSemaphore(max(1, settings.generation_concurrency)))


class GenerationFailed(PlaygroundError):
    """The generation thread raised or stopped answering; the stream ends with this message."""


@dataclass(frozen=True)
class GenerationRequest:
    model_id: str = DEFAULT_MODEL
    messages: list[dict] | None = None  # chat-template mode: [{"role": ..., "content": ...}]
    prompt: str | None = None  # raw-prompt mode (exactly one of messages / prompt)
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 50
    repetition_penalty: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class TokenStep:
    id: int
    text: str  # this token's own bytes as text; a piece of a multi-byte character shows as \xNN
    prob: float  # the model's probability for this token at this step
    top: list[tuple[int, str, float]]  # the 5 most likely tokens at this step: (id, text, prob)
    special: bool = False  # a control token such as <|im_end|>


@dataclass(frozen=True)
class GenerationUpdate:
    text: str  # all generated text so far (special tokens left out)
    steps: list[TokenStep]  # all generated tokens so far
    prompt_ids: list[int]
    finished: bool
    stop_reason: str | None  # "eos", "max_new_tokens", "stopped", or None while running
    stats: dict  # prompt_tokens, new_tokens, ttft_s, tokens_per_s, total_s, device, dtype, model_memory_mb
    notes: list[str] = field(default_factory=list)  # e.g. "max_new_tokens clamped to 512 (server cap)"


@dataclass(frozen=True)
class Prepared:
    """A validated request: the spec, the prompt as text and ids, and the effective limits."""

    spec: ModelSpec
    text: str
    ids: list[int]
    add_special_tokens: bool  # raw mode lets the tokenizer add its BOS; the chat template writes its own
    max_new_tokens: int
    context_length: int | None
    notes: list[str]


# --- validation and the prompt ----------------------------------------------------------------


def resolve(model_id: str, settings: Settings) -> ModelSpec:
    return catalogue.get(model_id or DEFAULT_MODEL, allow_custom=settings.allow_custom_models)


def _check_text(request: GenerationRequest, settings: Settings) -> None:
    if (request.messages is None) == (request.prompt is None):
        raise InvalidInput("Give either chat messages or a raw prompt, not both (and not neither).")
    if request.prompt is not None:
        if not request.prompt.strip():
            raise InvalidInput("The prompt is empty: type some text for the model to continue.")
        if len(request.prompt) > settings.max_input_chars:
            raise InputTooLarge("The prompt", len(request.prompt), settings.max_input_chars)
        return
    messages = request.messages or []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            raise InvalidInput(f"Message {i + 1} must look like {{'role': 'system'|'user'|'assistant', 'content': '…'}}.")
    if not any(m["content"].strip() for m in messages if m["role"] != "system"):
        raise InvalidInput("The message is empty: type a user message for the model to answer.")
    total = sum(len(m["content"]) for m in messages)
    if total > settings.max_input_chars:
        raise InputTooLarge("The conversation", total, settings.max_input_chars)


def _check_parameters(request: GenerationRequest) -> None:
    if request.max_new_tokens < 1:
        raise InvalidInput("max_new_tokens must be at least 1.")
    if request.do_sample:
        if not request.temperature > 0:
            raise InvalidInput("Temperature must be above 0 when sampling (use greedy decoding for temperature 0).")
        if not 0 < request.top_p <= 1:
            raise InvalidInput("top_p must be in (0, 1].")
        if request.top_k < 0:
            raise InvalidInput("top_k must be 0 (off) or more.")
    if not request.repetition_penalty > 0:
        raise InvalidInput("repetition_penalty must be above 0 (1.0 means no penalty).")


def _render_text(request: GenerationRequest, spec: ModelSpec, tokenizer: Any) -> tuple[str, bool]:
    if request.prompt is not None:
        return request.prompt, True
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInput(f"{spec.label} has no chat template. Use raw prompt mode and write the turns yourself.")
    try:
        text = tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - a template that rejects this conversation (e.g. roles out of order)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{spec.label}'s chat template rejects these messages: {first}") from None
    return text, False


def prepare(request: GenerationRequest, settings: Settings) -> Prepared:
    """Validate, render the prompt, tokenize it and fit max_new_tokens into the caps (with notes)."""
    _check_text(request, settings)
    _check_parameters(request)
    spec = resolve(request.model_id, settings)
    tokenizer = models.load_tokenizer(spec, settings)
    text, add_special = _render_text(request, spec, tokenizer)
    ids = tokenizer(text, add_special_tokens=add_special)["input_ids"]
    notes: list[str] = []
    max_new = request.max_new_tokens
    if max_new > settings.max_new_tokens:
        notes.append(f"max_new_tokens clamped to {settings.max_new_tokens} (server cap; you asked for {max_new}).")
        max_new = settings.max_new_tokens
    context = models.context_length(spec, settings)
    if context is not None:
        if len(ids) >= context:
            raise InvalidInput(
                f"The prompt is {len(ids):,} tokens, but {spec.label} reads at most {context:,} tokens "
                f"(its context window), including the tokens it generates. Shorten the prompt by at least "
                f"{len(ids) - context + 1:,} tokens."
            )
        if len(ids) + max_new > context:
            max_new = context - len(ids)
            notes.append(f"max_new_tokens lowered to {max_new} so that prompt + answer fit the {context:,}-token context.")
    return Prepared(spec, text, list(ids), add_special, max_new, context, notes)


def render_prompt(request: GenerationRequest, settings: Settings) -> tuple[str, list[int]]:
    """The exact prompt text the model reads (after the chat template) and its token ids."""
    prepared = prepare(request, settings)
    return prepared.text, prepared.ids


def model_context_length(model_id: str, settings: Settings) -> int | None:
    return models.context_length(resolve(model_id, settings), settings)


# --- the worker ------------------------------------------------------------------------------


def _token_text(view: Any, token_id: int) -> str:
    data = view.token_bytes([token_id])[0]
    return data.decode("utf-8", errors="backslashreplace")


def _generation_kwargs(loaded: models.LoadedModel, request: GenerationRequest, max_new: int) -> dict:
    """What goes to `model.generate` besides the inputs; copy-as-code writes the same."""
    kwargs: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": request.do_sample}
    if request.do_sample:
        kwargs.update(temperature=request.temperature, top_p=request.top_p, top_k=request.top_k)
    if request.repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = request.repetition_penalty
    config = loaded.model.generation_config
    if config.pad_token_id is None:
        kwargs["pad_token_id"] = loaded.tokenizer.pad_token_id or loaded.tokenizer.eos_token_id
    return kwargs


def eos_ids(loaded: models.LoadedModel) -> set[int]:
    eos = loaded.model.generation_config.eos_token_id
    if eos is None:
        eos = loaded.tokenizer.eos_token_id
    return set(eos if isinstance(eos, list) else [eos] if eos is not None else [])


def _make_hooks(out: queue.Queue, cancelled: Callable[[], bool]) -> tuple[Any, Any, Any]:
    """(logits processor, stopping criterion, streamer) sharing one queue; classes built lazily (torch)."""
    import torch
    transformers = lazy.transformers()
    LogitsProcessor, StoppingCriteria = transformers.LogitsProcessor, transformers.StoppingCriteria  # noqa: N806
    BaseStreamer = transformers.generation.streamers.BaseStreamer  # noqa: N806

    class Recorder(LogitsProcessor):
        last: Any = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            self.last = scores  # a reference: nothing is copied on the hot path
            return scores

    class StopEvent(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), cancelled(), dtype=torch.bool, device=input_ids.device)

    recorder = Recorder()

    class Streamer(BaseStreamer):
        prompt_seen = False

        def put(self, value: Any) -> None:
            if not self.prompt_seen:  # generate() first hands over the prompt ids
                self.prompt_seen = True
                return
            token = int(value.reshape(-1)[0])
            probs = torch.softmax(recorder.last[0].float(), dim=-1)
            top_p, top_i = probs.topk(TOP_K_SHOWN)
            out.put(("token", token, float(probs[token]), top_i.tolist(), top_p.tolist(), time.perf_counter()))

        def end(self) -> None:
            out.put(("end",))

    return recorder, StopEvent(), Streamer()


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
    that went away) stops the worker and releases the model.
    """
    prepared = prepare(request, settings)
    stop = stop or threading.Event()
    yield from _on_gpu(_stream)(request, prepared, settings, stop)


def _stream(request: GenerationRequest, prepared: Prepared, settings: Settings,
            stop: threading.Event) -> Iterator[GenerationUpdate]:
    import torch

    loaded = models.load_model(prepared.spec, settings)
    view = models.load_view(prepared.spec, settings)
    eos = eos_ids(loaded)
    kwargs = _generation_kwargs(loaded, request, prepared.max_new_tokens)
    seeded = request.do_sample and request.seed is not None
    out: queue.Queue = queue.Queue()
    abandon = threading.Event()  # set when the reader goes away; the caller's `stop` is theirs alone
    recorder, stop_criterion, streamer = _make_hooks(out, lambda: stop.is_set() or abandon.is_set())
    ids = torch.tensor([prepared.ids], device=loaded.model.device)
    started = [0.0]

    def work() -> None:
        try:
            with torch.inference_mode():
                if seeded:
                    torch.manual_seed(request.seed)
                started[0] = time.perf_counter()
                loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), logits_processor=[recorder],
                                      stopping_criteria=[stop_criterion], streamer=streamer, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it there
            out.put(("error", exc))

    steps: list[TokenStep] = []
    generated: list[int] = []
    first_at = last_at = None
    slots = device_slots(settings)
    slots.acquire()  # queued behind generations with any model on this device
    loaded.lock.acquire()  # …and behind other generations with this model
    # Any sampling run draws from torch's one RNG; an unseeded one would shift a seeded one's draws.
    rng = _rng_lock if request.do_sample else None
    if rng:
        rng.acquire()
    worker = threading.Thread(target=work, name=f"generate-{prepared.spec.id}", daemon=True)
    try:
        worker.start()
        waited = 0.0
        finished = False
        while not finished:
            try:
                items = [out.get(timeout=POLL_S)]
            except queue.Empty:
                waited += POLL_S
                if not worker.is_alive() and out.empty():
                    raise GenerationFailed("The generation stopped without finishing (its thread ended). Try again.") from None
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
                if item[0] == "error":
                    _raise_from_worker(item[1], prepared.spec)
                if item[0] == "end":
                    finished = True
                    break
                _, token, prob, top_ids, top_probs, at = item
                first_at = first_at or at
                last_at = at
                generated.append(token)
                top_texts = [_token_text(view, t) for t in top_ids]
                steps.append(TokenStep(token, _token_text(view, token), prob,
                                       list(zip(top_ids, top_texts, top_probs, strict=True)), token in view.special_ids))
            reason = _stop_reason(generated, eos, stop, prepared.max_new_tokens) if finished else None
            yield GenerationUpdate(
                text=loaded.tokenizer.decode(generated, skip_special_tokens=True),
                steps=list(steps), prompt_ids=prepared.ids, finished=finished, stop_reason=reason,
                stats=_stats(loaded, prepared, len(generated), started[0], first_at, last_at),
                notes=list(prepared.notes),
            )
    finally:
        abandon.set()  # a reader that went away (GeneratorExit) or an error must not leave the model busy
        worker.join(timeout=60)
        if rng:
            rng.release()
        loaded.lock.release()
        slots.release()


def _raise_from_worker(exc: BaseException, spec: ModelSpec) -> None:
    if models.is_oom(exc):
        models.free_all()
        raise models.OutOfMemory(f"generating with {spec.label}") from None
    if isinstance(exc, PlaygroundError):
        raise exc
    log.error("generation with %s failed in its worker thread", spec.id, exc_info=exc)
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


__all__ = ["GenerationFailed", "GenerationRequest", "GenerationUpdate", "ModelLoadError", "TokenStep",
           "generate_stream", "model_context_length", "prepare", "render_prompt"]
