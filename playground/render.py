"""Token chips as HTML: plain strings, escaped here once, styled by `assets/style.css`.

Shared by the highlighter, the comparison rows and the generation tab. Neighbouring chips
never share a colour (colour = position mod a palette size > 1).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from playground.errors import PlaygroundError
from playground.prices import money
from playground.settings import Settings
from playground.tokenization.backends import Tokenizer
from playground.tokenization.encoded import Encoded
from playground.tokenization.segments import Segment, segments
from playground.tokenization.visible import byte_segments, visible

if TYPE_CHECKING:  # only for annotations: compare and prices import this module
    from playground.compare import Comparison
    from playground.prices import CostRow

PALETTE = 7


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _pieces_html(data: bytes) -> str:
    return "".join(
        f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(part)
        for kind, part in byte_segments(data)
    )


def _visible_html(text: str, line_breaks: bool = True) -> str:
    html = escape(visible(text))
    # Keep the text's own line structure: a newline marker, then a real line break
    # (not in the aligned comparison, where a break would push one row out of line).
    return html.replace("↵", "↵<br>") if line_breaks else html


class ChipPainter:
    """Draws the segments of one tokenizer's result; shared by the highlighter and the comparison."""

    def __init__(self, tokenizer: Tokenizer, encoded: Encoded, limit: int, extra_title: Sequence[str] | None = None,
                 line_breaks: bool = True):
        self.tokenizer, self.encoded, self.line_breaks = tokenizer, encoded, line_breaks
        self.shown = min(limit, len(encoded))
        self.segments, self.stopped_at = segments(encoded, limit)
        self.ids = encoded.ids[: self.shown].tolist()
        self.strings = tokenizer.token_strings(self.ids)
        self.pieces = tokenizer.token_bytes(self.ids)
        self.special = encoded.special[: self.shown].tolist()
        self.extra_title = extra_title

    def _title(self, i: int) -> str:
        parts = [f"token #{i}", f"id {self.ids[i]}", f"vocab {self.strings[i]!r}", f"bytes {self.pieces[i].hex(' ') or '—'}"]
        if self.extra_title:
            parts.append(self.extra_title[i])
        return _attr(" · ".join(parts))

    def _chip(self, i: int, inner: str, extra: str = "") -> str:
        unknown = " unk" if self.ids[i] == self.tokenizer.unk_id else ""
        cls = f"tok c{i % PALETTE}{' special' if self.special[i] else ''}{unknown}{extra}"
        return f'<span class="{cls}" title="{self._title(i)}" data-id="{self.ids[i]}">{inner}</span>'

    def segment(self, seg: Segment) -> str:
        text = self.encoded.text
        if seg.kind == "gap":
            return (
                f'<span class="gap" title="{_attr("not inside any token: dropped or folded into a marker by this tokenizer")}">'
                f"{_visible_html(text[seg.start:seg.end], self.line_breaks)}</span>"
            )
        if seg.kind == "token":
            i = seg.tokens[0]
            if seg.start == seg.end:  # an added special token: [CLS], <s>, …
                return self._chip(i, escape(self.strings[i]))
            return self._chip(i, _visible_html(text[seg.start:seg.end], self.line_breaks))
        chips = [self._chip(i, _pieces_html(self.pieces[i]), " part") for i in seg.tokens]
        return _group_html(seg, text, chips)


def render_chips(
    tokenizer: Tokenizer, encoded: Encoded, *, limit: int, extra_title: Sequence[str] | None = None,
) -> str:
    """Chips for the first `limit` tokens; a note says how many more there are."""
    painter = ChipPainter(tokenizer, encoded, limit, extra_title)
    out = [painter.segment(seg) for seg in painter.segments]
    if painter.shown < len(encoded):
        out.append(
            f'<div class="more">… and {len(encoded) - painter.shown:,} more tokens (from character {painter.stopped_at:,}); '
            "the counts and downloads include them all.</div>"
        )
    if not out:
        out.append('<span class="empty">Type some text to see its tokens.</span>')
    return f'<div class="chips">{"".join(out)}</div>'


def _group_html(seg: Segment, text: str, chips: list[str]) -> str:
    chars = escape(visible(text[seg.start:seg.end]))
    label = _attr(f"{len(chips)} tokens share these character(s): their UTF-8 bytes are split between tokens")
    return f'<span class="grp" title="{label}"><span class="grp-char">{chars}</span>{"".join(chips)}</span>'


def ids_text(ids: Sequence[int], limit: int = 50_000) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return f"[{shown}{', …' if len(ids) > limit else ''}]"


def costs_section(tokenizer: Tokenizer, n_tokens: int, settings: Settings) -> str:
    """The cost table, or a note when prices are unavailable: tokens still show without them."""
    from playground.prices import cost_rows, price_map

    try:
        source = price_map(settings).version
        return cost_table_html(cost_rows(tokenizer, n_tokens, settings), n_tokens, source)
    except PlaygroundError as exc:
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
            f'<td title="{_attr(row.context_source)}">{bar}</td></tr>'
        )
    return (
        f'<table class="costs"><thead><tr><th>model</th><th>{n_tokens:,} tokens as input</th>'
        f"<th>… as output</th><th>context window used</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<div class="source">Prices and context windows: {escape(source)}.</div>'
    )


def comparison_html(comparison: Comparison, columns: Sequence[tuple[int, int]], limit_tokens: int) -> str:
    """Aligned rows: one column per shared span of text, one row per tokenizer.

    Column edges are positions no tokenizer has a token across, so each token sits in exactly
    one column and the same words line up down the rows. Columns whose inside some
    tokenizers cut and others do not are marked as disagreements.
    """
    text: str = comparison.text
    if not columns:
        return '<div class="chips"><span class="empty">Type some text to compare its tokens.</span></div>'
    disputed = set(comparison.disputed.tolist())
    rows = comparison.rows
    header = ['<th class="lbl">text</th>']
    for a, b in columns:
        cuts = [p for p in range(a + 1, b) if p in disputed]
        cls = ' class="disputed"' if cuts else ""
        title = f' title="{_attr(f"tokenizers disagree inside this span (at characters {cuts[:6]})")}"' if cuts else ""
        header.append(f"<th{cls}{title}>{_visible_html(text[a:b], line_breaks=False)}</th>")
    body = [f"<tr>{''.join(header)}</tr>"]
    for row in rows:
        label = escape(row.label)
        result = row.result
        if result is None:
            body.append(f'<tr><th class="lbl">{label}</th><td class="row-error" colspan="{max(1, len(columns))}">'
                        f"⚠ {escape(row.error or '')}</td></tr>")
            continue
        last_end = columns[-1][1]
        # Only the tokens that start inside the shown columns are drawn (the view may cover far less text).
        in_view = int(np.searchsorted(result.encoded.starts, last_end, side="right"))
        painter = ChipPainter(result.tokenizer, result.encoded, min(limit_tokens, in_view), line_breaks=False)
        cells: list[list[str]] = [[] for _ in columns]
        col_starts = [a for a, _ in columns]
        for seg in painter.segments:
            if seg.start > last_end or (seg.start == last_end and seg.end > seg.start):
                continue  # beyond the shown part of the text
            k = max(0, bisect.bisect_right(col_starts, seg.start) - 1)
            if seg.kind == "gap":  # a dropped run may straddle columns: split it at their edges
                while k < len(columns) and columns[k][0] < seg.end:
                    a, b = max(seg.start, columns[k][0]), min(seg.end, columns[k][1])
                    cells[k].append(painter.segment(Segment("gap", a, b)))
                    k += 1
            else:
                cells[min(k, len(columns) - 1)].append(painter.segment(seg))
        tds = "".join(f"<td>{''.join(c)}</td>" for c in cells)
        count = f'<small>{result.stats.tokens:,} tokens</small>'
        body.append(f'<tr><th class="lbl">{label}<br>{count}</th>{tds}</tr>')
    return f'<div class="cmp-scroll"><table class="cmp chips">{"".join(body)}</table></div>'
