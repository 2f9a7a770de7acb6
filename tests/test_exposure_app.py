"""A shared (exposed) app through `gradio_client`: spend caps survive failures, typed URLs stay public.

The app is declared exposed with `--exposed` (what `--host 0.0.0.0`, `--share` or a Space compute,
see test_remote.py) while it listens on loopback only. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import httpx
import pytest
import remote_support
from conftest import launch_app, stop_app
from fake_openai_server import FakeOpenAI
from remote_support import gradio_client

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

pytestmark = pytest.mark.slow

OPERATOR_KEY = "sk-operator-5e6f7a8b9c0d1e2f3a4b"
VISITOR_KEY = "sk-visitor-1a2b3c4d5e6f7a8b9c0d"


@pytest.fixture(scope="module")
def shared_app(server):
    """The issue's operator: a key, a 429-prone server, $0.05 caps; visitors may type public base URLs."""
    proc, url, log_path = launch_app("--exposed", "--allow-custom-base-url", env={
        "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": OPERATOR_KEY, "PLAYGROUND_CHAT_TIMEOUT_S": "2",
        "PLAYGROUND_SPEND_CAP_TOTAL_USD": "0.05", "PLAYGROUND_SPEND_CAP_SESSION_USD": "0.05",
    })
    yield url, log_path
    stop_app(proc)


def chat(client, message, *, backend="openai", model="gpt-4o", url="", key="", max_tokens=4000):
    return client.predict([], message, backend, model, url, key, "", True, max_tokens, 0.7, False, api_name="/chat")


def test_a_429_no_longer_locks_the_operators_key_for_everyone(shared_app, fake):
    """The issue's scenario: gpt-4o with max_tokens 4000 reserves ~$0.04 of a $0.05 cap."""
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])
    for _ in range(3):
        fake.fail("429", times=2)  # the client retries once
        with pytest.raises(AppError, match=r"\(429\)"):
            chat(client, "Hello")
    assert chat(client, "Hello")["reply"] == "You said: Hello"
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}"


def test_the_session_cap_survives_failed_turns_and_retries_in_the_tab(shared_app, fake):
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])  # one browser session: its ChatSession lives in gr.State

    def turn(event: str):
        return client.predict("Hello", "openai", "gpt-4o", "", "", "", True, 4000, 0.7, False, "", api_name=event)

    assert turn("/chat_turn")[0]  # a first answer to retry later
    for event in ("/chat_turn", "/chat_retry", "/chat_turn"):
        fake.fail("500", times=2)
        with pytest.raises(AppError, match=r"internal error \(500\)"):
            turn(event)
    assert turn("/chat_retry")[0] and turn("/chat_turn")[0]  # failures used none of the session's cap


def test_typed_urls_to_this_machine_are_refused_however_spelled(shared_app, fake):
    """A private server on the app's machine (another loopback port than the operator's own)."""
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])
    with FakeOpenAI() as private:
        port = private.base_url.rsplit(":", 1)[1].split("/")[0]
        for host in ("127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"):
            with pytest.raises(AppError, match="does not call .* loopback"):
                chat(client, "Hello", backend="compatible", model="m", url=f"http://{host}:{port}/v1",
                     key=VISITOR_KEY)
        assert private.requests == []
    assert chat(client, "Hello", max_tokens=16)["reply"] == "You said: Hello"  # the operator's URL still works


def test_typed_model_ids_are_off_and_the_page_says_what_is_on(shared_app):
    from gradio_client.exceptions import AppError

    url, _ = shared_app
    client = gradio_client(url)
    with pytest.raises(AppError) as info:
        client.predict("hello", "someone/private-tokenizer", api_name="/tokenize")
    assert "Something went wrong" not in str(info.value)
    assert client.predict("hello", "o200k_base", api_name="/tokenize")["ids"] == [24912]
    config = httpx.get(url + "config", timeout=30).text
    assert "Hugging Face model and tokenizer ids are **off**" in config
    assert "typed base URLs for remote servers are **on** (public addresses only)" in config


@pytest.mark.browser
def test_the_header_note_in_the_browser(shared_app, browser):
    from conftest import screenshot

    context = browser.new_context(viewport={"width": 1400, "height": 700})
    page = context.new_page()
    try:
        page.goto(shared_app[0], wait_until="domcontentloaded")
        note = page.locator("#exposure-note")
        note.get_by_text("Shared server").wait_for(timeout=60_000)
        assert "ids are off" in note.inner_text() and "base URLs for remote servers are on" in note.inner_text()
        page.get_by_role("tab", name="Chat").click()
        page.get_by_text("Settings: system prompt, max_tokens, temperature").click()
        page.locator("#chat-seed").wait_for()
        assert page.locator("#chat-seed textarea, #chat-seed input").first.input_value() == ""  # no seed: fresh samples
        assert screenshot(page, "exposure-note").stat().st_size > 10_000
    finally:
        context.close()
