"""The result of tokenizing a text: ids and where each token sits in that text.

Columnar numpy arrays rather than one object per token: a megabyte of text is a quarter of a
million tokens, and the Tokens tab must stay within a small factor of the raw `encode`.
Offsets are in characters (Python string indices) of `text`, half-open `[start, end)`.
Special tokens the tokenizer adds itself ([CLS], <s>) have `start == end`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Encoded:
    text: str
    ids: np.ndarray  # int64, shape (n,)
    starts: np.ndarray  # int64, shape (n,)
    ends: np.ndarray  # int64, shape (n,)
    special: np.ndarray  # bool, shape (n,): a special/control token (added or typed and allowed)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def id_list(self) -> list[int]:
        return [int(i) for i in self.ids.tolist()]


def char_offsets_from_byte_lengths(text: str, byte_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Character spans of consecutive byte-level tokens.

    A byte-level token may end in the middle of a multi-byte character (an emoji split
    over two tokens). Such a token's span includes the whole character, so two tokens then
    share it; the view groups them. Vectorised because this runs once per token of a
    megabyte of text.
    """
    n = byte_lengths.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    # Index of the character each byte belongs to: count of character-start bytes so far.
    char_of_byte = np.cumsum((raw & 0xC0) != 0x80, dtype=np.int64) - 1
    byte_ends = np.cumsum(byte_lengths, dtype=np.int64)
    byte_starts = byte_ends - byte_lengths
    if byte_ends[-1] != raw.shape[0]:
        raise AssertionError("token bytes do not add up to the text's UTF-8 length")
    return char_of_byte[byte_starts], char_of_byte[byte_ends - 1] + 1
