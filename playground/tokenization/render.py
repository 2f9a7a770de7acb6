"""Token chips as HTML: plain strings, escaped here once, styled by `assets/style.css`.

Shared by the Tokens tab, the comparison rows (`compare_render`) and the Generate tab.
Neighbouring chips never share a colour (colour = position mod a palette size > 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from playground.tokenization.backends import Tokenizer
from playground.tokenization.encoded import Encoded
from playground.tokenization.segments import Segment, segments
from playground.tokenization.visible import byte_segments, visible

PALETTE = 7


def attr(text: str) -> str:
    return escape(text, quote=True)


def pieces_html(data: bytes) -> str:
    """A token's bytes as text, with the bytes that are part of a split character shown as hex."""
    return "".join(
        f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(part)
        for kind, part in byte_segments(data)
    )


def visible_html(text: str, line_breaks: bool = True) -> str:
    html = escape(visible(text))
    # Keep the text's own line structure: a newline marker, then a real line break
    # (not in the aligned comparison, where a break would push one row out of line).
    return html.replace("↵", "↵<br>") if line_breaks else html


class ChipPainter:
    """Draws the segments of one tokenizer's result; shared by the Tokens tab and the comparison."""

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
        return attr(" · ".join(parts))

    def _chip(self, i: int, inner: str, extra: str = "") -> str:
        unknown = " unk" if self.ids[i] == self.tokenizer.unk_id else ""
        cls = f"tok c{i % PALETTE}{' special' if self.special[i] else ''}{unknown}{extra}"
        return f'<span class="{cls}" title="{self._title(i)}" data-id="{self.ids[i]}">{inner}</span>'

    def segment(self, seg: Segment) -> str:
        text = self.encoded.text
        if seg.kind == "gap":
            return (
                f'<span class="gap" title="{attr("not inside any token: dropped or folded into a marker by this tokenizer")}">'
                f"{visible_html(text[seg.start:seg.end], self.line_breaks)}</span>"
            )
        if seg.kind == "token":
            i = seg.tokens[0]
            if seg.start == seg.end:  # an added special token: [CLS], <s>, …
                return self._chip(i, escape(self.strings[i]))
            return self._chip(i, visible_html(text[seg.start:seg.end], self.line_breaks))
        chips = [self._chip(i, pieces_html(self.pieces[i]), " part") for i in seg.tokens]
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
    label = attr(f"{len(chips)} tokens share these character(s): their UTF-8 bytes are split between tokens")
    return f'<span class="grp" title="{label}"><span class="grp-char">{chars}</span>{"".join(chips)}</span>'


def ids_text(ids: Sequence[int], limit: int = 50_000) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return f"[{shown}{', …' if len(ids) > limit else ''}]"
