"""Contextual token vectors sub-tab: one word followed through several sentences, contextual vs static."""

from __future__ import annotations

import gradio as gr

from playground.embeddings import examples, plots
from playground.embeddings.catalogue import DEFAULT_MODEL
from playground.embeddings.contextual import contextual_compare
from playground.settings import Settings
from playground.ui.common import Updates, at_edge
from playground.ui.embeddings.choices import model_choices
from playground.ui.queues import queue

CONTEXT_NOTE = """A **static** vector (word2vec, GloVe, a transformer's input layer) is the same for a word wherever it
appears. A transformer's **last hidden layer** gives each token a vector that depends on its sentence. Below,
the chosen word's last-layer vectors are compared across your sentences (a word cut into pieces gets the mean
of its pieces), next to its static input-embedding vector, which does not change."""


def build(settings: Settings) -> None:
    gr.Markdown(CONTEXT_NOTE)
    with gr.Row():
        with gr.Column(scale=3):
            sentences = gr.Textbox("\n".join(examples.CONTEXT_SENTENCES), lines=6, label="Sentences (one per line)",
                                   elem_id="emb-context-sentences")
        with gr.Column(scale=2):
            word = gr.Textbox("bank", label="Word to follow", elem_id="emb-context-word")
            model = gr.Dropdown(model_choices(settings, sentence_only=False), value=DEFAULT_MODEL,
                                label="Transformer", elem_id="emb-context-model")
            go = gr.Button("Compare", variant="primary", elem_id="emb-context-go")
    summary = gr.Markdown(elem_id="emb-context-summary")
    with gr.Row():
        contextual_plot = gr.Plot(label="Contextual (last layer)")
        static_plot = gr.Plot(label="Static (input embedding)")
    tokens = gr.Dataframe(headers=["sentence", "word's tokens", "all tokens"], interactive=False, wrap=True,
                          label="How each sentence was tokenized (the word's pieces are averaged)")

    @at_edge
    def compare(text: str, w: str, model_id: str) -> Updates:
        r = contextual_compare(w, text or "", model_id, settings)
        n = len(r.occurrences)
        off = [r.contextual_similarity[i, j] for i in range(n) for j in range(i + 1, n)]
        static_off = [r.static_similarity[i, j] for i in range(n) for j in range(i + 1, n)]
        labels = [o.sentence for o in r.occurrences]
        return {
            summary: (f"Across your {n} sentences, the contextual vectors of **{r.word}** have cosine similarity from "
                      f"**{min(off):.2f}** to **{max(off):.2f}**; the static vector gives **{min(static_off):.2f}** "
                      f"to **{max(static_off):.2f}** (the same token has the same input vector everywhere). "
                      "Lower means the model reads the word differently in those two sentences."),
            contextual_plot: plots.heatmap(r.contextual_similarity, labels, f"{r.model.label}: contextual", 0, 1),
            static_plot: plots.heatmap(r.static_similarity, labels, "Static input-embedding vector", 0, 1),
            tokens: [[o.sentence, " ".join(o.tokens), " ".join(o.all_tokens)] for o in r.occurrences],
        }

    gr.on([go.click, word.submit], compare, [sentences, word, model], [summary, contextual_plot, static_plot, tokens],
          api_name="contextual_view", api_visibility="undocumented", **queue("sentences", settings))
