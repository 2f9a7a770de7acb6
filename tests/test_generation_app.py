"""The Generate tab through the launched app: the `/generate` endpoint and a real browser."""

from __future__ import annotations

import time

import pytest
from conftest import screenshot

pytestmark = pytest.mark.slow


def test_generate_endpoint_with_messages(client):
    out = client.predict(messages=[{"role": "user", "content": "What is the capital of France?"}],
                         max_new_tokens=40, api_name="/generate")
    assert "Paris" in out["text"] and out["stop_reason"] == "eos"
    assert out["ids"][-1] == 2 and len(out["ids"]) == out["stats"]["new_tokens"]  # 2 = <|im_end|>
    assert all(0 < t["prob"] <= 1 and len(t["top"]) == 5 for t in out["tokens"])
    assert out["prompt_ids"][0] == 1  # <|im_start|>


def test_generate_endpoint_with_a_raw_prompt_and_the_cap(client):
    out = client.predict(prompt="Once upon a time", max_new_tokens=5, api_name="/generate")
    assert out["stop_reason"] == "max_new_tokens" and len(out["ids"]) == 5 and out["text"]


def test_generate_endpoint_refuses_an_empty_prompt_clearly(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="The prompt is empty"):
        client.predict(prompt="  ", api_name="/generate")


@pytest.mark.browser
def test_generate_tab_in_a_browser(page):
    page.get_by_role("tab", name="Generate").click()
    prompt = page.locator("#gen-prompt")
    prompt.locator(".tok.special").first.wait_for(timeout=60_000)  # the chat template, rendered on load
    assert "assistant" in prompt.inner_text()
    page.locator("#gen-run").click()
    status = page.locator("#gen-status")
    status.get_by_text("Stop reason").wait_for(timeout=90_000)
    assert "end-of-turn token" in status.inner_text()
    chips = page.locator("#gen-chips .gtok")
    assert chips.count() >= 3
    assert "Paris" in page.locator("#gen-output textarea").input_value()
    assert "tokens/s" in page.locator("#gen-stats").inner_text()
    chips.nth(1).hover()  # the top-5 tooltip, in the screenshot
    assert chips.nth(1).locator(".tip").is_visible()
    screenshot(page, "generation")


@pytest.mark.browser
def test_the_tokens_tab_text_carries_over(page):
    page.wait_for_selector("#chips .tok", timeout=60_000)
    page.locator("#shared-text textarea").fill("Carry me over, please.")
    page.get_by_role("tab", name="Generate").click()
    page.locator("#gen-from-tokens").click()
    page.wait_for_function(
        "() => document.querySelector('#gen-user textarea').value === 'Carry me over, please.'", timeout=10_000)


def test_a_cancelled_generate_call_stops_on_the_server(app_url, launched_app):
    """A script that gives up on `/generate` stops the generation on the server, as the tab's Stop does."""
    import re
    import time

    from gradio_client import Client

    log_path = launched_app[1]
    stopped = re.compile(r"ended early after (\d+) tokens")
    before = len(stopped.findall(log_path.read_text(errors="replace")))
    client = Client(app_url, verbose=False, httpx_kwargs={"timeout": 120})  # /cancel waits for the current token
    job = client.submit(prompt="Once upon a time", max_new_tokens=500, api_name="/generate")
    deadline = time.monotonic() + 180
    while not job.outputs() and time.monotonic() < deadline:  # a partial result: it is generating now
        time.sleep(0.1)
    assert job.outputs(), "no partial result from /generate"
    job.cancel()
    deadline = time.monotonic() + 60
    while len(found := stopped.findall(log_path.read_text(errors="replace"))) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(found) > before, "the server did not report the generation as stopped"
    assert int(found[-1]) < 250, f"the generation went on for {found[-1]} of 500 tokens after the client left"
    out = client.predict(prompt="Hello", max_new_tokens=3, api_name="/generate")  # the model is free again
    assert out["stop_reason"] == "max_new_tokens" and len(out["ids"]) == 3


def test_use_as_raw_on_a_raw_prompt_leaves_the_page_alone(client):
    """With the prompt already raw there is nothing to change; the handler returned {}, which gradio
    reads as one value for both outputs (an error toast)."""
    client.predict("HuggingFaceTB/SmolLM2-135M-Instruct", "Raw prompt", "", "", "Hello", 8,
                   "Greedy (always the most likely token)", 0.7, 0.95, 50, 1.0, None, api_name="/generation_as_raw")


def test_visitors_generating_at_once_share_a_batch_with_their_own_answers(app_url, client):
    """Requests sent while a long generation runs join it (the batch pauses and goes on with them);
    each gets the same greedy answer, top-5 and stop reason it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    asks = [{"prompt": "The sky is", "max_new_tokens": 6}, {"prompt": "Two plus two is", "max_new_tokens": 9},
            {"messages": [{"role": "user", "content": "What is the capital of France?"}], "max_new_tokens": 30}]
    alone = [client.predict(api_name="/generate", **ask) for ask in asks]
    busy = Client(app_url, verbose=False).submit(prompt="Once upon a time", max_new_tokens=120, api_name="/generate")
    while not busy.outputs() and not busy.done():  # the long generation is decoding now
        time.sleep(0.05)
    visitors = [Client(app_url, verbose=False) for _ in asks]
    with ThreadPoolExecutor(len(asks)) as pool:
        together = list(pool.map(lambda pair: pair[0].predict(api_name="/generate", **pair[1]), zip(visitors, asks)))
    assert busy.result()["stats"]["batch_size"] >= 2 and len(busy.result()["ids"]) == 120
    assert all(out["stats"]["batch_size"] >= 2 for out in together)
    for a, b in zip(alone, together, strict=True):
        assert b["ids"] == a["ids"] and b["stop_reason"] == a["stop_reason"]
        assert [[t["id"] for t in s["top"]] for s in b["tokens"]] == [[t["id"] for t in s["top"]] for s in a["tokens"]]
