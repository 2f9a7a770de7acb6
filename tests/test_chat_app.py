"""The Chat tab in the launched app, as a user and a notebook see it.

The app runs as `python app.py --offline` in its own process, with the operator's key and base
URL pointing at the OpenAI-compatible server on loopback that this test process runs.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import launch_app, screenshot, stop_app
from fake_openai_server import FakeOpenAI, fake_prompt_tokens
from remote_support import gradio_client

pytestmark = pytest.mark.slow

OPERATOR_KEY = "sk-operator-5e6f7a8b9c0d1e2f3a4b"
ALICE_KEY = "sk-alice-1a2b3c4d5e6f7a8b9c0d"
BOB_KEY = "sk-bob-9z8y7x6w5v4u3t2s1r0q"
SYSTEM = "You are a helpful assistant. Answer briefly."
SESSION_CAP = 0.0002  # a few fake gpt-4o-mini calls at max_tokens 64 (worst case ~$0.00004 each)


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI(sleep_s=3.0) as server:
        yield server


@pytest.fixture(scope="module")
def chat_app(fake):
    proc, url, log_path = launch_app(env={
        "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": OPERATOR_KEY, "PLAYGROUND_CHAT_TIMEOUT_S": "1",
        "PLAYGROUND_SPEND_CAP_SESSION_USD": str(SESSION_CAP),
    })
    yield url, log_path
    stop_app(proc)


@pytest.fixture
def server(fake):
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture(scope="module")
def api(chat_app):
    return gradio_client(chat_app[0])


def chat(api, messages, message, key=ALICE_KEY, base_url=None, **kw):
    return api.predict(messages, message, kw.pop("backend", "compatible"), kw.pop("model", "gpt-4o-mini"),
                       base_url if base_url is not None else kw.pop("url"), key, SYSTEM,
                       kw.pop("resend_history", True), kw.pop("max_tokens", 64), 0.7, False, api_name="/chat")


def test_chat_endpoint_resends_history_only_when_asked(api, server):
    first = chat(api, [], "Hi, I'm Sam", base_url=server.base_url)
    assert first["messages"] == [{"role": "user", "content": "Hi, I'm Sam"},
                                 {"role": "assistant", "content": "You said: Hi, I'm Sam"}]
    on = chat(api, first["messages"], "What's my name?", base_url=server.base_url)
    assert on["reply"] == "Your name is Sam." and on["finish_reason"] == "stop"
    assert server.requests[-1]["body"]["messages"] == on["messages_sent"] == [
        {"role": "system", "content": SYSTEM}, *first["messages"], {"role": "user", "content": "What's my name?"}]
    off = chat(api, first["messages"], "What's my name?", base_url=server.base_url, resend_history=False)
    assert off["reply"].startswith("I don't know your name")
    assert server.requests[-1]["body"]["messages"] == off["messages_sent"] == [
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": "What's my name?"}]
    usage = on["usage"]
    assert usage["prompt_tokens"] == fake_prompt_tokens(on["messages_sent"]) and usage["completion_tokens"] == 4
    assert usage["source"] == "api" and usage["cost_usd"] > 0 and usage["context_window"] >= 128_000
    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {ALICE_KEY}"
    for reply in (first, on, off):
        assert ALICE_KEY not in json.dumps(reply)
        assert reply["request"]["api_key"].startswith("[redacted")


def test_chat_endpoint_errors_are_clear_and_keyless(api, server):
    from gradio_client.exceptions import AppError

    server.fail("401")  # 4xx other than 429 are not retried
    with pytest.raises(AppError) as info:
        chat(api, [], "Hello", base_url=server.base_url)
    assert "rejected by" in str(info.value) and ALICE_KEY not in str(info.value)
    server.fail("timeout", times=2)
    with pytest.raises(AppError, match="did not answer within 1 s"):
        chat(api, [], "Hello", base_url=server.base_url)
    with pytest.raises(AppError, match="message is empty"):
        chat(api, [], "  ", base_url=server.base_url)


def turn_ui(client, message, *, key="", backend="compatible", url="", resend=True):
    """One turn through the tab's own event (state kept by gradio for this client's session)."""
    return client.predict(message, backend, "gpt-4o-mini", url, key, SYSTEM, resend, 64, 0.7, False, "",
                          api_name="/chat_turn")


def transcript_texts(chatbot_value) -> list[str]:
    return [part["text"] for m in chatbot_value if not m.get("metadata") for part in m["content"]]


def test_failed_turn_leaves_the_conversation_intact(chat_app, server):
    from gradio_client.exceptions import AppError

    client = gradio_client(chat_app[0])
    turn_ui(client, "Hi, I'm Sam", key=ALICE_KEY, url=server.base_url)
    server.fail("429", times=2)
    with pytest.raises(AppError, match="Rate limit"):
        turn_ui(client, "This one fails", key=ALICE_KEY, url=server.base_url)
    out = turn_ui(client, "What's my name?", key=ALICE_KEY, url=server.base_url)
    assert transcript_texts(out[0]) == ["Hi, I'm Sam", "You said: Hi, I'm Sam", "What's my name?",
                                        "Your name is Sam."]
    assert [m["content"] for m in server.requests[-1]["body"]["messages"]] == [
        SYSTEM, "Hi, I'm Sam", "You said: Hi, I'm Sam", "What's my name?"]
    # An empty message is ignored: nothing sent, nothing changed.
    before = len(server.requests)
    client.predict("   ", "compatible", "gpt-4o-mini", server.base_url, ALICE_KEY, SYSTEM, True, 64, 0.7, False, "",
                   api_name="/chat_turn")
    assert len(server.requests) == before


def test_a_failed_retry_keeps_the_turn_it_retried(chat_app, server):
    from gradio_client.exceptions import AppError

    client = gradio_client(chat_app[0])
    turn_ui(client, "Hi, I'm Sam", key=ALICE_KEY, url=server.base_url)
    server.fail("429", times=2)
    with pytest.raises(AppError, match="Rate limit"):
        client.predict("", "compatible", "gpt-4o-mini", server.base_url, ALICE_KEY, SYSTEM, True, 64, 0.7, False, "",
                       api_name="/chat_retry")
    out = turn_ui(client, "What's my name?", key=ALICE_KEY, url=server.base_url)
    assert transcript_texts(out[0]) == ["Hi, I'm Sam", "You said: Hi, I'm Sam", "What's my name?",
                                        "Your name is Sam."]


def test_a_system_message_in_the_conversation_is_used_by_chat_endpoint(api, server):
    own = [{"role": "system", "content": "You are terse."}]
    out = api.predict(own, "Hello", "compatible", "gpt-4o-mini", server.base_url, ALICE_KEY, api_name="/chat")
    assert server.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "You are terse."}
    assert out["messages_sent"][0]["content"] == "You are terse."


def test_two_concurrent_sessions_stay_isolated(chat_app, server):
    people = {"Alice": ALICE_KEY, "Bob": BOB_KEY}
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def talk(name: str, key: str) -> None:
        try:
            client = gradio_client(chat_app[0])
            for message in (f"Hi, I'm {name}", f"I like the number {len(name)}", "What's my name?"):
                out = turn_ui(client, message, key=key, url=server.base_url)
            results[name] = out
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=item) for item in people.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for name, key in people.items():
        other = "Bob" if name == "Alice" else "Alice"
        texts = transcript_texts(results[name][0])
        assert texts[-1] == f"Your name is {name}." and len(texts) == 6
        assert not any(other in t for t in texts)
        mine = [r for r in server.requests if r["headers"]["authorization"] == f"Bearer {key}"]
        assert len(mine) == 3
        assert all(other not in json.dumps(r["body"]) for r in mine)


def test_operator_key_and_session_spend_cap(chat_app, server):
    from gradio_client.exceptions import AppError

    client = gradio_client(chat_app[0])
    spent = 0.0
    for i in range(10):
        try:
            out = turn_ui(client, f"Message number {i}", backend="openai")
        except AppError as exc:
            assert "spend cap" in str(exc) and "this session" in str(exc)
            break
        spent = float(out[4]["data"][-1][5].lstrip("$"))
    else:
        pytest.fail("the session spend cap never stopped the operator's key")
    assert 0 < spent <= SESSION_CAP  # the worst case is reserved: the cap is never passed
    assert all(r["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}" for r in server.requests)
    # The visitor's own key goes on past the operator's cap.
    assert turn_ui(client, "Still here?", backend="openai", key=BOB_KEY)[0]


def test_exports_hold_no_key(chat_app, server):
    client = gradio_client(chat_app[0])
    turn_ui(client, "Hi, I'm Sam", key=ALICE_KEY, url=server.base_url)
    for endpoint in ("/chat_export", "/chat_export_request"):
        files = client.predict(ALICE_KEY, api_name=endpoint)
        text = Path(files[0]).read_text(encoding="utf-8")
        assert ALICE_KEY not in text and "Hi, I'm Sam" in text
        json.loads(text)


@pytest.mark.browser
def test_browser_shows_the_message_list(chat_app, server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(chat_app[0], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Chat").click()
        page.locator("#chat-api-key input").fill(ALICE_KEY)
        box = page.locator("#chat-input textarea")
        transcript = page.locator("#chat-transcript")
        for message, answer in [("Hi, I'm Sam", "You said: Hi, I'm Sam"), ("What's my name?", "Your name is Sam.")]:
            box.fill(message)
            box.press("Enter")
            # Generous timeouts: on a fresh machine the server is still importing torch in the background.
            transcript.get_by_text(answer, exact=True).wait_for(timeout=60_000)
            # The turn is over when the box is cleared (the last update, with the session).
            page.wait_for_function("() => document.querySelector('#chat-input textarea').value === ''",
                                   timeout=60_000)
        page.locator("#chat-stats").get_by_text("finish_reason").wait_for()
        assert "finish_reason: stop" in transcript.inner_text()  # shown on each answer
        resend = page.locator("#chat-resend input")
        resend.uncheck()
        page.wait_for_function("() => !document.querySelector('#chat-resend input').checked")
        page.wait_for_timeout(300)  # let the page register the switch before the next send
        box.fill("What's my name?")
        box.press("Enter")
        transcript.get_by_text("I don't know your name").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('#chat-input textarea').value === ''", timeout=60_000)
        sent = page.locator("#chat-sent")
        sent.get_by_text("What's my name?").wait_for()
        assert "Hi, I'm Sam" not in sent.inner_text()  # history off: only system + latest
        growth = page.locator("#chat-growth").inner_text()
        assert growth.count("stop") == 3
        page.wait_for_timeout(500)
        path = screenshot(page, "chat")
        assert path.stat().st_size > 10_000
        assert ALICE_KEY not in page.content()
    finally:
        context.close()


def test_key_never_in_the_app_log(chat_app, server, api):
    chat(api, [], "One more for the log", base_url=server.base_url)  # whatever ran before, run once more
    log = chat_app[1].read_text(encoding="utf-8", errors="replace")
    for key in (OPERATOR_KEY, ALICE_KEY, BOB_KEY):
        assert key not in log and key[-10:] not in log


def test_chat_endpoint_on_the_session_app_without_a_key(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict([], "Hello", "openai", "gpt-4o-mini", "", "", SYSTEM, True, 16, 0.7, False, api_name="/chat")
    assert "OPENAI_API_KEY" in str(info.value) and "Local model" in str(info.value)
