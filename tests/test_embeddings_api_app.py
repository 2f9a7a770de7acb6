"""API embeddings and the UMAP warm-up through a freshly launched app: `/embed_search` against a
loopback OpenAI-compatible server, a fault named by the server and followed by a working call,
UMAP requests answered at once while it warms (no event slot held), and the tab in a browser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import launch_app, screenshot, stop_app
from fake_embeddings_server import FakeEmbeddings

from playground.embeddings import examples

pytestmark = pytest.mark.slow
TEXTS = list(examples.TEXTS)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeEmbeddings]:
    with FakeEmbeddings() as server:
        yield server


@pytest.fixture(scope="module")
def fresh_app() -> Iterator[str]:
    """An app of its own: UMAP must still be cold when the first test asks for it."""
    proc, url, _log = launch_app()
    yield url
    stop_app(proc)


@pytest.fixture(scope="module")
def fresh_client(fresh_app: str):
    from gradio_client import Client

    return Client(fresh_app, verbose=False)


def embed(client, fake, query="My puppy loves to play fetch.", projection="PCA", dimensions=0):
    return client.predict(query, TEXTS, "api:fake-embed", 3, projection, dimensions, fake.base_url, "",
                          api_name="/embed_search")


def test_umap_while_warming_is_answered_at_once_with_pca(fresh_client, fake) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:  # more than the tab's event slots
        results = list(pool.map(lambda i: embed(fresh_client, fake, f"query {i}", "UMAP"), range(6)))
    elapsed = time.monotonic() - started
    # Cold `import umap` alone takes ~19 s here: every answer came before UMAP could be ready.
    assert all(r["projection"] == "PCA" and r["requested_projection"] == "UMAP" for r in results)
    assert all(any("warming up" in n for n in r["notes"]) for r in results)
    assert elapsed < 15, elapsed
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # once warm, the same request gets UMAP
        result = embed(fresh_client, fake, projection="UMAP")
        if result["projection"] == "UMAP":
            break
        time.sleep(3)
    assert result["projection"] == "UMAP"


def test_embed_search_takes_api_models(fresh_client, fake) -> None:
    result = embed(fresh_client, fake, examples.TEXTS[5], dimensions=16)  # a text of the corpus itself
    assert result["model"] == "api:fake-embed" and result["base_url"] == fake.base_url
    assert result["dimensions"] == 16 and result["tokens"] > 0 and result["cost_usd"] is None
    assert result["neighbours"][0]["text"] == examples.TEXTS[5]
    assert result["neighbours"][0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert fake.requests[-1]["body"]["dimensions"] == 16


def test_a_broken_server_is_named_and_the_next_call_works(fresh_client, fake) -> None:
    from gradio_client.exceptions import AppError

    fake.fail("nan")
    with pytest.raises(AppError, match=rf"{fake.base_url} returned an embedding with NaN"):
        embed(fresh_client, fake, "a query never seen before")
    fake.fail("404")
    with pytest.raises(AppError, match="lacks a /v1/embeddings endpoint"):
        client_texts = ["a corpus never seen before", "and its second line"]
        fresh_client.predict("q", client_texts, "api:fake-embed", 1, "PCA", 0, fake.base_url, "",
                             api_name="/embed_search")
    assert len(embed(fresh_client, fake, "a query never seen before")["neighbours"]) == 3


@pytest.mark.browser
def test_api_model_in_the_browser(browser, fresh_app, fake) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(fresh_app, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Embeddings").click()
        page.locator("#emb-map .js-plotly-plot").wait_for(timeout=120_000)
        page.locator("#emb-model input").click()
        page.get_by_role("option", name="OpenAI-compatible server").click()
        page.locator("#emb-api-base-url textarea, #emb-api-base-url input").first.fill(fake.base_url)
        page.locator("#emb-api-model textarea, #emb-api-model input").first.fill("fake-embed")
        page.locator("#emb-api-dimensions input").fill("32")
        page.locator("#emb-search").click()
        page.locator("#emb-status").get_by_text("embedded by").wait_for(timeout=180_000)
        assert "32" in page.locator("#emb-status").inner_text()
        page.locator(".toast-close").first.click() if page.locator(".toast-close").count() else None
        page.wait_for_timeout(800)
        screenshot(page, "embeddings-api")
    finally:
        context.close()
