"""The cost table: per-model cost of a text and the share of the context window it fills."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from playground.prices.costs import CostRow, cost_rows
from playground.prices.data import PricesUnavailable, money, price_map
from playground.settings import Settings
from playground.tokenization.backends import Tokenizer
from playground.tokenization.render import attr


def costs_section(tokenizer: Tokenizer, n_tokens: int, settings: Settings) -> str:
    """The cost table, or a note when prices are unavailable: tokens still show without them."""
    try:
        source = price_map(settings).version
        return cost_table_html(cost_rows(tokenizer, n_tokens, settings), n_tokens, source)
    except PricesUnavailable as exc:
        return f'<div class="costs empty">⚠ {escape(str(exc))}</div>'


def cost_table_html(rows: Sequence[CostRow], n_tokens: int, source: str) -> str:
    """Per-model cost of the text and a bar for the share of the context window it fills."""
    if not rows:
        return '<div class="costs empty">No OpenAI model in the price map uses this encoding.</div>'
    body = []
    for row in rows:
        frac = row.context_fraction
        window = row.context_window
        width = 0 if frac is None else max(0.5, min(100.0, frac * 100))
        over = frac is not None and frac > 1
        bar = (
            f'<div class="bar{" over" if over else ""}"><span style="width:{width:.1f}%"></span></div>'
            f'<small>{frac * 100:.3g}% of {window:,}</small>' if frac is not None else "<small>context unknown</small>"
        )
        body.append(
            f"<tr><td><code>{escape(row.model)}</code></td>"
            f"<td>{money(row.input_cost)}</td><td>{money(row.output_cost)}</td>"
            f'<td title="{attr(row.context_source)}">{bar}</td></tr>'
        )
    return (
        f'<table class="costs"><thead><tr><th>model</th><th>{n_tokens:,} tokens as input</th>'
        f"<th>… as output</th><th>context window used</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<div class="source">Prices and context windows: {escape(source)}.</div>'
    )
