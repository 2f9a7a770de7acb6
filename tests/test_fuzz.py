"""Fuzz the backend entry points: any input either works or fails with a PlaygroundError.

No other exception may escape (it would reach the visitor as "something went wrong").
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from playground.errors import PlaygroundError
from playground.tokenization.compare import compare
from playground.tokenization.highlight import decode_ids, parse_ids, tokenize_text

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
any_text = st.text(max_size=300)  # every code point, lone surrogates and NUL included
names = st.one_of(
    st.sampled_from(["o200k_base", "cl100k_base", "minilm", "qwen", "HuggingFaceTB/SmolLM2-135M-Instruct",
                     "gpt-4.1-mini", "google/flan-t5-small", "gpt2", ""]),
    st.text(max_size=40),
)


def survives(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except PlaygroundError as exc:
        assert str(exc), "an error must say something"


@FUZZ
@given(text=any_text, name=names, add=st.booleans(), allow=st.booleans())
def test_tokenize(settings, text, name, add, allow):
    survives(tokenize_text, text, name, replace(settings, max_input_chars=200), add_special_tokens=add, allow_special=allow)


@FUZZ
@given(raw=st.one_of(st.text(max_size=60), st.lists(st.integers(-2**40, 2**40), max_size=20)), name=names)
def test_decode(settings, raw, name):
    survives(decode_ids, raw, name, settings)


@FUZZ
@given(raw=st.text(max_size=60))
def test_parse_ids(raw):
    survives(parse_ids, raw)


@FUZZ
@given(text=any_text, picked=st.lists(names, max_size=14))
def test_compare(settings, text, picked):
    survives(compare, text, picked, replace(settings, max_input_chars=200))


@pytest.mark.parametrize("size", [0, 1, 200_001])
def test_empty_and_huge(settings, size):
    survives(tokenize_text, "x" * size, "o200k_base", settings)
    survives(compare, "x" * size, ["o200k_base", "minilm"], settings)
