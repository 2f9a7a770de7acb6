"""Faults on a shared server: after each, the app answers the next normal request correctly."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import launch_app, stop_app

pytestmark = pytest.mark.slow
LONG = {"messages": [{"role": "user", "content": "Write a long story about a dragon."}], "max_new_tokens": 60}
SHORT = {"messages": [{"role": "user", "content": "Say hi."}], "max_new_tokens": 4}


@pytest.fixture(scope="module")
def tiny_queue_app():
    proc, url, log_path = launch_app("--queue-max-size", "2", "--generation-concurrency", "1")
    yield url
    stop_app(proc)


def test_a_full_queue_answers_busy_and_recovers(tiny_queue_app):
    from gradio_client import Client

    clients = [Client(tiny_queue_app, verbose=False) for _ in range(6)]

    def generate(client):
        try:
            return "ok", client.predict(api_name="/generate", **LONG)["stop_reason"]
        except Exception as exc:  # noqa: BLE001 - the kind of failure is what is asserted
            return "error", str(exc)

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = list(pool.map(generate, clients))
    busy = [msg for kind, msg in outcomes if kind == "error"]
    assert busy, outcomes  # six at once into a queue of two: some must be told
    assert all("queue is full" in msg.lower() for msg in busy), busy  # …and told plainly, nothing else
    assert any(kind == "ok" for kind, _ in outcomes)
    # The next normal requests work.
    assert clients[0].predict("hello", "o200k_base", api_name="/tokenize")["ids"] == [24912]
    assert clients[1].predict(api_name="/generate", **SHORT)["stop_reason"] in {"eos", "max_new_tokens"}


def test_a_client_that_leaves_mid_generation_does_not_block_the_next(tiny_queue_app):
    from gradio_client import Client

    leaver = Client(tiny_queue_app, verbose=False)
    job = leaver.submit(api_name="/generate", **LONG)
    time.sleep(1.5)  # it is generating now
    job.cancel()
    leaver.close()
    started = time.monotonic()
    result = Client(tiny_queue_app, verbose=False).predict(api_name="/generate", **SHORT)
    assert result["stop_reason"] in {"eos", "max_new_tokens"} and result["ids"]
    assert time.monotonic() - started < 60


def test_hub_unreachable_then_normal_requests_work(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="needs the Hugging Face Hub"):
        client.predict(api_name="/generate", messages=[{"role": "user", "content": "hi"}],
                       model="Qwen/Qwen2.5-0.5B-Instruct", max_new_tokens=4)
    assert client.predict(api_name="/generate", **SHORT)["ids"]
