"""Generate tab: a local transformers model writes token by token, and every step is visible.

The prompt as the model reads it (chat template, special tokens, ids), the streamed answer, one
chip per generated token with its probability and top-5 alternatives, why it stopped, speed, and
the transformers code that reproduces it. `/generate` is the same thing as plain JSON.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.errors import InvalidInput
from playground.generation import catalogue, models
from playground.generation.engine import GenerationFailed, GenerationRequest, GenerationUpdate, generate_stream, prepare
from playground.generation.snippet import copy_as_code
from playground.generation.view import generated_html, prompt_html
from playground.settings import Settings
from playground.tokenization.render import ids_text
from playground.ui.api_types import checked
from playground.ui.common import at_edge, stats_markdown

CHAT, RAW = "Chat template", "Raw prompt"
GREEDY, SAMPLING = "Greedy (always the most likely token)", "Sampling"
DEFAULT_USER = "What is the capital of France? Answer in one sentence."
DEFAULT_SYSTEM = "You are a helpful assistant."
DEFAULT_RAW = "<|im_start|>user\nWrite a haiku about tokens.<|im_end|>\n<|im_start|>assistant\n"
UPDATE_EVERY_S = 0.15  # redraw at most this often while streaming: the chip HTML grows with every token
API_UPDATE_EVERY_S = 0.5  # /generate's partial results: often enough to notice a client that left

INTRO = """A causal language model never sees your words: it sees **token ids**, and it predicts **one token at a time**.
Below is the exact prompt the model reads (the chat template wraps your message in special tokens — outlined in
purple), then each token it generates with the **probability** it gave that token; hover a token for the **five most
likely** candidates at that step. Generation ends when the model emits its end-of-turn token or when
`max_new_tokens` is reached — a hard stop, even mid-sentence."""


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    out = []
    for spec in catalogue.MODELS:
        ready = models.is_ready(spec, settings)
        where = "offline pack" if spec.pack else ("Hub" if ready else "needs the Hub")
        gated = ", gated: needs HF_TOKEN" if spec.gated else ""
        out.append((f"{'' if ready else '⚠ '}{spec.label} — {where}{gated}", spec.id))
    return out


def stop_reason_text(update: GenerationUpdate) -> str:
    n = update.stats.get("new_tokens", 0)
    if update.stop_reason == "eos":
        token = update.steps[-1].text if update.steps else "end-of-turn"
        return f"**Stop reason:** the model produced its end-of-turn token `{token}` after {n} tokens."
    if update.stop_reason == "max_new_tokens":
        return (f"**Stop reason:** `max_new_tokens` = {update.stats.get('max_new_tokens')} reached — "
                "a hard cut, not the model's choice.")
    if update.stop_reason == "stopped":
        return f"**Stop reason:** you pressed Stop (after {n} tokens)."
    return f"Generating… {n} tokens so far."


def stats_line(stats: dict) -> str:
    def secs(v: float | None) -> str | None:
        return None if v is None else f"{v:.2f} s"

    rate = stats.get("tokens_per_s")
    return stats_markdown([
        ("prompt tokens", stats.get("prompt_tokens")), ("new tokens", stats.get("new_tokens")),
        ("time to first token", secs(stats.get("ttft_s"))),
        ("tokens/s", None if rate is None else f"{rate:.1f}"),
        ("device", stats.get("device")), ("dtype", stats.get("dtype")),
        ("MB of weights", stats.get("model_memory_mb")),
        ("visitors sharing the decoding steps", stats.get("batch_size") or None),
    ])


def build_request(model_id: str, mode: str, system: str, user: str, raw: str, max_new: float, decoding: str,
                  temperature: float, top_p: float, top_k: float, repetition: float,
                  seed: float | None) -> GenerationRequest:
    if mode == RAW:
        messages, prompt = None, raw or ""
    else:
        messages = ([{"role": "system", "content": system}] if (system or "").strip() else []) + [
            {"role": "user", "content": user or ""}]
        prompt = None
    return GenerationRequest(
        model_id=model_id or catalogue.DEFAULT_MODEL, messages=messages, prompt=prompt,
        max_new_tokens=int(max_new), do_sample=decoding == SAMPLING, temperature=float(temperature),
        top_p=float(top_p), top_k=int(top_k), repetition_penalty=float(repetition),
        seed=None if seed is None or seed == "" else int(seed),
    )


def build_tab(settings: Settings, shared: dict) -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=3):
            model = gr.Dropdown(model_choices(settings), value=catalogue.DEFAULT_MODEL,
                                allow_custom_value=settings.allow_custom_models, elem_id="gen-model",
                                label="Model" + (" (or type a Hugging Face id)" if settings.allow_custom_models else ""))
            mode = gr.Radio([CHAT, RAW], value=CHAT, label="Prompt", elem_id="gen-mode",
                            info="Chat template: the model's own template wraps your messages. Raw: the text goes in "
                                 "exactly as typed.")
            with gr.Group(visible=True) as chat_box:
                system = gr.Textbox(DEFAULT_SYSTEM, label="System message (optional)", lines=1,
                                    max_length=settings.max_input_chars)
                user = gr.Textbox(DEFAULT_USER, label="User message", lines=3, max_length=settings.max_input_chars,
                                  elem_id="gen-user")
                tokens_tab = shared.get("playground.ui.tokens")
                if tokens_tab is not None:  # the shared text: no retyping between tabs
                    from_tokens = gr.Button("Use the text from the Tokens tab", size="sm", elem_id="gen-from-tokens")
                    from_tokens.click(lambda text: text, tokens_tab.text, user, queue=False,
                                      api_name="generation_from_tokens", api_visibility="undocumented")
            raw = gr.Textbox(DEFAULT_RAW, label="Raw prompt (special tokens you type count as special tokens)",
                             lines=5, visible=False, max_length=settings.max_input_chars, elem_id="gen-raw")
            with gr.Row():
                run_btn = gr.Button("Generate", variant="primary", elem_id="gen-run")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="gen-stop")
                to_raw = gr.Button("Edit the rendered prompt as raw", size="sm")
        with gr.Column(scale=2):
            max_new = gr.Slider(1, settings.max_new_tokens, value=min(128, settings.max_new_tokens), step=1,
                                label="max new tokens", elem_id="gen-max-new")
            decoding = gr.Radio([GREEDY, SAMPLING], value=GREEDY, label="Decoding", elem_id="gen-decoding")
            with gr.Group(visible=False) as sampling_box:  # shown only when sampling: greedy ignores them
                with gr.Row():
                    temperature = gr.Slider(0.05, 2.0, value=0.7, step=0.05, label="temperature")
                    top_p = gr.Slider(0.05, 1.0, value=0.95, step=0.01, label="top-p")
                with gr.Row():
                    top_k = gr.Slider(0, 200, value=50, step=1, label="top-k (0 = off)")
                    seed = gr.Number(42, precision=0, label="seed (same seed → same output; empty = random)")
            repetition = gr.Slider(0.8, 2.0, value=1.0, step=0.05, label="repetition penalty (1 = none)")
            colour = gr.Radio(["position", "probability"], value="probability", label="Colour generated tokens by")
    with gr.Accordion("The prompt as the model reads it", open=True):
        prompt_view = gr.HTML(elem_id="gen-prompt")
        prompt_ids = gr.Textbox(label="Prompt token ids", lines=2, max_lines=6, buttons=["copy"], elem_id="gen-ids")
    status = gr.Markdown(elem_id="gen-status")
    stats = gr.Markdown(elem_id="gen-stats")
    notes = gr.Markdown(elem_id="gen-notes")
    output = gr.Textbox(label="Generated text", lines=4, max_lines=20, buttons=["copy"], elem_id="gen-output")
    chips = gr.HTML(elem_id="gen-chips", label="Generated tokens")
    with gr.Accordion("Copy as code", open=False):
        code = gr.Code(language="python", label="The same generation with transformers")
    stop_state = gr.State(None)  # this visitor's threading.Event for the generation in flight
    last_steps = gr.State(None)  # this visitor's last tokens, so the colour switch redraws without a model

    def _prompt_outputs(request: GenerationRequest) -> dict:
        prepared = prepare(request, settings)
        return {prompt_view: prompt_html(prepared, settings), prompt_ids: ids_text(prepared.ids),
                code: copy_as_code(request, prepared), notes: "\n".join(f"⚠ {n}" for n in prepared.notes)}

    @at_edge
    def preview(*values: Any) -> dict:
        try:
            return _prompt_outputs(build_request(*values))
        except InvalidInput as exc:  # while typing, an empty prompt is a hint, not an error popup
            return {prompt_view: f'<div class="empty">{exc}</div>', prompt_ids: "", code: "", notes: ""}

    def arm(previous: threading.Event | None) -> threading.Event:
        if previous is not None:
            previous.set()  # a new Generate press ends this visitor's previous one
        return threading.Event()

    @at_edge
    def run(model_id: str, mode_value: str, system_value: str, user_value: str, raw_value: str, max_new_value: float,
            decoding_value: str, temperature_value: float, top_p_value: float, top_k_value: float,
            repetition_value: float, seed_value: float | None, by_prob: str, stop: threading.Event | None,
            progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008 - gradio's idiom
        request = build_request(model_id, mode_value, system_value, user_value, raw_value, max_new_value,
                                decoding_value, temperature_value, top_p_value, top_k_value, repetition_value,
                                seed_value)
        stop = stop or threading.Event()
        first = _prompt_outputs(request)
        spec = catalogue.get(request.model_id, allow_custom=settings.allow_custom_models)
        loading = spec.id not in models.loaded_ids()
        yield {**first, output: "", chips: generated_html([], None, by_probability=True, limit=1), stats: "",
               status: f"Loading {spec.label}…" if loading else "Waiting for the model…"}
        if stop.is_set():
            yield {status: "**Stop reason:** you pressed Stop before the generation started."}
            return
        view = models.load_view(spec, settings)
        last = 0.0
        for update in generate_stream(request, settings, stop):
            now = time.monotonic()
            if not update.finished and now - last < UPDATE_EVERY_S:
                continue
            last = now
            yield {output: update.text, status: stop_reason_text(update), stats: stats_line(update.stats),
                   chips: generated_html(update.steps, view, by_probability=by_prob == "probability",
                                         limit=settings.max_view_tokens),
                   last_steps: (spec.id, update.steps)}

    def request_stop(stop: threading.Event | None) -> None:
        if stop is not None:
            stop.set()

    @at_edge
    def recolour(by_prob: str, kept: tuple[str, list] | None) -> str:
        if not kept:
            return generated_html([], None, by_probability=True, limit=1)
        spec = catalogue.get(kept[0], allow_custom=settings.allow_custom_models)
        return generated_html(kept[1], models.load_view(spec, settings), by_probability=by_prob == "probability",
                              limit=settings.max_view_tokens)

    @at_edge
    def rendered_as_raw(*values: Any) -> dict:
        request = build_request(*values)
        if request.prompt is not None:
            return {}
        return {raw: prepare(request, settings).text, mode: RAW}

    inputs = [model, mode, system, user, raw, max_new, decoding, temperature, top_p, top_k, repetition, seed]
    prompt_outputs = [prompt_view, prompt_ids, code, notes]
    gr.on(None, preview, inputs, prompt_outputs, api_name="generation_preview", api_visibility="undocumented",
          trigger_mode="always_last", show_progress="minimal", concurrency_limit=4, concurrency_id="gen-preview")
    mode.change(lambda m: {chat_box: gr.update(visible=m == CHAT), raw: gr.update(visible=m == RAW)}, mode,
                [chat_box, raw], api_name="generation_mode", api_visibility="undocumented", queue=False)
    decoding.change(lambda d: gr.update(visible=d == SAMPLING), decoding, sampling_box,
                    api_name="generation_decoding", api_visibility="undocumented", queue=False)
    gr.on([run_btn.click, user.submit], arm, stop_state, stop_state, api_name="generation_arm",
          api_visibility="undocumented", queue=False).then(
        run, [*inputs, colour, stop_state],
        [*prompt_outputs, output, chips, status, stats, last_steps],
        api_name="generation_view", api_visibility="undocumented",
        concurrency_limit=settings.generation_batch, concurrency_id="generation")
    # Stop sets this visitor's event: the running generation ends after the current token and still
    # reports its stop reason and stats; a request still waiting in the queue starts and ends at once.
    stop_btn.click(request_stop, stop_state, None, api_name="generation_stop", api_visibility="undocumented",
                   queue=False)
    colour.change(recolour, [colour, last_steps], chips, api_name="generation_colour", api_visibility="undocumented",
                  queue=False)
    to_raw.click(rendered_as_raw, inputs, [raw, mode], api_name="generation_as_raw", api_visibility="undocumented",
                 concurrency_id="gen-preview")
    register_api(settings)
    return None


def api_result(update: GenerationUpdate) -> dict:
    """`/generate`'s JSON for one update (partial while `finished` is false)."""
    return {
        "text": update.text, "ids": [s.id for s in update.steps], "stop_reason": update.stop_reason,
        "finished": update.finished, "stats": update.stats, "notes": update.notes, "prompt_ids": update.prompt_ids,
        "tokens": [{"id": s.id, "text": s.text, "prob": s.prob, "special": s.special,
                    "top": [{"id": i, "text": t, "prob": p} for i, t, p in s.top]} for s in update.steps],
    }


def register_api(settings: Settings) -> None:
    """`/generate`: plain JSON for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def generate(prompt: str = "", messages: list[dict] | None = None, model: str = catalogue.DEFAULT_MODEL,
                 max_new_tokens: int = 128, do_sample: bool = False, temperature: float = 0.7, top_p: float = 0.95,
                 top_k: int = 50, repetition_penalty: float = 1.0, seed: int | None = None) -> Iterator[dict]:
        """Generate with a local model. Give `messages` ([{"role": "user", "content": "…"}], rendered with the
        model's chat template) or a raw `prompt`. Returns the text, the generated token ids (each with its
        probability and top-5 alternatives), the stop reason ("eos", "max_new_tokens") and stats. It streams
        partial results (`"finished": false`) while generating; `predict` returns the final one."""
        request = GenerationRequest(
            model_id=model or catalogue.DEFAULT_MODEL, messages=messages or None,
            prompt=None if messages else (prompt or ""), max_new_tokens=int(max_new_tokens), do_sample=bool(do_sample),
            temperature=float(temperature), top_p=float(top_p), top_k=int(top_k),
            repetition_penalty=float(repetition_penalty), seed=None if seed is None else int(seed),
        )
        # A generator, so a client that leaves (or cancels its job) is noticed at the next partial result:
        # Gradio then closes this iterator, and closing the engine's stream stops the generation.
        last = 0.0
        for update in generate_stream(request, settings):
            now = time.monotonic()
            if update.finished:
                yield api_result(update)
                return
            if now - last >= API_UPDATE_EVERY_S:
                last = now
                yield api_result(update)
        raise GenerationFailed("The generation ended without a final result. Try again.")

    gr.api(generate, api_name="generate", concurrency_limit=settings.generation_batch,
           concurrency_id="generation")
