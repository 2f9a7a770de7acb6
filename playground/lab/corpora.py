"""Training text: the shipped example corpora, and the bounds on what a visitor may upload.

The examples come with Python itself (PSF licence), so nothing is downloaded and nothing large
is committed: the language reference's prose (`pydoc_data.topics`, the text behind `help()`),
the standard library's own source code, and the token-tax sentences in 17 languages.
"""

from __future__ import annotations

import json
import sysconfig
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playground.errors import InputTooLarge, InvalidInput

DATA_DIR = Path(__file__).resolve().parent / "data"
SOURCE_CODE_BYTES = 1_000_000  # enough for the 1 MB speed target, quick to read


@dataclass(frozen=True)
class Corpus:
    id: str
    label: str
    source: str  # where the text comes from, shown next to it


CORPORA: tuple[Corpus, ...] = (
    Corpus("python-reference", "Python language reference (English prose, ~470 kB)",
           "pydoc_data.topics, shipped with Python (PSF licence): the text `help('assert')` shows."),
    Corpus("python-source", "Python standard library source code (~1 MB)",
           "The .py files of this Python's standard library (PSF licence), in name order, up to 1 MB."),
    Corpus("udhr", "UDHR Article 1 in 17 languages (tiny)",
           "playground/lab/data/udhr_article1.json (United Nations, OHCHR translations)."),
)
_BY_ID = {c.id: c for c in CORPORA}
_lock = threading.Lock()


@cache
def udhr() -> dict[str, Any]:
    """The token-tax data file: title, source, licence and one sentence per language."""
    data: dict[str, Any] = json.loads((DATA_DIR / "udhr_article1.json").read_text(encoding="utf-8"))
    return data


@cache
def _build(corpus_id: str) -> str:
    if corpus_id == "python-reference":
        from pydoc_data.topics import topics

        return "\n\n".join(topics[key] for key in sorted(topics))
    if corpus_id == "python-source":
        root = Path(sysconfig.get_paths()["stdlib"])
        parts, size = [], 0
        for path in sorted(root.glob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(text)
            size += len(text.encode("utf-8"))
            if size >= SOURCE_CODE_BYTES:
                break
        return "\n".join(parts)
    return "\n".join(s["text"] for s in udhr()["sentences"])


def example(corpus_id: str) -> str:
    """An example corpus's text, built once per process (read-only, shared by every visitor)."""
    from playground.errors import UnknownName

    if corpus_id not in _BY_ID:
        raise UnknownName("example corpus", corpus_id, _BY_ID)
    with _lock:  # single flight: two first visitors build it once
        return _build(corpus_id)


def from_upload(path: str | None, max_bytes: int) -> str:
    """An uploaded text file, checked for size before it is read whole, and for being text."""
    if not path:
        raise InvalidInput("No file was uploaded.")
    file = Path(path)
    size = file.stat().st_size
    if size > max_bytes:
        raise InputTooLarge("The uploaded file", size, max_bytes, unit="bytes")
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The uploaded file is not UTF-8 text. Upload a plain-text (.txt) file.") from None


def checked(text: str, max_bytes: int) -> str:
    """Training text within the server's bound, and not empty."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InputTooLarge("The training text", size, max_bytes, unit="bytes")
    if not text.strip():
        raise InvalidInput("The training text is empty: paste some text, upload a file or pick an example corpus.")
    return text
