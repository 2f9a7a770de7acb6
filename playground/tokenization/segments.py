"""Turn token spans into display segments that tile the text exactly.

Every character of the input ends up in exactly one segment:
- a `token` segment: one token whose span no other token shares;
- a `group` segment: consecutive tokens sharing characters (the bytes of one emoji split
  over two byte-level tokens), shown under the character(s) they make up;
- a `gap` segment: characters no token's offsets cover (spaces a WordPiece tokenizer drops,
  a newline T5 removes), shown greyed so nothing silently disappears.
Zero-width special tokens ([CLS], [SEP]) are `token` segments with an empty span.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from playground.tokenization.encoded import Encoded


@dataclass(frozen=True)
class Segment:
    kind: str  # "token", "group" or "gap"
    start: int
    end: int
    tokens: tuple[int, ...] = field(default=())  # positions in the token sequence


def segments(encoded: Encoded, limit: int | None = None) -> tuple[list[Segment], int]:
    """Segments for the first `limit` tokens, and the character position where they stop."""
    n = len(encoded) if limit is None else min(limit, len(encoded))
    starts, ends = encoded.starts[:n].tolist(), encoded.ends[:n].tolist()
    out: list[Segment] = []
    pos = 0
    i = 0
    while i < n:
        start, end = starts[i], ends[i]
        if start > pos:
            out.append(Segment("gap", pos, start))
        j = i + 1
        group_end = end
        while j < n and starts[j] < group_end and ends[j] > starts[j]:
            group_end = max(group_end, ends[j])
            j += 1
        if j - i > 1:
            out.append(Segment("group", start, group_end, tuple(range(i, j))))
        else:
            out.append(Segment("token", start, end, (i,)))
        pos = max(pos, group_end)
        i = j
    if n == len(encoded) and pos < len(encoded.text):
        out.append(Segment("gap", pos, len(encoded.text)))
    return out, pos


def dropped_chars(encoded: Encoded) -> int:
    """How many characters no token's offsets cover (0 for byte-level tokenizers). Vectorised."""
    if len(encoded) == 0:
        return len(encoded.text)
    reached = np.maximum.accumulate(encoded.ends)
    before = np.concatenate(([0], reached[:-1]))
    return int(np.clip(encoded.starts - before, 0, None).sum() + max(0, len(encoded.text) - int(reached[-1])))
