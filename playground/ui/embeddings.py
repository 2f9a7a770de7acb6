"""Embeddings tab: sentence neighbours on a 2-D map, word vectors, contextual and home-trained vectors.

Four sub-tabs, each a thin view over `playground.embeddings`. Per-visitor data (an uploaded
corpus or vectors file, a trained word2vec model) lives in `gr.State`; the public endpoints
`/embed_search`, `/word_neighbors` and `/analogy` are registered in `register_api`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.embeddings import examples, numeric, plots, warmup
from playground.embeddings import word2vec as w2v
from playground.embeddings import words as wv
from playground.embeddings.catalogue import DEFAULT_MODEL, DEFAULT_WORD_VECTORS, MODELS, WORD_VECTORS
from playground.embeddings.contextual import contextual_compare
from playground.embeddings.corpus import Corpus, Table, corpus_from_table, read_table
from playground.embeddings.models import availability
from playground.embeddings.search import SearchResult, embed_search
from playground.settings import Settings
from playground.ui.api_types import checked
from playground.ui.common import at_edge, stats_markdown

UPLOADED = "upload"

INTRO = """An **embedding** turns a text (or a word, or a token) into a list of numbers — a vector — so that
texts with similar meaning get vectors pointing in similar directions. *Cosine similarity* measures that:
1 means the same direction, 0 unrelated. Below: whole sentences, single words, the same word in different
contexts, and vectors you train yourself."""

WORDS_NOTE = """**Where these word vectors come from.** Offline, they are the *input embedding layer* of the bundled
all-MiniLM-L6-v2 model: the vector each whole word in its vocabulary starts with before any context is
mixed in (about 22,500 lower-case words; pieces such as `##ing` are left out). They were learned as the
first layer of a transformer, not by word2vec or GloVe, so expect noisier answers than GloVe. With a network,
pick GloVe; or upload your own word2vec / GloVe text file."""

CONTEXT_NOTE = """A **static** vector (word2vec, GloVe, a transformer's input layer) is the same for a word wherever it
appears. A transformer's **last hidden layer** gives each token a vector that depends on its sentence. Below,
the chosen word's last-layer vectors are compared across your sentences (a word cut into pieces gets the mean
of its pieces), next to its static input-embedding vector, which does not change."""

TRAIN_NOTE = """word2vec learns a vector for each item from the items around it. It works on any sequences, not only
words: in **playlists** (one per line, song ids separated by spaces) songs that are played together get close
vectors, which is how "more like this" recommendations can work. Upload sequences (and optionally a metadata
file with `id, title, artist` per line), or try the toy playlists, then ask for the items most like one."""


def model_choices(settings: Settings, sentence_only: bool) -> list[tuple[str, str]]:
    out = []
    for spec in MODELS:
        if sentence_only and not spec.sentence:
            continue
        where = availability(spec, settings)
        out.append((f"{'⚠ ' if 'needs' in where else ''}{spec.label} — {where}", spec.id))
    return out


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


def _neighbour_rows(result: SearchResult) -> list[list[Any]]:
    return [[n.rank, round(n.score, 4), n.text, n.label or ""] for n in result.neighbours]


def _search_status(result: SearchResult) -> str:
    stats = stats_markdown([("texts", len(result.texts)), ("dimensions per vector", result.dimensions),
                            ("cosine nearest neighbours", len(result.neighbours)), ("s", result.seconds)])
    stats += " · corpus " + ("encoded now" if result.encoded_now else "vectors from the cache (not re-encoded)")
    return "\n\n".join([stats, *(f"ℹ {note}" for note in result.notes)])


def build_tab(settings: Settings, shared: dict) -> None:
    gr.Markdown(INTRO)
    umap_note = gr.Markdown(elem_id="emb-umap-status")
    parent = shared["tab"]  # the tab this view is built in: its `select` starts the UMAP warm-up
    with gr.Tabs():
        with gr.Tab("Sentences", id="emb-sentences"):
            sentences = _sentences_view(settings, umap_note)
        with gr.Tab("Word vectors", id="emb-words"):
            _words_view(settings)
        with gr.Tab("Contextual token vectors", id="emb-context"):
            _context_view(settings)
        with gr.Tab("Train your own (word2vec)", id="emb-train"):
            _train_view(settings)

    @at_edge
    def start_warming() -> dict:
        state = warmup.start()
        if state.ready:
            return {umap_note: ""}
        return {umap_note: f"⏳ {state.describe()} It loads in the background; PCA and t-SNE work meanwhile.",
                poll: gr.Timer(active=True)}

    # While UMAP warms, poll its status so the note clears itself when it is ready.
    poll = gr.Timer(3, active=False)

    @at_edge
    def poll_warmup() -> dict:
        state = warmup.status()
        if state.state == "warming":
            return {umap_note: f"⏳ {state.describe()} It loads in the background; PCA and t-SNE work meanwhile."}
        note = "" if state.ready else f"⚠ {state.describe()}"
        return {umap_note: note, poll: gr.Timer(active=False)}

    poll.tick(poll_warmup, None, [umap_note, poll], api_name="embeddings_warm_status", api_visibility="undocumented",
              show_progress="hidden")

    # Warm UMAP the first time someone opens this tab, so it is ready when they pick it.
    # and draw the first map (cheap after the first time: the corpus vectors are cached).
    if parent is not None and hasattr(parent, "select"):
        run, inputs, outputs = sentences["refresh"]
        parent.select(start_warming, None, [umap_note, poll], api_name="embeddings_warm", api_visibility="undocumented",
                      show_progress="hidden").then(run, inputs, outputs, api_name="embed_search_on_open",
                                                   api_visibility="undocumented")
    @at_edge
    def umap_chosen(method: str) -> Any:
        return start_warming() if method == "UMAP" else {}

    sentences["projection"].change(
        umap_chosen, sentences["projection"], [umap_note, poll],
        api_name="embeddings_warm_umap", api_visibility="undocumented", show_progress="hidden")
    register_api(settings)


def _sentences_view(settings: Settings, umap_note: gr.Markdown) -> dict[str, Any]:
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
            model = gr.Dropdown(model_choices(settings, sentence_only=True), value=DEFAULT_MODEL,
                                label="Sentence-embedding model", elem_id="emb-model")
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

    def outputs_for(result: SearchResult) -> dict:
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

    @at_edge
    def run(query_value: str, text: str, model_id: str, k_value: float, method: str, state: Corpus | None):
        labels = labels_for(text or "", state)
        lines = [t for t in (text or "").splitlines() if t.strip()]
        result = embed_search(query_value, lines, model_id, int(k_value), method, settings, labels=labels,
                              wait_for_umap=False)
        yield outputs_for(result)
        if result.requested == "UMAP" and result.method != "UMAP" and warmup.status().state == "warming":
            warmup.wait(180)
            result = embed_search(query_value, lines, model_id, int(k_value), method, settings, labels=labels,
                                  wait_for_umap=False)
            yield {**outputs_for(result), umap_note: ""}

    @at_edge
    def use_example() -> dict:
        return {corpus: "\n".join(examples.TEXTS),
                corpus_state: Corpus(list(examples.TEXTS), list(examples.LABELS))}

    @at_edge
    def uploaded(path: str | None) -> dict:
        if not path:
            return {table_state: None}
        tab = read_table(path, settings)
        text_default, label_default = tab.default_text_column(), tab.default_label_column()
        return {table_state: tab,
                text_col: gr.update(choices=tab.columns, value=text_default),
                label_col: gr.update(choices=["(none)", *tab.columns], value=label_default or "(none)")}

    @at_edge
    def columns_chosen(tab: Table | None, text_name: str, label_name: str) -> dict:
        if tab is None or not text_name:
            return {}
        chosen = corpus_from_table(tab, text_name, None if label_name in (None, "", "(none)") else label_name, settings)
        return {corpus: "\n".join(chosen.texts), corpus_state: chosen}

    inputs = [query, corpus, model, k, projection, corpus_state]
    outputs = [status, table, map_plot, heat, projection_note, umap_note]
    gr.on([search_btn.click, query.submit, projection.change, model.change], run, inputs, outputs,
          api_name="embed_search_view", api_visibility="undocumented", trigger_mode="always_last",
          concurrency_id="embeddings")
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
    return {"projection": projection, "refresh": (run, inputs, outputs)}


def _words_view(settings: Settings) -> None:
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
    def find(source_id: str, up: wv.WordVectors | None, w: str, n: float) -> dict:
        vectors = _source(source_id, up, settings)
        return {similar: [[x, round(s, 4)] for x, s in wv.neighbours(vectors, w, int(n))], source_info: describe(vectors)}

    @at_edge
    def solve(source_id: str, up: wv.WordVectors | None, x: str, y: str, z: str) -> list[list]:
        vectors = _source(source_id, up, settings)
        return [[w, round(s, 4)] for w, s in wv.analogy(vectors, x, y, z, 10)]

    @at_edge
    def odd_out(source_id: str, up: wv.WordVectors | None, text: str) -> str:
        result = wv.odd_one_out(_source(source_id, up, settings), text)
        detail = ", ".join(f"{w} {s:.2f}" for w, s in result.similarity_to_mean)
        return f"**{result.odd}** doesn't belong. Similarity of each word to the group's average: {detail}."

    @at_edge
    def draw(source_id: str, up: wv.WordVectors | None, text: str):
        keys, proj = wv.word_map(_source(source_id, up, settings), text, "PCA")
        return plots.word_map(proj.coords, keys, proj.method)

    @at_edge
    def upload_vectors(path: str | None, current: wv.WordVectors | None) -> dict:
        if not path:
            return {}
        vectors = wv.load_upload(path, settings)
        return {uploaded_state: vectors, source: gr.update(choices=word_source_choices(settings, vectors), value=UPLOADED),
                source_info: describe(vectors)}

    @at_edge
    def source_changed(source_id: str, up: wv.WordVectors | None) -> str:
        return describe(_source(source_id, up, settings))

    common = [source, uploaded_state]
    gr.on([similar_btn.click, word.submit], find, [*common, word, k], [similar, source_info],
          api_name="word_neighbors_view", api_visibility="undocumented", concurrency_id="embeddings")
    analogy_btn.click(solve, [*common, a, b, c], analogy, api_name="analogy_view", api_visibility="undocumented",
                      concurrency_id="embeddings")
    gr.on([odd_btn.click, odd_words.submit], odd_out, [*common, odd_words], odd, api_name="odd_one_out",
          api_visibility="undocumented", concurrency_id="embeddings")
    map_btn.click(draw, [*common, map_words], word_plot, api_name="word_map", api_visibility="undocumented",
                  concurrency_id="embeddings")
    vec_file.upload(upload_vectors, [vec_file, uploaded_state], [uploaded_state, source, source_info],
                    api_name="word_vectors_upload", api_visibility="undocumented")
    source.input(source_changed, common, source_info, api_name="word_source", api_visibility="undocumented")


def _context_view(settings: Settings) -> None:
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
    def compare(text: str, w: str, model_id: str) -> dict:
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
          api_name="contextual_view", api_visibility="undocumented", concurrency_id="embeddings")


def _train_view(settings: Settings) -> None:
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

    def run_training(sequences: list[list[str]], metadata: dict, p: w2v.TrainParams, source: str,
                     progress: gr.Progress) -> dict:
        progress(0, desc="building the vocabulary")
        trained = w2v.train(sequences, p, metadata, lambda f, msg: progress(f, desc=msg), source)
        # Suggest an item to ask about: the first one with metadata (a song with a title), else the commonest.
        example = next((i for i in metadata if i in trained.kv.key_to_index), next(iter(trained.kv.index_to_key), ""))
        return {trained_state: trained, trained_info: "✔ " + trained.describe(), item: example}

    @at_edge
    def train_upload(seq_path: str | None, meta_path: str | None, what: str, vs: float, win: float, neg: float,
                     mc: float, ep: float, progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008 - gradio's idiom
        if not seq_path:
            raise gr.Error("Upload a sequences file first (or try the toy playlists).")
        sequences = w2v.read_sequences(seq_path, settings, sentences=what.startswith("Sentences"))
        metadata = w2v.read_metadata(meta_path, settings) if meta_path else {}
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "your upload", progress)

    @at_edge
    def train_toy(vs: float, win: float, neg: float, mc: float, ep: float,
                  progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008
        sequences, metadata = w2v.toy_playlists()
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "the toy playlists", progress)

    @at_edge
    def train_online(vs: float, win: float, neg: float, mc: float, ep: float,
                     progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008
        progress(0, desc="downloading the playlists")
        sequences, metadata = w2v.download_playlists(settings)
        return run_training(sequences, metadata, params(vs, win, neg, mc, ep), "the public playlist data set",
                            progress)

    @at_edge
    def most_similar(trained: w2v.TrainedItems | None, name: str, n: float) -> list[list]:
        if trained is None:
            raise gr.Error("Train a model first: upload sequences, or try the toy playlists.")
        return [[i.id, i.title, i.artist, round(s, 4)] for i, s in w2v.similar_items(trained, name, int(n))]

    knobs = [vector_size, window, negative, min_count, epochs]
    outputs = [trained_state, trained_info, item]
    train_btn.click(train_upload, [seq_file, meta_file, kind, *knobs], outputs, api_name="word2vec_train",
                    api_visibility="undocumented", concurrency_id="word2vec", concurrency_limit=1)
    toy_btn.click(train_toy, knobs, outputs, api_name="word2vec_toy", api_visibility="undocumented",
                  concurrency_id="word2vec", concurrency_limit=1).then(
        most_similar, [trained_state, item, k], similar, api_name="word2vec_similar_after", api_visibility="undocumented")
    online_btn.click(train_online, knobs, outputs, api_name="word2vec_playlists", api_visibility="undocumented",
                     concurrency_id="word2vec", concurrency_limit=1)
    gr.on([ask.click, item.submit], most_similar, [trained_state, item, k], similar, api_name="word2vec_similar",
          api_visibility="undocumented")


def register_api(settings: Settings) -> None:
    """`/embed_search`, `/word_neighbors`, `/analogy`: plain JSON for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def embed_search_api(query: str, texts: list[str], model: str = DEFAULT_MODEL, k: int = 5,
                         projection: str = "PCA") -> dict:
        """Nearest neighbours of `query` among `texts` (cosine, full space) and a 2-D map (PCA, t-SNE or UMAP)."""
        return embed_search(query, texts or [], model, k, projection, settings).as_json()

    @at_edge
    @checked
    def word_neighbors(word: str, source: str = DEFAULT_WORD_VECTORS, k: int = 10) -> dict:
        """The `k` words whose static vectors are closest (cosine) to `word`."""
        vectors = wv.load_source(source, settings)
        return {"source": vectors.source, "word": word,
                "neighbors": [{"word": w, "score": round(s, 6)} for w, s in wv.neighbours(vectors, word, k)]}

    @at_edge
    @checked
    def analogy(a: str, b: str, c: str, source: str = DEFAULT_WORD_VECTORS, k: int = 5) -> dict:
        """a − b + c (king − man + woman → queen); the three input words are excluded from the answers."""
        vectors = wv.load_source(source, settings)
        return {"source": vectors.source, "expression": f"{a} - {b} + {c}", "inputs_excluded": True,
                "answers": [{"word": w, "score": round(s, 6)} for w, s in wv.analogy(vectors, a, b, c, k)]}

    gr.api(embed_search_api, api_name="embed_search", concurrency_limit=2, concurrency_id="embeddings")
    gr.api(word_neighbors, api_name="word_neighbors", concurrency_limit=4, concurrency_id="embeddings")
    gr.api(analogy, api_name="analogy", concurrency_limit=4, concurrency_id="embeddings")
