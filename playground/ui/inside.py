"""Inside the model tab: attention, the logit lens, positions and capacity, on the visitor's own text.

One Run does one eager-attention forward pass (playground/inside/forward.py) and keeps the
result in this visitor's `gr.State`; changing the layer, head, token or lens colour redraws from
that state without the model. `/attention`, `/logit_lens` and `/capacity` are the same as JSON.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from playground.errors import InvalidInput
from playground.generation import catalogue
from playground.inside import capacity, forward, lens, plots, snippet
from playground.inside.forward import Inspection
from playground.settings import Settings
from playground.ui.api_types import checked
from playground.ui.common import at_edge, stats_markdown
from playground.ui.generation import model_choices
from playground.ui.queues import queue

AVERAGE = "average over heads"
DEFAULT_TEXT = "The cat sat on the mat. Where did the cat sit?"

INTRO = """Look **inside** a language model on your own text: how much each token **attends** to the others, what the
model would predict **after every layer**, how it knows **word order**, and what each token **costs** in memory and
compute. One forward pass of the real model; the numbers are exact and the code to reproduce them is below."""

EXPLAIN = {  # one per plot: what it shows, and what it does not
    "attention": "**Shows:** for one layer and head, how each token (row) splits its attention over itself and the "
                 "earlier tokens (columns): each row sums to 1, and the upper right is blank because no token may "
                 "look ahead (the causal mask).  \n"
                 "**Does not show:** *why* the model answers as it does. Attention is not explanation: what is passed "
                 "along (the values), the MLP layers and the other heads matter too.",
    "looks_at": "**Shows:** one row of the heatmap as bars: how the chosen token (red) divides its attention between "
                "itself and every token before it; the bars add up to 1.  \n"
                "**Does not show:** how much information actually moves: a large weight on a token whose value "
                "vector is small changes little. Pick another layer or head: each looks differently.",
    "lens": "**Shows:** the next-token guess you get by reading each layer's hidden state through the final norm and "
            "the output layer (the *logit lens*), read from the bottom (embeddings) up; each cell guesses the token "
            "*after* its column, and the top row is exactly the model's own prediction.  \n"
            "**Does not show:** what early layers \"think\": they were never trained to be read this way, so their "
            "rows are a rough approximation (a tuned lens trains a small probe per layer for that).",
    "rope_frequencies": "**Shows:** RoPE turns each pair of query/key dimensions by (position × that pair's "
                        "frequency); this is how many tokens each pair needs for one full turn, from a few tokens "
                        "(fast pairs tell near positions apart) to many thousands (slow pairs, for long distances).  \n"
                        "**Does not show:** what the model keeps in each pair. The frequencies come from the config "
                        "(`rope_theta`), they are not learned.",
    "rope_scores": "**Shows:** left, the attention score of one word's query with the same word's key *d* tokens back, "
                   "computed at positions 0 and 200: the lines lie on top of each other, so the score depends only on "
                   "the distance. Right: the query itself changes with the position.  \n"
                   "**Does not show:** how the trained model uses distance in a real text; this is one word's vectors "
                   "in layer 1, with nothing else around it.",
    "learned": "**Shows:** GPT-2-style models add one trained vector per position to each token; this is how similar "
               "those vectors are to each other (1 = the same): neighbouring positions look alike.  \n"
               "**Does not show:** the order of the text itself, or how later layers use it.",
    "memory": "**Shows:** memory for N conversations at once: one copy of the weights plus a KV cache per conversation, "
              "which grows by 2 × layers × KV heads × head dim × bytes with every token; × marks where the chosen "
              "device runs out.  \n"
              "**Does not show:** activations, framework overhead or memory fragmentation; real servers also "
              "reserve memory ahead and page the cache.",
    "compute": "**Shows:** blue, the FLOPs per new token from the formula: about 2 × parameters plus attention, which "
               "grows with the context. Red (press *Measure*): the time per new token measured on this machine with "
               "a KV cache of each length.  \n"
               "**Does not show:** batching: a server that decodes many conversations together gets far more tokens "
               "per second than one at a time.",
}
LENS_PRECISION = ("The top row is computed exactly. The other rows run the output layer in bf16 where this CPU has it, "
                  "then recompute the best guesses in full precision: the top guess is the same as in fp32, its "
                  "probability within ±{prob}, the entropy within ±{entropy} bits (tests/test_inside_lens.py).")


def head_choices(heads: int) -> list[str]:
    return [AVERAGE] + [f"head {h + 1}" for h in range(heads)]


def token_choices(labels: list[str]) -> list[tuple[str, int]]:
    return [(f"{i} {label}", i) for i, label in enumerate(labels)]


def head_index(choice: str | None) -> int | None:
    return None if not choice or choice == AVERAGE else int(choice.split()[-1]) - 1


def attention_matrix(view: Inspection, layer: int, head: int | None) -> np.ndarray:
    layer_weights = view.attentions[layer].astype(np.float32)
    matrix: np.ndarray = layer_weights.mean(0) if head is None else layer_weights[head]
    return matrix


def attention_figures(view: Inspection, layer: int, head_choice: str | None, token: int | None) -> tuple[Any, Any, str]:
    layer = int(min(max(layer, 1), view.layers)) - 1
    head = head_index(head_choice)
    matrix = attention_matrix(view, layer, head)
    which = f"layer {layer + 1}, {AVERAGE if head is None else f'head {head + 1}'}"
    token = len(view.labels) - 1 if token is None or token >= len(view.labels) else int(token)
    return (plots.attention_heatmap(matrix, view.labels, f"Attention, {which} ({view.model_label})"),
            plots.looks_at(matrix, view.labels, token, f"What token {token} “{view.labels[token]}” looks at ({which})"),
            snippet.attention_code(catalogue.get(view.model_id, allow_custom=True).hub_id, view.ids, layer, head))


def lens_figure(view: Inspection, metric: str, start: int) -> Any:
    start = max(0, min(start, len(view.ids) - 1))
    shown = f"positions {start}–{min(start + plots.LENS_WINDOW, len(view.ids)) - 1} of {len(view.ids)}"
    return plots.lens_heatmap(view.lens, view.labels, metric,
                              f"Logit lens: the top next-token guess after each layer ({view.model_label}, {shown})", start)


def positions_figures(view: Inspection) -> tuple[Any, Any, str]:
    pos = view.positions
    if pos.kind == "rope":
        # a RoPE result carries all of these (positions.Positions)
        assert pos.inv_freq is not None and pos.offsets is not None and pos.query_cosine is not None
        assert pos.scores_start is not None and pos.scores_later is not None
        first = plots.rope_frequencies(pos.inv_freq, "RoPE: each dimension pair turns at its own speed")
        second = plots.rope_scores(pos.offsets, pos.scores_start.mean(0), pos.scores_later.mean(0),
                                   positions_later(), pos.query_cosine, pos.token_label,
                                   "Same word, different positions (layer 1, mean over heads)")
        note = (f"{pos.note} The word “{pos.token_label}”: shifting both positions by {positions_later()} changes the "
                f"scores by at most {pos.extra['max_difference']:.1e} (rounding), while its query vector itself "
                f"changes with every position.")
        return first, second, note
    if pos.kind == "learned":
        assert pos.similarity is not None
        return plots.position_similarity(pos.similarity, "Learned position vectors: cosine similarity"), None, pos.note
    return None, None, pos.note


def positions_later() -> int:
    from playground.inside.positions import LATER

    return LATER


def status_text(view: Inspection) -> str:
    generated = len(view.ids) - view.prompt_tokens
    lines = [forward.HOW, stats_markdown([
        ("tokens", len(view.ids)), ("generated first (greedy)", generated), ("layers", view.layers),
        ("heads", view.heads), ("s for the pass + lens", f"{view.forward_s:.2f}"), ("device", view.device),
        ("dtype", view.dtype)])]
    return "\n\n".join(lines + [f"⚠ {note}" for note in view.notes])


def capacity_outputs(settings: Settings, target_name: str, model_id: str, measure: bool,
                     users: int = 1) -> tuple[Any, Any, str, capacity.Timing | None]:
    target = capacity.targets().get(target_name) or capacity.targets()[next(iter(capacity.GPUS))]
    users = max(1, int(users))
    rows = capacity.rows(settings, target, users)
    spec = catalogue.get(model_id or catalogue.DEFAULT_MODEL, allow_custom=bool(settings.allow_custom_models))
    arch = capacity.arch_for(spec, settings)
    timing = capacity.measured(spec, settings) if measure else None
    table = [f"| model | numbers from | KV cache per token | weights | context window | fits on {target.name}, {users} at once |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        fits = ("weights alone do not fit" if row.fits_tokens is None else
                "the whole window" if row.fits_tokens >= row.arch.context else f"{row.fits_tokens:,} tokens")
        table.append(f"| {row.label} | {row.arch.source} | {row.kv_bytes_per_token / 1024:,.1f} KiB | "
                     f"{row.weights_bytes / 1e9:.2f} GB | {row.arch.context:,} | {fits} |")
    table.append(f"\nBytes per number: {target.dtype_bytes} ({'bf16/fp16 on a GPU' if target.dtype_bytes == 2 else 'fp32, as this app runs on a CPU'}); "
                 f"{users} conversation(s) at once, each with its own KV cache and one shared copy of the weights; "
                 "Gemma 3's local layers keep only their 512-token window.")
    compute = None
    if arch is not None:
        compute = plots.compute_plot(arch, spec.label, timing.contexts if timing else [],
                                     timing.seconds_per_token if timing else None,
                                     f"measured on this machine, {timing.device}" if timing else "")
    return plots.memory_plot(rows, target.name, target.memory, users), compute, "\n".join(table), timing


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        model = gr.Dropdown(model_choices(settings), value=catalogue.DEFAULT_MODEL, label="Model", scale=3,
                            allow_custom_value=bool(settings.allow_custom_models), elem_id="inside-model")
        chat = gr.Checkbox(True, label="Wrap in the chat template", scale=1)
        new_tokens = gr.Slider(0, 32, value=6, step=1, label="Generate first (greedy tokens)", scale=2)
    text = gr.Textbox(DEFAULT_TEXT, label=f"Text (the first {settings.inside_max_tokens} tokens are used)", lines=2,
                      max_length=settings.max_input_chars, elem_id="inside-text")
    run_btn = gr.Button("Look inside", variant="primary", elem_id="inside-run")
    status = gr.Markdown(elem_id="inside-status")
    state = gr.State(None)  # this visitor's Inspection: redraws need no model
    with gr.Tabs():
        with gr.Tab("Attention"):
            with gr.Row():
                layer = gr.Slider(1, 30, value=1, step=1, label="Layer", elem_id="inside-layer")
                head = gr.Dropdown(head_choices(9), value=AVERAGE, label="Head", elem_id="inside-head")
                token = gr.Dropdown([], label="What does this token look at?", elem_id="inside-token")
            gr.Markdown(EXPLAIN["attention"], elem_classes="inside-explain")
            heat = gr.Plot(label="Attention heatmap", elem_id="inside-attention")
            gr.Markdown(EXPLAIN["looks_at"], elem_classes="inside-explain")
            bars = gr.Plot(label="One token's attention", elem_id="inside-looks-at")
            attention_snippet = gr.Code(language="python", label="Copy as code: this attention matrix")
        with gr.Tab("Layer by layer"):
            gr.Markdown(EXPLAIN["lens"], elem_classes="inside-explain")
            with gr.Row():
                metric = gr.Radio(list(plots.LENS_METRICS), value=next(iter(plots.LENS_METRICS)), label="Colour by")
                lens_from = gr.Slider(0, 1, value=0, step=1, label=f"First position shown ({plots.LENS_WINDOW} at a time)",
                                      elem_id="inside-lens-from")
            lens_plot = gr.Plot(label="Logit lens", elem_id="inside-lens")
            gr.Markdown(LENS_PRECISION.format(prob=lens.PROB_TOLERANCE, entropy=lens.ENTROPY_TOLERANCE),
                        elem_classes="inside-explain")
            lens_snippet = gr.Code(language="python", label="Copy as code: the logit lens")
        with gr.Tab("Positions"):
            gr.Markdown("Attention by itself ignores word order: shuffle the tokens and every score stays the same. "
                        "Models add the order in one of two ways, shown here with the loaded model's own weights.")
            positions_note = gr.Markdown(elem_id="inside-positions-note")
            explain_a = gr.Markdown(EXPLAIN["rope_frequencies"], elem_classes="inside-explain")
            positions_a = gr.Plot(label="Position encoding", elem_id="inside-positions")
            explain_b = gr.Markdown(EXPLAIN["rope_scores"], elem_classes="inside-explain")
            positions_b = gr.Plot(label="Score against distance")
        with gr.Tab("Capacity"):
            with gr.Row():
                target = gr.Dropdown([*capacity.GPUS, capacity.MACHINE], value=next(iter(capacity.GPUS)),
                                     label="Device", elem_id="inside-target")
                users = gr.Slider(1, 64, value=30, step=1, label="Conversations at once (a workshop: 30)",
                                  elem_id="inside-users")
                measure = gr.Button("Measure time per token on this machine", elem_id="inside-measure")
            gr.Markdown(EXPLAIN["memory"], elem_classes="inside-explain")
            memory_plot = gr.Plot(label="Memory", elem_id="inside-memory")
            gr.Markdown(EXPLAIN["compute"], elem_classes="inside-explain")
            compute_plot = gr.Plot(label="Compute", elem_id="inside-compute")
            table = gr.Markdown(elem_id="inside-table")
            capacity_snippet = gr.Code(language="python", label="Copy as code: KV-cache bytes per token")

    @at_edge
    def run(model_id: str, text_value: str, chat_value: bool, new_value: float, metric_value: str) -> dict[Any, Any]:
        view = forward.inspect_text(model_id, text_value, settings, chat=bool(chat_value), new_tokens=int(new_value))
        view.attentions = view.attentions.astype(np.float16)  # half the memory per visitor; plots need no more
        last = len(view.ids) - 1
        heat_fig, bars_fig, att_code = attention_figures(view, view.layers, AVERAGE, last)
        pos_a, pos_b, pos_note = positions_figures(view)
        hub_id = catalogue.get(view.model_id, allow_custom=True).hub_id
        return {state: view, status: status_text(view),
                layer: gr.update(maximum=view.layers, value=view.layers),
                head: gr.update(choices=head_choices(view.heads), value=AVERAGE),
                token: gr.update(choices=token_choices(view.labels), value=last),
                heat: heat_fig, bars: bars_fig, attention_snippet: att_code,
                lens_from: gr.update(maximum=max(1, last), value=max(0, len(view.ids) - plots.LENS_WINDOW)),
                lens_plot: lens_figure(view, metric_value, len(view.ids) - plots.LENS_WINDOW),
                lens_snippet: snippet.lens_code(hub_id, view.ids),
                positions_a: pos_a, positions_b: pos_b, positions_note: pos_note,
                explain_a: EXPLAIN["rope_frequencies" if view.positions.kind == "rope" else "learned"],
                explain_b: gr.update(visible=view.positions.kind == "rope"),
                capacity_snippet: snippet.capacity_code(hub_id, view.ids)}

    @at_edge
    def redraw_attention(view: Inspection | None, layer_value: float, head_value: str,
                         token_value: int | None) -> tuple[Any, Any, Any]:
        if view is None:
            return gr.skip(), gr.skip(), gr.skip()
        return attention_figures(view, int(layer_value), head_value, token_value)

    @at_edge
    def redraw_lens(view: Inspection | None, metric_value: str, start: float) -> Any:
        return gr.skip() if view is None else lens_figure(view, metric_value, int(start))

    @at_edge
    def show_capacity(target_value: str, model_id: str, users_value: float,
                      measure_now: bool = False) -> tuple[Any, Any, str]:
        fig, compute, markdown, _ = capacity_outputs(settings, target_value, model_id, measure_now, int(users_value))
        return fig, compute, markdown

    outputs = [state, status, layer, head, token, heat, bars, attention_snippet, lens_from, lens_plot, lens_snippet,
               positions_a, positions_b, positions_note, explain_a, explain_b, capacity_snippet]
    gr.on([run_btn.click, text.submit], run, [model, text, chat, new_tokens, metric], outputs,
          api_name="inside_view", api_visibility="undocumented",
          **queue("inside", settings)).success(
        show_capacity, [target, model, users], [memory_plot, compute_plot, table],  # now from the loaded config
        api_name="inside_capacity_after_view", api_visibility="undocumented")
    gr.on([layer.release, head.change, token.change], redraw_attention, [state, layer, head, token],
          [heat, bars, attention_snippet], api_name="inside_attention_view", api_visibility="undocumented")
    gr.on([metric.change, lens_from.release], redraw_lens, [state, metric, lens_from], lens_plot,
          api_name="inside_lens_view", api_visibility="undocumented")
    gr.on([shared["tab"].select, target.change, users.release], show_capacity, [target, model, users],
          [memory_plot, compute_plot, table], api_name="inside_capacity_view", api_visibility="undocumented")
    measure.click(lambda t, m, u: show_capacity(t, m, u, True), [target, model, users], [memory_plot, compute_plot, table],
                  api_name="inside_measure", api_visibility="undocumented",
                  **queue("inside-measure", settings))
    register_api(settings)


def register_api(settings: Settings) -> None:
    """`/attention`, `/logit_lens`, `/capacity`: the tab's numbers as JSON (see README, API)."""

    def inspected(text: str, model: str, chat: bool, new_tokens: int) -> Inspection:
        return forward.inspect_text(model, text, settings, chat=bool(chat), new_tokens=int(new_tokens))

    @at_edge
    @checked
    def attention(text: str, model: str = catalogue.DEFAULT_MODEL, chat: bool = True, new_tokens: int = 0,
                  layer: int | None = None, head: int | None = None) -> dict[str, Any]:
        """Attention weights of one layer (1-based; default the last) for one head (1-based; default the average over
        heads): `weights[i][j]` is how much token i attends to token j. Computed with eager attention: exact."""
        view = inspected(text, model, chat, new_tokens)
        index = view.layers - 1 if layer is None else int(layer) - 1
        if not 0 <= index < view.layers or (head is not None and not 1 <= int(head) <= view.heads):
            raise InvalidInput(f"This model has layers 1–{view.layers} and heads 1–{view.heads}.")
        matrix = attention_matrix(view, index, None if head is None else int(head) - 1)
        return {"tokens": view.labels, "ids": view.ids, "prompt_tokens": view.prompt_tokens, "layer": index + 1,
                "head": head, "layers": view.layers, "heads": view.heads, "weights": np.round(matrix, 6).tolist(),
                "how": forward.HOW, "notes": view.notes}

    @at_edge
    @checked
    def logit_lens(text: str, model: str = catalogue.DEFAULT_MODEL, chat: bool = True, new_tokens: int = 0) -> dict[str, Any]:
        """For every layer (0 = embeddings) and position: the top next-token guess read through the final norm and
        the output layer, its probability, the entropy in bits, and the rank of the model's final choice."""
        view = inspected(text, model, chat, new_tokens)
        lens = view.lens
        return {"tokens": view.labels, "ids": view.ids, "layers": lens.layer_names,
                "top_ids": lens.top_ids.tolist(), "top_tokens": lens.top_labels,
                "top_probs": np.round(lens.top_probs, 6).tolist(), "entropy_bits": np.round(lens.entropy_bits, 4).tolist(),
                "chosen_ids": lens.chosen_ids.tolist(), "chosen_tokens": lens.chosen_labels,
                "chosen_rank": lens.chosen_rank.tolist(), "notes": view.notes}

    @at_edge
    @checked
    def capacity_api(target: str = next(iter(capacity.GPUS)), measure: bool = False,
                     model: str = catalogue.DEFAULT_MODEL, users: int = 1) -> dict[str, Any]:
        """KV-cache bytes per token, weight bytes, context window and the longest context that fits on `target`
        for every catalogue model with `users` conversations at once; with `measure`, the time per new token at several
        context lengths on this machine."""
        targets = capacity.targets()
        if target not in targets:
            raise InvalidInput(f"Unknown device {target!r}. Known: {', '.join(targets)}.")
        chosen = targets[target]
        _, _, _, timing = capacity_outputs(settings, target, model, bool(measure), int(users))
        return {"target": chosen.name, "memory_bytes": chosen.memory, "dtype_bytes": chosen.dtype_bytes,
                "models": [{"id": r.model_id, "label": r.label, "source": r.arch.source,
                            "kv_bytes_per_token": r.kv_bytes_per_token, "weights_bytes": r.weights_bytes,
                            "context": r.arch.context, "fits_tokens": r.fits_tokens,
                            "flops_per_token_at_1k": r.arch.flops_per_token(1024)}
                           for r in capacity.rows(settings, chosen, max(1, int(users)))],
                "measured": None if timing is None else {"model": timing.model_id, "device": timing.device,
                                                         "dtype": timing.dtype, "contexts": timing.contexts,
                                                         "seconds_per_token": timing.seconds_per_token}}

    limit = queue("inside", settings)
    gr.api(attention, api_name="attention", **limit)
    gr.api(logit_lens, api_name="logit_lens", **limit)
    gr.api(capacity_api, api_name="capacity", **limit)
