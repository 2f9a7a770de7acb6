"""Tokenizer lab tab: train your own, replay real merges, a tokenizer's pipeline, the token tax, the vocabulary.

Wiring only: every answer comes from `playground/lab/` as plain data, drawn by its render and
plots modules. Trained tokenizers live in this visitor's `gr.State`; the public endpoints
(`/train_tokenizer`, `/merges`, `/token_tax`, `/vocab`) are stateless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from playground.lab import corpora, glitch, plots, replay, session, stages, tax, vocab
from playground.lab.render import bytes_text, replay_html, replay_rows, stages_html
from playground.lab.session import Store
from playground.lab.train import (
    Algorithm,
    Trained,
    chars_per_token,
    compression_curve,
    curve_sizes,
    remember,
    train,
    unique_name,
)
from playground.settings import Settings
from playground.tokenization.render import render_chips
from playground.ui.api_types import checked
from playground.ui.common import at_edge, download_file, stats_markdown
from playground.ui.queues import queue

GPT4 = "cl100k_base"
TEST_TEXT = "Tokenizers learn from the text they see: naïve café, 東京, 😀 and def tokenize(text):"
MERGE_ROWS, VOCAB_ROWS = 300, 300
# Quick to load; the offline Llama 3 and Gemma 3 (128k and 262k entries) take seconds the first time.
TAX_DEFAULT = ["o200k_base", "cl100k_base", "qwen", "HuggingFaceTB/SmolLM2-135M-Instruct", "minilm"]
HF_DEFAULT = "minilm"
TAX_HEADERS = ["tokenizer", "language", "script", "characters", "tokens", "chars/token", "× English", "priced model",
               "cost of the sentence", "context share"]
VOCAB_HEADERS = ["id", "token (as stored)", "stands for", "bytes", "script", "special"]


def _progress_of(progress: gr.Progress) -> Callable[[float, str], None]:
    def report(fraction: float, what: str) -> None:
        progress(fraction, desc=what)

    return report


def _short(text: str, limit: int = 40) -> str:
    """A long token (o200k has a 128-space one) cut for the table, saying how much is left out."""
    return text if len(text) <= limit else f"{text[:limit]}… (+{len(text) - limit})"


def _entry_rows(entries: list[vocab.Entry]) -> list[list[Any]]:
    return [[e.id, _short(e.token), _short(e.text), e.bytes, e.script, "✓" if e.special else ""] for e in entries]


def _trained_view(trained: Trained, test_text: str, settings: Settings) -> dict[str, Any]:
    """What the Train panel shows for one trained tokenizer (plain values, drawn by the caller)."""
    from playground.tokenization.catalogue import get
    from playground.tokenization.load import tokenizer as load_tokenizer

    view, text = trained.view(), test_text or TEST_TEXT
    gpt4 = load_tokenizer(get(GPT4), settings)
    merges = [[rank, *(bytes_text(b) for b in view.token_bytes(ids))]
              for rank, ids in enumerate(trained.merge_ids()[:MERGE_ROWS])]
    learned, _ = vocab.search(view, "id", f"{max(0, trained.vocab_size - VOCAB_ROWS)}-{trained.vocab_size}", VOCAB_ROWS)
    return {"view": view, "mine": view.encode(text), "gpt4": gpt4, "theirs": gpt4.encode(text), "merges": merges,
            "vocab": _entry_rows(learned[::-1])}


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    gr.Markdown("How tokenizers are **made** and what they **cost**: train BPE, WordPiece and Unigram on your own "
                "text, watch GPT-4o's merges happen, see each stage of a tokenizer's pipeline, and compare how many "
                "tokens the same sentence takes in 17 languages.")
    store = gr.State({})  # this visitor's trained tokenizers: name → Trained (bounded)
    catalogue = session.choices(settings)  # the app's tokenizer catalogue
    with gr.Tabs():
        with gr.Tab("Train your own", id="lab-train"):
            with gr.Row():
                with gr.Column(scale=3):
                    example = gr.Dropdown([(c.label, c.id) for c in corpora.CORPORA], value="python-reference",
                                          label="Example corpus (used when nothing is pasted or uploaded)",
                                          elem_id="lab-example")
                    pasted = gr.Textbox(lines=3, max_lines=8, label="…or paste text to train on", elem_id="lab-text")
                    upload = gr.File(label=f"…or upload a UTF-8 .txt file (≤ {settings.lab_max_corpus_bytes:,} bytes)",
                                     file_types=[".txt", ".md", ".csv", ".json", ".py"], type="filepath")
                with gr.Column(scale=2):
                    algorithm = gr.Radio([(f"{a} ({a.like})", a.value) for a in Algorithm], value="BPE",
                                         label="Algorithm", elem_id="lab-algorithm",
                                         info="Unigram trains about 2–3× slower than BPE on the same text.")
                    size = gr.Slider(300, settings.lab_max_vocab_size, value=2000, step=100, label="Vocabulary size",
                                     elem_id="lab-vocab-size")
                    test = gr.Textbox(TEST_TEXT, label="Test text (split by your tokenizer and by GPT-4)",
                                      elem_id="lab-test")
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary", elem_id="lab-train-btn")
                        curve_btn = gr.Button("Compression curve (all three)", elem_id="lab-curve-btn")
            status = gr.Markdown(elem_id="lab-status")
            with gr.Row():
                mine_html = gr.HTML(label="Your tokenizer", elem_id="lab-split")
                gpt4_html = gr.HTML(label="GPT-4 (cl100k_base)", elem_id="lab-split-gpt4")
            with gr.Row():
                merges_df = gr.Dataframe(headers=["rank", "left", "right", "merged"], label="BPE merges, in order",
                                         interactive=False, max_height=320, elem_id="lab-merges")
                vocab_df = gr.Dataframe(headers=VOCAB_HEADERS, label="Learned vocabulary: the last ids first (BPE: the latest merges)",
                                        interactive=False, max_height=320, elem_id="lab-vocab-learned")
            curve = gr.Plot(label="Characters per token against vocabulary size (WordPiece drops the spaces, which "
                                  "flatters its count)", elem_id="lab-curve")
            with gr.Row():
                kept = gr.Dropdown([], label="Trained in this session", elem_id="lab-kept")
                download = gr.File(label="tokenizer.json", interactive=False)
        with gr.Tab("Replay merges", id="lab-replay"):
            gr.Markdown("tiktoken splits the text with a regex, then inside each piece merges the adjacent pair with "
                        "the **lowest rank**, again and again. Each tree below is one final token.")
            with gr.Row():
                replay_text = gr.Textbox("unbelievably tokenized", label="A word or a short text", scale=3,
                                         max_length=replay.MAX_REPLAY_CHARS, elem_id="lab-replay-text")
                encoding = gr.Radio(list(replay.ENCODINGS), value="o200k_base", label="Vocabulary", scale=2)
            replay_btn = gr.Button("Replay", variant="primary")
            replay_check = gr.Markdown(elem_id="lab-replay-check")
            trees = gr.HTML(elem_id="lab-trees")
            steps = gr.Dataframe(headers=["step", "left", "right", "merged", "rank"], interactive=False,
                                 max_height=300, label="Every merge, in order")
        with gr.Tab("Pipeline", id="lab-pipeline"):
            gr.Markdown("A Hugging Face tokenizer is four stages. Each box is that stage's own output, from the "
                        "tokenizer's components (`normalize_str`, `pre_tokenize_str`, `model.tokenize`, `encode`).")
            with gr.Row():
                pipe_name = gr.Dropdown(catalogue, value=HF_DEFAULT, label="Tokenizer", allow_custom_value=True,
                                        elem_id="lab-pipe-name")
                pipe_text = gr.Textbox("Héllo WORLD, naïve 😀 tokenizers!", label="Text", scale=2,
                                       max_length=stages.MAX_STAGE_CHARS)
            pipe_btn = gr.Button("Show the stages", variant="primary")
            pipe_html = gr.HTML(elem_id="lab-stages")
        with gr.Tab("Token tax", id="lab-tax"):
            gr.Markdown("The same sentence, Article 1 of the Universal Declaration of Human Rights, in 17 languages. "
                        "**× English** is how many times more tokens it takes than the English one: that much more "
                        "money per request and that much less room in the context window.")
            with gr.Row():
                tax_names = gr.Dropdown(catalogue, value=TAX_DEFAULT, multiselect=True, label="Tokenizers",
                                        max_choices=tax.MAX_TAX_TOKENIZERS, elem_id="lab-tax-names")
                tax_langs = gr.Dropdown(tax.languages(), value=[code for _, code in tax.languages()], multiselect=True,
                                        label="Languages (English is always included)")
            tax_btn = gr.Button("Count", variant="primary", elem_id="lab-tax-btn")
            tax_chart = gr.Plot(label="Tokens per language, × the English sentence", elem_id="lab-tax-chart")
            tax_df = gr.Dataframe(headers=TAX_HEADERS, interactive=False, max_height=400, elem_id="lab-tax-table")
            tax_source = gr.Markdown()
            tax_files = gr.File(file_count="multiple", interactive=False, label="Download (CSV and JSON)")
        with gr.Tab("Vocabulary", id="lab-vocab"):
            with gr.Row():
                voc_name = gr.Dropdown(catalogue, value="o200k_base", label="Tokenizer", allow_custom_value=True,
                                       elem_id="lab-voc-name")
                voc_mode = gr.Radio([("contains text", "text"), ("ids (42, 10-20)", "id"), ("length (chars)", "length"),
                                     ("Unicode script", "script"), ("longest tokens", "longest")], value="longest",
                                    label="Search by")
                voc_query = gr.Textbox(label="Search for", placeholder="e.g. ing · 100-120 · 12 · Cyrillic",
                                       elem_id="lab-voc-query")
            with gr.Row():
                voc_btn = gr.Button("Search", variant="primary", elem_id="lab-voc-btn")
                voc_lookup = gr.Textbox(label="id ↔ token: type an id or a token", elem_id="lab-voc-lookup")
            voc_summary = gr.Markdown(elem_id="lab-voc-summary")
            voc_df = gr.Dataframe(headers=VOCAB_HEADERS, interactive=False, max_height=420, elem_id="lab-voc-table")
            with gr.Accordion("Glitch-token candidates of the local model (SmolLM2-135M-Instruct)", open=False):
                gr.Markdown("Tokens whose **input-embedding norm** is an outlier (robust z-score): rows that training "
                            "barely moved, or moved a lot. The model is then asked to repeat each one.")
                with gr.Row():
                    glitch_n = gr.Slider(2, glitch.MAX_CANDIDATES, value=6, step=1, label="Candidates")
                    glitch_btn = gr.Button("Find and test", elem_id="lab-glitch-btn")
                glitch_df = gr.Dataframe(headers=["id", "token", "norm", "z", "asked to repeat, it said", "repeated?"],
                                         interactive=False, elem_id="lab-glitch")

    # --- Train -----------------------------------------------------------------------------------
    def _show(trained: Trained, test_text: str) -> dict[Any, Any]:
        shown = _trained_view(trained, test_text, settings)
        cpt = chars_per_token(trained.rust, [test_text or TEST_TEXT])
        return {
            status: stats_markdown([("tokens in the vocabulary", trained.vocab_size), ("seconds to train", trained.seconds),
                                    ("bytes of text", trained.corpus_bytes), ("chars/token on the test text", cpt)])
            + f" · {trained.algorithm} on {trained.corpus}",
            mine_html: f"<h4>{trained.name}: {len(shown['mine'])} tokens</h4>"
                       + render_chips(shown["view"], shown["mine"], limit=settings.max_view_tokens),
            gpt4_html: f"<h4>GPT-4 (cl100k_base): {len(shown['theirs'])} tokens</h4>"
                       + render_chips(shown["gpt4"], shown["theirs"], limit=settings.max_view_tokens),
            merges_df: shown["merges"], vocab_df: shown["vocab"],
            download: download_file("tokenizer.json", trained.json),
        }

    @at_edge
    def run_train(kept_store: Store | None, example_id: str | None, pasted_text: str | None, upload_path: str | None,
                  algo: str, vocab_size: float, test_text: str,
                  progress: gr.Progress = gr.Progress()) -> dict[Any, Any]:  # noqa: B008 - gradio injects the tracker
        text, label = session.training_text(example_id, pasted_text, upload_path, settings)
        name = unique_name(kept_store, algo, int(vocab_size), label)
        trained = train(text, algo, int(vocab_size), name=name, corpus=label, max_vocab=settings.lab_max_vocab_size,
                        progress=_progress_of(progress))
        kept_store = remember(kept_store, trained, settings.lab_max_trained)
        extra = session.trained_choices(kept_store)
        return {store: kept_store, kept: gr.update(choices=[(n, n) for n in reversed(kept_store)], value=name),
                pipe_name: gr.update(choices=extra + catalogue), voc_name: gr.update(choices=extra + catalogue),
                **_show(trained, test_text)}

    @at_edge
    def show_kept(kept_store: Store | None, name: str | None, test_text: str) -> dict[Any, Any]:
        return _show(session.get_trained(name, kept_store), test_text) if name else {}

    @at_edge
    def run_curve(example_id: str | None, pasted_text: str | None, upload_path: str | None, vocab_size: float,
                  progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        text, _ = session.training_text(example_id, pasted_text, upload_path, settings)
        points = compression_curve(text, list(Algorithm), curve_sizes(int(vocab_size)),
                                   max_vocab=settings.lab_max_vocab_size, progress=_progress_of(progress))
        return plots.compression_figure(points)

    train_outputs = [store, kept, pipe_name, voc_name, status, mine_html, gpt4_html, merges_df, vocab_df, download]
    train_btn.click(run_train, [store, example, pasted, upload, algorithm, size, test], train_outputs,
                    api_name="lab_train_view", api_visibility="undocumented", **queue("lab-train", settings))
    kept.input(show_kept, [store, kept, test], [status, mine_html, gpt4_html, merges_df, vocab_df, download],
               api_name="lab_show_trained", api_visibility="undocumented")
    curve_btn.click(run_curve, [example, pasted, upload, size], curve, api_name="lab_curve",
                    api_visibility="undocumented", **queue("lab-train", settings))

    # --- Replay, pipeline ----------------------------------------------------------------------
    @at_edge
    def run_replay(text: str, encoding_name: str) -> dict[Any, Any]:
        result = replay.replay(text, encoding_name)
        from playground.tokenization.catalogue import get
        from playground.tokenization.load import tokenizer as load_tokenizer

        expected = load_tokenizer(get(encoding_name), settings).raw_encode(text)
        same = "✓ the same ids as tiktoken's own `encode`" if expected == result.ids else "✗ differs from tiktoken's encode"
        return {replay_check: f"Ids: `{result.ids}` — {same}.", trees: replay_html(result), steps: replay_rows(result)}

    gr.on([replay_btn.click, replay_text.submit], run_replay, [replay_text, encoding], [replay_check, trees, steps],
          api_name="lab_replay_view", api_visibility="undocumented")

    @at_edge
    def run_stages(kept_store: Store | None, name: str, text: str) -> str:
        return stages_html(stages.stages(session.pipeline_of(name, kept_store, settings), text or ""))

    gr.on([pipe_btn.click, pipe_text.submit], run_stages, [store, pipe_name, pipe_text], pipe_html,
          api_name="lab_stages_view", api_visibility="undocumented")

    # --- Token tax -----------------------------------------------------------------------------
    @at_edge
    def run_tax(names: list[str], langs: list[str]) -> dict[Any, Any]:
        table = tax.token_tax(names or [], settings, langs or None)
        from playground.prices.data import money

        rows = [[r.tokenizer, r.language, r.script, r.chars, r.tokens, r.chars_per_token, r.premium, r.model,
                 money(r.cost_usd), "—" if r.context_share is None else f"{r.context_share:.4%}"] for r in table.rows]
        errors = "".join(f"\n\n⚠ {name}: {why}" for name, why in table.errors.items())
        return {tax_chart: plots.tax_figure(table.rows), tax_df: rows,
                tax_source: f"Source: {table.source}. Licence: {table.license}{errors}",
                tax_files: [download_file("token_tax.csv", table.csv()), download_file("token_tax.json", table.json())]}

    tax_btn.click(run_tax, [tax_names, tax_langs], [tax_chart, tax_df, tax_source, tax_files],
                  api_name="lab_tax_view", api_visibility="undocumented", **queue("tokenizers", settings))

    # --- Vocabulary ------------------------------------------------------------------------------
    @at_edge
    def run_vocab(kept_store: Store | None, name: str, mode: str, query: str) -> dict[Any, Any]:
        tokenizer = session.tokenizer_for(name, kept_store, settings)
        entries, total = vocab.search(tokenizer, mode, query, VOCAB_ROWS)
        scripts = ", ".join(f"{k} {v:,}" for k, v in list(vocab.script_counts(tokenizer).items())[:8])
        summary = (f"**{total:,}** of {tokenizer.vocab_size:,} tokens match"
                   f"{f' (first {len(entries)} shown)' if total > len(entries) else ''}. Scripts: {scripts} …")
        return {voc_summary: summary, voc_df: _entry_rows(entries)}

    @at_edge
    def run_lookup(kept_store: Store | None, name: str, query: str) -> dict[Any, Any]:
        entries = vocab.lookup(session.tokenizer_for(name, kept_store, settings), query)
        return {voc_summary: f"**{len(entries)}** token(s) for `{query}`." if entries else f"`{query}` is not a token here.",
                voc_df: _entry_rows(entries)}

    gr.on([voc_btn.click, voc_query.submit], run_vocab, [store, voc_name, voc_mode, voc_query], [voc_summary, voc_df],
          api_name="lab_vocab_view", api_visibility="undocumented", **queue("tokenizers", settings))
    voc_lookup.submit(run_lookup, [store, voc_name, voc_lookup], [voc_summary, voc_df], api_name="lab_lookup",
                      api_visibility="undocumented", **queue("tokenizers", settings))

    @at_edge
    def run_glitch(count: float) -> Iterator[list[list[Any]]]:
        found = glitch.candidates(settings, int(count))
        rows: list[list[Any]] = [[c.id, c.token, round(c.norm, 3), round(c.z, 2), "…", ""] for c in found]
        yield rows
        for k, candidate in enumerate(found):  # one answer at a time: each takes a second or more on a CPU
            tested = glitch.repeat_test(candidate, settings)
            rows[k][4:] = [tested.answer, "yes" if tested.repeated else "no"]
            yield rows

    glitch_btn.click(run_glitch, glitch_n, glitch_df, api_name="lab_glitch", api_visibility="undocumented",
                     **queue("glitch", settings))
    register_api(settings)
    return None


def register_api(settings: Settings) -> None:
    """The lab's four public endpoints: stateless, JSON in and out (see README, Tokenizer lab)."""

    @at_edge
    @checked
    def train_tokenizer(text: str = "", algorithm: str = "BPE", vocab_size: int = 2000, test_text: str = "",
                        example: str = "") -> dict[str, Any]:
        """Train a tokenizer on `text` (or on the example corpus `example`); returns its vocabulary,
        BPE merges, the split of `test_text` next to GPT-4's, and the tokenizer.json."""
        corpus, label = session.training_text(example, text, None, settings)
        trained = train(corpus, algorithm, vocab_size, name=unique_name(None, algorithm, vocab_size, label),
                        corpus=label, max_vocab=settings.lab_max_vocab_size)
        shown = _trained_view(trained, test_text, settings)
        view, gpt4 = shown["view"], shown["gpt4"]
        return {
            "algorithm": str(trained.algorithm), "vocab_size": trained.vocab_size, "seconds": trained.seconds,
            "corpus_bytes": trained.corpus_bytes,
            "merges": [{"rank": r, "left": a, "right": b} for r, (a, b) in enumerate(trained.merges()[:MERGE_ROWS])],
            "vocab": view.token_strings(range(trained.vocab_size)),
            "split": view.token_strings(shown["mine"].id_list),
            "gpt4_split": gpt4.token_strings(shown["theirs"].id_list),
            "tokenizer_json": trained.json,
        }

    @at_edge
    @checked
    def merges(text: str, encoding: str = "o200k_base") -> dict[str, Any]:
        """Replay tiktoken's BPE merges for `text`: every step (pair, rank) and the final ids."""
        result = replay.replay(text, encoding)
        return {"encoding": result.encoding, "ids": result.ids,
                "pieces": [piece.text for piece in result.pieces],
                "merges": [{"step": m.step, "piece": m.piece, "left": bytes_text(m.left), "right": bytes_text(m.right),
                            "rank": m.rank} for m in result.merges]}

    @at_edge
    @checked
    def token_tax(tokenizers: list[str], languages: list[str] | None = None) -> dict[str, Any]:
        """Tokens, chars/token, premium over English and a price per language, for each tokenizer."""
        import json

        data: dict[str, Any] = json.loads(tax.token_tax(tokenizers or [], settings, languages or None).json())
        return data

    @at_edge
    @checked
    def vocab_search(tokenizer: str, mode: str = "longest", query: str = "", limit: int = 50) -> dict[str, Any]:
        """Search a vocabulary by text, id, length or Unicode script, or list its longest tokens."""
        tok = session.tokenizer_for(tokenizer, None, settings)
        entries, total = vocab.search(tok, mode, query, limit)
        return {"tokenizer": tok.spec.id, "vocab_size": tok.vocab_size, "matches": total,
                "entries": [e.__dict__ for e in entries], "scripts": vocab.script_counts(tok)}

    gr.api(train_tokenizer, api_name="train_tokenizer", **queue("lab-train", settings))
    gr.api(merges, api_name="merges", **queue("tokenizers", settings))
    gr.api(token_tax, api_name="token_tax", **queue("tokenizers", settings))
    gr.api(vocab_search, api_name="vocab", **queue("tokenizers", settings))
