"""The comparison as HTML: aligned rows of chips, one column per span of text all tokenizers share."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from html import escape

import numpy as np

from playground.tokenization.compare import Comparison
from playground.tokenization.render import ChipPainter, attr, visible_html
from playground.tokenization.segments import Segment


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
        title = f' title="{attr(f"tokenizers disagree inside this span (at characters {cuts[:6]})")}"' if cuts else ""
        header.append(f"<th{cls}{title}>{visible_html(text[a:b], line_breaks=False)}</th>")
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
