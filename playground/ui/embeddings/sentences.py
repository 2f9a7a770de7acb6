"""Sentences sub-tab: a corpus (typed, example or uploaded), a query, its nearest neighbours and a 2-D map."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from playground.embeddings import examples, numeric, plots, remote, warmup
from playground.embeddings.catalogue import DEFAULT_MODEL
from playground.embeddings.corpus import Corpus, Table, corpus_from_table, read_table
from playground.embeddings.search import SearchResult, embed_search
from playground.prices.data import money
from playground.settings import Settings
from playground.ui.common import Updates, at_edge, stats_markdown, unchanged
from playground.ui.embeddings.choices import api_model_choices, model_choices
from playground.ui.queues import queue

API_NOTE = """The texts are sent to the server for embedding. **dimensions** asks for shorter vectors:
OpenAI's text-embedding-3 models are trained so that the first *n* numbers (renormalised) still work as an
embedding. Try 1536, then 256, then 32, and watch how the neighbours hold up. A compatible server (TEI, vLLM,
Ollama, LM Studio, Gemini's OpenAI-compatible endpoint) needs its base URL and the model name it serves."""


def _neighbour_rows(result: SearchResult) -> list[list[Any]]:
    return [[n.rank, round(n.score, 4), n.text, n.label or ""] for n in result.neighbours]


def _search_status(result: SearchResult) -> str:
    stats = stats_markdown([("texts", len(result.texts)), ("dimensions per vector", result.dimensions),
                            ("cosine nearest neighbours", len(result.neighbours)), ("s", result.seconds)])
    stats += " · corpus " + ("encoded now" if result.encoded_now else "vectors from the cache (not re-encoded)")
    if result.api:
        stats += (f" · embedded by {result.where}: **{result.tokens:,}** input tokens, "
                  f"**{money(result.cost_usd)}** (LiteLLM's price map)")
    return "\n\n".join([stats, *(f"ℹ {note}" for note in result.notes)])


@dataclass(frozen=True)
class Chain:
    """An event handler with its inputs and outputs, for the tab to run after events of its own."""

    fn: Callable[..., Updates]
    inputs: Sequence[Block]
    outputs: Sequence[Block]


@dataclass(frozen=True)
class SentenceView:
    projection: gr.Radio  # the map's method: choosing UMAP starts its warm-up
    refresh: Chain  # search and draw the map for what the page holds now
    redraw: Chain  # redraw a UMAP map asked for while UMAP was warming (a no-op otherwise)


def build(settings: Settings, umap_note: gr.Markdown) -> SentenceView:
    gr.Markdown("Type a corpus (one text per line) and a query: the closest texts by cosine similarity, and a map.")
    # This visitor's Corpus with labels (example set or upload); starts as the example set.
    corpus_state = gr.State(Corpus(list(examples.TEXTS), list(examples.LABELS)))
    with gr.Row():
        with gr.Column(scale=3):
            corpus = gr.Textbox("\n".join(examples.TEXTS), lines=10, max_lines=16, label="Corpus: one text per line",
                                elem_id="emb-corpus")
            with gr.Row():
                example_btn = gr.Button("Example set (4 topics, coloured)", size="sm")
                clear_btn = gr.Button("Clear", size="sm")
            with gr.Accordion("Or upload a .txt / .csv / .tsv file", open=False):
                upload = gr.File(file_types=[".txt", ".csv", ".tsv"], type="filepath", label="Corpus file",
                                 elem_id="emb-corpus-file")
                with gr.Row():
                    text_col = gr.Dropdown([], label="Text column", interactive=True)
                    label_col = gr.Dropdown([], label="Colour by (label column)", interactive=True)
                table_state = gr.State(None)
        with gr.Column(scale=2):
            query = gr.Textbox(examples.QUERIES[0], label="Query", elem_id="emb-query")
            gr.Examples([[q] for q in examples.QUERIES], inputs=[query], label="Try")
            model = gr.Dropdown(model_choices(settings, sentence_only=True) + api_model_choices(),
                                value=DEFAULT_MODEL, label="Sentence-embedding model", elem_id="emb-model")
            with gr.Accordion("API model settings", open=True, visible=False) as api_box:
                gr.Markdown(API_NOTE)
                base_url = gr.Textbox(label="Base URL (empty: the server's own, else OpenAI)",
                                      placeholder="http://localhost:11434/v1", elem_id="emb-api-base-url")
                api_key = gr.Textbox(label="API key (kept for this browser session only)", type="password",
                                     elem_id="emb-api-key")
                served = gr.Textbox(label="Model name the server serves", placeholder="nomic-embed-text",
                                    visible=False, elem_id="emb-api-model")
                dimensions = gr.Number(None, precision=0, minimum=0, label="dimensions (empty: full length)",
                                       elem_id="emb-api-dimensions")
            k = gr.Slider(1, 20, value=5, step=1, label="Neighbours (top k)")
            projection = gr.Radio(list(numeric.PROJECTIONS), value="PCA", label="2-D map", elem_id="emb-projection")
            projection_note = gr.Markdown(numeric.PROJECTION_NOTES["PCA"])
            search_btn = gr.Button("Search and map", variant="primary", elem_id="emb-search")
    status = gr.Markdown(elem_id="emb-status")
    gr.Markdown("The neighbours are found in the full space (all dimensions), **not** on the map: the map is only a "
                "picture, and squeezing hundreds of dimensions into two distorts distances.")
    table = gr.Dataframe(headers=["rank", "cosine", "text", "label"], interactive=False, wrap=True,
                         label="Nearest neighbours of the query", elem_id="emb-neighbours")
    map_plot = gr.Plot(label="Map", elem_id="emb-map")
    with gr.Accordion("Similarity heatmap (corpora of up to 40 texts)", open=False):
        heat = gr.Plot(label="Cosine similarity between every pair of texts")

    def labels_for(text: str, state: Corpus | None) -> list[str] | None:
        # Labels only apply while the box still holds exactly the texts they came with.
        if state is not None and state.labels and [t.strip() for t in text.splitlines() if t.strip()] == state.texts:
            return state.labels
        return None

    def outputs_for(result: SearchResult) -> Updates:
        neighbours = [(n.index, n.score) for n in result.neighbours]
        return {
            status: _search_status(result),
            table: _neighbour_rows(result),
            map_plot: plots.sentence_map(result.coords, result.texts, result.labels, result.query, result.query_xy,
                                         neighbours, result.method),
            heat: plots.heatmap(result.similarity, result.texts, "Cosine similarity (full space)")
            if result.similarity is not None else None,
            projection_note: numeric.PROJECTION_NOTES[result.method],
        }

    # Never wait for UMAP inside an event: the wait would hold one of the tab's event slots for
    # up to a minute. A UMAP request made while it warms is answered with PCA and remembered here;
    # the warm-up poll redraws it once UMAP is ready (`redraw_if_pending`).
    umap_pending = gr.State(False)
    operator_spent = gr.State(0.0)  # what the operator's key paid for this session's API embeddings (USD)

    @at_edge
    def run(query_value: str, text: str, model_id: str, k_value: float, method: str, state: Corpus | None,
            url: str, key: str, served_name: str, dims: float | None, spent: float) -> Updates:
        labels = labels_for(text or "", state)
        lines = [t for t in (text or "").splitlines() if t.strip()]
        if model_id == remote.API_PREFIX:
            model_id += (served_name or "").strip()
        api = remote.ApiOptions(url or "", key or "", int(dims) if dims and remote.is_api_model(model_id) else None,
                                spent or 0.0)
        result = embed_search(query_value, lines, model_id, int(k_value), method, settings, labels=labels,
                              wait_for_umap=False, api=api)
        waiting = result.requested == "UMAP" and result.method != "UMAP" and warmup.status().state == "warming"
        return {**outputs_for(result), umap_pending: waiting,
                operator_spent: (spent or 0.0) + result.operator_spent_usd}

    @at_edge
    def model_chosen(model_id: str) -> Updates:
        return {api_box: gr.Accordion(visible=remote.is_api_model(model_id)),
                served: gr.Textbox(visible=model_id == remote.API_PREFIX)}

    @at_edge
    def redraw_if_pending(pending: bool, *values: Any) -> Updates:
        if not pending or not warmup.status().ready:
            return unchanged()
        return {**run(*values), umap_note: ""}

    @at_edge
    def use_example() -> Updates:
        return {corpus: "\n".join(examples.TEXTS),
                corpus_state: Corpus(list(examples.TEXTS), list(examples.LABELS))}

    @at_edge
    def uploaded(path: str | None) -> Updates:
        if not path:
            return {table_state: None}
        tab = read_table(path, settings)
        text_default, label_default = tab.default_text_column(), tab.default_label_column()
        return {table_state: tab,
                text_col: gr.update(choices=tab.columns, value=text_default),
                label_col: gr.update(choices=["(none)", *tab.columns], value=label_default or "(none)")}

    @at_edge
    def columns_chosen(tab: Table | None, text_name: str, label_name: str) -> Updates:
        if tab is None or not text_name:
            return unchanged()
        chosen = corpus_from_table(tab, text_name, None if label_name in (None, "", "(none)") else label_name, settings)
        return {corpus: "\n".join(chosen.texts), corpus_state: chosen}

    inputs = [query, corpus, model, k, projection, corpus_state, base_url, api_key, served, dimensions, operator_spent]
    outputs = [status, table, map_plot, heat, projection_note, umap_pending, operator_spent]
    model.change(model_chosen, model, [api_box, served], api_name="embeddings_model_chosen",
                 api_visibility="undocumented", show_progress="hidden")
    gr.on([search_btn.click, query.submit, projection.change, model.change], run, inputs, outputs,
          api_name="embed_search_view", api_visibility="undocumented", trigger_mode="always_last",
          **queue("sentences", settings))
    example_btn.click(use_example, None, [corpus, corpus_state], api_name="embeddings_example",
                      api_visibility="undocumented").then(run, inputs, outputs, api_visibility="undocumented",
                                                          api_name="embed_search_example")
    clear_btn.click(at_edge(lambda: {corpus: "", corpus_state: None}), None, [corpus, corpus_state],
                    api_name="embeddings_clear", api_visibility="undocumented")
    upload.upload(uploaded, upload, [table_state, text_col, label_col], api_name="embeddings_upload",
                  api_visibility="undocumented").then(
        columns_chosen, [table_state, text_col, label_col], [corpus, corpus_state], api_visibility="undocumented",
        api_name="embeddings_columns_after_upload")
    gr.on([text_col.input, label_col.input], columns_chosen, [table_state, text_col, label_col], [corpus, corpus_state],
          api_name="embeddings_columns", api_visibility="undocumented")
    return SentenceView(projection, Chain(run, inputs, outputs),
                        Chain(redraw_if_pending, [umap_pending, *inputs], [*outputs, umap_note]))
