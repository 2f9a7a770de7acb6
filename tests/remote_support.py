"""Fixtures shared by the tests of remote calls: the loopback OpenAI-compatible server, reset per test.

    from remote_support import fake, server  # noqa: F401  (pytest finds fixtures by name)
"""

from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAI


@pytest.fixture(scope="module")
def server():
    """One fake server per test module (its "timeout" fault sleeps 2 s: longer than the tests' 0.5 s timeout)."""
    with FakeOpenAI(sleep_s=2.0) as fake:
        yield fake


@pytest.fixture
def fake(server):
    """The module's server with no queued faults and no recorded requests, before and after the test."""
    server.reset()
    yield server
    server.reset()


def gradio_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)
