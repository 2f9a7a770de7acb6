"""Tokenizer catalogue and backends against the real offline tokenizers.

Every available tokenizer is checked the same way (like tiktoken's tests loop over every
encoding): spans tile the text, ids equal the library's own encode, and decoding gives the
text back modulo the tokenizer's documented normalization.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from playground.errors import HubUnavailable, NotAllowed, UnknownName
from playground.tokenization import catalogue, load
from playground.tokenization.backends import HFTokenizer
from playground.tokenization.catalogue import Family, Source
from playground.tokenization.segments import dropped_chars, segments
from playground.tokenization.visible import sanitize

OFFLINE = ["o200k_base", "cl100k_base", "r50k_base", "p50k_base", "minilm", "HuggingFaceTB/SmolLM2-135M-Instruct",
           "qwen", "qwen3.5", "mistralai/Mistral-7B-v0.1", "google/gemma-3-1b-it", "meta-llama/Meta-Llama-3-8B",
           "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-0.6B"]
BYTE_EXACT = {"o200k_base", "cl100k_base", "r50k_base", "p50k_base", "HuggingFaceTB/SmolLM2-135M-Instruct", "qwen",
              "qwen3.5", "meta-llama/Meta-Llama-3-8B", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-0.6B"}

HAND_PICKED = [
    "",
    "?",
    "Hello, world!",
    "😀",
    "family: 👨‍👩‍👧‍👦 flag: 🇫🇷 skin: 👍🏽",
    "東京は日本の首都です。서울",
    "e\u0301 vs é and a\u0308\u0323",
    "line one\r\nline two\n\n\tindented\t\ttabs",
    "spaces:" + " " * 40 + "end",
    "NUL\x00 and bell\x07 and DEL\x7f",
    "مرحبا بالعالم שלום",
    "<|endoftext|> typed by a user",
]


@pytest.fixture(scope="module")
def tokenizers(settings):
    return {name: load.tokenizer(catalogue.get(name), settings) for name in OFFLINE}


@pytest.fixture(scope="module")
def sentencepiece_tokenizer(tmp_path_factory):
    """A tiny SentencePiece Unigram model trained here: the '▁' family without the Hub."""
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    folder = tmp_path_factory.mktemp("spm")
    corpus = folder / "corpus.txt"
    lines = ["Hello world, the quick brown fox jumps over the lazy dog.",
             "Tokenizers split text into pieces; naïve café 東京 😀 numbers 12345."]
    corpus.write_text("\n".join(lines * 40), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "tiny"), vocab_size=400,
                                   model_type="unigram", byte_fallback=True, hard_vocab_limit=False, minloglevel=2)
    hf = T5TokenizerFast(vocab_file=str(folder / "tiny.model"))
    spec = catalogue.TokenizerSpec("test/tiny-spm", "tiny SentencePiece", Family.SP_UNIGRAM, Source.HUB, "test/tiny-spm")
    return HFTokenizer(spec, hf, str(folder))


def assert_tiles(encoded) -> None:
    """Segments cover [0, len(text)) exactly once, in order."""
    segs, _ = segments(encoded)
    pos = 0
    for seg in segs:
        assert seg.start == pos or (seg.start == seg.end == pos), (seg, pos)
        assert seg.end >= seg.start
        pos = seg.end
    assert pos == len(encoded.text)


def check_tokenizer(tok, text: str) -> None:
    text, _ = sanitize(text)
    enc = tok.encode(text, add_special_tokens=False)
    assert enc.id_list == tok.raw_encode(text, add_special_tokens=False)
    assert np.all(enc.starts <= enc.ends) and np.all(enc.ends <= len(text))
    assert_tiles(enc)
    if tok.spec.id in BYTE_EXACT and tok.lost_bytes(enc):
        # SmolLM2's vocabulary lacks 21 of the 256 bytes (rare control bytes, F1, F2, …):
        # those are skipped, and the tokenizer says so instead of pretending to round-trip.
        assert len(b"".join(tok.token_bytes(enc.id_list))) < len(text.encode("utf-8"))
    elif tok.spec.id in BYTE_EXACT:
        assert tok.decode(enc.id_list) == text
        assert b"".join(tok.token_bytes(enc.id_list)) == text.encode("utf-8")
        assert dropped_chars(enc) == 0


# --- the catalogue --------------------------------------------------------------------------


def test_catalogue_ids_and_labels_are_unique():
    ids = [s.id for s in catalogue.TOKENIZERS]
    labels = [s.label for s in catalogue.TOKENIZERS]
    assert len(ids) == len(set(ids)) and len(labels) == len(set(labels))


def test_catalogue_holds_the_tokenizers_the_lesson_needs():
    refs = {s.ref for s in catalogue.TOKENIZERS} | {s.id for s in catalogue.TOKENIZERS}
    for needed in ["r50k_base", "cl100k_base", "o200k_base", "google-bert/bert-base-uncased", "google-bert/bert-base-cased",
                   "openai-community/gpt2", "google/flan-t5-small", "bigcode/starcoder2-15b", "facebook/galactica-1.3b",
                   "microsoft/Phi-3-mini-4k-instruct", "google/gemma-3-1b-it", "HuggingFaceTB/SmolLM2-135M-Instruct",
                   "minilm"]:
        assert needed in refs
    assert any("Llama-3" in r for r in refs) and any("Qwen2.5" in r for r in refs)


@pytest.mark.parametrize(("model", "encoding"), [
    ("gpt-4.1-mini", "o200k_base"), ("gpt-4o", "o200k_base"), ("gpt-5", "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"), ("davinci", "r50k_base"),
    ("text-davinci-003", "p50k_base"), ("code-davinci-002", "p50k_base"),
])
def test_openai_model_names_resolve_like_tiktoken(model, encoding):
    assert catalogue.resolve(model).id == encoding


def test_unknown_names_list_what_is_known():
    with pytest.raises(UnknownName, match="o200k_base"):
        catalogue.resolve("not a tokenizer!")


def test_user_typed_hub_ids_can_be_refused():
    assert catalogue.resolve("someone/some-model").ref == "someone/some-model"
    with pytest.raises(NotAllowed):
        catalogue.resolve("someone/some-model", allow_custom=False)


def test_offline_availability_is_stated(settings):
    for name in OFFLINE:
        assert load.locate(catalogue.get(name), settings).ready, name
    bert = load.locate(catalogue.get("bert-base-cased"), settings)
    assert not bert.ready and "needs the Hub" in bert.where


def test_hub_entry_offline_fails_with_a_clear_message(settings):
    with pytest.raises(HubUnavailable, match="make prefetch"):
        load.tokenizer(catalogue.get("google/flan-t5-small"), settings)


def test_loads_are_cached(settings, tokenizers):
    assert load.tokenizer(catalogue.get("o200k_base"), settings) is tokenizers["o200k_base"]


# --- seed checks from the offline pack's verification ----------------------------------------


def test_known_ids(tokenizers):
    text = "Adarsh is a beginner Coder"
    assert tokenizers["cl100k_base"].raw_encode(text) == [2654, 277, 939, 374, 264, 50048, 356, 4414]
    assert tokenizers["o200k_base"].raw_encode(text) == [2646, 277, 1116, 382, 261, 57062, 363, 6642]


def test_families_are_detected_from_the_tokenizer_itself(tokenizers, sentencepiece_tokenizer):
    assert tokenizers["minilm"].family is Family.WORDPIECE
    assert tokenizers["HuggingFaceTB/SmolLM2-135M-Instruct"].family is Family.BYTE_BPE
    assert sentencepiece_tokenizer.family is Family.SP_UNIGRAM
    for name, tok in tokenizers.items():
        assert tok.family is catalogue.get(name).family, name


# --- properties over every tokenizer ---------------------------------------------------------


@pytest.mark.parametrize("name", OFFLINE)
@pytest.mark.parametrize("text", HAND_PICKED, ids=range(len(HAND_PICKED)))
def test_hand_picked_texts(tokenizers, name, text):
    check_tokenizer(tokenizers[name], text)


@pytest.mark.parametrize("name", OFFLINE)
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8"), max_size=80))
def test_property_spans_tile_and_ids_match(tokenizers, name, text):
    check_tokenizer(tokenizers[name], text)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8"), max_size=80))
def test_property_sentencepiece(sentencepiece_tokenizer, text):
    check_tokenizer(sentencepiece_tokenizer, text)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn"]), max_size=60))
def test_property_wordpiece_pieces_match_normalized_text(tokenizers, text):
    """Every WordPiece token's span, normalized (lowercased, accents stripped), is its piece.

    Tokens that share one span (a Hangul syllable decomposed into jamo) are joined first. BERT's
    normalizer pads each CJK character with spaces, which its pre-tokenizer then drops: compare
    without them."""
    tok = tokenizers["minilm"]
    normalizer = tok.hf.backend_tokenizer.normalizer
    enc = tok.encode(text, add_special_tokens=False)
    by_span: dict[tuple[int, int], list[str]] = {}
    for tid, start, end, piece in zip(enc.id_list, enc.starts.tolist(), enc.ends.tolist(), tok.token_strings(enc.id_list)):
        by_span.setdefault((start, end), []).append("\x00" if tid == tok.unk_id else piece.removeprefix("##"))
    for (start, end), pieces in by_span.items():
        if "\x00" not in pieces:
            assert normalizer.normalize_str(text[start:end]).strip(" ") == "".join(pieces)


# --- the quirks a learner should see --------------------------------------------------------


def test_emoji_split_across_byte_tokens_forms_one_group(tokenizers):
    enc = tokenizers["r50k_base"].encode("a😀")
    segs, _ = segments(enc)
    groups = [s for s in segs if s.kind == "group"]
    assert len(groups) == 1 and enc.text[groups[0].start:groups[0].end] == "😀"
    parts = tokenizers["r50k_base"].token_bytes([enc.id_list[i] for i in groups[0].tokens])
    assert b"".join(parts) == "😀".encode()
    assert any(len(p) < 4 for p in parts)  # really split mid-character


def test_wordpiece_drops_spaces_and_marks_them_as_gaps(tokenizers):
    enc = tokenizers["minilm"].encode("Hello   World", add_special_tokens=False)
    assert tokenizers["minilm"].token_strings(enc.id_list) == ["hello", "world"]
    segs, _ = segments(enc)
    assert [s.kind for s in segs] == ["token", "gap", "token"]
    assert dropped_chars(enc) == 3


def test_added_special_tokens_are_zero_width_at_the_ends(tokenizers):
    tok = tokenizers["minilm"]
    enc = tok.encode("hi there", add_special_tokens=True)
    strings = tok.token_strings(enc.id_list)
    assert strings[0] == "[CLS]" and strings[-1] == "[SEP]"
    assert (enc.starts[0], enc.ends[0]) == (0, 0) and (enc.starts[-1], enc.ends[-1]) == (8, 8)
    assert enc.special.tolist() == [True, False, False, True]
    assert tok.encode("hi there", add_special_tokens=False).id_list == enc.id_list[1:-1]


@pytest.mark.parametrize(("name", "token", "token_id"), [
    ("cl100k_base", "<|endoftext|>", 100257), ("o200k_base", "<|endoftext|>", 199999),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "<|im_start|>", 1), ("qwen", "<|im_end|>", 151645),
])
def test_typed_special_tokens_are_plain_text_unless_allowed(tokenizers, name, token, token_id):
    tok = tokenizers[name]
    text = f"say {token} now"
    plain = tok.encode(text, add_special_tokens=False)
    allowed = tok.encode(text, add_special_tokens=False, allow_special=True)
    assert token_id not in plain.id_list and not plain.special.any()
    assert token_id in allowed.id_list
    assert allowed.special[allowed.id_list.index(token_id)]
    assert len(plain) > len(allowed)


def test_bytes_missing_from_a_byte_level_vocabulary_are_reported(settings):
    from playground.tokenization.highlight import tokenize_text

    result = tokenize_text("a\U00040000b", "HuggingFaceTB/SmolLM2-135M-Instruct", settings)
    assert result.stats.lost_bytes == 1 and "not in the tokenizer's vocabulary" in result.notes[0]
    assert tokenize_text("plain ascii", "HuggingFaceTB/SmolLM2-135M-Instruct", settings).stats.lost_bytes == 0


def test_lone_surrogates_are_replaced_visibly():
    clean, notes = sanitize("a\ud800b")
    assert clean == "a\ufffdb" and notes == [
        "1 lone surrogate code point(s) replaced by U+FFFD: they are not valid Unicode text."]
    assert sanitize("plain") == ("plain", [])
    joined, notes = sanitize("\ud83d\ude00 and \udc00")  # a pair (😀) and a lone low half
    assert joined == "😀 and \ufffd" and len(notes) == 2 and "1 surrogate pair" in notes[1]


def test_uncased_wordpiece_normalization_is_read_from_the_tokenizer(tokenizers, sentencepiece_tokenizer):
    norm = tokenizers["minilm"].normalization
    assert norm.lowercases and norm.strips_accents
    assert not tokenizers["o200k_base"].normalization.lowercases


def test_unicode_helpers_handle_combining_marks():
    from playground.tokenization.visible import visible

    assert visible("\u0301") == "◌\u0301"
    assert visible(" \t\n\x00") == "·→↵␀"
    assert visible("\u200d") == "⟨ZWJ⟩"
    assert unicodedata.combining(visible("e\u0301")[1])


def test_a_text_of_only_missing_bytes_loses_them_all(tokenizers):
    tok = tokenizers["HuggingFaceTB/SmolLM2-135M-Instruct"]
    enc = tok.encode("\x06", add_special_tokens=False)
    assert len(enc) == 0 and tok.lost_bytes(enc) == 1
