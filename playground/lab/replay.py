"""Replay the BPE merges of a real tiktoken vocabulary, step by step, as a tree.

tiktoken's encoder splits the text with its regex into pieces, then, inside each piece,
merges the adjacent pair whose joined bytes have the lowest rank, again and again, until no
adjacent pair is in the vocabulary (`_byte_pair_merge` in tiktoken's `src/lib.rs`; leftmost
first among equal ranks). A piece that is itself in the vocabulary is looked up whole,
without merging. This module does the same in Python, recording every merge, and the tests
check that the final pieces are exactly what `encode_ordinary` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.errors import InputTooLarge, InvalidInput

MAX_REPLAY_CHARS = 400  # a replay is for a word or a short text: every step is drawn
ENCODINGS = ("o200k_base", "cl100k_base", "r50k_base")


@dataclass
class Node:
    """A token in the merge tree: a single byte (leaf) or the merge of two nodes."""

    data: bytes
    rank: int  # the token id (= its merge rank in tiktoken)
    step: int | None = None  # the merge step that made it; None for a byte
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Merge:
    step: int  # 1-based, over the whole text
    piece: int  # which regex piece
    left: bytes
    right: bytes
    rank: int


@dataclass(frozen=True)
class PieceReplay:
    text: str
    roots: list[Node]  # the final tokens of this piece, each with its merge tree
    whole: bool  # the piece was looked up whole (it is in the vocabulary)


@dataclass(frozen=True)
class Replay:
    encoding: str
    text: str
    pieces: list[PieceReplay]
    merges: list[Merge]

    @property
    def ids(self) -> list[int]:
        return [node.rank for piece in self.pieces for node in piece.roots]


def _encoding(name: str) -> Any:
    import tiktoken

    if name not in ENCODINGS:
        from playground.errors import UnknownName

        raise UnknownName("tiktoken encoding for the replay", name, ENCODINGS)
    return tiktoken.get_encoding(name)


def _rank(encoding: Any, data: bytes) -> int | None:
    try:
        rank: int = encoding.encode_single_token(data)
        return rank
    except KeyError:
        return None


def replay_piece(encoding: Any, piece: str, index: int, first_step: int) -> tuple[PieceReplay, list[Merge]]:
    data = piece.encode("utf-8")
    parts = [Node(bytes([b]), encoding.encode_single_token(bytes([b]))) for b in data]  # every byte is a token
    merges: list[Merge] = []
    while len(parts) > 1:
        best, best_rank = -1, None
        for i in range(len(parts) - 1):
            rank = _rank(encoding, parts[i].data + parts[i + 1].data)
            if rank is not None and (best_rank is None or rank < best_rank):
                best, best_rank = i, rank
        if best_rank is None:
            break
        left, right = parts[best], parts[best + 1]
        step = first_step + len(merges)
        merges.append(Merge(step, index, left.data, right.data, best_rank))
        parts[best: best + 2] = [Node(left.data + right.data, best_rank, step, [left, right])]
    whole_rank = _rank(encoding, data)
    if whole_rank is not None and len(parts) > 1:
        # tiktoken looks a whole piece up before merging; merging alone would not reach it.
        return PieceReplay(piece, [Node(data, whole_rank, None, parts)], True), merges
    return PieceReplay(piece, parts, False), merges


def replay(text: str, encoding_name: str = "o200k_base") -> Replay:
    """Every merge tiktoken makes for `text`, in order, and the resulting token trees."""
    if not text:
        raise InvalidInput("Type a word or a short text to replay its merges.")
    if len(text) > MAX_REPLAY_CHARS:
        raise InputTooLarge("The text to replay", len(text), MAX_REPLAY_CHARS)
    import regex

    encoding = _encoding(encoding_name)
    # The split pattern is a private attribute, but the one tiktoken itself uses to encode:
    # the tests compare the replay with `encode_ordinary`, so a change would show.
    pieces_text = regex.findall(encoding._pat_str, text)
    pieces: list[PieceReplay] = []
    merges: list[Merge] = []
    for index, piece in enumerate(pieces_text):
        replayed, steps = replay_piece(encoding, piece, index, len(merges) + 1)
        pieces.append(replayed)
        merges.extend(steps)
    return Replay(encoding_name, text, pieces, merges)
