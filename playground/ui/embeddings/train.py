"""Train-your-own sub-tab: word2vec on playlists or sentences, the model kept in the visitor's session."""

from __future__ import annotations

import gradio as gr

from playground.embeddings import word2vec as w2v
from playground.settings import Settings
from playground.ui.common import Updates, at_edge
from playground.ui.queues import queue

TRAIN_NOTE = """word2vec learns a vector for each item from the items around it. It works on any sequences, not only
words: in **playlists** (one per line, song ids separated by spaces) songs that are played together get close
vectors, which is how "more like this" recommendations can work. Upload sequences (and optionally a metadata
file with `id, title, artist` per line), or try the toy playlists, then ask for the items most like one."""


def build(settings: Settings) -> None:
    gr.Markdown(TRAIN_NOTE)
    trained_state = gr.State(None)  # this visitor's TrainedItems: never a global
    with gr.Row():
        with gr.Column(scale=3):
            kind = gr.Radio(["Playlists (item ids)", "Sentences (words)"], value="Playlists (item ids)",
                            label="What each line holds")
            with gr.Row():
                seq_file = gr.File(file_types=[".txt", ".csv"], type="filepath", label="Sequences, one per line")
                meta_file = gr.File(file_types=[".txt", ".tsv", ".csv"], type="filepath",
                                    label="Metadata (optional): id, title, artist")
            with gr.Row():
                toy_btn = gr.Button("Train on toy playlists (4 genres, offline)", elem_id="emb-train-toy")
                online_btn = gr.Button("Train on the public playlist data set (needs a network)")
        with gr.Column(scale=2):
            vector_size = gr.Slider(2, 300, value=32, step=1, label="Vector size")
            window = gr.Slider(1, 50, value=20, step=1, label="Window (items either side)")
            negative = gr.Slider(1, 50, value=10, step=1, label="Negative samples")
            min_count = gr.Slider(1, 100, value=1, step=1, label="Min count (rarer items are dropped)")
            epochs = gr.Slider(1, 100, value=10, step=1, label="Epochs")
            train_btn = gr.Button("Train on my upload", variant="primary")
    trained_info = gr.Markdown(elem_id="emb-train-status")
    with gr.Row():
        item = gr.Textbox(label="Item id (or song title, or word)", scale=3, elem_id="emb-train-item")
        k = gr.Slider(1, 30, value=10, step=1, label="How many", scale=1)
        ask = gr.Button("Most similar", scale=1, elem_id="emb-train-ask")
    similar = gr.Dataframe(headers=["id", "title", "artist", "cosine"], interactive=False, max_height=400,
                           elem_id="emb-train-similar")

    def params(vs: float, win: float, neg: float, mc: float, ep: float) -> w2v.TrainParams:
        return w2v.TrainParams(int(vs), int(win), int(neg), int(mc), int(ep))

    def run_training(sequences: list[list[str]], metadata: dict[str, w2v.Item], p: w2v.TrainParams, source: str,
                     progress: gr.Progress) -> Updates:
        progress(0, desc="building the vocabulary")
        trained = w2v.train(sequences, p, metadata, lambda f, msg: progress(f, desc=msg), source)
        # Suggest an item to ask about: the first one with metadata (a song with a title), else the commonest.
        example = next((i for i in metadata if i in trained.kv.key_to_index), next(iter(trained.kv.index_to_key), ""))
        return {trained_state: trained, trained_info: "✔ " + trained.describe(), item: example}

    @at_edge
    def train_upload(seq_path: str | None, meta_path: str | None, what: str, vs: float, win: float, neg: float,
                     mc: float, ep: float, progress: gr.Progress = gr.Progress()) -> Updates:  # noqa: B008 - gradio's idiom
        if not seq_path:
            raise gr.Error("Upload a sequences file first (or try the toy playlists).")
        sequences = w2v.read_sequences(seq_path, settings, sentences=what.startswith("Sentences"))
        metadata = w2v.read_metadata(meta_path, settings) if meta_path else {}
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "your upload", progress)

    @at_edge
    def train_toy(vs: float, win: float, neg: float, mc: float, ep: float,
                  progress: gr.Progress = gr.Progress()) -> Updates:  # noqa: B008
        sequences, metadata = w2v.toy_playlists()
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "the toy playlists", progress)

    @at_edge
    def train_online(vs: float, win: float, neg: float, mc: float, ep: float,
                     progress: gr.Progress = gr.Progress()) -> Updates:  # noqa: B008
        progress(0, desc="downloading the playlists")
        sequences, metadata = w2v.download_playlists(settings)
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "the public playlist data set",
                            progress)

    @at_edge
    def most_similar(trained: w2v.TrainedItems | None, name: str, n: float) -> list[list[str | float]]:
        if trained is None:
            raise gr.Error("Train a model first: upload sequences, or try the toy playlists.")
        return [[i.id, i.title, i.artist, round(s, 4)] for i, s in w2v.similar_items(trained, name, int(n))]

    knobs = [vector_size, window, negative, min_count, epochs]
    outputs = [trained_state, trained_info, item]
    train_btn.click(train_upload, [seq_file, meta_file, kind, *knobs], outputs, api_name="word2vec_train",
                    api_visibility="undocumented", **queue("word2vec", settings))
    toy_btn.click(train_toy, knobs, outputs, api_name="word2vec_toy", api_visibility="undocumented",
                  **queue("word2vec", settings)).then(
        most_similar, [trained_state, item, k], similar, api_name="word2vec_similar_after", api_visibility="undocumented")
    online_btn.click(train_online, knobs, outputs, api_name="word2vec_playlists", api_visibility="undocumented",
                     **queue("word2vec", settings))
    gr.on([ask.click, item.submit], most_similar, [trained_state, item, k], similar, api_name="word2vec_similar",
          api_visibility="undocumented")
