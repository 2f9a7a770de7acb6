"""Pure numeric helpers with documented shapes: numpy in, numpy out (no models, no plots).

Nearest neighbours are computed in the full embedding space (never on a 2-D map): rows are
normalised once, cosine similarity is then a float32 matrix product, and `argpartition`
picks the top k without sorting everything. Projections to 2-D (PCA, t-SNE, UMAP) fall back
to PCA, with a note saying why, when there are too few points for the method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROJECTIONS = ("PCA", "t-SNE", "UMAP")

# What each map preserves, in plain words (shown in the UI next to the map).
PROJECTION_NOTES = {
    "PCA": "PCA is a linear projection onto the two directions of largest spread. It keeps the global layout "
           "(far stays far) but squashes everything else: points that overlap on the map may be far apart in the "
           "full space.",
    "t-SNE": "t-SNE keeps local neighbourhoods (points close in the full space tend to stay close), but distances "
             "between clusters and cluster sizes on the map mean nothing, and the picture changes with the "
             "perplexity and the random seed.",
    "UMAP": "UMAP keeps local neighbourhoods and some of the global layout, but map distances are not the "
            "similarities either: a gap between two clusters is not a measure of how different they are.",
}


def normalise(vectors: np.ndarray) -> np.ndarray:
    """(n, d) → (n, d) float32 with unit-length rows; all-zero rows stay zero (similarity 0)."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array (n, d), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine nearest neighbours.

    queries: (q, d) or (d,); corpus: (n, d) **already normalised** (see `normalise`).
    Returns (indices (q, k'), scores (q, k')) with k' = min(k, n), best first (equal scores among them ordered by index).
    """
    q = normalise(np.atleast_2d(queries))
    if corpus.ndim != 2 or q.shape[1] != corpus.shape[1]:
        raise ValueError(f"dimension mismatch: queries {q.shape}, corpus {corpus.shape}")
    n = corpus.shape[0]
    k = max(0, min(int(k), n))
    if k == 0:
        return np.zeros((q.shape[0], 0), dtype=np.int64), np.zeros((q.shape[0], 0), dtype=np.float32)
    scores = q @ corpus.T  # (q, n) float32
    # argpartition finds the k best in O(n); only those k are then sorted.
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), scores.shape)
    part_scores = np.take_along_axis(scores, part, axis=1)
    # Sort the k candidates: by score descending, then by index ascending for a stable answer.
    order = np.lexsort((part, -part_scores), axis=1)
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    return indices, np.take_along_axis(part_scores, order, axis=1)


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(n, d) → (n, n) cosine similarities (float32)."""
    x = normalise(vectors)
    similarities: np.ndarray = x @ x.T
    return similarities


@dataclass(frozen=True)
class Projection:
    """2-D coordinates and how they were made."""

    coords: np.ndarray  # (n, 2) float32
    method: str  # the method actually used ("PCA" when a fallback happened)
    note: str = ""  # why a fallback happened, or "" when the requested method ran
    mean: np.ndarray | None = None  # PCA only: (d,) centre, to place new points exactly
    components: np.ndarray | None = None  # PCA only: (2, d)

    def place(self, vector: np.ndarray) -> np.ndarray | None:
        """(d,) → (2,) for PCA (exact); None for t-SNE/UMAP, which cannot place a new point exactly."""
        if self.mean is None or self.components is None:
            return None
        placed: np.ndarray = (np.asarray(vector, dtype=np.float32) - self.mean) @ self.components.T
        return placed.astype(np.float32)


# Below this many points the Gram-matrix PCA is the faster one (see `pca_2d`).
GRAM_PCA_MAX_POINTS = 1_000


def pca_2d(vectors: np.ndarray) -> Projection:
    """(n, d) → Projection with (n, 2) coords: the top-2 principal components of the centred data.

    Two ways, by size, because `bench/embeddings_pca.py` (one fresh process per shape, calls
    alternating) found each faster on its side: up to `GRAM_PCA_MAX_POINTS` points, the
    eigenvectors of the smaller Gram matrix (d × d, or n × n with fewer points than dimensions)
    win: 5.2× faster than scikit-learn at 20 × 384, 2.6× at 200 × 384, 1.4× at 200 × 300; on
    larger corpora scikit-learn's PCA wins (0.54× at 2,000 × 384, 0.70× at 5,000). Both give the
    same coordinates. Signs are fixed (the largest-magnitude loading of each component is positive)
    so the map does not flip between runs. Missing directions of spread (one point, points on a
    line) leave an axis at 0.
    """
    x = np.asarray(vectors, dtype=np.float32)
    n, d = x.shape
    mean = x.mean(axis=0) if n else np.zeros(d, dtype=np.float32)
    components = np.zeros((2, d), dtype=np.float32)
    wanted = min(2, n - 1, d)  # n points span at most n − 1 directions
    if wanted > 0:
        top, variance = _top_gram(x - mean, wanted) if n <= GRAM_PCA_MAX_POINTS else _top_sklearn(x, wanted)
        scale = max(float(variance[0]), 0.0)
        for i in range(wanted):
            if variance[i] > 1e-9 * max(scale, 1e-30):  # a real direction of spread, not round-off
                components[i] = top[i]
                if components[i, np.argmax(np.abs(components[i]))] < 0:
                    components[i] = -components[i]
    coords = (x - mean) @ components.T
    return Projection(coords.astype(np.float32), "PCA", "", mean.astype(np.float32), components)


def _top_gram(centred: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """(wanted, d) unit directions of most spread and their (unnormalised) variances, from the smaller Gram matrix."""
    c = centred.astype(np.float64)
    n, d = c.shape
    if n >= d:
        values, vectors = np.linalg.eigh(c.T @ c)  # ascending
        top = vectors[:, ::-1][:, :wanted].T
    else:
        values, u = np.linalg.eigh(c @ c.T)
        top = (c.T @ u[:, ::-1][:, :wanted]).T
        top /= np.maximum(np.linalg.norm(top, axis=1, keepdims=True), 1e-12)
    return top, values[::-1][:wanted]


def _top_sklearn(x: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=wanted, random_state=0).fit(x)
    return pca.components_, pca.explained_variance_


def tsne_2d(vectors: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> Projection:
    """(n, d) → (n, 2) t-SNE on cosine distances. Perplexity must be < n: it is lowered to fit, and
    under 5 points t-SNE is not meaningful, so PCA is used instead (the note says so)."""
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if n < 5:
        return _fallback(x, f"t-SNE needs at least 5 points (got {n}); showing PCA instead.")
    from sklearn.manifold import TSNE

    used = min(float(perplexity), (n - 1) / 3)  # the usual rule of thumb keeps it well below n
    note = (f"t-SNE perplexity lowered from {perplexity:g} to {used:.1f} for {n} points (it must stay well "
            "below the number of points)." if used < perplexity else "")
    coords = TSNE(n_components=2, perplexity=used, metric="cosine", init="pca", random_state=seed).fit_transform(x)
    return Projection(coords.astype(np.float32), "t-SNE", note)


def umap_2d(vectors: np.ndarray, n_neighbors: int = 15, seed: int = 0) -> Projection:
    """(n, d) → (n, 2) UMAP on cosine distances. n_neighbors must be < n: it is lowered to fit; under
    6 points UMAP's graph is too small, so PCA is used instead. Imports umap (slow the first time:
    warm it with `playground.embeddings.warmup`)."""
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if n < 6:
        return _fallback(x, f"UMAP needs at least 6 points (got {n}); showing PCA instead.")
    import umap

    used = max(2, min(int(n_neighbors), n - 1))
    note = (f"UMAP n_neighbors lowered from {n_neighbors} to {used} for {n} points (it must be below the number "
            "of points)." if used < n_neighbors else "")
    # Spectral initialisation needs a well-connected graph; on small sets random init is the safe choice.
    init = "spectral" if n > 50 else "random"
    reducer = umap.UMAP(n_components=2, n_neighbors=used, metric="cosine", init=init, random_state=seed,
                        n_jobs=1)
    coords = reducer.fit_transform(x)
    return Projection(np.asarray(coords, dtype=np.float32), "UMAP", note)


def canonical_method(method: str) -> str:
    """'tsne', 'T-SNE', 't-SNE' → 't-SNE'; unknown names fail with the list of known ones."""
    key = {m.lower().replace("-", ""): m for m in PROJECTIONS}.get((method or "").strip().lower().replace("-", ""))
    if key is None:
        from playground.errors import UnknownName

        raise UnknownName("projection", method, PROJECTIONS)
    return key


def project(vectors: np.ndarray, method: str, seed: int = 0) -> Projection:
    """Dispatch by method name (one of PROJECTIONS, case-insensitive)."""
    key = canonical_method(method)
    if key == "PCA":
        return pca_2d(vectors)
    if key == "t-SNE":
        return tsne_2d(vectors, seed=seed)
    return umap_2d(vectors, seed=seed)


def place_among_neighbours(coords: np.ndarray, indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(n, 2) map, (k,) neighbour indices, (k,) similarities → (2,): a similarity-weighted mean of the
    neighbours' positions. Used for the query on t-SNE/UMAP maps, which cannot place a new point."""
    if len(indices) == 0:
        return np.zeros(2, dtype=np.float32)
    weights = np.clip(np.asarray(scores, dtype=np.float64), 1e-6, None)
    centre: np.ndarray = (coords[indices] * weights[:, None]).sum(axis=0).astype(np.float32)
    return centre / np.float32(weights.sum())


def _fallback(x: np.ndarray, note: str) -> Projection:
    pca = pca_2d(x)
    return Projection(pca.coords, "PCA", note, pca.mean, pca.components)
