"""The Inside-the-model tab through the launched app: `/attention`, `/logit_lens`, `/capacity` and a browser."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import screenshot

pytestmark = pytest.mark.slow

TEXT = "The cat sat on the mat."


def test_attention_endpoint(client):
    out = client.predict(text=TEXT, chat=False, layer=3, head=2, api_name="/attention")
    weights = np.array(out["weights"])
    assert out["tokens"] == ["The", "·cat", "·sat", "·on", "·the", "·mat", "."] and out["layers"] == 30
    assert weights.shape == (7, 7) and np.allclose(weights.sum(1), 1, atol=1e-4)
    assert np.all(np.triu(weights, 1) == 0) and "eager" in out["how"]


def test_attention_endpoint_refuses_a_layer_that_does_not_exist(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="layers 1–30"):
        client.predict(text=TEXT, chat=False, layer=31, api_name="/attention")


def test_logit_lens_endpoint(client):
    out = client.predict(text=TEXT, chat=False, api_name="/logit_lens")
    assert len(out["layers"]) == 31 and len(out["top_tokens"][0]) == 7
    assert out["top_ids"][-1] == out["chosen_ids"] and out["chosen_rank"][-1] == [0] * 7
    assert all(0 < p <= 1 for row in out["top_probs"] for p in row)


def test_capacity_endpoint(client):
    out = client.predict(target="T4 (16 GB)", api_name="/capacity")
    by_id = {m["id"]: m for m in out["models"]}
    assert len(by_id) == 7 and out["dtype_bytes"] == 2
    assert by_id["HuggingFaceTB/SmolLM2-135M-Instruct"]["kv_bytes_per_token"] == 2 * 30 * 3 * 64 * 2
    phi = by_id["microsoft/Phi-3-mini-4k-instruct"]
    assert phi["fits_tokens"] == 4096 and "config.json" in phi["source"]
    crowded = client.predict(target="T4 (16 GB)", users=30, api_name="/capacity")
    phi30 = next(m for m in crowded["models"] if m["id"] == phi["id"])
    free = 16e9 - phi["weights_bytes"]
    assert phi30["fits_tokens"] == int(free // (30 * phi["kv_bytes_per_token"]))  # 30 caches beside one copy


@pytest.mark.browser
def test_inside_tab_in_a_browser(page):
    page.get_by_role("tab", name="Inside the model").click()
    page.locator("#inside-run").click()
    status = page.locator("#inside-status")
    status.get_by_text("eager").wait_for(timeout=120_000)
    page.locator("#inside-attention .js-plotly-plot").wait_for(timeout=30_000)
    assert "·cat" in page.locator("#inside-attention").inner_text()
    screenshot(page, "inside-attention")
    page.get_by_role("tab", name="Layer by layer").click()
    page.locator("#inside-lens .js-plotly-plot").wait_for(timeout=30_000)
    assert "embeddings" in page.locator("#inside-lens").inner_text()
    screenshot(page, "inside-lens")
    page.get_by_role("tab", name="Positions").click()
    page.locator("#inside-positions .js-plotly-plot").wait_for(timeout=30_000)
    assert "cat" in page.locator("#inside-positions-note").inner_text()
    screenshot(page, "inside-positions")
    page.get_by_role("tab", name="Capacity").click()  # drawn when the outer tab was opened
    page.locator("#inside-memory .js-plotly-plot").wait_for(timeout=30_000)
    assert "KiB" in page.locator("#inside-table").inner_text()
    screenshot(page, "inside-capacity")
