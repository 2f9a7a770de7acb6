"""The launched app, as users and scripts meet it: gradio_client and a real browser."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from conftest import ARTIFACTS, launch_app, screenshot, stop_app

from playground.settings import PROJECT_DIR


def test_building_the_page_loads_no_heavy_library():
    code = (
        "import sys, app; from playground.settings import Settings; app.build_demo(Settings(offline=True));"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'gensim', 'umap', 'openai', 'sklearn')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_tokenize_endpoint(client):
    result = client.predict("Adarsh is a beginner Coder", "gpt-4", api_name="/tokenize")
    assert result["tokenizer"] == "cl100k_base"
    assert result["ids"] == [2654, 277, 939, 374, 264, 50048, 356, 4414]
    assert [t["text"] for t in result["tokens"]][:3] == ["Ad", "ar", "sh"]
    assert result["stats"]["tokens"] == 8


@pytest.mark.slow
def test_tokenize_endpoint_with_bert_special_tokens(client):
    with_special = client.predict("Hello world", "minilm", True, False, api_name="/tokenize")
    without = client.predict("Hello world", "minilm", False, False, api_name="/tokenize")
    assert [t["token"] for t in with_special["tokens"]] == ["[CLS]", "hello", "world", "[SEP]"]
    assert with_special["ids"][1:-1] == without["ids"]


@pytest.mark.slow
def test_decode_endpoint(client):
    result = client.predict([2654, 277, 939], "cl100k_base", api_name="/decode")
    assert result["text"] == "Adarsh" and [p["token"] for p in result["pieces"]] == ["Ad", "ar", "sh"]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (("x", "no such tokenizer!"), "Unknown tokenizer"),
    (("x", "google/flan-t5-small"), "needs the Hugging Face Hub"),
])
def test_errors_reach_the_client_as_clear_messages(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/tokenize")
    # …and the app keeps serving.
    assert client.predict("ok", "o200k_base", api_name="/tokenize")["ids"] == [525]


@pytest.mark.slow
def test_bad_ids_get_a_clear_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Not in this tokenizer's vocabulary"):
        client.predict([10**9], "cl100k_base", api_name="/decode")


@pytest.mark.slow
def test_share_without_internet_fails_clearly_and_keeps_serving():
    proc, url, log_path = launch_app("--share")
    try:
        from gradio_client import Client

        assert Client(url, verbose=False).predict("hi", "o200k_base", api_name="/tokenize")["ids"]
        time.sleep(0.5)
        assert "--share needs the internet" in log_path.read_text()
    finally:
        stop_app(proc)


@pytest.mark.slow
@pytest.mark.browser
def test_tokens_tab_in_a_real_browser(page):
    page.wait_for_selector("#chips .tok", timeout=60_000)
    box = page.locator("#shared-text textarea")
    box.fill("Hello 😀 world\tTab")
    page.wait_for_function(
        "() => document.querySelector('#stats') && document.querySelector('#stats').innerText.includes('17 characters')",
        timeout=30_000,
    )
    stats = page.locator("#stats").inner_text()
    assert "tokens" in stats and "17 characters" in stats
    chips = page.locator("#chips .tok")
    assert chips.count() >= 4
    assert "→" in page.locator("#chips").inner_text()  # the tab made visible
    # The ids view.
    page.get_by_role("radio", name="Ids").check()
    page.wait_for_selector("#ids textarea", timeout=10_000)
    assert page.locator("#ids textarea").input_value().startswith("[")
    page.get_by_role("radio", name="Tokens").check()
    page.wait_for_selector("#chips .tok", timeout=10_000)
    screenshot(page, "tokens")
    assert (ARTIFACTS / "tokens.png").stat().st_size > 10_000
