"""Sentence embeddings: encode a corpus (cached), find a query's neighbours, lay the corpus out in 2-D.

Neighbours come from the full-dimensional vectors (cosine, `numeric.top_k`); the 2-D map is
only a picture. Corpus vectors and maps are cached by (model, sha256 of the texts[, method]),
so a new query or another projection does not re-encode the corpus.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from playground import runtime
from playground.embeddings import numeric, remote, warmup
from playground.embeddings.cache import EmbeddingCache, texts_key
from playground.embeddings.catalogue import EmbeddingModelSpec, get_sentence_model
from playground.embeddings.corpus import validate_texts
from playground.embeddings.models import load_sentence_model
from playground.errors import InputTooLarge, InvalidInput
from playground.settings import Settings

BATCH_SIZE = 32
MAX_K = 50
HEATMAP_MAX_TEXTS = 40

# Keys: the encoder's `cache_key` + sha256 of the texts (+ the projection method, for maps).
CacheKey = tuple[str | int | None, ...]
_vectors: EmbeddingCache[np.ndarray] = EmbeddingCache(max_entries=16, max_bytes=256 * 2**20)
_maps: EmbeddingCache[numeric.Projection] = EmbeddingCache(max_entries=32, max_bytes=32 * 2**20)


def encode(spec: EmbeddingModelSpec, texts: Sequence[str], settings: Settings,
           batch_size: int = BATCH_SIZE) -> np.ndarray:
    """(n,) texts → (n, d) normalised float32 vectors, from `SentenceTransformer.encode` on the torch thread.

    Tensors come back as tensors and reach numpy through `runtime.to_numpy` (CPU, float32), so a
    bf16 model on a GPU gives the same kind of array as fp32 on a CPU."""
    model = load_sentence_model(spec, settings)  # loaded here, not inside the job (see models.py)

    def run() -> np.ndarray:
        vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                               convert_to_tensor=True, show_progress_bar=False)
        return runtime.to_numpy(vectors)

    return runtime.call(run)


class Encoder(Protocol):
    """What the sentence view needs of a model: the local `LocalEncoder` or an API's `remote.ApiEncoder`."""

    @property
    def id(self) -> str: ...
    @property
    def where(self) -> str: ...  # hub id, or the server's base URL
    @property
    def cache_key(self) -> CacheKey: ...
    def encode(self, texts: list[str]) -> np.ndarray: ...  # (n, d) unit-length float32


@dataclass(frozen=True)
class LocalEncoder:
    spec: EmbeddingModelSpec
    settings: Settings

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def where(self) -> str:
        return self.spec.hub_id

    @property
    def cache_key(self) -> CacheKey:
        return ("local", self.spec.id)

    def encode(self, texts: list[str]) -> np.ndarray:
        return encode(self.spec, texts, self.settings)


def corpus_vectors(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Cached encode of a whole corpus, keyed by (model[, server, dimensions], sha256 of the texts)."""
    return _vectors.get_or_load((*encoder.cache_key, texts_key(texts)), lambda: encoder.encode(list(texts)))


def is_cached(encoder: Encoder, texts: Sequence[str]) -> bool:
    return (*encoder.cache_key, texts_key(texts)) in _vectors


def corpus_map(encoder: Encoder, texts: Sequence[str], vectors: np.ndarray, method: str) -> numeric.Projection:
    return _maps.get_or_load((*encoder.cache_key, texts_key(texts), method), lambda: numeric.project(vectors, method))


@dataclass(frozen=True)
class Neighbour:
    rank: int
    index: int  # position in the corpus
    text: str
    score: float  # cosine similarity in the full space
    label: str | None = None


@dataclass(frozen=True)
class SearchResult:
    model: str  # the model id as asked (catalogue id, API model, or api:<name>)
    where: str  # its hub id, or the base URL of the server that embedded the texts
    query: str
    texts: list[str]
    labels: list[str] | None
    neighbours: list[Neighbour]
    coords: np.ndarray  # (n, 2) map of the corpus
    query_xy: np.ndarray  # (2,) the query on the map
    method: str  # projection actually used
    requested: str  # projection asked for
    notes: list[str]
    dimensions: int
    similarity: np.ndarray | None = None  # (n, n) for small corpora, else None
    encoded_now: bool = True  # False when the corpus vectors came from the cache
    seconds: float = 0.0
    api: bool = False  # embedded by a remote server
    tokens: int = 0  # API input tokens this request used (cached texts cost none)
    cost_usd: float | None = 0.0  # what this request cost at the listed price; None: no price listed
    operator_spent_usd: float = 0.0  # the part paid with the operator's key (counts toward the spend caps)

    def as_json(self) -> dict[str, object]:
        usage = {"base_url": self.where, "tokens": self.tokens, "cost_usd": self.cost_usd} if self.api \
            else {"hub_id": self.where}
        return {
            "model": self.model, **usage, "dimensions": self.dimensions,
            "query": self.query,
            "neighbours": [{"rank": n.rank, "index": n.index, "text": n.text, "score": round(n.score, 6),
                            **({"label": n.label} if n.label is not None else {})} for n in self.neighbours],
            "projection": self.method, "requested_projection": self.requested,
            "points": [{"x": float(x), "y": float(y), "text": t} for (x, y), t in zip(self.coords, self.texts, strict=True)],
            "query_point": {"x": float(self.query_xy[0]), "y": float(self.query_xy[1])},
            "notes": self.notes,
        }


def embed_search(query: str, texts: Sequence[str] | str, model: str, k: int, projection: str, settings: Settings,
                 labels: Sequence[str] | None = None, wait_for_umap: bool = True,
                 api: remote.ApiOptions | None = None) -> SearchResult:
    """The whole sentence view: neighbours of `query` in `texts`, and a 2-D map of both.

    `model` is a local catalogue id or an API model (`remote.is_api_model`), which `api` configures.
    With `wait_for_umap=False` a UMAP request made while UMAP is still warming up is answered
    with PCA and a note saying so (the page uses this, then asks again once UMAP is ready).
    """
    encoder: Encoder
    if remote.is_api_model(model):
        encoder = remote.encoder(model, api or remote.ApiOptions(), settings)
    else:
        encoder = LocalEncoder(get_sentence_model(model), settings)
    notes: list[str] = []
    if api is not None and api.dimensions and isinstance(encoder, LocalEncoder):
        notes.append(f"'dimensions' applies to API models only: {encoder.id} gives its full vectors.")
    query = (query or "").strip()
    if not query:
        raise InvalidInput("The query is empty: type a sentence to search the corpus with.")
    if len(query) > settings.max_corpus_text_chars:
        raise InputTooLarge("The query", len(query), settings.max_corpus_text_chars)
    raw = list(texts.splitlines() if isinstance(texts, str) else texts)
    if labels is not None and len(labels) != len(raw):
        raise InvalidInput(f"There are {len(labels)} labels for {len(raw)} texts; give one label per text.")
    kept = [(t.strip(), labels[i] if labels is not None else None) for i, t in enumerate(raw)
            if isinstance(t, str) and t.strip()]
    clean = validate_texts(raw, settings)  # raises on empty / too many / too long, naming the line
    assert len(clean) == len(kept)
    label_list = [lab or "(none)" for _, lab in kept] if labels is not None else None
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise InvalidInput(f"k must be a whole number, not {k!r}.") from None
    k = max(1, min(k, MAX_K, len(clean)))

    started = time.perf_counter()
    encoded_now = not is_cached(encoder, clean)
    vectors = corpus_vectors(encoder, clean)
    query_vector = encoder.encode([query])[0]
    indices, scores = numeric.top_k(query_vector, vectors, k)
    neighbours = [Neighbour(rank + 1, int(i), clean[int(i)], float(s), label_list[int(i)] if label_list else None)
                  for rank, (i, s) in enumerate(zip(indices[0], scores[0], strict=True))]

    method = numeric.canonical_method(projection)
    if method == "UMAP" and len(clean) >= 6:
        state = warmup.start()
        if not state.ready:
            if wait_for_umap:
                state = warmup.wait(120)
            if not state.ready:
                notes.append(f"{state.describe()} Showing PCA meanwhile." if state.state != "failed"
                             else state.describe())
                method = "PCA"
    proj = corpus_map(encoder, clean, vectors, method)
    if proj.note:
        notes.append(proj.note)
    placed = proj.place(query_vector)
    if placed is None:
        placed = numeric.place_among_neighbours(proj.coords, indices[0], scores[0])
        notes.append(f"{proj.method} cannot place a new point exactly: the query ★ is drawn at the "
                     "similarity-weighted centre of its neighbours.")
    similarity = vectors @ vectors.T if len(clean) <= HEATMAP_MAX_TEXTS else None
    if isinstance(encoder, remote.ApiEncoder):
        notes.extend(encoder.notes)
    result = SearchResult(encoder.id, encoder.where, query, clean, label_list, neighbours, proj.coords, placed,
                          proj.method, numeric.canonical_method(projection), notes, int(vectors.shape[1]), similarity,
                          encoded_now, time.perf_counter() - started)
    if isinstance(encoder, remote.ApiEncoder):
        return replace(result, api=True, tokens=encoder.tokens, cost_usd=encoder.cost_usd,
                       operator_spent_usd=encoder.operator_spent_usd)
    return result


def cache_stats() -> dict[str, int]:
    return {"vector_hits": _vectors.hits, "vector_misses": _vectors.misses, "map_hits": _maps.hits,
            "map_misses": _maps.misses}
