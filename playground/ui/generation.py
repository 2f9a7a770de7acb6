"""Generate tab: a local transformers model writes token by token, and every step is visible.

The prompt as the model reads it (chat template, special tokens, ids), the streamed answer, one
chip per generated token with its probability and top-5 alternatives, why it stopped, speed, and
the transformers code that reproduces it. `/generate` is the same thing as plain JSON.
"""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

from playground.chat.backends import BACKENDS, BackendConfig, BackendKind, backend_spec, redact
from playground.errors import InvalidInput
from playground.generation import catalogue, models
from playground.generation.engine import GenerationRequest, GenerationUpdate, TokenStep, generate_stream, prepare
from playground.generation.remote import render as remote_render
from playground.generation.remote.stream import RemoteUpdate, generate_remote, request_kwargs
from playground.generation.remote.stream import code as remote_code
from playground.generation.snippet import copy_as_code
from playground.generation.view import generated_html, prompt_html
from playground.remote.connection import operator_url
from playground.settings import Settings
from playground.tokenization.render import ids_text
from playground.ui.common import Pace, at_edge, stats_markdown, unchanged
from playground.ui.generation_api import register_api, server_config
from playground.ui.queues import queue

CHAT, RAW = "Chat template", "Raw prompt"
GREEDY, SAMPLING = "Greedy (always the most likely token)", "Sampling"
DEFAULT_USER = "What is the capital of France? Answer in one sentence."
DEFAULT_SYSTEM = "You are a helpful assistant."
DEFAULT_RAW = "<|im_start|>user\nWrite a haiku about tokens.<|im_end|>\n<|im_start|>assistant\n"
UPDATE_EVERY_S = 0.15  # redraw at most this often while streaming: the chip HTML grows with every token
SERVER_NOTE = ("Chat messages go to the server's chat completions API with `logprobs: true, top_logprobs: 5`; a raw "
               "prompt goes to its completions API with `logprobs: 5, echo: true`, which also returns the prompt's "
               "tokens. vLLM gives the prompt's tokens for chat messages too (`prompt_logprobs`). OpenAI's chat "
               "models return logprobs but never the prompt's tokens; the completions API there serves only "
               "`gpt-3.5-turbo-instruct`, `davinci-002` and `babbage-002`.")

INTRO = """A causal language model never sees your words: it sees **token ids**, and it predicts **one token at a time**.
Below is the exact prompt the model reads (the chat template wraps your message in special tokens — outlined in
purple), then each token it generates with the **probability** it gave that token; hover a token for the **five most
likely** candidates at that step. Generation ends when the model emits its end-of-turn token or when
`max_new_tokens` is reached — a hard stop, even mid-sentence. The **backend** can also be a serving engine (OpenAI, or
any OpenAI-compatible server: vLLM, SGLang, llama.cpp server, TGI, Ollama, LM Studio): the same chips, from the
server's logprobs."""


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
    if isinstance(update, RemoteUpdate) and update.stop_reason == "eos":
        return (f"**Stop reason:** {update.server} finished the answer (`finish_reason: stop`: the model's "
                f"end-of-turn token or a stop string; servers do not show that token) after {n} tokens.")
    if isinstance(update, RemoteUpdate) and update.stop_reason not in {None, "max_new_tokens", "stopped"}:
        return f"**Stop reason:** {update.server} says `finish_reason: {update.stop_reason}` after {n} tokens."
    if update.stop_reason == "eos":
        token = update.steps[-1].text if update.steps else "end-of-turn"
        return f"**Stop reason:** the model produced its end-of-turn token `{token}` after {n} tokens."
    if update.stop_reason == "max_new_tokens":
        return (f"**Stop reason:** `max_new_tokens` = {update.stats.get('max_new_tokens')} reached — "
                "a hard cut, not the model's choice.")
    if update.stop_reason == "stopped":
        return f"**Stop reason:** you pressed Stop (after {n} tokens)."
    return f"Generating… {n} tokens so far."


def stats_line(stats: dict[str, Any]) -> str:
    def secs(v: float | None) -> str | None:
        return None if v is None else f"{v:.2f} s"

    rate = stats.get("tokens_per_s")
    return stats_markdown([
        ("prompt tokens", stats.get("prompt_tokens")), ("new tokens", stats.get("new_tokens")),
        # Said only when the model was busy with other visitors' generations (a fraction of a second is not news).
        *([("s waiting for the model", f"{waited:.2f}")] if (waited := stats.get("queued_s") or 0.0) >= 0.1 else []),
        ("time to first token", secs(stats.get("ttft_s"))),
        ("tokens/s", None if rate is None else f"{rate:.1f}"),
        *([("server", stats["device"])] if stats.get("backend") else [
            ("device", stats.get("device")), ("dtype", stats.get("dtype")),
            ("MB of weights", stats.get("model_memory_mb"))]),
        # Said only when others shared the steps ("1 visitors sharing" reads as a mistake).
        *([("visitors sharing the decoding steps", shared)] if (shared := stats.get("batch_size") or 0) > 1 else []),
    ])


def build_request(model_id: str, mode: str, system: str, user: str, raw: str, max_new: float, decoding: str,
                  temperature: float, top_p: float, top_k: float, repetition: float,
                  seed: float | str | None) -> GenerationRequest:
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


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        backend = gr.Radio([(b.label.replace(" (offline, no key)", ""), b.kind.value) for b in BACKENDS],
                           value=BackendKind.LOCAL.value, label="Backend", elem_id="gen-backend", scale=2)
        prompt_tokens = gr.Checkbox(True, label="Ask for the prompt's tokens (vLLM: prompt_logprobs, one extra "
                                                "one-token call)", visible=False, scale=1, elem_id="gen-prompt-tokens")
    with gr.Row(visible=False) as server_box:  # the Chat tab's rules: a typed key goes only where it was typed
        server_model = gr.Dropdown([], value="", allow_custom_value=True, label="Model the server serves",
                                   elem_id="gen-server-model", scale=2)
        base_url = gr.Textbox(settings.openai_base_url or "", label="Base URL (empty: the server default, else OpenAI)",
                              placeholder="http://gpu-box:8000/v1 (vLLM) · http://localhost:11434/v1 (Ollama)",
                              scale=2, elem_id="gen-base-url")
        api_key = gr.Textbox(label="API key (this session only; never stored, logged or shown)", type="password",
                             placeholder="uses the server's key if it has one" if settings.openai_api_key else "sk-…",
                             max_length=512, scale=2, elem_id="gen-api-key")
    server_note = gr.Markdown(visible=False, elem_id="gen-server-note")
    with gr.Row():
        with gr.Column(scale=3):
            model = gr.Dropdown(model_choices(settings), value=catalogue.DEFAULT_MODEL,
                                allow_custom_value=bool(settings.allow_custom_models), elem_id="gen-model",
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
                # Its own button and queue: a server run waits on the network, never behind local generations.
                server_btn = gr.Button("Generate", variant="primary", elem_id="gen-run-server", visible=False)
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
    # this visitor's last tokens (model id or None, steps, a server run's tokens), so the colour switch redraws
    last_steps = gr.State(None)
    spent = gr.State(0.0)  # what the server's own key has spent for this visitor (the per-session cap)

    def _prompt_outputs(request: GenerationRequest, server: BackendConfig | None = None) -> dict[Any, Any]:
        if server is not None:  # the server renders its own prompt: shown after Generate where it offers it
            api, kwargs, _ = request_kwargs(request, server)
            url = (server.base_url or operator_url(settings)).rstrip("/")
            return {prompt_view: remote_render.waiting_html(url, api), prompt_ids: "",
                    code: redact(remote_code(api, url, kwargs), server.api_key), notes: ""}
        prepared = prepare(request, settings)
        return {prompt_view: prompt_html(prepared, settings), prompt_ids: ids_text(prepared.ids),
                code: copy_as_code(request, prepared), notes: "\n".join(f"⚠ {n}" for n in prepared.notes)}

    @at_edge
    def preview(kind: str, server_model_value: str, url: str, key: str, *values: Any) -> dict[Any, Any]:
        try:
            return _prompt_outputs(build_request(*values), server_config(kind, server_model_value, url, key))
        except InvalidInput as exc:  # while typing, an empty prompt is a hint, not an error popup
            return {prompt_view: f'<div class="empty">{exc}</div>', prompt_ids: "", code: "", notes: ""}

    def arm(previous: threading.Event | None) -> threading.Event:
        if previous is not None:
            previous.set()  # a new Generate press ends this visitor's previous one
        return threading.Event()

    @at_edge
    def run(model_id: str, mode_value: str, system_value: str, user_value: str, raw_value: str,
            max_new_value: float, decoding_value: str, temperature_value: float, top_p_value: float,
            top_k_value: float, repetition_value: float, seed_value: float | str | None, by_prob: str,
            stop: threading.Event | None,
            progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008 - gradio's idiom
        request = build_request(model_id, mode_value, system_value, user_value, raw_value, max_new_value,
                                decoding_value, temperature_value, top_p_value, top_k_value, repetition_value,
                                seed_value)
        stop = stop or threading.Event()
        first = _prompt_outputs(request)
        spec = catalogue.get(request.model_id, allow_custom=bool(settings.allow_custom_models))
        loading = spec.id not in models.loaded_ids()
        yield {**first, output: "", chips: generated_html([], None, by_probability=True, limit=1), stats: "",
               status: f"Loading {spec.label}…" if loading else "Waiting for the model…"}
        if stop.is_set():
            yield {status: "**Stop reason:** you pressed Stop before the generation started."}
            return
        view = models.load_view(spec, settings)
        pace = Pace(UPDATE_EVERY_S)
        for update in generate_stream(request, settings, stop):
            if not (update.finished or pace.due()):
                continue
            yield {output: update.text, status: stop_reason_text(update), stats: stats_line(update.stats),
                   chips: generated_html(update.steps, view, by_probability=by_prob == "probability",
                                         limit=settings.max_view_tokens),
                   last_steps: (spec.id, update.steps, None)}

    @at_edge
    def run_remote(kind: str, server_model_value: str, url: str, key: str, want_prompt: bool, *values: Any) -> Any:
        """The same outputs from a server's logprobs; a failure leaves the rest of the session as it was."""
        *request_values, by_prob_value, stop_value, session_spent = values
        request = build_request(*request_values)
        server = server_config(kind, server_model_value, url, key)
        if server is None:
            raise InvalidInput("Pick a server backend (OpenAI or an OpenAI-compatible server) first.")
        stop = stop_value or threading.Event()
        session_spent = session_spent or 0.0
        by_prob = by_prob_value == "probability"
        yield {**_prompt_outputs(request, server), output: "", stats: "", status: "Asking the server…",
               chips: generated_html([], None, by_probability=True, limit=1)}
        if stop.is_set():
            yield {status: "**Stop reason:** you pressed Stop before the generation started."}
            return
        pace = Pace(UPDATE_EVERY_S)
        for update in generate_remote(request, server, settings, stop=stop, want_prompt=want_prompt,
                                      session_spent=session_spent):
            if not (update.finished or pace.due()):
                continue
            out: dict[Any, Any] = {
                output: update.text, status: stop_reason_text(update), stats: stats_line(update.stats),
                chips: generated_html(update.steps, update.tokens, by_probability=by_prob, limit=settings.max_view_tokens),
                prompt_view: remote_render.prompt_html(update.prompt, update.tokens, update.server,
                                                       limit=settings.max_view_tokens),
                prompt_ids: ids_text(update.prompt_ids) if update.prompt_ids else "",
                notes: "\n".join(f"⚠ {n}" for n in update.notes), code: redact(update.code, server.api_key),
                last_steps: (None, update.steps, update.tokens)}
            if update.finished and update.operator_key:
                out[spent] = session_spent + (update.cost_usd or 0.0)
            yield out

    def request_stop(stop: threading.Event | None) -> None:
        if stop is not None:
            stop.set()

    @at_edge
    def recolour(by_prob: str, kept: tuple[str | None, list[TokenStep], Any] | None) -> str:
        if not kept:
            return generated_html([], None, by_probability=True, limit=1)
        model_id, steps, server_tokens = kept
        view = server_tokens if model_id is None else models.load_view(
            catalogue.get(model_id, allow_custom=bool(settings.allow_custom_models)), settings)
        return generated_html(steps, view, by_probability=by_prob == "probability", limit=settings.max_view_tokens)

    @at_edge
    def switch_backend(kind: str) -> dict[Any, Any]:
        spec = backend_spec(kind)
        remote = spec.kind is not BackendKind.LOCAL
        note = f"{spec.note} {SERVER_NOTE}" if remote else ""
        return {server_box: gr.update(visible=remote), model: gr.update(visible=not remote),
                run_btn: gr.update(visible=not remote), server_btn: gr.update(visible=remote),
                prompt_tokens: gr.update(visible=spec.kind is BackendKind.COMPATIBLE),
                server_model: gr.update(choices=list(spec.models), value=spec.default_model),
                server_note: gr.update(value=note, visible=remote), to_raw: gr.update(visible=not remote)}

    @at_edge
    def rendered_as_raw(*values: Any) -> dict[Any, Any]:
        request = build_request(*values)
        if request.prompt is not None:
            return unchanged()
        return {raw: prepare(request, settings).text, mode: RAW}

    inputs = [model, mode, system, user, raw, max_new, decoding, temperature, top_p, top_k, repetition, seed]
    server_inputs = [backend, server_model, base_url, api_key]
    prompt_outputs = [prompt_view, prompt_ids, code, notes]
    gr.on(None, preview, [*server_inputs, *inputs], prompt_outputs, api_name="generation_preview",
          api_visibility="undocumented", trigger_mode="always_last", show_progress="minimal",
          **queue("generation-preview", settings))
    mode.change(lambda m: {chat_box: gr.update(visible=m == CHAT), raw: gr.update(visible=m == RAW)}, mode,
                [chat_box, raw], api_name="generation_mode", api_visibility="undocumented", queue=False)
    decoding.change(lambda d: gr.update(visible=d == SAMPLING), decoding, sampling_box,
                    api_name="generation_decoding", api_visibility="undocumented", queue=False)
    run_btn.click(arm, stop_state, stop_state, api_name="generation_arm", api_visibility="undocumented",
                  queue=False).then(
        run, [*inputs, colour, stop_state], [*prompt_outputs, output, chips, status, stats, last_steps],
        api_name="generation_view", api_visibility="undocumented",
        **queue("generation", settings))
    server_btn.click(arm, stop_state, stop_state, api_name="generation_server_arm", api_visibility="undocumented",
                     queue=False).then(
        run_remote, [*server_inputs, prompt_tokens, *inputs, colour, stop_state, spent],
        [*prompt_outputs, output, chips, status, stats, last_steps, spent],
        api_name="generation_server_view", api_visibility="undocumented",
        **queue("generation-server", settings))
    # Enter in the message box presses whichever Generate button the backend shows.
    user.submit(None, js="() => { for (const id of ['gen-run', 'gen-run-server']) { const b = document.getElementById(id);"
                " if (b && b.offsetParent !== null) { b.click(); return; } } }")
    backend.change(switch_backend, backend, [server_box, model, run_btn, server_btn, prompt_tokens, server_model,
                                             server_note, to_raw],
                   api_name="generation_backend", api_visibility="undocumented", queue=False)
    # Stop sets this visitor's event: the running generation ends after the current token and still
    # reports its stop reason and stats; a request still waiting in the queue starts and ends at once.
    stop_btn.click(request_stop, stop_state, None, api_name="generation_stop", api_visibility="undocumented",
                   queue=False)
    colour.change(recolour, [colour, last_steps], chips, api_name="generation_colour", api_visibility="undocumented",
                  queue=False)
    to_raw.click(rendered_as_raw, inputs, [raw, mode], api_name="generation_as_raw", api_visibility="undocumented",
                 **queue("generation-preview", settings))
    register_api(settings)
    return None
