"""The vocabulary explorer: every token of a tokenizer, searchable by id, text, length and script.

The index is built once per loaded tokenizer (a quarter of a million entries take about a
second) and kept while the tokenizer lives: a weak reference, so a session's trained tokenizer
takes its index with it when the session ends.
"""

from __future__ import annotations

import threading
import unicodedata
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from playground.errors import InvalidInput
from playground.tokenization.backends import Tokenizer
from playground.tokenization.visible import visible

SCRIPTS = ("Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Bengali", "Tamil", "Thai", "Han",
           "Hiragana", "Katakana", "Hangul", "Armenian", "Georgian", "Ethiopic")
COMMON, MIXED, PARTIAL, OTHER = "Common (digits, punctuation, spaces)", "Mixed", "Part of a character", "Other"
MODES = ("text", "id", "length", "script", "longest")
MAX_ROWS = 500


@cache
def _script_patterns() -> list[tuple[str, Any]]:
    import regex

    return [(name, regex.compile(rf"\p{{Script={name}}}")) for name in SCRIPTS]


@cache
def char_script(ch: str) -> str | None:
    """The Unicode script of a letter or mark, None for digits, punctuation, spaces and symbols."""
    for name, pattern in _script_patterns():
        if pattern.match(ch):
            return name
    return OTHER if unicodedata.category(ch)[0] in "LM" else None


def text_script(text: str) -> str:
    """The one script a token's letters are in; 'Mixed' for several, 'Common' for none."""
    if "\ufffd" in text:
        return PARTIAL
    found = {s for s in map(char_script, text) if s is not None}
    if not found:
        return COMMON
    return found.pop() if len(found) == 1 else MIXED


@dataclass(frozen=True, eq=False)
class VocabIndex:
    strings: list[str]  # as the vocabulary writes each token ('Ġworld', '##ing', '▁the')
    texts: list[str]  # what each token stands for, as text (a partial character shows as �)
    byte_lengths: np.ndarray
    char_lengths: np.ndarray
    scripts: np.ndarray  # object array of script names
    special: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.strings)


_indexes: weakref.WeakKeyDictionary[Tokenizer, VocabIndex] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def index(tokenizer: Tokenizer) -> VocabIndex:
    with _lock:  # single flight: two visitors opening the same vocabulary build it once
        found = _indexes.get(tokenizer)
        if found is None:
            found = _indexes[tokenizer] = _build(tokenizer)
        return found


def _build(tokenizer: Tokenizer) -> VocabIndex:
    ids = range(tokenizer.vocab_size)
    # The interface's own walk over every id: it leaves unassigned tiktoken ids empty
    # instead of raising, as `token_bytes` would.
    pieces = tokenizer._all_pieces()
    if tokenizer.library == "tiktoken":  # the vocabulary *is* bytes: written as token_strings does
        strings = [p.decode("utf-8", errors="backslashreplace") for p in pieces]
    else:
        strings = tokenizer.token_strings(ids)
    texts = [p.decode("utf-8", errors="replace") for p in pieces]
    special = np.zeros(len(texts), dtype=bool)
    special[[i for i in tokenizer.special_ids if i < len(texts)]] = True
    scripts = np.array([text_script(t) for t in texts], dtype=object)
    return VocabIndex(strings, texts, np.array([len(p) for p in pieces]), np.array([len(t) for t in texts]),
                      scripts, special)


@dataclass(frozen=True)
class Entry:
    id: int
    token: str  # as the vocabulary writes it
    text: str  # what it stands for, with invisible characters made visible
    bytes: int
    script: str
    special: bool


def _entry(idx: VocabIndex, i: int) -> Entry:
    return Entry(int(i), idx.strings[i], visible(idx.texts[i]), int(idx.byte_lengths[i]), str(idx.scripts[i]),
                 bool(idx.special[i]))


def _parse_ids(query: str, size: int) -> np.ndarray:
    try:
        if "-" in query.strip().lstrip("-"):
            a, b = (int(x) for x in query.split("-", 1))
            return np.arange(max(0, a), min(size, b + 1))
        ids = [int(x) for x in query.replace(",", " ").split()]
    except ValueError:
        raise InvalidInput(f"Ids look like 42, '10 11 12' or a range '100-150'; got {query!r}.") from None
    return np.array([i for i in ids if 0 <= i < size], dtype=np.int64)


def search(tokenizer: Tokenizer, mode: str, query: str = "", limit: int = 100) -> tuple[list[Entry], int]:
    """Tokens matching `query` in `mode`, and how many match in all (at most `limit` returned)."""
    idx = index(tokenizer)
    limit = max(1, min(int(limit), MAX_ROWS))
    query = (query or "").strip("\n")
    if mode == "id":
        hits = _parse_ids(query, len(idx))
    elif mode == "text":
        if not query:
            raise InvalidInput("Type a piece of text to search the vocabulary for.")
        hits = np.array([i for i, (t, s) in enumerate(zip(idx.texts, idx.strings)) if query in t or query == s],
                        dtype=np.int64)
    elif mode == "length":
        try:
            n = int(query)
        except ValueError:
            raise InvalidInput(f"A length is a number of characters, e.g. 12; got {query!r}.") from None
        hits = np.flatnonzero(idx.char_lengths == n)
    elif mode == "script":
        hits = np.flatnonzero(idx.scripts == query)
        if not len(hits) and query not in set(idx.scripts.tolist()):
            raise InvalidInput(f"No token in script {query!r}. Scripts here: {', '.join(script_counts(tokenizer))}.")
    elif mode == "longest":
        order = np.argsort(-idx.byte_lengths, kind="stable")
        hits = order[~idx.special[order]]
    else:
        raise InvalidInput(f"Unknown search {mode!r}: use one of {', '.join(MODES)}.")
    return [_entry(idx, int(i)) for i in hits[:limit]], int(len(hits))


def script_counts(tokenizer: Tokenizer) -> dict[str, int]:
    """How many tokens are in each script, most first."""
    names, counts = np.unique(index(tokenizer).scripts.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return {str(names[k]): int(counts[k]) for k in order}


def lookup(tokenizer: Tokenizer, query: str) -> list[Entry]:
    """id → token, or token → id: a number is an id; anything else is matched whole against
    the vocabulary's own spelling and against the text each token stands for."""
    idx = index(tokenizer)
    text = (query or "").strip("\n")
    if text.strip().isdigit():
        i = int(text)
        if not 0 <= i < len(idx):
            raise InvalidInput(f"Id {i:,} is not in this vocabulary (0 … {len(idx) - 1:,}).")
        return [_entry(idx, i)]
    return [_entry(idx, i) for i, (t, s) in enumerate(zip(idx.texts, idx.strings)) if text in (t, s)]
