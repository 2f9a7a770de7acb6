"""The Generate tab on a serving engine through the launched app (`gradio_client`, and a browser).

The app is shared (`--exposed`, listening on loopback only) with the operator's key and base URL
pointing at the loopback fake server, which speaks the real logprobs formats and fails on demand.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import remote_support
from conftest import launch_app, screenshot, stop_app
from fake_logprobs import fake_prob
from fake_openai_server import FakeOpenAI
from remote_support import gradio_client

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

pytestmark = pytest.mark.slow

OPERATOR_KEY = "sk-operator-5e6f7a8b9c0d1e2f3a4b"
MESSAGES = [{"role": "user", "content": "hi 🙂 there"}]


@pytest.fixture(scope="module")
def shared_app(server):
    proc, url, log_path = launch_app("--exposed", "--allow-custom-base-url", env={
        "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": OPERATOR_KEY, "PLAYGROUND_CHAT_TIMEOUT_S": "1",  # the fake's timeout sleeps 2 s
        "PLAYGROUND_SPEND_CAP_TOTAL_USD": "0.05", "PLAYGROUND_SPEND_CAP_SESSION_USD": "0.05",
    })
    yield url, log_path
    stop_app(proc)


@contextmanager
def page_at(browser, url: str, height: int):
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        yield page
    finally:
        context.close()


def generate(client, **kw):
    return client.predict(**{"backend": "compatible", "model": "fake-model", **kw}, api_name="/generate")


def test_generate_endpoint_on_a_server_gives_token_probabilities(shared_app, fake):
    out = generate(gradio_client(shared_app[0]), messages=MESSAGES, max_new_tokens=64)
    assert out["text"] == "You said: hi 🙂 there" and out["stop_reason"] == "eos" and out["logprobs"]
    assert [t["prob"] for t in out["tokens"]] == pytest.approx([fake_prob(i) for i in range(7)])
    assert all(t["id"] is None and len(t["top"]) == 5 for t in out["tokens"])
    assert out["tokens"][0]["top"][1]["text"] == " alt1"
    assert out["prompt_tokens"][0]["prob"] is None and out["prompt_tokens"][0]["id"] == out["prompt_ids"][0]
    assert out["server"] == fake.base_url and OPERATOR_KEY not in str(out)
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}"  # the operator's own URL


def test_generate_endpoint_with_a_raw_prompt_shows_the_echoed_prompt(shared_app, fake):
    out = generate(gradio_client(shared_app[0]), prompt="Once upon a time", max_new_tokens=3)
    assert out["stop_reason"] == "max_new_tokens" and out["text"] == " and so on,"
    assert [t["text"] for t in out["prompt_tokens"]] == ["Once", " upon", " a", " time"]


def test_existing_local_calls_still_work(shared_app):
    out = gradio_client(shared_app[0]).predict(prompt="Once upon a time", max_new_tokens=3, api_name="/generate")
    assert out["stop_reason"] == "max_new_tokens" and len(out["ids"]) == 3 and all(i >= 0 for i in out["ids"])


def test_a_server_without_logprobs_is_named_and_the_text_still_comes(shared_app, fake):
    fake.lacks.add("logprobs")
    out = generate(gradio_client(shared_app[0]), messages=MESSAGES, prompt_tokens=False)
    assert out["text"] == "You said: hi 🙂 there" and out["tokens"] == [] and out["logprobs"] is False
    assert any("sent no logprobs" in n and fake.base_url in n for n in out["notes"])


def test_failures_name_the_server_and_never_use_up_the_cap(shared_app, fake):
    """gpt-4o-mini, 4000 tokens, on the operator's key: each failure would otherwise keep its reservation."""
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])
    for mode, times, message in [("die", 1, "broke in the middle"), ("500", 2, r"internal error \(500\)"),
                                 ("timeout", 2, "did not answer within")] * 2:
        fake.fail(mode, times=times)
        with pytest.raises(AppError, match=message):
            generate(client, backend="openai", model="gpt-4o", messages=MESSAGES, max_new_tokens=4000)
    out = generate(client, backend="openai", model="gpt-4o", messages=MESSAGES, max_new_tokens=4000)
    assert out["text"] == "You said: hi 🙂 there"


def test_typed_urls_to_this_machine_are_refused(shared_app, fake):
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])
    with FakeOpenAI() as private:
        with pytest.raises(AppError, match="does not call .* loopback"):
            generate(client, base_url=private.base_url, api_key="sk-visitor-1a2b3c4d5e6f", messages=MESSAGES)
        assert private.requests == []


def test_the_tab_keeps_the_session_after_a_failure(shared_app, fake):
    """One browser session through the tab's own event: a failed run, then a good one."""
    from gradio_client.exceptions import AppError

    client = gradio_client(shared_app[0])

    def tab_run(prompt_tokens: bool):
        return client.predict("compatible", "fake-model", "", "", prompt_tokens, "HuggingFaceTB/SmolLM2-135M-Instruct",
                              "Chat template", "", "hi 🙂 there", "", 32, "Greedy (always the most likely token)", 0.7, 0.95, 50, 1.0, 42, "probability",
                              api_name="/generation_server_view")

    fake.fail("die")  # the stream dies (no prompt-token call first, which would take the fault)
    with pytest.raises(AppError, match="broke in the middle"):
        tab_run(False)
    prompt, ids, code, notes, text, chips, status, *_ = tab_run(True)
    assert text == "You said: hi 🙂 there" and "finished the answer" in status
    assert chips.count('class="gtok') == 7 and "prompt tokens, as" in prompt
    assert "logprobs=True" in code and "top_logprobs=5" in code and OPERATOR_KEY not in code


@pytest.mark.browser
def test_the_server_backend_in_a_browser(shared_app, browser, fake):
    with page_at(browser, shared_app[0], 1000) as page:
        page.get_by_role("tab", name="Generate").click()
        page.locator("#gen-backend").get_by_text("OpenAI-compatible server").click()
        page.locator("#gen-server-model input").fill("fake-model")
        page.locator("#gen-run-server").click()
        status = page.locator("#gen-status")
        status.get_by_text("Stop reason").wait_for(timeout=60_000)
        assert "finished the answer" in status.inner_text()
        chips = page.locator("#gen-chips .gtok")
        assert chips.count() >= 5
        assert page.locator("#gen-prompt .gtok").count() >= 5  # the prompt's tokens, from prompt_logprobs
        chips.nth(1).hover()
        assert chips.nth(1).locator(".tip").is_visible()
        screenshot(page, "generation-server")
        box = page.locator("#gen-user textarea")  # submitting presses the server's Generate button, not the local one
        box.fill("Enter works")
        box.press("Shift+Enter")  # a multi-line box submits on Shift+Enter
        page.wait_for_function("() => document.querySelector('#gen-output textarea').value === 'You said: Enter works'",
                               timeout=30_000)


def test_sampling_branches_from_the_servers_top5(shared_app, fake):
    """Issue 13 on a serving engine: a run, then a branch from one of the server's alternatives, one session."""
    client = gradio_client(shared_app[0])
    chips, status, tree, branch, step = client.predict(
        "compatible", "fake-model", "", "", "Chat template", "", "hi there", "", 20, 0.0, 50, 1.0, 0.0, 1.0, 42,
        api_name="/sample_server")
    assert branch["value"] == "b1" and "4 tokens" in status and chips.count('class="gtok') == 4  # a Dropdown update
    chips, status, tree, branch, step = client.predict("b1", 1, "#2", "", api_name="/continue_server")
    assert branch["value"] == "b2" and "from b1 at step 1" in status and step == 1
    assert fake.requests[-1]["body"]["messages"][-1] == {"role": "assistant", "content": "You alt1"}
    assert "You alt1and the end." in tree and "b1" in tree


@pytest.mark.browser
def test_server_branching_in_a_browser(shared_app, browser, fake):
    with page_at(browser, shared_app[0], 1200) as page:
        page.get_by_role("tab", name="Sampling").click()
        page.get_by_text("On a serving engine: branch from a server's top-5").click()
        page.locator("#smp-srv-model input").fill("fake-model")
        page.locator("#smp-srv-run").click()
        chips = page.locator("#smp-server-chips .gtok")
        page.locator("#smp-srv-status").get_by_text("done").wait_for(timeout=60_000)  # the run's end resets the step
        chips.nth(1).click()  # that step's top-5 become the choices
        page.locator("#smp-srv-alt").get_by_text("alt2").click()
        page.locator("#smp-srv-continue").click()
        page.locator("#smp-srv-status").get_by_text("from b1 at step 1").wait_for(timeout=60_000)
        assert "b2" in page.locator("#smp-srv-tree").inner_text()
        screenshot(page, "sampling-server")
