"""Every torch call of the Embeddings tab runs on the runtime's torch thread, on the device and dtype
the runtime chose: sentence encoding, contextual vectors, the word-vector matrix read and the loads.

Forward hooks on the real offline MiniLM record which thread ran each forward pass."""

from __future__ import annotations

import threading

import pytest

from playground import runtime
from playground.embeddings import examples, search
from playground.embeddings import words as wv
from playground.embeddings.catalogue import get
from playground.embeddings.contextual import contextual_compare
from playground.embeddings.models import load_sentence_model

pytestmark = pytest.mark.slow


def test_model_is_on_the_runtime_device_and_dtype(settings) -> None:
    model = load_sentence_model(get("minilm"), settings)
    device, dtype = runtime.device_and_dtype()
    parameter = next(model.parameters())
    assert parameter.device.type == device and parameter.dtype == dtype


def test_encode_and_contextual_run_on_the_torch_thread(settings) -> None:
    model = load_sentence_model(get("minilm"), settings)
    threads: list[str] = []
    record = lambda *_: threads.append(threading.current_thread().name)  # noqa: E731
    # encode calls the sentence-transformers module (which calls the BERT's forward directly);
    # the contextual view calls the BERT itself: one hook on each.
    hooks = [model[0].register_forward_hook(record), model[0].auto_model.register_forward_hook(record)]
    try:
        vectors = search.encode(get("minilm"), ["a first text", "a second one"], settings)
        assert vectors.shape == (2, 384) and str(vectors.dtype) == "float32"
        contextual_compare("bank", examples.CONTEXT_SENTENCES, "minilm", settings)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(threads) == 2
    assert all(name.startswith(runtime.THREAD_NAME + "_") for name in threads), threads
    assert not runtime.on_torch_thread()  # the test itself ran on its own thread


def test_static_word_vectors_are_read_through_the_runtime(settings) -> None:
    vectors = wv.load_source("minilm-static", settings)
    model = load_sentence_model(get("minilm"), settings)
    table = runtime.call(runtime.to_numpy, model[0].auto_model.get_input_embeddings().weight)
    vocab = model[0].tokenizer.get_vocab()
    assert (vectors.kv["queen"] == table[vocab["queen"]]).all()


def test_dimensions_with_a_local_model_are_named_not_applied(settings) -> None:
    from playground.embeddings import remote

    result = search.embed_search("hello", ["a text", "another"], "minilm", 1, "PCA", settings,
                                 api=remote.ApiOptions(dimensions=8))
    assert result.dimensions == 384 and any("API models only" in n for n in result.notes)
