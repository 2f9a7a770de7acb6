"""Static word vectors as gensim `KeyedVectors`: neighbours, analogies, odd one out, a 2-D map.

Sources (see `catalogue.WORD_VECTORS`): offline, the input-embedding matrix of the bundled
MiniLM (one vector per whole-word WordPiece entry, uncased); with a network, gensim-data
vectors such as GloVe; or a word2vec/GloVe text file the visitor uploads (kept in that
visitor's session, never here). Built-in sources are loaded once and then only read.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from playground import runtime
from playground.cache import SharedCache
from playground.embeddings import numeric
from playground.embeddings.catalogue import MODELS, WORD_VECTORS, WordVectorSpec, get_word_vectors
from playground.embeddings.corpus import read_upload
from playground.embeddings.models import load_sentence_model
from playground.errors import HubUnavailable, InvalidInput, ModelLoadError
from playground.settings import Settings

MAX_K = 50
MAX_MAP_WORDS = 200
SUGGESTION_POOL = 60_000  # close-match suggestions come from the first (most frequent) entries



@dataclass(frozen=True)
class WordVectors:
    """A KeyedVectors plus where it came from (shown in the UI and the API)."""

    kv: Any  # gensim.models.KeyedVectors, norms filled (gensim has no type information)
    source: str  # catalogue id, or "upload:<file name>"
    description: str
    lowercase: bool = False  # the vocabulary is lower-case: look words up lower-cased

    @property
    def size(self) -> int:
        return len(self.kv.index_to_key)


# Built-in sources, loaded once and then only read; every source fits (a visitor's upload lives in their session).
_sources: SharedCache[str, WordVectors] = SharedCache(len(WORD_VECTORS))


def minilm_static_vectors(settings: Settings) -> Any:
    """MiniLM's input embedding matrix as KeyedVectors over whole words (no ##, no [unused], alphabetic)."""
    spec = next(s for s in MODELS if s.pack == "minilm")
    st = load_sentence_model(spec, settings)
    first = st[0]
    matrix = runtime.call(runtime.to_numpy, first.auto_model.get_input_embeddings().weight)
    vocab = first.tokenizer.get_vocab()
    words = sorted((w for w in vocab if not w.startswith("##") and not w.startswith("[") and w.isalpha()),
                   key=vocab.__getitem__)
    return keyed_vectors(words, matrix[[vocab[w] for w in words]])


def keyed_vectors(words: Sequence[str], vectors: np.ndarray) -> Any:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(list(words), np.asarray(vectors, dtype=np.float32))
    kv.fill_norms()  # done once here, so later reads never write to a shared object
    return kv


def load_source(source: str, settings: Settings) -> WordVectors:
    """A built-in source, loaded once per process."""
    spec = get_word_vectors(source)
    # Single flight per source: a long GloVe download does not hold up the offline vectors.
    return _sources.get_or_load(spec.id, lambda: _load(spec, settings))


def _load(spec: WordVectorSpec, settings: Settings) -> WordVectors:
    if spec.pack == "minilm":
        return WordVectors(minilm_static_vectors(settings), spec.id, spec.notes, lowercase=True)
    assert spec.gensim_name
    import gensim.downloader as api

    local = Path(api.BASE_DIR) / spec.gensim_name
    if settings.offline and not local.is_dir():
        raise HubUnavailable(spec.gensim_name, f"gensim downloads it ({spec.size_mb} MB) from GitHub; this server "
                                               "runs offline. Use the MiniLM input embeddings, or upload a file")
    try:
        kv = api.load(spec.gensim_name)
    except Exception as exc:  # noqa: BLE001 - network and format errors from gensim-data, reported plainly
        raise ModelLoadError(f"Could not load {spec.gensim_name!r} with gensim's downloader "
                             f"({type(exc).__name__}). Check the network, or upload a vectors file.") from None
    kv.fill_norms()
    return WordVectors(kv, spec.id, spec.notes, lowercase=spec.gensim_name.startswith("glove"))


def load_upload(path: str | Path, settings: Settings) -> WordVectors:
    """A word2vec text file ('count dim' header) or a GloVe file (no header): one 'word v1 v2 …' per line.

    gensim reads it (`KeyedVectors.load_word2vec_format`). gensim broadcasts a short row silently
    and merges a repeated word, so the shape of every line is checked first (`_first_problem`);
    when gensim then refuses a value, the same check finds the line to name in the message."""
    from gensim.models import KeyedVectors

    path = Path(path)
    lines = read_upload(path, settings, "The vectors file").splitlines()  # size and UTF-8 checked here
    header = bool(lines) and len(head := lines[0].split()) == 2 and all(p.isdigit() for p in head)
    problem = _first_problem(path.name, lines, header, numbers=False)
    if problem:
        raise InvalidInput(problem)
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not header)
    except (ValueError, EOFError, IndexError, UnicodeError):
        raise InvalidInput(_first_problem(path.name, lines, header, numbers=True) or
                           f"{path.name} is not a word2vec / GloVe text file.") from None
    kv.fill_norms()  # done once here, so later reads never write to a shared object
    lowercase = all(w == w.lower() for w in kv.index_to_key[:1000])
    return WordVectors(kv, f"upload:{path.name}", f"Uploaded {path.name}: {len(kv):,} words, {kv.vector_size} "
                       "dimensions.", lowercase)


def _first_problem(name: str, lines: Sequence[str], header: bool, numbers: bool) -> str:
    """The first badly shaped line of a vectors file (with `numbers`: or non-numeric value), or ""."""
    dim = int(lines[0].split()[1]) if header else None
    seen: set[str] = set()
    for number, line in enumerate(lines[header:], start=header + 1):
        parts = line.rstrip().split(" ")
        if not line.strip():
            return f"{name}, line {number} is empty: remove blank lines."
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                return f"{name}, line {number}: expected 'word v1 v2 …', got one field."
        if len(parts) != dim + 1:
            return f"{name}, line {number}: expected a word and {dim} numbers, got {len(parts) - 1} numbers."
        try:
            if numbers:
                np.array(parts[1:], dtype=np.float32)
        except ValueError:
            return f"{name}, line {number}: the values after {parts[0]!r} are not all numbers."
        if parts[0] in seen:
            return f"{name}, line {number}: the word {parts[0]!r} appears twice."
        seen.add(parts[0])
    if not seen:
        return f"{name} holds no vectors: expected lines like 'king 0.12 -0.4 …'."
    if header and len(seen) != int(lines[0].split()[0]):
        return f"{name}: the header promises {lines[0].split()[0]} words, the file holds {len(seen):,}."
    return ""


# --- questions -----------------------------------------------------------------------------


def resolve(wv: WordVectors, words: Sequence[str]) -> list[str]:
    """Map typed words to vocabulary entries; unknown ones fail with close suggestions."""
    found: list[str] = []
    missing: list[str] = []
    for raw in words:
        word = raw.strip()
        key = word if word in wv.kv.key_to_index else word.lower() if word.lower() in wv.kv.key_to_index else None
        (found if key else missing).append(key or word)
    if missing:
        pool = wv.kv.index_to_key[:SUGGESTION_POOL]
        hints = []
        for word in missing:
            close = difflib.get_close_matches(word.lower() if wv.lowercase else word, pool, n=4, cutoff=0.75)
            hints.append(f"'{word}'" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        what = "is" if len(missing) == 1 else "are"
        raise InvalidInput(f"{', '.join(hints)} {what} not in the vocabulary of {wv.source} "
                           f"({wv.size:,} words).")
    return found


def split_words(text: str | Sequence[str]) -> list[str]:
    if isinstance(text, str):
        text = text.replace(",", " ").split()
    return [w for w in (t.strip() for t in text) if w]


def neighbours(wv: WordVectors, word: str, k: int = 10) -> list[tuple[str, float]]:
    words = split_words(word)
    if len(words) != 1:
        raise InvalidInput("Type exactly one word to find its neighbours." if not words else
                           f"Type one word, not {len(words)} ({' '.join(words)}).")
    (key,) = resolve(wv, words)
    return [(w, float(s)) for w, s in wv.kv.most_similar(key, topn=_k(k))]


def analogy(wv: WordVectors, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """a − b + c (king − man + woman), by cosine (gensim's 3CosAdd). The three input words are
    excluded from the answers, as in the word2vec papers (otherwise 'king' usually wins)."""
    if not all(x and x.strip() for x in (a, b, c)):
        raise InvalidInput("Fill in all three words: a − b + c (e.g. king − man + woman).")
    ka, kb, kc = resolve(wv, [a, b, c])
    return [(w, float(s)) for w, s in wv.kv.most_similar(positive=[ka, kc], negative=[kb], topn=_k(k))]


@dataclass(frozen=True)
class OddOneOut:
    odd: str
    similarity_to_mean: list[tuple[str, float]]  # every word, least typical first


def odd_one_out(wv: WordVectors, words: str | Sequence[str]) -> OddOneOut:
    """gensim's `rank_by_centrality` (what `doesnt_match` uses): cosine of each unit vector to their mean."""
    keys = resolve(wv, split_words(words))
    if len(keys) < 3:
        raise InvalidInput("Give at least three words to find the one that doesn't belong.")
    ranked = wv.kv.rank_by_centrality(keys)  # most typical first
    return OddOneOut(ranked[-1][1], [(word, float(score)) for score, word in reversed(ranked)])


def word_map(wv: WordVectors, words: str | Sequence[str], method: str = "PCA") -> tuple[list[str], numeric.Projection]:
    keys = list(dict.fromkeys(resolve(wv, split_words(words))))
    if len(keys) < 2:
        raise InvalidInput("Give at least two words to draw a map.")
    if len(keys) > MAX_MAP_WORDS:
        raise InvalidInput(f"Give at most {MAX_MAP_WORDS} words for the map (got {len(keys)}).")
    return keys, numeric.project(np.stack([wv.kv[w] for w in keys]), method)


def _k(k: int) -> int:
    try:
        return max(1, min(int(k), MAX_K))
    except (TypeError, ValueError):
        raise InvalidInput(f"k must be a whole number, not {k!r}.") from None
