"""Tokenizer comparison: boundary logic on hand-made spans, facts from real tokenizers, the app."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import screenshot

from playground.errors import InvalidInput
from playground.tokenization.compare import (
    boundary_counts,
    boundary_mask,
    columns,
    compare,
    crossed_mask,
    default_choices,
    disputed_spans,
    pieces_in,
)


def spans(*pairs):
    a = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


# --- pure boundary logic ------------------------------------------------------------------


def test_boundary_and_crossed_masks():
    starts, ends = spans((0, 5), (5, 11), (11, 11))  # "Hello world" + a zero-width special
    assert np.flatnonzero(boundary_mask(starts, ends, 11)).tolist() == [0, 5, 11]
    assert np.flatnonzero(crossed_mask(starts, ends, 11)).tolist() == [1, 2, 3, 4, 6, 7, 8, 9, 10]


def test_disagreement_on_hand_made_spans():
    # "Unbelievably": A cuts Un|believ|ably, B cuts Unbeliev|ably, C keeps it whole.
    a, b, c = spans((0, 2), (2, 8), (8, 12)), spans((0, 8), (8, 12)), spans((0, 12),)
    counts, cuts = boundary_counts([a, b, c], 12)
    assert counts[2] == 1 and counts[8] == 2 and counts[0] == counts[12] == 0
    assert np.flatnonzero(cuts).tolist() == [0, 12]  # C's one token spans everything
    counts, cuts = boundary_counts([a, b], 12)
    assert np.flatnonzero(cuts).tolist() == [0, 8, 12]  # both cut at 8: a shared column edge
    assert columns(cuts, counts, 100) == [(0, 8), (8, 12)]


def test_wordpiece_gap_versus_leading_space():
    # "Hello world": WordPiece drops the space (Hello|world with a gap), byte-level keeps " world".
    wordpiece, bytelevel = spans((0, 5), (6, 11)), spans((0, 5), (5, 11))
    counts, cuts = boundary_counts([wordpiece, bytelevel], 11)
    assert counts[5] == 2 and counts[6] == 1  # they agree at 5, disagree at 6
    assert columns(cuts, counts, 100) == [(0, 5), (5, 11)]


def test_pieces_in_finds_overlapping_and_zero_width_tokens():
    from playground.tokenization.encoded import Encoded

    starts, ends = spans((0, 0), (0, 3), (3, 6), (6, 6))
    enc = Encoded("abcdef", np.arange(4), starts, ends, np.array([True, False, False, True]))
    assert pieces_in(enc, 2, 4) == [1, 2]
    assert pieces_in(enc, 0, 1) == [0, 1]


# --- real tokenizers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(settings):
    text = "Hello World! naïve café\n\tTabbed    spaces Unbelievably 😀"
    return compare(text, default_choices(settings) + ["google/flan-t5-small"], settings)


def test_a_tokenizer_that_cannot_load_gets_its_own_row(comparison):
    failed = [r for r in comparison.rows if not r.ok]
    assert [r.spec_id for r in failed] == ["google/flan-t5-small"]
    assert "needs the Hugging Face Hub" in failed[0].error
    assert len(comparison.loaded) >= 7


def test_summary_facts_match_the_real_tokenizers(comparison):
    table = {row["id"]: row for row in comparison.table()}
    minilm, gpt4o, smol = table["minilm"], table["o200k_base"], table["HuggingFaceTB/SmolLM2-135M-Instruct"]
    assert minilm["lowercases"] and minilm["strips accents"] and minilm["newlines"] == "dropped"
    assert minilm["word marker"].startswith("##") and minilm["vocab size"] == 30522 and minilm["unknown"] == 1
    assert not gpt4o["lowercases"] and gpt4o["newlines"].startswith("kept") and gpt4o["vocab size"] == 200019
    assert smol["word marker"].startswith("Ġ") and smol["newlines"].startswith("kept")
    assert all(row["tokens"] > 0 for row in table.values() if "tokens" in row)


def test_disputed_spans_are_where_tokenizers_differ(comparison):
    found = {comparison.text[a:b].strip() for a, b in disputed_spans(comparison)}
    assert any("believ" in f for f in found) and "naïve" in found
    assert comparison.disputed.size > 0


def test_selecting_nothing_asks_for_a_pick(settings):
    with pytest.raises(InvalidInput, match="Pick at least one"):
        compare("text", [], settings)


def test_downloads_hold_the_table(comparison):
    data = json.loads(comparison.json())
    assert [r["id"] for r in data["table"]] == [r.spec_id for r in comparison.rows]
    assert comparison.csv().splitlines()[0].startswith("tokenizer,id,")


# --- the app -------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_endpoint(client):
    result = client.predict("Hello world", ["o200k_base", "minilm", "no/such-tokenizer-here"], api_name="/compare")
    ids = [row["id"] for row in result["table"]]
    assert ids == ["o200k_base", "minilm", "no/such-tokenizer-here"]
    assert "error" in result["table"][2]
    assert [t["text"] for t in result["tokens"]["o200k_base"]] == ["Hello", " world"]
    assert [t["token"] for t in result["tokens"]["minilm"]] == ["hello", "world"]
    assert result["disputed_boundaries"] == [6]


@pytest.mark.slow
@pytest.mark.browser
def test_comparison_in_a_real_browser(page):
    page.get_by_role("tab", name="Compare tokenizers").click()
    page.wait_for_selector("#compare-view table.cmp", timeout=60_000)
    rows = page.locator("#compare-view table.cmp tr")
    assert rows.count() >= 8  # a header row and one per offline tokenizer
    assert page.locator("#compare-view th.disputed").count() > 0
    screenshot(page, "compare")


def test_the_default_pick_is_local_and_within_the_cap(settings):
    from dataclasses import replace

    from playground.tokenization.compare import MAX_TOKENIZERS, default_choices

    offline = default_choices(settings)
    assert "o200k_base" in offline and "minilm" in offline and len(offline) <= MAX_TOKENIZERS
    # Online, the Hub entries become loadable, but the page must not download them on load.
    assert default_choices(replace(settings, offline=False)) == offline
    assert compare("hello", offline, settings).loaded


@pytest.mark.slow
@pytest.mark.browser
def test_the_offline_set_with_sentencepiece_and_262k_vocabularies_in_a_real_browser(page):
    """The preset of twelve offline tokenizers (Gemma 3's 262k and Mistral's SentencePiece among them)
    compares in the page, and the Tokens tab shows Gemma 3's split with its <bos>."""
    page.get_by_role("tab", name="Compare tokenizers").click()
    page.wait_for_selector("#compare-view table.cmp", timeout=60_000)
    page.locator("#compare-preset input").click()
    page.get_by_role("option", name="Offline set (works with no network)").click()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_function(
        "() => document.querySelectorAll('#compare-view table.cmp tr').length >= 13"
        " && document.querySelector('#compare-view').innerText.includes('Gemma 3')", timeout=180_000)
    shown = page.locator("#compare-view").inner_text()
    assert all(name in shown for name in ("Gemma 3", "Mistral 7B", "Llama 3", "DeepSeek-V3", "Qwen3"))
    assert "⚠" not in page.locator("#compare-table").inner_text()  # every row loaded offline
    screenshot(page, "compare-offline-set")
    page.get_by_role("tab", name="Tokens").click()
    box = page.locator("#tokenizer input")
    box.click()
    box.fill("google/gemma-3-1b-it")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('#chips') && document.querySelector('#chips').innerText"
                           ".includes('<bos>')", timeout=120_000)
    screenshot(page, "tokens-gemma3")
