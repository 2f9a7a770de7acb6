"""Token chips as HTML: plain strings, escaped here once, styled by `assets/style.css`.

Shared by the highlighter, the comparison rows and the generation tab. Neighbouring chips
never share a colour (colour = position mod a palette size > 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from playground.tokenization.backends import Tokenizer
from playground.tokenization.encoded import Encoded
from playground.tokenization.segments import Segment, segments
from playground.tokenization.visible import byte_segments, visible

PALETTE = 7


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _pieces_html(data: bytes) -> str:
    return "".join(
        f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(part)
        for kind, part in byte_segments(data)
    )


def _visible_html(text: str) -> str:
    html = escape(visible(text))
    # Keep the text's own line structure: a newline marker, then a real line break.
    return html.replace("↵", "↵<br>")


def render_chips(
    tokenizer: Tokenizer, encoded: Encoded, *, limit: int, extra_title: Sequence[str] | None = None,
) -> str:
    """Chips for the first `limit` tokens; a note says how many more there are."""
    segs, stopped_at = segments(encoded, limit)
    shown = min(limit, len(encoded))
    ids = encoded.ids[:shown].tolist()
    strings = tokenizer.token_strings(ids)
    pieces = tokenizer.token_bytes(ids)
    special = encoded.special[:shown].tolist()
    text = encoded.text

    def title(i: int) -> str:
        parts = [f"token #{i}", f"id {ids[i]}", f"vocab {strings[i]!r}", f"bytes {pieces[i].hex(' ') or '—'}"]
        if extra_title:
            parts.append(extra_title[i])
        return _attr(" · ".join(parts))

    def chip(i: int, inner: str, extra: str = "") -> str:
        unknown = " unk" if ids[i] == tokenizer.unk_id else ""
        cls = f"tok c{i % PALETTE}{' special' if special[i] else ''}{unknown}{extra}"
        return f'<span class="{cls}" title="{title(i)}" data-id="{ids[i]}">{inner}</span>'

    out: list[str] = []
    for seg in segs:
        if seg.kind == "gap":
            out.append(
                f'<span class="gap" title="{_attr("not inside any token: dropped or folded into a marker by this tokenizer")}">'
                f"{_visible_html(text[seg.start:seg.end])}</span>"
            )
        elif seg.kind == "token":
            i = seg.tokens[0]
            if seg.start == seg.end:  # an added special token: [CLS], <s>, …
                out.append(chip(i, escape(strings[i])))
            else:
                out.append(chip(i, _visible_html(text[seg.start:seg.end])))
        else:
            out.append(_group_html(seg, text, [chip(i, _pieces_html(pieces[i]), " part") for i in seg.tokens]))
    if shown < len(encoded):
        out.append(
            f'<div class="more">… and {len(encoded) - shown:,} more tokens (from character {stopped_at:,}); '
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


def money(value: float | None) -> str:
    if value is None:
        return "no price listed"
    if value == 0:
        return "$0"
    return f"${value:.6f}" if value < 0.01 else f"${value:,.4f}"


def cost_table_html(rows: Sequence[object], n_tokens: int, source: str) -> str:
    """Per-model cost of the text and a bar for the share of the context window it fills."""
    if not rows:
        return '<div class="costs empty">No OpenAI model in the price map uses this encoding.</div>'
    body = []
    for row in rows:
        frac = getattr(row, "context_fraction")
        window = getattr(row, "context_window")
        width = 0 if frac is None else max(0.5, min(100.0, frac * 100))
        over = frac is not None and frac > 1
        bar = (
            f'<div class="bar{" over" if over else ""}"><span style="width:{width:.1f}%"></span></div>'
            f'<small>{frac * 100:.3g}% of {window:,}</small>' if frac is not None else "<small>context unknown</small>"
        )
        body.append(
            f"<tr><td><code>{escape(getattr(row, 'model'))}</code></td>"
            f"<td>{money(getattr(row, 'input_cost'))}</td><td>{money(getattr(row, 'output_cost'))}</td>"
            f'<td title="{_attr(getattr(row, "context_source"))}">{bar}</td></tr>'
        )
    return (
        f'<table class="costs"><thead><tr><th>model</th><th>{n_tokens:,} tokens as input</th>'
        f"<th>… as output</th><th>context window used</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<div class="source">Prices and context windows: {escape(source)}.</div>'
    )
