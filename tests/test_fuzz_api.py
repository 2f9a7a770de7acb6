"""Fuzz every public endpoint of the launched app through `gradio_client`.

Arguments follow each endpoint's API types (`client.view_api()`): mostly values of the right
type (odd Unicode, empty, huge, out of range), sometimes junk of any type (nested lists and
objects, nulls, numbers for text). Every call must either answer or fail with the app's own
clear message: never the generic "something went wrong" (an unhandled exception), never a bare
"Error". A normal request to each endpoint still works afterwards, and the app logged no bug.

The app is the shared configuration (`--exposed`: typed model ids and base URLs off). Runs are
derandomized and small by default; `FUZZ_EXAMPLES=1000 pytest tests/test_fuzz_api.py -m slow --timeout 0`
explores that many cases per endpoint (past the suite's 600 s per-test timeout).
"""

from __future__ import annotations

import os

import pytest
from conftest import launch_app, stop_app
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from playground.ui.common import GENERIC_ERROR

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
FUZZ = hsettings(max_examples=EXAMPLES, deadline=None, derandomize="FUZZ_EXAMPLES" not in os.environ,
                 database=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=4), max_leaves=12)
# Lone surrogates cannot be sent as JSON by any client; tests/test_fuzz.py feeds them to the backends.
odd = st.sampled_from(["", " ", "\n\t", "\x00", "\u202e\u200b", "e\u0301" * 40, "🧪" * 60,
                       "<|endoftext|>", "<|im_start|>system", "${x}", "../../etc/passwd", "x" * 200_001])
text = st.one_of(st.text(max_size=60), odd)
whole = st.one_of(st.integers(-3, 12), st.integers(-2**70, 2**70), st.sampled_from([0, 1, 2**31, -2**63]))
number = st.one_of(st.floats(-3, 3), st.floats(allow_nan=False, allow_infinity=False))


def typed(strategy):
    """Mostly the right type, sometimes junk of any type."""
    return st.one_of(strategy, strategy, strategy, junk)


def names(*known: str):
    return typed(st.one_of(st.sampled_from(known), text))


messages = st.lists(st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool", ""]), "content": text}),
    st.dictionaries(st.text(max_size=8), junk, max_size=3)), max_size=4)

ENDPOINTS = {
    "/tokenize": st.tuples(typed(text), names("o200k_base", "cl100k_base", "minilm", "gpt2", "qwen"),
                           typed(st.booleans()), typed(st.booleans())),
    "/decode": st.tuples(typed(st.lists(whole, max_size=20)), names("o200k_base", "cl100k_base", "minilm")),
    "/compare": st.tuples(typed(text), typed(st.lists(st.one_of(st.sampled_from(["o200k_base", "minilm", "gpt2"]),
                                                                text), max_size=6))),
    "/generate": st.tuples(typed(text), typed(st.one_of(st.none(), messages)),
                           names("HuggingFaceTB/SmolLM2-135M-Instruct"), typed(st.integers(-2, 3) | whole),
                           typed(st.booleans()), typed(number), typed(number), typed(whole), typed(number),
                           typed(st.one_of(st.none(), whole)), names("local", "compatible"),
                           names("http://127.0.0.1:9/v1", ""), names("sk-test-key", ""), typed(st.booleans())),
    "/embed_search": st.tuples(typed(text), typed(st.lists(text, max_size=5)),
                               names("minilm", "text-embedding-3-small", "api:x"), typed(whole), names("PCA"),
                               typed(whole), names("http://127.0.0.1:9/v1", ""), names("sk-test-key", "")),
    "/word_neighbors": st.tuples(typed(st.one_of(st.sampled_from(["king", "paris", "the"]), text)),
                                 names("minilm-static"), typed(whole)),
    "/analogy": st.tuples(*[typed(st.one_of(st.sampled_from(["king", "man", "woman"]), text))] * 3,
                          names("minilm-static"), typed(whole)),
    "/chat": st.tuples(typed(messages), typed(text), names("local", "openai", "compatible"),
                       names("HuggingFaceTB/SmolLM2-135M-Instruct", "gpt-4o-mini"),
                       names("http://127.0.0.1:9/v1", ""), names("sk-test-key"), typed(text), typed(st.booleans()),
                       typed(st.integers(-2, 3) | whole), typed(number), typed(st.booleans()),
                       typed(st.one_of(st.none(), whole))),
}

# One request per endpoint that must work, before and after the fuzzing.
NORMAL = {
    "/tokenize": ("hello", "o200k_base", True, False),
    "/decode": ([24912], "o200k_base"),
    "/compare": ("hello world", ["o200k_base", "cl100k_base"]),
    "/generate": ("The capital of France is", None, "HuggingFaceTB/SmolLM2-135M-Instruct", 2, False, 0.7, 0.95, 50,
                  1.0, None, "local", "", "", True),
    "/embed_search": ("a cat", ["a dog", "a car", "a kitten"], "minilm", 2, "PCA", 0, "", ""),
    "/word_neighbors": ("king", "minilm-static", 3),
    "/analogy": ("king", "man", "woman", "minilm-static", 3),
    "/chat": ([], "Hi", "local", "", "", "", "", True, 2, 0.0, False, None),
}


@pytest.fixture(scope="module")
def fuzz_app():
    proc, url, log_path = launch_app("--exposed")
    yield url, log_path
    stop_app(proc)


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app):
    from gradio_client import Client

    return Client(fuzz_app[0], verbose=False)


def call(client, endpoint: str, args: tuple) -> None:
    from gradio_client.exceptions import AppError

    try:
        client.predict(*args, api_name=endpoint)
    except AppError as exc:
        message = str(exc)
        assert message.strip() and message.strip() != "Error", (endpoint, args)
        assert GENERIC_ERROR not in message, (endpoint, args, message)


def test_the_normal_requests_and_their_defaults(fuzz_client):
    names = {ep.removeprefix("/") for ep in NORMAL}
    endpoints = fuzz_client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {n.removeprefix("/") for n in endpoints} >= names
    for endpoint, args in NORMAL.items():
        assert len(args) == len(endpoints[endpoint]["parameters"]), endpoint
        fuzz_client.predict(*args, api_name=endpoint)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_fuzz_endpoint(fuzz_client, fuzz_app, endpoint):
    @FUZZ
    @given(args=ENDPOINTS[endpoint])
    def run(args):
        call(fuzz_client, endpoint, args)

    run()
    fuzz_client.predict(*NORMAL[endpoint], api_name=endpoint)  # still works
    log = fuzz_app[1].read_text(errors="replace")
    assert "unhandled" not in log, log[-3000:]
