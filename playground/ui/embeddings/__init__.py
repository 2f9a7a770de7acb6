"""Embeddings tab: sentence neighbours on a 2-D map, word vectors, contextual and home-trained vectors.

One tab, four sub-tabs, one module each (`sentences`, `words`, `contextual`, `train`), each a thin
view over `playground.embeddings`; the public endpoints live in `api`. Per-visitor data (an
uploaded corpus or vectors file, a trained word2vec model) lives in `gr.State`. This module wires
what the sub-tabs share: the UMAP warm-up note and its poll.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.embeddings import warmup
from playground.settings import Settings
from playground.ui.common import Updates, at_edge, unchanged
from playground.ui.embeddings import api, contextual, sentences, train, words
from playground.ui.queues import queue

INTRO = """An **embedding** turns a text (or a word, or a token) into a list of numbers — a vector — so that
texts with similar meaning get vectors pointing in similar directions. *Cosine similarity* measures that:
1 means the same direction, 0 unrelated. Below: whole sentences, single words, the same word in different
contexts, and vectors you train yourself."""


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown(INTRO)
    umap_note = gr.Markdown(elem_id="emb-umap-status")
    parent = shared["tab"]  # the tab this view is built in: its `select` starts the UMAP warm-up
    with gr.Tabs():
        with gr.Tab("Sentences", id="emb-sentences"):
            sentence_view = sentences.build(settings, umap_note)
        with gr.Tab("Word vectors", id="emb-words"):
            words.build(settings)
        with gr.Tab("Contextual token vectors", id="emb-context"):
            contextual.build(settings)
        with gr.Tab("Train your own (word2vec)", id="emb-train"):
            train.build(settings)

    @at_edge
    def start_warming() -> Updates:
        state = warmup.start()
        if state.ready:
            return {umap_note: ""}
        return {umap_note: f"⏳ {state.describe()} It loads in the background; PCA and t-SNE work meanwhile.",
                poll: gr.Timer(active=True)}

    # While UMAP warms, poll its status so the note clears itself when it is ready.
    poll = gr.Timer(3, active=False)

    @at_edge
    def poll_warmup() -> Updates:
        state = warmup.status()
        if state.state == "warming":
            return {umap_note: f"⏳ {state.describe()} It loads in the background; PCA and t-SNE work meanwhile."}
        note = "" if state.ready else f"⚠ {state.describe()}"
        return {umap_note: note, poll: gr.Timer(active=False)}

    # …and once it is ready, redraw a UMAP map this visitor asked for while it warmed (drawn as PCA meanwhile).
    redraw = sentence_view.redraw
    poll.tick(poll_warmup, None, [umap_note, poll], api_name="embeddings_warm_status", api_visibility="undocumented",
              show_progress="hidden").then(
        redraw.fn, redraw.inputs, redraw.outputs, api_name="embed_search_after_warmup", api_visibility="undocumented",
        show_progress="hidden", **queue("sentences", settings))

    # Warm UMAP the first time someone opens this tab, so it is ready when they pick it,
    # and draw the first map (cheap after the first time: the corpus vectors are cached).
    if parent is not None and hasattr(parent, "select"):
        refresh = sentence_view.refresh
        parent.select(start_warming, None, [umap_note, poll], api_name="embeddings_warm", api_visibility="undocumented",
                      show_progress="hidden").then(refresh.fn, refresh.inputs, refresh.outputs, api_name="embed_search_on_open",
                                                   api_visibility="undocumented")

    @at_edge
    def umap_chosen(method: str) -> Updates:
        return start_warming() if method == "UMAP" else unchanged()

    sentence_view.projection.change(
        umap_chosen, sentence_view.projection, [umap_note, poll],
        api_name="embeddings_warm_umap", api_visibility="undocumented", show_progress="hidden")
    api.register(settings)
