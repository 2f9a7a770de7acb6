"""The tab's public endpoints, plain JSON for notebooks and scripts: `/embed_search`, `/word_neighbors`, `/analogy`."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.embeddings import remote
from playground.embeddings import words as wv
from playground.embeddings.catalogue import DEFAULT_MODEL, DEFAULT_WORD_VECTORS
from playground.embeddings.search import embed_search
from playground.errors import InvalidInput
from playground.settings import Settings
from playground.ui.api_types import checked
from playground.ui.common import at_edge
from playground.ui.queues import queue


def register(settings: Settings) -> None:
    """`/embed_search`, `/word_neighbors`, `/analogy`: plain JSON for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def embed_search_api(query: str, texts: list[str], model: str = DEFAULT_MODEL, k: int = 5,
                         projection: str = "PCA", dimensions: int = 0, base_url: str = "",
                         api_key: str = "") -> dict[str, Any]:
        """Nearest neighbours of `query` among `texts` (cosine, full space) and a 2-D map (PCA, t-SNE or UMAP).

        `model`: a local model id ("minilm"), an OpenAI model ("text-embedding-3-small", "text-embedding-3-large")
        or "api:<name>" for any OpenAI-compatible /v1/embeddings server at `base_url`. `dimensions` (0: full)
        shortens the vectors of models that support it; `api_key` is used for this call only. API results add
        `base_url`, `tokens` and `cost_usd`.

        UMAP asked for while it still warms up (the first ~20 s of the server) is answered with PCA at
        once: `projection` says which ran and `notes` why. Waiting would hold one of the tab's slots."""
        if not isinstance(base_url or "", str) or not isinstance(api_key or "", str):
            raise InvalidInput("base_url and api_key must be text.")
        api = remote.ApiOptions(base_url or "", api_key or "", dimensions or None)
        return embed_search(query, texts or [], model, k, projection, settings, wait_for_umap=False,
                            api=api).as_json()

    @at_edge
    @checked
    def word_neighbors(word: str, source: str = DEFAULT_WORD_VECTORS, k: int = 10) -> dict[str, Any]:
        """The `k` words whose static vectors are closest (cosine) to `word`."""
        vectors = wv.load_source(source, settings)
        return {"source": vectors.source, "word": word,
                "neighbors": [{"word": w, "score": round(s, 6)} for w, s in wv.neighbours(vectors, word, k)]}

    @at_edge
    @checked
    def analogy(a: str, b: str, c: str, source: str = DEFAULT_WORD_VECTORS, k: int = 5) -> dict[str, Any]:
        """a − b + c (king − man + woman → queen); the three input words are excluded from the answers."""
        vectors = wv.load_source(source, settings)
        return {"source": vectors.source, "expression": f"{a} - {b} + {c}", "inputs_excluded": True,
                "answers": [{"word": w, "score": round(s, 6)} for w, s in wv.analogy(vectors, a, b, c, k)]}

    gr.api(embed_search_api, api_name="embed_search", **queue("sentences", settings))
    gr.api(word_neighbors, api_name="word_neighbors", **queue("words", settings))
    gr.api(analogy, api_name="analogy", **queue("words", settings))
