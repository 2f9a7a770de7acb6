"""The Tokens tab backend: stats, chips, decode box, copy-as-code, prices, limits."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from playground.errors import InputTooLarge, InvalidInput
from playground.prices.costs import cost_rows
from playground.prices.data import price_map
from playground.tokenization.highlight import copy_as_code, decode_ids, parse_ids, tokenize_text
from playground.tokenization.render import render_chips


def test_stats_count_what_they_say(settings):
    result = tokenize_text("héllo 😀", "cl100k_base", settings)
    s = result.stats
    assert s.characters == 7 and s.bytes == len("héllo 😀".encode()) == 11
    assert s.tokens == len(result.ids) and s.chars_per_token == round(7 / s.tokens, 2)
    assert s.unknown == 0 and s.dropped_chars == 0


def test_unknown_tokens_are_counted(settings):
    result = tokenize_text("hello 😀 world", "minilm", settings)
    assert result.stats.unknown == 1  # the emoji is [UNK] in BERT's vocabulary
    assert 'class="tok c' in result.chips_html(100) and " unk" in result.chips_html(100)


def test_empty_text_is_an_empty_result_not_an_error(settings):
    result = tokenize_text("", "o200k_base", settings)
    assert result.ids == [] and result.stats.tokens == 0 and result.stats.chars_per_token is None
    assert "Type some text" in result.chips_html(10)


def test_text_over_the_limit_names_the_limit(settings):
    small = replace(settings, max_input_chars=100)
    with pytest.raises(InputTooLarge, match="limit on this server is 100 characters"):
        tokenize_text("x" * 101, "o200k_base", small)


def test_special_token_text_gets_a_note(settings):
    plain = tokenize_text("end <|endoftext|>", "cl100k_base", settings)
    assert any("plain text" in n for n in plain.notes) and 100257 not in plain.ids
    allowed = tokenize_text("end <|endoftext|>", "cl100k_base", settings, allow_special=True)
    assert 100257 in allowed.ids and allowed.stats.special == 1 and not allowed.notes


def test_chips_escape_html_and_show_whitespace(settings):
    html = tokenize_text("<b>x</b>\tnew\nline", "o200k_base", settings).chips_html(100)
    assert "<b>" not in html and "</b>" not in html and "&lt;b" in html and "&lt;/" in html
    assert "→" in html and "↵<br>" in html


def test_chips_group_split_characters_with_their_bytes(settings):
    result = tokenize_text("😀", "r50k_base", settings)
    html = result.chips_html(100)
    assert 'class="grp"' in html and '<span class="hex">' in html and "�" not in html


def test_neighbouring_chips_never_share_a_colour(settings):
    import re

    html = tokenize_text("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii", "r50k_base", settings).chips_html(100)
    colours = re.findall(r'class="tok (c\d)', html)
    assert len(colours) > 8 and all(a != b for a, b in zip(colours, colours[1:]))


def test_chip_view_is_bounded_but_counts_are_not(settings):
    text = "word " * 5000
    result = tokenize_text(text, "o200k_base", settings)
    html = render_chips(result.tokenizer, result.encoded, limit=50)
    assert html.count('class="tok ') == 50 and f"{result.stats.tokens - 50:,} more tokens" in html


def test_table_and_downloads_cover_every_token(settings):
    result = tokenize_text("Hello world, hello!", "o200k_base", settings)
    rows = list(csv.DictReader(io.StringIO(result.csv())))
    assert [int(r["id"]) for r in rows] == result.ids
    assert "".join(r["text"] for r in rows) == "Hello world, hello!"
    data = json.loads(result.json())
    assert data["stats"]["tokens"] == len(result.ids) and data["tokens"][0]["bytes"] == "48 65 6c 6c 6f"


@pytest.mark.parametrize("raw", ["[9906, 1917]", "9906 1917", "9906,1917", " 9906 ,\n1917 "])
def test_parse_ids_accepts_the_usual_forms(raw):
    assert parse_ids(raw) == [9906, 1917]


@pytest.mark.parametrize("raw", ["--5", "²", "1e3", "0x10", "٣"])
def test_parse_ids_refuses_lookalike_numbers(raw):
    with pytest.raises(InvalidInput, match="whole numbers"):
        parse_ids(raw)


def test_decode_api_refuses_non_integer_ids(settings):
    with pytest.raises(InvalidInput, match="whole numbers"):
        decode_ids(["a", 1], "cl100k_base", settings)
    with pytest.raises(InvalidInput):
        decode_ids([True], "cl100k_base", settings)


def test_decode_box_round_trips_and_explains_bad_ids(settings):
    ids = tokenize_text("Hello world", "cl100k_base", settings).ids
    out = decode_ids(ids, "cl100k_base", settings)
    assert out.text == "Hello world" and [p["id"] for p in out.pieces] == ids
    with pytest.raises(InvalidInput, match="whole numbers"):
        decode_ids("12, abc", "cl100k_base", settings)
    with pytest.raises(InvalidInput, match="Not in this tokenizer's vocabulary"):
        decode_ids("999999999", "cl100k_base", settings)
    with pytest.raises(InvalidInput, match="199998"):  # o200k's one unassigned id
        decode_ids("199998", "o200k_base", settings)


def test_tiktoken_copy_as_code_reproduces_the_ids(settings, tmp_path):
    text = "Copy me: naïve 😀\n"
    result = tokenize_text(text, "o200k_base", settings)
    code = copy_as_code(result.tokenizer, text, add_special_tokens=True, allow_special=False)
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(settings.tiktoken_dir)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.splitlines()[0] == f"{len(result.ids)} {result.ids}"


def test_hf_copy_as_code_names_the_hub_repo(settings):
    result = tokenize_text("hi", "minilm", settings)
    code = copy_as_code(result.tokenizer, "hi", add_special_tokens=False, allow_special=False)
    assert "AutoTokenizer.from_pretrained('sentence-transformers/all-MiniLM-L6-v2')" in code
    assert "add_special_tokens=False" in code
    compile(code, "snippet", "exec")


# --- prices from LiteLLM's map ---------------------------------------------------------------


def test_prices_come_from_the_shipped_map(settings):
    pm = price_map(settings)
    raw = json.loads(pm.path.read_text())
    gpt4o = pm.lookup("gpt-4o")
    assert gpt4o.input_per_token == raw["gpt-4o"]["input_cost_per_token"]
    assert gpt4o.context_window == raw["gpt-4o"]["max_input_tokens"]
    assert gpt4o.input_cost(1000) == pytest.approx(1000 * raw["gpt-4o"]["input_cost_per_token"])
    assert pm.lookup("no-such-model") is None
    assert "litellm" in pm.version


def test_models_are_grouped_by_their_encoding(settings):
    pm = price_map(settings)
    o200k = {p.model for p in pm.models_for_encoding("o200k_base", limit=200)}
    cl100k = {p.model for p in pm.models_for_encoding("cl100k_base", limit=200)}
    assert {"gpt-4o", "gpt-4.1-mini"} <= o200k and "gpt-4" in cl100k and not o200k & cl100k


def test_cost_rows_for_hub_models_have_no_price_but_a_context(settings):
    result = tokenize_text("hello", "HuggingFaceTB/SmolLM2-135M-Instruct", settings)
    (row,) = cost_rows(result.tokenizer, 100, settings)
    assert row.input_cost is None and row.context_window == 8192 and "max_position_embeddings" in row.context_source


def test_cost_table_says_no_price_listed_not_zero(settings):
    from playground.prices.render import cost_table_html

    result = tokenize_text("hello", "minilm", settings)
    html = cost_table_html(cost_rows(result.tokenizer, 3, settings), 3, "test")
    assert "no price listed" in html and "$0" not in html


def test_without_a_price_map_tokens_still_show_and_costs_say_why(settings, tmp_path):
    from playground.prices.render import costs_section

    bare = replace(settings, cache_dir=tmp_path)  # no pack here, offline: no way to get prices
    tokenizer = tokenize_text("hello", "o200k_base", settings).tokenizer
    html = costs_section(tokenizer, 1, bare)
    assert "Prices are unavailable" in html and "pack build" in html
