"""The embedding-model and word-vector catalogues: data, not code.

`MODELS` holds transformer encoders. `sentence=True` entries are sentence-transformers models
(used for sentence embeddings and for contextual token vectors); the others are plain
transformers used only for contextual token vectors. `pack` names the offline-pack entry that
stands in for the hub repo (see `playground.pack.Pack`). `playground.catalogues` reads
`spec.hub_id` of every entry for `python -m playground.pack prefetch --models`.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.errors import UnknownName


@dataclass(frozen=True)
class EmbeddingModelSpec:
    id: str
    label: str
    hub_id: str
    pack: str | None = None  # offline-pack entry, or None (hub only)
    sentence: bool = True  # a sentence-transformers model (else: contextual token vectors only)
    notes: str = ""


@dataclass(frozen=True)
class WordVectorSpec:
    id: str
    label: str
    gensim_name: str | None = None  # a gensim-data name (needs a network), or None
    pack: str | None = None  # offline-pack entry whose input embeddings serve as word vectors
    size_mb: int = 0
    notes: str = ""


MODELS: tuple[EmbeddingModelSpec, ...] = (
    EmbeddingModelSpec(
        "minilm", "all-MiniLM-L6-v2 (384-d, fast)", "sentence-transformers/all-MiniLM-L6-v2", pack="minilm",
        notes="6 layers, 384 dimensions, English; BERT's uncased WordPiece vocabulary.",
    ),
    EmbeddingModelSpec("mpnet", "all-mpnet-base-v2 (768-d)", "sentence-transformers/all-mpnet-base-v2",
                       notes="12 layers, 768 dimensions; slower, usually better."),
    EmbeddingModelSpec("bge-small", "BGE small en v1.5 (384-d)", "BAAI/bge-small-en-v1.5",
                       notes="A strong small English retrieval model."),
    EmbeddingModelSpec("multilingual-minilm", "paraphrase-multilingual-MiniLM-L12-v2 (50+ languages)",
                       "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
                       notes="Maps the same sentence in different languages close together."),
    EmbeddingModelSpec("bert-base-uncased", "BERT base uncased (token vectors only)", "google-bert/bert-base-uncased",
                       sentence=False),
    EmbeddingModelSpec("deberta-v3-xsmall", "DeBERTa-v3 xsmall (token vectors only)", "microsoft/deberta-v3-xsmall",
                       sentence=False),
    EmbeddingModelSpec("roberta-base", "RoBERTa base (token vectors only)", "FacebookAI/roberta-base", sentence=False),
)

WORD_VECTORS: tuple[WordVectorSpec, ...] = (
    WordVectorSpec(
        "minilm-static", "MiniLM input embeddings (offline, whole words)", pack="minilm",
        notes="The static input-embedding layer of all-MiniLM-L6-v2: one 384-d vector per whole-word entry of its "
              "WordPiece vocabulary (about 22,500 words). These were learned as the first layer of a transformer, "
              "not by word2vec or GloVe, so they are noisier than GloVe.",
    ),
    WordVectorSpec("glove-wiki-gigaword-50", "GloVe, Wikipedia + Gigaword, 50-d (needs a network)",
                   gensim_name="glove-wiki-gigaword-50", size_mb=66, notes="400,000 words, lower-case."),
    WordVectorSpec("glove-wiki-gigaword-100", "GloVe, Wikipedia + Gigaword, 100-d (needs a network)",
                   gensim_name="glove-wiki-gigaword-100", size_mb=128, notes="400,000 words, lower-case."),
    WordVectorSpec("fasttext-wiki-news-subwords-300", "fastText, Wikipedia news, 300-d (needs a network)",
                   gensim_name="fasttext-wiki-news-subwords-300", size_mb=958, notes="1 million words, cased."),
)

DEFAULT_MODEL = "minilm"
DEFAULT_WORD_VECTORS = "minilm-static"

_BY_ID = {spec.id: spec for spec in MODELS}
_BY_HUB = {spec.hub_id: spec for spec in MODELS}
_WORDS_BY_ID = {spec.id: spec for spec in WORD_VECTORS}


def get(model_id: str) -> EmbeddingModelSpec:
    """A catalogue entry by id or hub id; unknown names fail with the list of known ones."""
    name = (model_id or "").strip()
    spec = _BY_ID.get(name) or _BY_HUB.get(name)
    if spec is None:
        raise UnknownName("embedding model", name, _BY_ID)
    return spec


def get_sentence_model(model_id: str) -> EmbeddingModelSpec:
    name = (model_id or "").strip()
    spec = _BY_ID.get(name) or _BY_HUB.get(name)
    if spec is None:
        raise UnknownName("sentence-embedding model", name, [s.id for s in MODELS if s.sentence])
    if not spec.sentence:
        raise UnknownName("sentence-embedding model", model_id, [s.id for s in MODELS if s.sentence],
                          hint=f"{spec.label} gives token vectors only: use it under 'Contextual token embeddings'.")
    return spec


def get_word_vectors(source_id: str) -> WordVectorSpec:
    spec = _WORDS_BY_ID.get((source_id or "").strip())
    if spec is None:
        raise UnknownName("word-vector source", source_id, _WORDS_BY_ID)
    return spec
