"""The Embeddings tab as scripts and people meet it: the public endpoints through gradio_client,
and the tab in headless Chromium (screenshots in tests/artifacts/)."""

from __future__ import annotations

import pytest
from conftest import screenshot

from playground.embeddings import examples

pytestmark = pytest.mark.slow


def test_embed_search_endpoint(client) -> None:
    result = client.predict("My puppy loves to play fetch.", list(examples.TEXTS), "minilm", 3, "PCA",
                            api_name="/embed_search")
    assert result["model"] == "minilm" and result["dimensions"] == 384 and result["projection"] == "PCA"
    assert len(result["neighbours"]) == 3 and len(result["points"]) == len(examples.TEXTS)
    top = result["neighbours"][0]
    assert examples.LABELS[top["index"]] == "animals" and 0 < top["score"] <= 1
    assert set(result["query_point"]) == {"x", "y"}
    tsne = client.predict("bread", list(examples.TEXTS), "minilm", 3, "t-SNE", api_name="/embed_search")
    assert tsne["projection"] == "t-SNE" and any("perplexity" in n for n in tsne["notes"])


def test_word_endpoints(client) -> None:
    neighbours = client.predict("king", "minilm-static", 5, api_name="/word_neighbors")
    assert "queen" in [n["word"] for n in neighbours["neighbors"]]
    analogy = client.predict("king", "man", "woman", "minilm-static", 3, api_name="/analogy")
    assert analogy["inputs_excluded"] is True
    assert "queen" in [a["word"] for a in analogy["answers"]]


def test_handlers_with_nothing_to_change_leave_the_page_alone(client) -> None:
    """They returned {}, which gradio reads as one value for all their outputs: an error on every pick
    of PCA or t-SNE, on every UMAP status poll, on a cleared upload box."""
    client.predict("PCA", api_name="/embeddings_warm_umap")
    client.predict(None, api_name="/word_vectors_upload")
    client.predict(None, None, api_name="/embeddings_columns")  # no table uploaded in this session


@pytest.mark.parametrize(("endpoint", "args", "message"), [
    ("/embed_search", ("", ["a text"], "minilm", 3, "PCA"), "query is empty"),
    ("/embed_search", ("hi", [" ", ""], "minilm", 3, "PCA"), "corpus is empty"),
    ("/embed_search", ("hi", ["x" * 2_001], "minilm", 3, "PCA"), "limit on this server is 2,000"),
    ("/embed_search", ("hi", ["a"], "no-such-model", 3, "PCA"), "Unknown sentence-embedding model"),
    ("/embed_search", ("hi", ["a"], "mpnet", 3, "PCA"), "needs the Hugging Face Hub"),
    ("/word_neighbors", ("qeen", "minilm-static", 5), "did you mean queen"),
    ("/analogy", ("king", "man", "glove-wiki-gigaword-50", "glove-wiki-gigaword-50", 3), "offline"),
])
def test_bad_input_gets_a_clear_message(client, endpoint, args, message) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=endpoint)


@pytest.mark.browser
def test_embeddings_tab_in_a_browser(page, tmp_path) -> None:
    page.get_by_role("tab", name="Embeddings").click()
    # Opening the tab draws the example map (labels coloured) and starts warming UMAP.
    page.locator("#emb-map .js-plotly-plot").wait_for(timeout=120_000)
    page.get_by_text("My dog barks at the postman").first.wait_for(timeout=30_000)
    assert page.locator("#emb-map .legend").text_content().count("animals") == 1
    page.wait_for_timeout(800)
    screenshot(page, "embeddings")

    # A bad upload names the line; a good one fills the corpus and colours by its label column.
    bad, good = tmp_path / "bad.csv", tmp_path / "space.csv"
    bad.write_text("text,label\nok,a\nbad,b,c\n", encoding="utf-8")
    good.write_text("topic,sentence\nsea,Waves crash on the shore\nspace,A rocket flew to Mars\n"
                    "sea,Fish swim in the coral reef\nspace,The telescope saw a galaxy\n", encoding="utf-8")
    page.get_by_text("Or upload a .txt / .csv / .tsv file").click()
    page.locator("#emb-corpus-file input[type=file]").set_input_files(str(bad))
    page.get_by_text("line 3 has 3 fields").wait_for(timeout=30_000)
    page.locator(".toast-close").first.click()  # dismiss it: later screenshots must show no error
    page.locator("#emb-corpus-file button[aria-label='Clear']").click()
    page.locator("#emb-corpus-file input[type=file]").set_input_files(str(good))
    page.wait_for_function("document.querySelector('#emb-corpus textarea').value.startsWith('Waves crash')",
                           timeout=30_000)
    page.locator("#emb-search").click()
    page.locator("#emb-neighbours").get_by_text("Fish swim").filter(visible=True).first.wait_for(timeout=30_000)
    assert "space" in page.locator("#emb-map .legend").text_content()

    page.get_by_role("tab", name="Word vectors").click()
    page.get_by_role("button", name="Solve").click()
    page.locator("#emb-analogy").get_by_text("queen").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Draw").click()
    page.locator(".js-plotly-plot").last.wait_for(timeout=60_000)
    page.wait_for_timeout(800)
    screenshot(page, "embeddings-words")

    page.get_by_role("tab", name="Contextual token vectors").click()
    page.locator("#emb-context-go").click()
    page.locator("#emb-context-summary").get_by_text("contextual vectors of").wait_for(timeout=60_000)
    screenshot(page, "embeddings-contextual")

    page.get_by_role("tab", name="Train your own (word2vec)").click()
    page.locator("#emb-train-toy").click()
    page.locator("#emb-train-status").get_by_text("Trained on 600 sequences").wait_for(timeout=60_000)
    screenshot(page, "embeddings-train")
    page.locator("#emb-train-similar").get_by_text("Blue Quartet").filter(visible=True).first.wait_for(timeout=30_000)
