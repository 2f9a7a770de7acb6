"""Corpora and uploads: texts typed one per line, or a .txt/.csv/.tsv file with a chosen column.

Uploads are read in memory from the temporary path the web framework gives (nothing is
written elsewhere), checked against `Settings.max_file_size`, and decoded as UTF-8; a bad
encoding or a malformed line fails with a message naming the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from playground.errors import InputTooLarge, InvalidInput
from playground.settings import Settings

TEXT_COLUMN_NAMES = ("text", "sentence", "sentences", "document", "content", "title", "query")
LABEL_COLUMN_NAMES = ("label", "labels", "category", "class", "topic", "group")
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_size(value: str | int) -> int:
    """'5mb' → bytes (gradio's own units: powers of 1024)."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?b)\s*", value.lower())
    if not match:
        raise ValueError(f"not a file size: {value!r} (use e.g. 5mb)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def read_upload(path: str | Path, settings: Settings, what: str = "The file") -> str:
    """The text of an uploaded file: size-checked, UTF-8 (a BOM is fine), bad bytes reported by line."""
    path = Path(path)
    limit = parse_size(settings.max_file_size)
    size = path.stat().st_size
    if size > limit:
        raise InputTooLarge(f"{what} ({path.name})", size, limit, unit="bytes")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{what} ({path.name}) is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be "
            "decoded. Save it as UTF-8 (e.g. 'Save as… → CSV UTF-8') and upload it again."
        ) from None


def validate_texts(texts: Sequence[str], settings: Settings, what: str = "corpus") -> list[str]:
    """Strip each text, drop blank ones, and enforce the corpus limits (messages name the line)."""
    if isinstance(texts, str):
        texts = texts.splitlines()
    out: list[str] = []
    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise InvalidInput(f"Line {number} of the {what} is not text ({type(text).__name__}).")
        text = text.strip()
        if not text:
            continue
        if len(text) > settings.max_corpus_text_chars:
            raise InputTooLarge(f"Line {number} of the {what}", len(text), settings.max_corpus_text_chars)
        out.append(text)
    if not out:
        raise InvalidInput(f"The {what} is empty: type some texts, one per line, or upload a file "
                           "(or click an example set).")
    if len(out) > settings.max_corpus_texts:
        raise InputTooLarge(f"The {what}", len(out), settings.max_corpus_texts, unit="texts")
    return out


@dataclass(frozen=True)
class Table:
    """An uploaded corpus: column names and rows of strings (a .txt file is one 'text' column)."""

    name: str
    columns: list[str]
    rows: list[list[str]]

    def default_text_column(self) -> str:
        lowered = {c.lower(): c for c in self.columns}
        return next((lowered[n] for n in TEXT_COLUMN_NAMES if n in lowered), self.columns[0])

    def default_label_column(self) -> str | None:
        lowered = {c.lower(): c for c in self.columns}
        return next((lowered[n] for n in LABEL_COLUMN_NAMES if n in lowered), None)


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    labels: list[str] | None = None  # one per text, for colouring the map


def read_table(path: str | Path, settings: Settings) -> Table:
    path = Path(path)
    text = read_upload(path, settings, "The corpus file")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return _parse_csv(path.name, text, "\t" if suffix == ".tsv" else ",")
    if suffix in {".txt", ""}:
        return Table(path.name, ["text"], [[line] for line in text.splitlines() if line.strip()])
    raise InvalidInput(f"{path.name}: upload a .txt (one text per line), .csv or .tsv file.")


def _parse_csv(name: str, text: str, delimiter: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InvalidInput(f"{name}: the first line must name the columns (e.g. text,label).")
        columns = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
        if len(set(columns)) != len(columns):
            raise InvalidInput(f"{name}: line 1 repeats a column name ({', '.join(columns)}).")
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise InvalidInput(f"{name}: line {reader.line_num} has {len(row)} fields but the header has "
                                   f"{len(columns)}. Quote texts that contain '{delimiter}' (\"like, this\").")
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInput(f"{name}: line {reader.line_num} is not valid CSV ({exc}).") from None
    return Table(name, columns, rows)


def corpus_from_table(table: Table, text_column: str, label_column: str | None, settings: Settings) -> Corpus:
    if text_column not in table.columns:
        raise InvalidInput(f"{table.name} has no column {text_column!r}; columns: {', '.join(table.columns)}.")
    if label_column and label_column not in table.columns:
        raise InvalidInput(f"{table.name} has no column {label_column!r}; columns: {', '.join(table.columns)}.")
    ti = table.columns.index(text_column)
    li = table.columns.index(label_column) if label_column else None
    kept = [row for row in table.rows if row[ti].strip()]
    texts = validate_texts([row[ti] for row in kept], settings, f"column {text_column!r}")
    labels = [row[li].strip() or "(none)" for row in kept] if li is not None else None
    return Corpus(texts, labels)
