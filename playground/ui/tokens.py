"""Tokens tab: text → coloured tokens, ids, stats, costs, code, downloads (backend: `playground.tokenization`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.prices.render import costs_section
from playground.settings import Settings
from playground.tokenization import samples
from playground.tokenization.highlight import Highlight, copy_as_code, decode_ids, tokenize_text
from playground.tokenization.load import choices
from playground.tokenization.render import ids_text
from playground.ui.api_types import checked
from playground.ui.common import at_edge, download_file, stats_markdown
from playground.ui.queues import queue

DEFAULT_TOKENIZER = "o200k_base"


@dataclass
class TokensTab:
    """Components other tabs reuse (the shared text)."""

    text: gr.Textbox
    tokenizer: gr.Dropdown


def stats_line(result: Highlight) -> str:
    s = result.stats
    pairs: list[tuple[str, object]] = [
        ("tokens", s.tokens), ("characters", s.characters), ("bytes (UTF-8)", s.bytes),
        ("characters per token", s.chars_per_token),
    ]
    if result.tokenizer.unk_id is not None:
        pairs.append(("unknown [UNK]", s.unknown))
    if s.special:
        pairs.append(("special", s.special))
    if s.dropped_chars:
        pairs.append(("characters in no token", s.dropped_chars))
    return stats_markdown(pairs)


def build_tab(settings: Settings, shared: dict[str, Any]) -> TokensTab:
    gr.Markdown(
        "Type or paste text and see how a tokenizer cuts it. Each chip is one token; hover a chip for its id, "
        "its vocabulary entry and its bytes. `·` is a space, `→` a tab, `↵` a newline. Grey text belongs to no "
        "token; hex like `F0 9F` is part of a character whose bytes are split across tokens."
    )
    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(value=samples.DEFAULT, lines=6, max_lines=20, label="Your text",
                              elem_id="shared-text", max_length=settings.max_input_chars)
            gr.Examples([[t] for t in samples.TEXTS.values()], inputs=[text], example_labels=list(samples.TEXTS),
                        label="Try", examples_per_page=12)
        with gr.Column(scale=2):
            tokenizer = gr.Dropdown(choices(settings), value=DEFAULT_TOKENIZER, allow_custom_value=True,
                                    label="Tokenizer (or type an OpenAI model like gpt-4.1-mini, or a Hugging Face id)",
                                    elem_id="tokenizer")
            add_special = gr.Checkbox(True, label="Add the tokenizer's own special tokens ([CLS], <s>, …)")
            allow_special = gr.Checkbox(False, label="Allow special tokens typed in the text (<|endoftext|>, …)")
            view = gr.Radio(["Tokens", "Ids"], value="Tokens", label="Show", elem_id="view")
    stats = gr.Markdown(elem_id="stats")
    notes = gr.Markdown(elem_id="notes")
    chips = gr.HTML(elem_id="chips")
    ids_box = gr.Textbox(label="Token ids", lines=4, visible=False, buttons=["copy"], elem_id="ids")
    with gr.Accordion("Cost and context window", open=True):
        costs = gr.HTML()
    with gr.Accordion("Token table and downloads", open=False):
        table = gr.Dataframe(headers=["index", "id", "token", "text", "start", "end", "bytes", "special"],
                             interactive=False, max_height=360, label="First 500 tokens")
        export = gr.Button("Export the whole table as CSV and JSON")
        files = gr.File(label="Downloads", file_count="multiple", interactive=False)
    with gr.Accordion("Decode ids back into text", open=False):
        with gr.Row():
            ids_in = gr.Textbox(label="Ids (e.g. 9906, 1917 or [9906, 1917])", scale=3)
            decode_btn = gr.Button("Decode", scale=1)
        decoded = gr.Textbox(label="Decoded text", lines=2, buttons=["copy"])
        decoded_pieces = gr.Dataframe(headers=["id", "token", "bytes", "text"], interactive=False, max_height=300)
    with gr.Accordion("Copy as code", open=False):
        code = gr.Code(language="python", label="Reproduce this view")

    @at_edge
    def update(text_value: str, name: str, add: bool, allow: bool, view_mode: str) -> dict[Any, Any]:
        result = tokenize_text(text_value or "", name, settings, add_special_tokens=add, allow_special=allow)
        n = result.stats.tokens
        return {
            stats: stats_line(result),
            notes: "\n".join(f"⚠ {note}" for note in result.notes),
            chips: gr.update(value=result.chips_html(settings.max_view_tokens), visible=view_mode == "Tokens"),
            ids_box: gr.update(value=ids_text(result.ids), visible=view_mode == "Ids"),
            costs: costs_section(result.tokenizer, n, settings),
            table: [list(r.values()) for r in result.rows(limit=500)],
            code: copy_as_code(result.tokenizer, text_value or "", add_special_tokens=add, allow_special=allow),
        }

    @at_edge
    def export_files(text_value: str, name: str, add: bool, allow: bool) -> list[str]:
        result = tokenize_text(text_value or "", name, settings, add_special_tokens=add, allow_special=allow)
        return [download_file("tokens.csv", result.csv()), download_file("tokens.json", result.json())]

    @at_edge
    def decode(raw: str, name: str) -> tuple[str, list[list[Any]]]:
        out = decode_ids(raw or "", name, settings)
        return out.text, [list(p.values()) for p in out.pieces]

    inputs = [text, tokenizer, add_special, allow_special, view]
    gr.on([shared["demo"].load, text.change, tokenizer.change, add_special.change, allow_special.change, view.change],
          update, inputs, [stats, notes, chips, ids_box, costs, table, code],
          api_name="highlight_view", api_visibility="undocumented", trigger_mode="always_last",
          show_progress="minimal", **queue("tokenizers", settings))
    export.click(export_files, inputs[:4], files, api_name="export_tokens", api_visibility="undocumented",
                 **queue("tokenizers", settings))
    gr.on([decode_btn.click, ids_in.submit], decode, [ids_in, tokenizer], [decoded, decoded_pieces],
          api_name="decode_view", api_visibility="undocumented", **queue("tokenizers", settings))
    register_api(settings)
    return TokensTab(text=text, tokenizer=tokenizer)


def register_api(settings: Settings) -> None:
    """`/tokenize` and `/decode`: plain JSON for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def tokenize(text: str, tokenizer: str = DEFAULT_TOKENIZER, add_special_tokens: bool = True,
                 allow_special: bool = False) -> dict[str, Any]:
        """Tokenize `text`; returns the ids, each token's span, vocabulary entry and bytes, and stats."""
        result = tokenize_text(text or "", tokenizer, settings, add_special_tokens=add_special_tokens,
                               allow_special=allow_special)
        return {"tokenizer": result.tokenizer.spec.id, "ids": result.ids, "stats": result.stats.__dict__,
                "tokens": result.rows(), "notes": result.notes}

    @at_edge
    @checked
    def decode(ids: list[int], tokenizer: str = DEFAULT_TOKENIZER) -> dict[str, Any]:
        """Decode token ids back into text, with each id's piece."""
        out = decode_ids(ids, tokenizer, settings)
        return {"text": out.text, "pieces": out.pieces}

    gr.api(tokenize, api_name="tokenize", **queue("tokenizers", settings))
    gr.api(decode, api_name="decode", **queue("tokenizers", settings))
