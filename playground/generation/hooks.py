"""The hooks `model.generate` calls on every step, and the arguments it gets besides the inputs.

A logits processor keeps a reference to each step's scores (no copy, no second pass); a streamer
turns the chosen token plus those scores into a queue item (softmax and top-5 on one row:
microseconds next to a forward pass); a stopping criterion ends the run when the visitor's Stop
event (or a reader that went away) is set. Probabilities are the model's own distribution at that
step: after the repetition penalty, before temperature / top-k / top-p, which transformers applies
after custom processors.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from playground import lazy
from playground.generation import models
from playground.generation.request import GenerationRequest

TOP_K_SHOWN = 5


def token_text(view: Any, token_id: int) -> str:
    data = view.token_bytes([token_id])[0]
    return data.decode("utf-8", errors="backslashreplace")


def generation_kwargs(loaded: models.LoadedModel, request: GenerationRequest, max_new: int) -> dict:
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


def make_hooks(out: queue.Queue, cancelled: Callable[[], bool]) -> tuple[Any, Any, Any]:
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
