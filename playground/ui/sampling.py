"""Sampling tab: see how each token was drawn, steer it, branch, and compare runs side by side.

`/sample` starts a run, `/sampling_step` shows one step through every stage of transformers'
own pipeline, `/continue` branches from a step with a token of your choice. The runs and branches
of a visitor live in that visitor's session (`gr.State`); side-by-side slots stream together.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gradio as gr

from playground.chat.backends import BACKENDS, BackendConfig, BackendKind, backend_spec
from playground.generation import catalogue, models
from playground.generation.request import GenerationRequest
from playground.sampling import render, runs
from playground.sampling import server as on_server
from playground.sampling.pipeline import SamplingConfig
from playground.sampling.side import MAX_SLOTS, PRESETS, Slot, SlotResult, run_slots
from playground.sampling.tree import Branch, Tree
from playground.settings import Settings
from playground.ui.common import Pace, at_edge, unchanged
from playground.ui.queues import queue

CHAT, RAW = "Chat template", "Raw prompt"
DEFAULT_USER = "Write one sentence about the sea."
DEFAULT_SYSTEM = "You are a helpful assistant."
DEFAULT_RAW = "The best thing about the sea is"
UPDATE_EVERY_S = 0.15

INTRO = """**How is the next token chosen?** The model gives every token of its vocabulary a score (a *logit*);
transformers then applies the **repetition penalty, temperature, top-k, top-p and min-p** — in that order, with the
same processor objects `generate` uses — and draws one token from what is left. Press **Sample**, then **click any
token** to see its step stage by stage: the top candidates, what each stage removed, the probability mass left and
the entropy. **Branch** from any step with another token and compare where the text goes. Under **On a serving
engine**, the same prompt and settings run on OpenAI or an OpenAI-compatible server, and you branch from the server's
top-5 at any step."""

SERVER_NOTE = ("A raw prompt branches through the completions API (prompt + the branch's start); chat messages "
               "through the start as a final assistant message, continued (vLLM and SGLang: `continue_final_message`). "
               "OpenAI's chat API has no such prefill: there, branch with a raw prompt and a completions model "
               "(`gpt-3.5-turbo-instruct`). Only temperature, top-p, seed (and on compatible servers top-k and the "
               "repetition penalty) are sent; the server's top-5 are its own distribution.")

# Clicking a chip selects its step: its index among the chips, in token order (groups keep the order).
CLICK_JS = """
element.addEventListener('click', (e) => {
  const chip = e.target.closest('.tok, .gtok');
  if (!chip) return;
  const chips = Array.from(element.querySelectorAll('.tok, .gtok'));
  chips.forEach((c) => c.classList.remove('picked'));
  chip.classList.add('picked');
  trigger('click', {step: chips.indexOf(chip)});
});
"""


def _choices(settings: Settings) -> list[tuple[str, str]]:
    return [(spec.label + ("" if models.is_ready(spec, settings) else " (needs the Hub)"), spec.id)
            for spec in catalogue.MODELS]


def _tree(state: Tree[Branch] | None, settings: Settings) -> Tree[Branch]:
    return state if state is not None else Tree[Branch](limit=settings.sampling_max_branches)


def _request(model_id: str, mode: str, system: str, user: str, raw: str, max_new: float, temperature: float,
             top_k: float, top_p: float, min_p: float, repetition: float, seed: float | str | None) -> runs.RunRequest:
    config = SamplingConfig(temperature=float(temperature), top_k=int(top_k), top_p=float(top_p),
                            min_p=float(min_p), repetition_penalty=float(repetition),
                            seed=None if seed is None or seed == "" else int(seed))
    chat = mode != RAW
    return runs.RunRequest(model_id or catalogue.DEFAULT_MODEL, runs.chat_messages(system, user) if chat else None,
                           None if chat else raw or "", int(max_new), config)


def step_data(branch: Branch, index: int) -> dict[str, Any]:
    """One step as JSON (the `/sampling_step` endpoint's second output)."""
    step = branch.step(index)
    return {"branch": branch.id, "step": index, "token": step.token, "forced": step.forced,
            "token_prob": step.token_prob, "model_prob": step.model_prob,
            "stages": [dataclasses.asdict(s) for s in step.stages]}


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=3):
            model = gr.Dropdown(_choices(settings), value=catalogue.DEFAULT_MODEL, label="Model", elem_id="smp-model",
                                allow_custom_value=bool(settings.allow_custom_models))
            mode = gr.Radio([CHAT, RAW], value=CHAT, label="Prompt", elem_id="smp-mode")
            system = gr.Textbox(DEFAULT_SYSTEM, label="System message (optional)", max_length=settings.max_input_chars)
            user = gr.Textbox(DEFAULT_USER, label="User message", lines=2, max_length=settings.max_input_chars,
                              elem_id="smp-user")
            raw = gr.Textbox(DEFAULT_RAW, label="Raw prompt", lines=3, visible=False,
                             max_length=settings.max_input_chars)
            run_btn = gr.Button("Sample", variant="primary", elem_id="smp-run")
        with gr.Column(scale=2):
            max_new = gr.Slider(1, settings.max_new_tokens, value=min(40, settings.max_new_tokens), step=1,
                                label="max new tokens", elem_id="smp-max-new")
            with gr.Row():
                temperature = gr.Slider(0, 2.0, value=0.9, step=0.05, label="temperature (0 = greedy)")
                top_k = gr.Slider(0, 200, value=50, step=1, label="top-k (0 = off)")
            with gr.Row():
                top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.01, label="top-p (1 = off)")
                min_p = gr.Slider(0, 0.5, value=0.0, step=0.01, label="min-p (0 = off)")
            with gr.Row():
                repetition = gr.Slider(0.8, 2.0, value=1.1, step=0.05, label="repetition penalty (1 = none)")
                seed = gr.Number(42, precision=0, label="seed (empty = random)")
    status = gr.Markdown(elem_id="smp-status")
    chips = gr.HTML(js_on_load=CLICK_JS, elem_id="smp-chips")
    with gr.Row():
        branch_box = gr.Dropdown([], label="Branch", allow_custom_value=True, elem_id="smp-branch", scale=1)
        step_box = gr.Number(None, precision=0, minimum=0, label="Step (or click a token)", elem_id="smp-stepno", scale=1)
        alternative = gr.Radio([], label="Branch from this step with one of the model's top-5 …", scale=3,
                               elem_id="smp-alt")
        token = gr.Textbox(label="… or type a token (# and a number for an id)", scale=2, elem_id="smp-token")
        continue_btn = gr.Button("Continue from here", scale=1, elem_id="smp-continue")
    step_view = gr.HTML(elem_id="smp-step")
    with gr.Accordion("This step as data", open=False):
        step_json = gr.JSON(label="stages")
    gr.Markdown("### Branches of this session")
    tree_view = gr.HTML(elem_id="smp-tree")
    with gr.Row():
        left = gr.Dropdown([], label="Compare branch", allow_custom_value=True)
        right = gr.Dropdown([], label="with branch", allow_custom_value=True)
    compare_view = gr.HTML(elem_id="smp-compare")
    with gr.Accordion("Side by side: the same prompt, several settings at once", open=False):
        preset = gr.Radio(list(PRESETS), label="Preset", elem_id="smp-preset")
        slot_inputs: list[gr.components.Component] = []
        for n in range(MAX_SLOTS):
            with gr.Row():
                slot_inputs += [
                    gr.Checkbox(n < 2, label=f"slot {n + 1}", scale=1),
                    gr.Dropdown(_choices(settings), value=catalogue.DEFAULT_MODEL, label="model", scale=3,
                                allow_custom_value=bool(settings.allow_custom_models)),
                    gr.Slider(0, 2.0, value=0.7 + 0.3 * n, step=0.05, label="temperature", scale=2),
                    gr.Slider(0.05, 1.0, value=0.95, step=0.01, label="top-p", scale=2),
                    gr.Number(42, precision=0, label="seed", scale=1),
                    gr.Textbox("", label="system prompt", scale=3),
                ]
        side_btn = gr.Button("Run side by side", elem_id="smp-side-run")
        side_view = gr.HTML(render.slots_html([]), elem_id="smp-side")
    with gr.Accordion("On a serving engine: branch from a server's top-5", open=False):
        with gr.Row():
            remote = [b for b in BACKENDS if b.kind is not BackendKind.LOCAL]
            srv_kind = gr.Radio([(b.label, b.kind.value) for b in remote], value=BackendKind.COMPATIBLE.value,
                                label="Backend", elem_id="smp-srv-backend", scale=2)
            srv_model = gr.Dropdown([], value="", allow_custom_value=True, label="Model the server serves", scale=2,
                                    elem_id="smp-srv-model")
            srv_url = gr.Textbox(settings.openai_base_url or "", label="Base URL (empty: the server default)",
                                 scale=2, elem_id="smp-srv-url")
            srv_key = gr.Textbox(label="API key (this session only)", type="password", max_length=512, scale=2,
                                 elem_id="smp-srv-key")
        gr.Markdown(SERVER_NOTE)
        srv_run = gr.Button("Sample on the server", elem_id="smp-srv-run")
        srv_status = gr.Markdown(elem_id="smp-srv-status")
        srv_chips = gr.HTML(js_on_load=CLICK_JS, elem_id="smp-server-chips")
        with gr.Row():
            srv_branch = gr.Dropdown([], label="Branch", allow_custom_value=True, elem_id="smp-srv-branch", scale=1)
            srv_step = gr.Number(None, precision=0, minimum=0, label="Step (or click a token)", scale=1,
                                 elem_id="smp-srv-step")
            srv_alt = gr.Radio([], label="Continue with one of the server's top-5 …", scale=3, elem_id="smp-srv-alt")
            srv_token = gr.Textbox(label="… or type the text to continue with", scale=2, elem_id="smp-srv-token")
            srv_continue = gr.Button("Continue on the server", scale=1, elem_id="smp-srv-continue")
        srv_tree = gr.HTML(elem_id="smp-srv-tree")
    state = gr.State(None)  # this visitor's Tree of runs and branches
    srv_state = gr.State(None)  # …and of a server's (the key is never kept in it)
    srv_spent = gr.State(0.0)  # what the server's own key spent for this visitor here (the per-session cap)

    def outputs(tree: Tree[Branch], branch: Branch, done: bool) -> dict[Any, Any]:
        view = models.load_view(catalogue.get(branch.model_id, allow_custom=True), settings)
        notes = "".join(f"\n\n⚠ {n}" for n in branch.notes)
        reused = f" Reused the KV cache of {branch.reused_tokens} prefix tokens." if branch.reused_tokens else ""
        reason = {"eos": "the model ended its turn", "max_new_tokens": "max new tokens reached"}.get(
            branch.stop_reason or "", "")
        text = (f"**{branch.id}**: {len(branch.steps)} tokens · total log-prob {branch.log_prob:.2f} · "
                f"{'done: ' + reason if done else 'sampling…'}.{reused}{notes}")
        out = {chips: render.branch_chips(branch, view, settings.max_view_tokens), status: text,
               tree_view: render.tree_html(tree, branch.id), state: tree}
        if done:
            ids = list(tree.branches)
            out.update({branch_box: gr.update(choices=ids, value=branch.id), step_box: branch.split or 0,
                        left: gr.update(choices=ids), right: gr.update(choices=ids)})
        return out

    def stream(tree: Tree[Branch], branches: Any) -> Any:
        pace = Pace(UPDATE_EVERY_S)
        branch = None
        for branch in branches:
            if pace.due():
                yield outputs(tree, branch, False)
        if branch is not None:
            yield outputs(tree, branch, True)

    @at_edge
    def sample(*values: Any) -> Any:
        tree = _tree(values[-1], settings)
        yield from stream(tree, runs.sample(tree, _request(*values[:-1]), settings))

    @at_edge
    def continue_(branch_id: str, step: float | None, token_text: str, tree: Tree[Branch] | None) -> Any:
        tree = _tree(tree, settings)
        yield from stream(tree, runs.continue_from(tree, branch_id, int(step or 0), token_text, settings))

    @at_edge
    def show_step(branch_id: str, step: float | None, tree: Tree[Branch] | None) -> dict[Any, Any]:
        if not branch_id or step is None:
            return unchanged()
        branch = _tree(tree, settings).get(branch_id)
        view = models.load_view(catalogue.get(branch.model_id, allow_custom=True), settings)
        index = int(step)
        html = render.step_html(branch, index, view)
        top = branch.step(index).raw_top
        texts = view.token_bytes([c.id for c in top])
        choices = [(f"{t.decode('utf-8', errors='backslashreplace')!r} {c.prob:.0%}", f"#{c.id}")
                   for c, t in zip(top, texts, strict=True)]
        return {step_view: html, step_json: step_data(branch, index), alternative: gr.update(choices=choices, value=None)}

    @at_edge
    def compare(a: str, b: str, tree: Tree[Branch] | None) -> str:
        if not a or not b:
            return ""
        tree = _tree(tree, settings)
        return render.compare_html(tree.get(a), tree.get(b))

    def pick(evt: gr.EventData) -> Any:
        return int(getattr(evt, "step", 0) or 0)

    @at_edge
    def side(user_value: str, max_new_value: float, *values: Any) -> Any:
        slots = []
        for n in range(MAX_SLOTS):
            on, model_id, temp, p, slot_seed, sys_prompt = values[6 * n: 6 * n + 6]
            if on:
                slots.append(Slot(model_id or catalogue.DEFAULT_MODEL, float(temp), float(p),
                                  None if slot_seed is None or slot_seed == "" else int(slot_seed), sys_prompt or ""))
        pace = Pace(UPDATE_EVERY_S)
        results: list[SlotResult] = []
        for results in run_slots(slots, user_value or "", int(max_new_value), settings):
            if pace.due():
                yield render.slots_html(results)
        yield render.slots_html(results)

    def apply_preset(name: str) -> list[Any]:
        rows = PRESETS.get(name, [])
        out: list[Any] = []
        for n in range(MAX_SLOTS):
            row = rows[n] if n < len(rows) else None
            out += [row is not None, gr.update(), gr.update(value=row["temperature"]) if row else gr.update(),
                    gr.update(value=row["top_p"]) if row else gr.update(),
                    gr.update(value=row["seed"]) if row else gr.update(), gr.update()]
        return out

    def srv_outputs(tree: on_server.ServerTree, branch: on_server.ServerBranch, done: bool,
                    spent: float) -> dict[Any, Any]:
        reason = {"eos": "the server finished the answer", "max_new_tokens": "max new tokens reached",
                  "stopped": "stopped"}.get(branch.stop_reason or "", branch.stop_reason or "")
        origin = f" (from {branch.parent} at step {branch.split})" if branch.parent else ""
        notes = "".join(f"\n\n⚠ {n}" for n in dict.fromkeys(branch.notes))
        text = (f"**{branch.id}**{origin}: {len(branch.steps)} tokens · total log-prob {branch.log_prob:.2f} · "
                f"{'done: ' + reason if done else 'generating…'}{notes}")
        out: dict[Any, Any] = {srv_chips: render.server_chips(branch, settings.max_view_tokens), srv_status: text,
                               srv_tree: render.tree_html(tree, branch.id), srv_state: tree}
        if done:
            ids = list(tree.branches)
            out.update({srv_branch: gr.update(choices=ids, value=branch.id), srv_step: branch.split or 0,
                        srv_spent: spent + ((branch.cost_usd or 0.0) if branch.operator_key else 0.0)})
        return out

    def srv_stream(tree: on_server.ServerTree, branches: Any, spent: float) -> Any:
        pace = Pace(UPDATE_EVERY_S)
        branch = None
        for branch in branches:
            if pace.due():
                yield srv_outputs(tree, branch, False, spent)
        if branch is not None:
            yield srv_outputs(tree, branch, True, spent)

    @at_edge
    def srv_sample(kind: str, model_name: str, url: str, key: str, mode_value: str, system_value: str,
                   user_value: str, raw_value: str, max_new_value: float, temp: float, k: float, p: float,
                   min_p_value: float, rep_value: float, seed_value: float | str | None,
                   tree: on_server.ServerTree | None, spent: float | None) -> Any:
        chat = mode_value != RAW
        request = GenerationRequest(
            messages=runs.chat_messages(system_value, user_value) if chat else None,
            prompt=None if chat else raw_value or "", max_new_tokens=int(max_new_value), do_sample=float(temp) > 0,
            temperature=max(float(temp), 1e-3), top_p=float(p), top_k=int(k), repetition_penalty=float(rep_value),
            seed=None if seed_value is None or seed_value == "" else int(seed_value))
        config = BackendConfig.of(kind, model_name, url or None, key or None)
        tree = tree if tree is not None else on_server.new_tree(settings)
        yield from srv_stream(tree, on_server.sample(tree, request, config, settings, session_spent=spent or 0.0),
                              spent or 0.0)

    @at_edge
    def srv_continue_(branch_id: str, step: float | None, token_text: str, key: str,
                      tree: on_server.ServerTree | None, spent: float | None) -> Any:
        tree = tree if tree is not None else on_server.new_tree(settings)
        branches = on_server.continue_from(tree, branch_id, int(step or 0), token_text, key or None, settings,
                                           session_spent=spent or 0.0)
        yield from srv_stream(tree, branches, spent or 0.0)

    @at_edge
    def srv_show_step(branch_id: str, step: float | None, tree: on_server.ServerTree | None) -> dict[Any, Any]:
        if not branch_id or step is None or tree is None:
            return unchanged()
        at = tree.get(branch_id)
        on_server.choose(at, int(step), "#1")  # a step beyond the branch: its message
        top = at.steps[int(step)].top
        return {srv_alt: gr.update(choices=[(f"{t!r} {prob:.0%}", f"#{n}") for n, (_, t, prob) in enumerate(top, 1)],
                                   value=None)}

    def srv_backend(kind: str) -> Any:
        return gr.update(choices=list(backend_spec(kind).models), value=backend_spec(kind).default_model)

    srv_inputs = [srv_kind, srv_model, srv_url, srv_key, mode, system, user, raw, max_new, temperature, top_k, top_p,
                  min_p, repetition, seed, srv_state, srv_spent]
    srv_shown = [srv_chips, srv_status, srv_tree, srv_state, srv_branch, srv_step, srv_spent]
    server_limit = queue("sampling-server", settings)
    srv_run.click(srv_sample, srv_inputs, srv_shown, api_name="sample_server", **server_limit)
    srv_continue.click(srv_continue_, [srv_branch, srv_step, srv_token, srv_key, srv_state, srv_spent], srv_shown,
                       api_name="continue_server", **server_limit)
    srv_chips.click(pick, None, srv_step, api_name="sampling_server_pick", api_visibility="undocumented",
                    queue=False)
    gr.on([srv_step.change, srv_branch.change], srv_show_step, [srv_branch, srv_step, srv_state], srv_alt,
          api_name="sampling_server_step", api_visibility="undocumented", trigger_mode="always_last")
    srv_alt.change(lambda v: v or gr.update(), srv_alt, srv_token, api_name="sampling_server_alternative",
                   api_visibility="undocumented", queue=False)
    srv_kind.change(srv_backend, srv_kind, srv_model, api_name="sampling_server_backend",
                    api_visibility="undocumented", queue=False)

    inputs = [model, mode, system, user, raw, max_new, temperature, top_k, top_p, min_p, repetition, seed, state]
    shown = [chips, status, tree_view, state, branch_box, step_box, left, right]
    limit = queue("sampling", settings)
    mode.change(lambda m: (gr.update(visible=m == CHAT), gr.update(visible=m == CHAT), gr.update(visible=m == RAW)),
                mode, [system, user, raw], api_name="sampling_mode", api_visibility="undocumented", queue=False)
    gr.on([run_btn.click, user.submit], sample, inputs, shown, api_name="sample", **limit)
    continue_btn.click(continue_, [branch_box, step_box, token, state], shown, api_name="continue", **limit)
    chips.click(pick, None, step_box, api_name="sampling_pick", api_visibility="undocumented", queue=False)
    gr.on([step_box.change, branch_box.change], show_step, [branch_box, step_box, state],
          [step_view, step_json, alternative], api_name="sampling_step", trigger_mode="always_last")
    alternative.change(lambda v: v or gr.update(), alternative, token, api_name="sampling_alternative",
                       api_visibility="undocumented", queue=False)
    gr.on([left.change, right.change], compare, [left, right, state], compare_view, api_name="sampling_compare")
    preset.change(apply_preset, preset, slot_inputs, api_name="sampling_preset", api_visibility="undocumented",
                  queue=False)
    side_btn.click(side, [user, max_new, *slot_inputs], side_view, api_name="sampling_side_by_side", **limit)
