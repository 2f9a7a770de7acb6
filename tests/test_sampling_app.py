"""The Sampling tab through the launched app: `/sample`, `/sampling_step`, `/continue` with
gradio_client (one client = one session, so the runs stay in its state), and a real browser."""

from __future__ import annotations

import pytest
from conftest import screenshot

pytestmark = pytest.mark.slow

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def session(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)  # its own session: other tests' runs are not in it


def _sample(client, max_new=10, seed=42):
    return client.predict(MODEL, "Raw prompt", "", "", "The best thing about the sea is", max_new, 0.9, 50, 0.9, 0.0,
                          1.1, seed, api_name="/sample")


def test_sample_then_a_step_then_continue(session):
    chips, status, *_ = _sample(session)
    assert "b1" in status and "10 tokens" in status and chips.count('class="tok') == 10
    html, data, alternatives = session.predict("b1", 3, api_name="/sampling_step")
    assert [s["name"] for s in data["stages"]] == ["raw", "repetition penalty", "temperature", "top-k", "top-p",
                                                    "min-p", "final"]
    assert data["step"] == 3 and 0 < data["token_prob"] <= 1 and "top-k" in html
    top5 = [value for _, value in alternatives["choices"]]
    assert len(top5) == 5 and all(v.startswith("#") for v in top5)
    pick = top5[1]
    chips2, status2, tree, *_ = session.predict("b1", 3, pick, api_name="/continue")
    assert "b2" in status2 and "Reused the KV cache" in status2
    assert "from b1 at step 3" in tree
    _, data2, _ = session.predict("b2", 3, api_name="/sampling_step")
    assert data2["forced"] and data2["token"] == int(pick[1:])


def test_bad_input_gets_a_clear_message_and_the_session_keeps_working(session):
    from gradio_client.exceptions import AppError

    _sample(session, max_new=4, seed=1)
    with pytest.raises(AppError, match="beyond branch"):
        session.predict("b1", 99, api_name="/sampling_step")
    with pytest.raises(AppError, match="outside SmolLM2-135M-Instruct's vocabulary"):
        session.predict("b1", 1, "#999999", api_name="/continue")
    with pytest.raises(AppError, match="holds no run 'b99'"):
        session.predict("b99", 0, "#11", api_name="/continue")
    html, data, _ = session.predict("b1", 0, api_name="/sampling_step")
    assert data["branch"] == "b1"


def test_another_session_cannot_see_these_runs(app_url, session):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    _sample(session, max_new=3)
    stranger = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="holds no run"):
        stranger.predict("b1", 0, "#11", api_name="/continue")


@pytest.mark.browser
def test_sampling_tab_in_a_browser(page):
    page.get_by_role("tab", name="Sampling").click()
    max_new = page.locator("#smp-max-new input[type=number]")
    max_new.fill("12")  # short runs: the CPU of a test machine may be shared
    max_new.press("Enter")
    page.locator("#smp-run").click()
    status = page.locator("#smp-status")
    status.get_by_text("done").wait_for(timeout=300_000)
    chips = page.locator("#smp-chips .tok")
    assert chips.count() >= 5
    chips.nth(4).click()
    step = page.locator("#smp-step")
    step.get_by_text("step 4").wait_for(timeout=30_000)
    assert step.locator(".smp-stage").count() == 7
    page.locator("#smp-alt label").nth(1).click()  # the model's second choice at this step
    page.wait_for_function("() => document.querySelector('#smp-token textarea, #smp-token input').value.startsWith('#')",
                           timeout=10_000)
    page.locator("#smp-continue").click()
    page.locator("#smp-tree").get_by_text("from b1 at step 4").wait_for(timeout=300_000)
    status.get_by_text("done").wait_for(timeout=300_000)
    page.locator("#smp-chips .tok").nth(4).click()
    step.get_by_text("picked by you").wait_for(timeout=30_000)
    screenshot(page, "sampling")


def test_a_step_with_no_branch_picked_leaves_the_page_alone(session):
    """It returned {}, which gradio reads as one value for all three outputs: an error toast every
    time the step box or branch box was cleared."""
    session.predict("", None, api_name="/sampling_step")
    session.predict("", None, api_name="/sampling_server_step")
