"""Tokenizer Comparison tab: the shared text through several tokenizers, side by side."""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from playground.prices.render import costs_section
from playground.settings import Settings
from playground.tokenization.compare import (
    PRESETS,
    Comparison,
    columns,
    compare,
    copy_as_code,
    default_choices,
    disputed_spans,
    family_markers,
    pieces_in,
)
from playground.tokenization.compare_render import comparison_html
from playground.tokenization.load import choices
from playground.tokenization.visible import visible
from playground.ui.api_types import checked
from playground.ui.common import at_edge, download_file
from playground.ui.queues import queue

VIEW_CHARS = 2_000  # aligned view: the first characters; the table and downloads cover everything
SUMMARY_HEADERS = ["tokenizer", "family", "vocab size", "tokens", "chars/token", "unknown", "lowercases",
                   "strips accents", "newlines", "tabs", "space runs", "word marker"]


def summary_rows(comparison: Comparison) -> list[list[Any]]:
    out = []
    for row in comparison.table():
        if "error" in row:
            out.append([row["tokenizer"], "⚠ " + row["error"]] + [""] * (len(SUMMARY_HEADERS) - 2))
        else:
            out.append([row[h] for h in SUMMARY_HEADERS])
    return out


def count_chart(comparison: Comparison) -> Any:  # a plotly Figure (plotly is imported lazily)
    import plotly.graph_objects as go  # lazy: plotly is only needed once a comparison is drawn

    results = comparison.results()
    labels = [row.label for row, _ in results]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[r.stats.tokens for _, r in results], name="tokens", marker_color="#54aeff")
    fig.add_scatter(x=labels, y=[r.stats.chars_per_token or 0 for _, r in results], name="characters per token",
                    yaxis="y2", mode="markers+lines", marker={"size": 10, "color": "#cf222e"})
    fig.update_layout(
        height=340, margin={"l": 40, "r": 40, "t": 30, "b": 90}, legend={"orientation": "h", "y": 1.12},
        yaxis={"title": "tokens"}, yaxis2={"title": "chars / token", "overlaying": "y", "side": "right"},
        xaxis={"tickangle": -25},
    )
    return fig


def span_cut_markdown(comparison: Comparison, start: int, end: int) -> str:
    lines = [f"**How each tokenizer cuts** `{visible(comparison.text[start:end])}` (characters {start}–{end}):", ""]
    for row in comparison.rows:
        if row.result is None:
            lines.append(f"- **{row.label}**: ⚠ could not load")
            continue
        tok, enc = row.result.tokenizer, row.result.encoded
        idx = pieces_in(enc, start, end)
        strings = tok.token_strings([enc.id_list[i] for i in idx])
        shown = " │ ".join(f"`{visible(s)}`" for s in strings) or "(nothing: dropped)"
        lines.append(f"- **{row.label}** ({len(idx)}): {shown}")
    return "\n".join(lines)


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown(
        "The same text through several tokenizers. Columns line up the same span of text down the rows; "
        "**red columns** are where the tokenizers disagree about where to cut. Hover a chip for its id and bytes."
    )
    tokens_tab = shared.get("playground.ui.tokens")
    with gr.Row():
        text = gr.Textbox(value=tokens_tab.text.value if tokens_tab else "", lines=4, max_lines=12, scale=3,
                          label="Text (shared with the Tokens tab)", elem_id="compare-text",
                          max_length=settings.max_input_chars)
        with gr.Column(scale=2):
            preset = gr.Dropdown(list(PRESETS), value=None, label="Preset", elem_id="compare-preset")
            picked = gr.Dropdown(choices(settings), value=default_choices(settings), multiselect=True,
                                 allow_custom_value=True, label="Tokenizers (or type a model or Hugging Face id)",
                                 elem_id="compare-tokenizers")
    run = gr.Button("Compare", variant="primary")
    notes = gr.Markdown()
    aligned = gr.HTML(elem_id="compare-view")
    with gr.Row():
        span_pick = gr.Dropdown([], label="Where do they disagree? Pick a span", scale=2, elem_id="compare-span")
        span_text = gr.Textbox(label="…or type a piece of the text", scale=2)
    span_out = gr.Markdown(elem_id="compare-span-out")
    table = gr.Dataframe(headers=SUMMARY_HEADERS, interactive=False, label="Summary", elem_id="compare-table", wrap=True)
    markers = gr.Markdown()
    chart = gr.Plot(label="Token counts")
    with gr.Accordion("Cost and context window per tokenizer", open=False):
        costs = gr.HTML()
    with gr.Row():
        export = gr.Button("Download the table (CSV and JSON)")
        files = gr.File(file_count="multiple", interactive=False, label="Downloads")
    with gr.Accordion("Copy as code", open=False):
        code = gr.Code(language="python")
    state = gr.State(None)  # this visitor's last comparison: span picks need no re-tokenizing

    @at_edge
    def run_compare(text_value: str, names: list[str]) -> dict[Any, Any]:
        comparison = compare(text_value or "", names or [], settings)
        spans = disputed_spans(comparison)
        span_choices = [(f"{visible(comparison.text[a:b]).strip() or '·'}  (chars {a}–{b})", f"{a}:{b}") for a, b in spans]
        cost_parts = [f"<h4>{escape(row.label)}</h4>" + costs_section(result.tokenizer, result.stats.tokens, settings)
                      for row, result in comparison.results()]
        cols = columns(comparison.cuts, comparison.boundaries, VIEW_CHARS)
        more = (f"\n\nThe aligned view shows the first {VIEW_CHARS:,} characters; the table counts all "
                f"{len(comparison.text):,}.") if len(comparison.text) > VIEW_CHARS else ""
        return {
            state: comparison,
            notes: "\n".join(f"⚠ {n}" for n in comparison.notes) + more,
            aligned: comparison_html(comparison, cols, limit_tokens=settings.max_view_tokens),
            span_pick: gr.update(choices=span_choices, value=None),
            span_out: f"{len(spans)} span(s) where the tokenizers cut differently." if spans else "All tokenizers agree on every cut.",
            table: summary_rows(comparison),
            markers: "\n".join(f"- **{fam}**: {line}" for fam, line in family_markers(comparison)),
            chart: count_chart(comparison) if comparison.loaded else None,
            costs: "".join(cost_parts),
            code: copy_as_code(comparison),
        }

    @at_edge
    def show_span(comparison: Comparison | None, picked_span: str | None) -> str:
        if comparison is None or not picked_span:
            return ""
        a, b = (int(x) for x in picked_span.split(":"))
        return span_cut_markdown(comparison, a, b)

    @at_edge
    def find_span(comparison: Comparison | None, piece: str) -> str:
        if comparison is None or not piece:
            return ""
        where = comparison.text.find(piece)
        if where < 0:
            return f"`{visible(piece)}` is not in the compared text."
        return span_cut_markdown(comparison, where, where + len(piece))

    @at_edge
    def export_files(comparison: Comparison | None) -> list[str]:
        if comparison is None:
            raise gr.Error("Run a comparison first.")
        return [download_file("comparison.csv", comparison.csv()), download_file("comparison.json", comparison.json())]

    outputs = [state, notes, aligned, span_pick, span_out, table, markers, chart, costs, code]
    gr.on([run.click, text.submit, shared["demo"].load], run_compare, [text, picked], outputs,
          api_name="compare_view", api_visibility="undocumented", **queue("tokenizers", settings))
    preset.input(lambda name: gr.update(value=list(PRESETS[name])) if name else gr.update(), preset, picked,
                 api_name="compare_preset", api_visibility="undocumented", queue=False)
    span_pick.input(show_span, [state, span_pick], span_out, api_name="compare_span", api_visibility="undocumented")
    span_text.submit(find_span, [state, span_text], span_out, api_name="compare_find", api_visibility="undocumented")
    export.click(export_files, state, files, api_name="compare_export", api_visibility="undocumented")
    if tokens_tab is not None:  # one shared text: typing in either tab updates the other
        tokens_tab.text.input(lambda v: v, tokens_tab.text, text, queue=False, api_name="share_text_to_compare",
                               api_visibility="undocumented")
        text.input(lambda v: v, text, tokens_tab.text, queue=False, api_name="share_text_from_compare",
                   api_visibility="undocumented")

    @at_edge
    @checked
    def compare_api(text: str, tokenizers: list[str]) -> dict[str, Any]:
        """Compare tokenizers on `text`: the summary table, each tokenizer's tokens, and the disputed cuts."""
        comparison = compare(text or "", tokenizers or [], settings)
        tokens = {}
        for row, result in comparison.results():
            rows = result.rows()
            tokens[row.spec_id] = [{k: r[k] for k in ("id", "token", "text", "start", "end")} for r in rows]
        return {"table": comparison.table(), "tokens": tokens, "disputed_boundaries": comparison.disputed.tolist()}

    gr.api(compare_api, api_name="compare", **queue("tokenizers", settings))
    return None
