"""The embeddings backend with the real offline MiniLM: sentence neighbours, caching, static word
vectors (king − man + woman), contextual vectors of 'bank', and UMAP through its warm-up."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from playground.embeddings import examples, search, warmup
from playground.embeddings import words as wv
from playground.embeddings.contextual import contextual_compare
from playground.errors import InvalidInput

pytestmark = pytest.mark.slow


def test_similar_sentences_rank_above_unrelated(settings) -> None:
    texts = ["The weather is lovely and sunny today.", "A man is playing a guitar on stage.",
             "It is a bright, warm and cloudless day.", "Quarterly revenue grew by eight percent.",
             "Someone strums an acoustic guitar."]
    result = search.embed_search("What a beautiful sunny day!", texts, "minilm", 5, "PCA", settings)
    ranked = [n.index for n in result.neighbours]
    assert set(ranked[:2]) == {0, 2}
    assert ranked.index(3) > 1
    guitar = search.embed_search("guitar music", texts, "minilm", 2, "PCA", settings)
    assert {n.index for n in guitar.neighbours} == {1, 4}
    assert result.dimensions == 384 and result.coords.shape == (5, 2)
    scores = [n.score for n in result.neighbours]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1


def test_example_queries_find_their_topic(settings) -> None:
    expected = ["animals", "cooking", "finance", "programming"]
    for query, topic in zip(examples.QUERIES, expected, strict=True):
        result = search.embed_search(query, list(examples.TEXTS), "minilm", 3, "PCA", settings,
                                     labels=list(examples.LABELS))
        assert [n.label for n in result.neighbours].count(topic) >= 2, (query, result.neighbours)


def test_new_query_or_projection_does_not_re_encode(settings) -> None:
    texts = [f"Sentence number {i} about topic {i % 3}." for i in range(12)]
    first = search.embed_search("topic 1", texts, "minilm", 3, "PCA", settings)
    again = search.embed_search("topic 2", texts, "minilm", 3, "t-SNE", settings)
    assert first.encoded_now and not again.encoded_now
    # The neighbours are computed in the full space: the projection does not change them.
    same = search.embed_search("topic 1", texts, "minilm", 3, "t-SNE", settings)
    assert [n.index for n in same.neighbours] == [n.index for n in first.neighbours]
    assert first.similarity is not None and first.similarity.shape == (12, 12)


def test_bad_sentence_input(settings) -> None:
    with pytest.raises(InvalidInput, match="query is empty"):
        search.embed_search("  ", ["a"], "minilm", 3, "PCA", settings)
    with pytest.raises(InvalidInput, match="corpus is empty"):
        search.embed_search("hello", ["", "  "], "minilm", 3, "PCA", settings)


def test_static_word_vectors_answer_king_man_woman(settings) -> None:
    vectors = wv.load_source("minilm-static", settings)
    assert 20_000 < vectors.size < 25_000 and vectors.kv.vector_size == 384
    assert not any(w.startswith("##") or w.startswith("[") for w in vectors.kv.index_to_key)
    answers = [w for w, _ in wv.analogy(vectors, "king", "man", "woman", 3)]
    assert "queen" in answers and not {"king", "man", "woman"} & set(answers)
    assert wv.analogy(vectors, "paris", "france", "germany", 3)[0][0] == "berlin"
    assert "queen" in [w for w, _ in wv.neighbours(vectors, "king", 5)]
    with pytest.raises(InvalidInput, match="did you mean"):
        wv.neighbours(vectors, "quen")


def test_contextual_bank_differs_more_than_static_suggests(settings) -> None:
    result = contextual_compare("bank", examples.CONTEXT_SENTENCES, "minilm", settings)
    sims = result.contextual_similarity
    # Sentences 0-1: river bank; 2-3: the bank that holds money.
    same_sense = np.mean([sims[0, 1], sims[2, 3]])
    across = np.mean([sims[i, j] for i in (0, 1) for j in (2, 3)])
    assert same_sense > across
    assert across < 0.9
    np.testing.assert_allclose(result.static_similarity, 1.0, atol=1e-6)  # one token, one static vector
    assert all(o.tokens == ["bank"] for o in result.occurrences)
    pieces = contextual_compare("tokenization", ["Tokenization matters.", "We study tokenization."], "minilm", settings)
    assert pieces.occurrences[0].tokens == ["token", "##ization"]  # subword pieces, averaged
    with pytest.raises(InvalidInput, match="Sentence 2 does not contain"):
        contextual_compare("bank", ["the bank", "no such word"], "minilm", settings)


def test_umap_warms_in_background_then_maps_clusters(settings) -> None:
    state = warmup.start()
    assert state.state in {"warming", "ready"}
    state = warmup.wait(240)
    assert state.ready, state
    assert state.import_s is not None and state.first_fit_s is not None
    texts = list(examples.TEXTS)
    result = search.embed_search("a dog", texts, "minilm", 3, "UMAP", settings, wait_for_umap=False)
    assert result.method == "UMAP" and result.coords.shape == (20, 2)
    assert "umap" in sys.modules
