"""Word vectors sub-tab: neighbours, analogies, the odd one out and a map, from a built-in or uploaded source."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.embeddings import examples, plots
from playground.embeddings import words as wv
from playground.embeddings.catalogue import DEFAULT_WORD_VECTORS, WORD_VECTORS
from playground.settings import Settings
from playground.ui.common import Updates, at_edge, unchanged
from playground.ui.queues import queue

UPLOADED = "upload"

WORDS_NOTE = """**Where these word vectors come from.** Offline, they are the *input embedding layer* of the bundled
all-MiniLM-L6-v2 model: the vector each whole word in its vocabulary starts with before any context is
mixed in (about 22,500 lower-case words; pieces such as `##ing` are left out). They were learned as the
first layer of a transformer, not by word2vec or GloVe, so expect noisier answers than GloVe. With a network,
pick GloVe; or upload your own word2vec / GloVe text file."""


def word_source_choices(settings: Settings, uploaded: wv.WordVectors | None = None) -> list[tuple[str, str]]:
    out = [(("⚠ " if settings.offline and spec.gensim_name else "") + spec.label, spec.id) for spec in WORD_VECTORS]
    if uploaded is not None:
        out.append((f"Your file: {uploaded.source.removeprefix('upload:')}", UPLOADED))
    return out


def _source(source: str, uploaded: wv.WordVectors | None, settings: Settings) -> wv.WordVectors:
    if source == UPLOADED:
        if uploaded is None:
            raise gr.Error("Upload a vectors file first.")
        return uploaded
    return wv.load_source(source, settings)


def build(settings: Settings) -> None:
    gr.Markdown(WORDS_NOTE)
    uploaded_state = gr.State(None)  # this visitor's uploaded WordVectors
    with gr.Row():
        source = gr.Dropdown(word_source_choices(settings), value=DEFAULT_WORD_VECTORS, label="Word vectors",
                             scale=3, elem_id="emb-word-source")
        vec_file = gr.File(file_types=[".txt", ".vec"], type="filepath", scale=2,
                           label="Upload word2vec/GloVe text (word v1 v2 … per line)")
    source_info = gr.Markdown()
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Most similar words")
            with gr.Row():
                word = gr.Textbox("king", label="Word", scale=3, elem_id="emb-word")
                k = gr.Slider(1, 30, value=10, step=1, label="How many", scale=2)
            similar_btn = gr.Button("Find neighbours")
            similar = gr.Dataframe(headers=["word", "cosine"], interactive=False, max_height=360)
        with gr.Column():
            gr.Markdown("#### Analogy: a − b + c")
            with gr.Row():
                a = gr.Textbox("king", label="a", elem_id="emb-a")
                b = gr.Textbox("man", label="− b", elem_id="emb-b")
                c = gr.Textbox("woman", label="+ c", elem_id="emb-c")
            analogy_btn = gr.Button("Solve")
            gr.Markdown("*The three input words are left out of the answers (as in the word2vec papers): otherwise "
                        "the nearest vector is usually `a` itself.*")
            analogy = gr.Dataframe(headers=["answer", "cosine"], interactive=False, max_height=300,
                                   elem_id="emb-analogy")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Which word doesn't belong?")
            odd_words = gr.Textbox("breakfast lunch dinner car", label="Three or more words")
            odd_btn = gr.Button("Find the odd one out")
            odd = gr.Markdown()
        with gr.Column():
            gr.Markdown("#### A map of chosen words (PCA)")
            map_words = gr.Textbox(examples.MAP_WORDS, label="Words", lines=2)
            map_btn = gr.Button("Draw")
    word_plot = gr.Plot(label="Word map")

    def describe(vectors: wv.WordVectors) -> str:
        return f"{vectors.size:,} words, {vectors.kv.vector_size} dimensions. {vectors.description}"

    @at_edge
    def find(source_id: str, up: wv.WordVectors | None, w: str, n: float) -> Updates:
        vectors = _source(source_id, up, settings)
        return {similar: [[x, round(s, 4)] for x, s in wv.neighbours(vectors, w, int(n))], source_info: describe(vectors)}

    @at_edge
    def solve(source_id: str, up: wv.WordVectors | None, x: str, y: str, z: str) -> list[list[str | float]]:
        vectors = _source(source_id, up, settings)
        return [[w, round(s, 4)] for w, s in wv.analogy(vectors, x, y, z, 10)]

    @at_edge
    def odd_out(source_id: str, up: wv.WordVectors | None, text: str) -> str:
        result = wv.odd_one_out(_source(source_id, up, settings), text)
        detail = ", ".join(f"{w} {s:.2f}" for w, s in result.similarity_to_mean)
        return f"**{result.odd}** doesn't belong. Similarity of each word to the group's average: {detail}."

    @at_edge
    def draw(source_id: str, up: wv.WordVectors | None, text: str) -> Any:  # a plotly Figure
        keys, proj = wv.word_map(_source(source_id, up, settings), text, "PCA")
        return plots.word_map(proj.coords, keys, proj.method)

    @at_edge
    def upload_vectors(path: str | None, current: wv.WordVectors | None) -> Updates:
        if not path:
            return unchanged()
        vectors = wv.load_upload(path, settings)
        return {uploaded_state: vectors, source: gr.update(choices=word_source_choices(settings, vectors), value=UPLOADED),
                source_info: describe(vectors)}

    @at_edge
    def source_changed(source_id: str, up: wv.WordVectors | None) -> str:
        return describe(_source(source_id, up, settings))

    common = [source, uploaded_state]
    gr.on([similar_btn.click, word.submit], find, [*common, word, k], [similar, source_info],
          api_name="word_neighbors_view", api_visibility="undocumented", **queue("words", settings))
    analogy_btn.click(solve, [*common, a, b, c], analogy, api_name="analogy_view", api_visibility="undocumented",
                      **queue("words", settings))
    gr.on([odd_btn.click, odd_words.submit], odd_out, [*common, odd_words], odd, api_name="odd_one_out",
          api_visibility="undocumented", **queue("words", settings))
    map_btn.click(draw, [*common, map_words], word_plot, api_name="word_map", api_visibility="undocumented",
                  **queue("words", settings))
    vec_file.upload(upload_vectors, [vec_file, uploaded_state], [uploaded_state, source, source_info],
                    api_name="word_vectors_upload", api_visibility="undocumented")
    source.input(source_changed, common, source_info, api_name="word_source", api_visibility="undocumented")
