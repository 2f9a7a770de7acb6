"""Tokenizer lab backend: training, merge replay against tiktoken, pipeline stages, token tax, vocabulary."""

from __future__ import annotations

import json
import time

import pytest

from playground.errors import InputTooLarge, InvalidInput
from playground.lab import corpora, replay, session, stages, tax, vocab
from playground.lab.render import bytes_text, replay_html, stages_html
from playground.lab.train import Algorithm, compression_curve, curve_sizes, remember, train, unique_name
from playground.tokenization.catalogue import get
from playground.tokenization.load import tokenizer as load_tokenizer

TRICKY = "Hello wörld 😀 東京\tcafé\n e\u0301 don't  123456"


@pytest.fixture(scope="module")
def reference() -> str:
    return corpora.example("python-reference")


@pytest.fixture(scope="module")
def trained_bpe(reference):
    return train(reference[:200_000], "BPE", 1500, name="bpe", corpus="ref", max_vocab=30_000)


# --- training -----------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_each_algorithm_trains_a_tokenizer_that_round_trips(reference, algorithm):
    from tokenizers import Tokenizer

    seen = []
    trained = train(reference[:60_000], algorithm, 800, name="t", corpus="ref", max_vocab=30_000,
                    progress=lambda fraction, what: seen.append(fraction))
    assert 300 <= trained.vocab_size <= 800
    assert seen and all(0 <= f <= 1 for f in seen) and seen == sorted(seen)
    reloaded = Tokenizer.from_str(trained.json)  # the downloadable tokenizer.json loads as is
    view = trained.view()
    assert view.family.name == {"BPE": "BYTE_BPE", "WordPiece": "WORDPIECE", "Unigram": "SP_UNIGRAM"}[algorithm]
    text = "The assert statement raises AssertionError"
    assert reloaded.encode(text).ids == view.raw_encode(text)
    decoded = reloaded.decode(reloaded.encode(text).ids)
    assert decoded.replace(" ", "") == text.replace(" ", "")  # WordPiece decodes with its own spacing


def test_byte_level_bpe_has_no_unknowns_and_its_offsets_tile_the_text(trained_bpe):
    view = trained_bpe.view()
    encoded = view.encode(TRICKY)
    assert view.unk_id is None
    assert view.decode(encoded.id_list) == TRICKY
    assert encoded.starts[0] == 0 and encoded.ends[-1] == len(TRICKY)


def test_bpe_merges_are_in_the_order_learned_and_build_the_vocabulary(trained_bpe):
    merges = trained_bpe.merges()
    assert len(merges) == trained_bpe.vocab_size - 256 - 1  # bytes + one special token
    vocab_ = trained_bpe.rust.get_vocab()
    for rank, (left, right) in enumerate(merges[:200]):
        # each merge's parts existed before it: they are bytes or results of earlier merges
        assert vocab_[left + right] > max(vocab_[left], vocab_[right]) or rank == 0
    assert all(None not in ids for ids in trained_bpe.merge_ids())
    assert trained_bpe.algorithm == Algorithm.BPE and not train(
        "a b c\n" * 50, "WordPiece", 300, name="w", corpus="x", max_vocab=1000).merges()


def test_vocabulary_size_and_corpus_limits_are_clear(settings):
    with pytest.raises(InvalidInput, match="over this server's limit of 1,000"):
        train("some text", "BPE", 5000, name="x", corpus="x", max_vocab=1000)
    with pytest.raises(InvalidInput, match="too small"):
        train("some text", "BPE", 10, name="x", corpus="x", max_vocab=1000)
    with pytest.raises(InputTooLarge, match="limit on this server is 10 bytes"):
        corpora.checked("x" * 11, 10)
    with pytest.raises(InvalidInput, match="empty"):
        corpora.checked("  \n", 10)
    with pytest.raises(ValueError):
        train("text", "SentencePiece-ish", 500, name="x", corpus="x", max_vocab=1000)


def test_uploads_are_checked_for_size_before_reading_and_for_utf8(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 101)
    with pytest.raises(InputTooLarge, match="101 bytes"):
        corpora.from_upload(str(big), 100)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        corpora.from_upload(str(binary), 100)


def test_session_store_is_bounded_and_names_are_unique():
    store: dict = {}
    for _k in range(5):
        name = unique_name(store, "BPE", 500, "ref")
        trained = train("hello world\n" * 20, "BPE", 300, name=name, corpus="ref", max_vocab=1000)
        store = remember(store, trained, limit=3)
    # The oldest go; a freed name may be used again, and the newest is always last.
    assert list(store) == ["BPE 500 on ref (3)", "BPE 500 on ref (4)", "BPE 500 on ref"]
    with pytest.raises(InvalidInput, match="not among the tokenizers trained"):
        session.get_trained("trained:BPE 500 on ref (2)", store)


def test_compression_curve_grows_with_the_vocabulary(reference):
    points = compression_curve(reference, ["BPE", "WordPiece"], [300, 1200, 4000], max_vocab=30_000,
                               max_bytes=120_000)
    for algorithm in ("BPE", "WordPiece"):
        cpt = [p.chars_per_token for p in points if p.algorithm == algorithm]
        assert len(cpt) == 3 and cpt == sorted(cpt) and cpt[-1] > cpt[0] * 1.3
    assert curve_sizes(5000) == [312, 625, 1250, 2500, 5000]


@pytest.mark.slow
def test_training_one_megabyte_with_5k_vocabulary_is_quick():
    text = corpora.example("python-source")
    assert len(text.encode()) >= 1_000_000
    started = time.perf_counter()
    trained = train(text, "BPE", 5000, name="big", corpus="src", max_vocab=30_000)
    assert trained.vocab_size == 5000
    assert time.perf_counter() - started < 30  # 10 s on an idle 2-core machine (bench/lab_train_speed.py)


# --- merge replay ---------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", replay.ENCODINGS)
@pytest.mark.parametrize("text", [
    "unbelievably tokenized", TRICKY, "SolidGoldMagikarp", "        indented\n\n\nx", "ｆｕｌｌ　ｗｉｄｔｈ",
    "مرحبا بالعالم", "Ελληνικά", "🏳️‍🌈👩🏽‍💻", "a" * 300, "<|endoftext|>",
])
def test_replay_ends_in_exactly_tiktokens_encoding(settings, encoding, text):
    tok = load_tokenizer(get(encoding), settings)
    result = replay.replay(text, encoding)
    assert result.ids == tok.raw_encode(text)
    assert [m.step for m in result.merges] == list(range(1, len(result.merges) + 1))
    assert b"".join(tok.token_bytes(result.ids)) == text.encode("utf-8")
    html = replay_html(result)
    assert html.count('class="mt-root"') == len(result.ids)


def test_replay_on_the_reference_text_matches_tiktoken(settings, reference):
    tok = load_tokenizer(get("o200k_base"), settings)
    chunks = [reference[i:i + 400] for i in range(0, 40_000, 400)]
    assert all(replay.replay(c, "o200k_base").ids == tok.raw_encode(c) for c in chunks)


def test_replay_steps_merge_lowest_rank_first(settings):
    result = replay.replay("tokenization", "cl100k_base")
    assert result.ids == [5963, 2065]  # 'token' + 'ization'
    for merge in result.merges:
        assert bytes_text(merge.left) and merge.rank >= 256  # 0-255 are the single bytes
    with pytest.raises(InputTooLarge):
        replay.replay("x" * (replay.MAX_REPLAY_CHARS + 1))
    with pytest.raises(InvalidInput):
        replay.replay("")


# --- pipeline stages -------------------------------------------------------------------------------

def test_stages_come_from_the_tokenizers_own_components(settings):
    minilm = load_tokenizer(get("minilm"), settings)
    result = stages.stages(session.pipeline_of("minilm", None, settings), "Héllo WORLD, naïve!")
    assert result.normalizer == "BertNormalizer" and result.normalized == "hello world, naive!"
    assert [p for p, _ in result.pieces] == ["hello", "world", ",", "naive", "!"]
    assert [(t, added) for _, t, added in result.final if added] == [("[CLS]", True), ("[SEP]", True)]
    assert [i for i, _, added in result.final if not added] == minilm.raw_encode("Héllo WORLD, naïve!",
                                                                              add_special_tokens=False)
    assert len(result.final) == 7  # no padding: the shared tokenizer pads to 128, the view must not
    assert 'class="stages"' in stages_html(result)
    with pytest.raises(InvalidInput, match="tiktoken encoding"):
        session.pipeline_of("o200k_base", None, settings)


# --- token tax ------------------------------------------------------------------------------------

def test_the_shipped_sentences_name_their_source_and_cover_many_scripts():
    data = corpora.udhr()
    assert "Universal Declaration of Human Rights" in data["source"] and data["license"]
    scripts = {s["script"] for s in data["sentences"]}
    assert len(data["sentences"]) >= 15 and len(scripts) >= 10
    assert {"Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Han", "Thai"} <= scripts
    assert len({s["lang"] for s in data["sentences"]}) == len(data["sentences"])


def test_token_tax_counts_premiums_and_prices(settings):
    table = tax.token_tax(["o200k_base", "cl100k_base", "minilm", "google/flan-t5-small"], settings)
    assert "google/flan-t5-small" in table.errors  # offline: said, not fatal
    by = {(r.tokenizer.split(" (")[-1].rstrip(")"), r.lang): r for r in table.rows}
    english = by[("o200k_base", "en")]
    assert english.premium == 1.0 and english.tokens == len(load_tokenizer(get("o200k_base"), settings).raw_encode(
        corpora.udhr()["sentences"][0]["text"]))
    assert by[("cl100k_base", "th")].premium > by[("o200k_base", "th")].premium > 1.2  # the newer vocabulary taxes less
    assert english.cost_usd is not None and english.cost_usd > 0 and 0 < english.context_share < 0.01
    rows = list(json.loads(table.json())["rows"])
    assert len(rows) == len(table.rows) == 3 * len(corpora.udhr()["sentences"])
    assert table.csv().splitlines()[0].startswith("tokenizer,lang,language")
    with pytest.raises(InvalidInput, match="at most"):
        tax.token_tax(["o200k_base"] * 1 + [f"x{i}" for i in range(tax.MAX_TAX_TOKENIZERS)], settings)


# --- vocabulary -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["o200k_base", "minilm", "HuggingFaceTB/SmolLM2-135M-Instruct"])
def test_vocabulary_search_by_each_key(settings, name):
    tok = load_tokenizer(get(name), settings)
    longest, total = vocab.search(tok, "longest", limit=5)
    assert total > 20_000 and longest[0].bytes >= longest[-1].bytes and not any(e.special for e in longest)
    by_id, _ = vocab.search(tok, "id", "100-104")
    assert [e.id for e in by_id] == [100, 101, 102, 103, 104]
    assert [e.token for e in by_id] == tok.token_strings([100, 101, 102, 103, 104])
    length, _ = vocab.search(tok, "length", "7", limit=50)
    assert length and all(len(e.text) == 7 for e in length if "\\" not in e.token)
    cyrillic, n = vocab.search(tok, "script", "Cyrillic", limit=20)
    assert n > 10 and all(vocab.text_script(e.text) == "Cyrillic" for e in cyrillic)
    found, _ = vocab.search(tok, "text", "hello")
    assert any("hello" in e.text for e in found)
    hello = vocab.lookup(tok, "hello")
    assert hello and tok.token_strings([hello[0].id])[0] in {"hello", "Ġhello"} | {e.token for e in hello}
    assert vocab.lookup(tok, str(hello[0].id))[0].id == hello[0].id
    with pytest.raises(InvalidInput):
        vocab.lookup(tok, str(10**9))


def test_script_classification():
    assert vocab.text_script(" world") == "Latin"
    assert vocab.text_script("мир") == "Cyrillic" and vocab.text_script("東京") == "Han"
    assert vocab.text_script("123 ,") == vocab.COMMON and vocab.text_script("aб") == vocab.MIXED
    assert vocab.text_script(b"\xe6\x9d".decode("utf-8", errors="replace")) == vocab.PARTIAL


def test_unknown_search_mode_is_a_clear_error(settings):
    with pytest.raises(InvalidInput, match="Unknown search"):
        vocab.search(load_tokenizer(get("minilm"), settings), "regex", "x")


def test_token_tax_chart_shows_the_tallest_bar_whole(settings):
    from playground.lab.plots import tax_figure

    rows = tax.token_tax(["r50k_base", "o200k_base", "minilm"], settings).rows
    fig = tax_figure(rows)
    tallest = max(r.premium for r in rows)
    low, high = fig.layout.yaxis.range
    assert low == 0 and high > tallest * 1.05  # headroom above the tallest bar (Tamil, for GPT-2)
    legend = fig.layout.legend
    assert legend.yanchor == "bottom" and legend.y >= 1  # above the plot area, never over the bars
