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
    proc, url, log_path = launch_app("--queue-max-size", "2", "--generation-concurrency", "1", "--generation-batch", "1")
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
    """The next visitor is served correctly. (This does not claim the abandoned generation stops
    early: `/generate` runs to its `max_new_tokens`, which the server caps; the tab's Stop does stop.)"""
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


class _FakeHub:
    """Just enough of the Hugging Face Hub's model API on loopback: metadata of a 'huge' model."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                fake.paths.append(self.path)
                repo = self.path.split("/api/models/", 1)[-1].split("/revision/")[0].split("?")[0]
                body = json.dumps({"id": repo, "sha": "0" * 40, "private": False, "tags": [], "siblings": [],
                                   "safetensors": {"parameters": {"F32": 3_000_000_000}, "total": 3_000_000_000}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_a_typed_model_over_the_size_budget_is_refused_before_download():
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    hub = _FakeHub()
    proc, url, _ = launch_app("--no-offline", "--model-size-budget-gb", "4",
                              env={"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})
    try:
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match=r"3\.00 B parameters.*size budget on this server is 4 GB"):
            client.predict(api_name="/generate", messages=[{"role": "user", "content": "hi"}],
                           model="someone/huge-model", max_new_tokens=4)
        assert any("/api/models/someone/huge-model" in p for p in hub.paths)  # asked the metadata only
        assert not any("resolve" in p for p in hub.paths)  # …and downloaded no file
        assert client.predict(api_name="/generate", **SHORT)["ids"]  # the offline default still works
    finally:
        stop_app(proc)
        hub.close()
