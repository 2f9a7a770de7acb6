"""Fast tests of the embeddings backend without a model: numpy helpers against brute force,
projections and their fallbacks, the cache, corpus/upload parsing, the catalogue, word vectors
on hand-made vectors, and word2vec on playlists built here."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from playground.embeddings import catalogue, numeric
from playground.embeddings import word2vec as w2v
from playground.embeddings import words as wv
from playground.embeddings.cache import EmbeddingCache, texts_key
from playground.embeddings.corpus import corpus_from_table, parse_size, read_table, validate_texts
from playground.errors import HubUnavailable, InputTooLarge, InvalidInput, UnknownName


def brute_force_top_k(query: np.ndarray, corpus: np.ndarray, k: int) -> list[int]:
    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    scores = [cos(query, row) for row in corpus]
    return sorted(range(len(corpus)), key=lambda i: (-scores[i], i))[:k]


# --- neighbours -------------------------------------------------------------------------------


@pytest.mark.parametrize("n,d,k", [(1, 3, 1), (10, 4, 3), (200, 16, 10), (50, 8, 50), (7, 5, 20)])
def test_top_k_matches_brute_force(n: int, d: int, k: int) -> None:
    rng = np.random.default_rng(n * 31 + d)
    corpus = rng.normal(size=(n, d))
    queries = rng.normal(size=(3, d))
    indices, scores = numeric.top_k(queries, numeric.normalise(corpus), k)
    assert indices.shape == (3, min(k, n))
    for q, row, row_scores in zip(queries, indices, scores, strict=True):
        assert row.tolist() == brute_force_top_k(q, corpus, k)
        expected = [np.dot(q, corpus[i]) / np.linalg.norm(q) / np.linalg.norm(corpus[i]) for i in row]
        np.testing.assert_allclose(row_scores, expected, rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(row_scores) <= 1e-7)  # best first


def test_top_k_hand_made_vectors_and_shapes() -> None:
    corpus = numeric.normalise(np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [0, 0]], dtype=np.float32))
    indices, scores = numeric.top_k(np.array([1.0, 0.1]), corpus, 3)  # a 1-D query is one query
    assert indices.tolist() == [[0, 2, 1]]
    assert scores[0, 0] == pytest.approx(1 / np.sqrt(1.01), rel=1e-5)
    assert numeric.top_k(np.array([1.0, 0.0]), corpus, 0)[0].shape == (1, 0)
    # An all-zero row has similarity 0 (not NaN).
    _, all_scores = numeric.top_k(np.array([1.0, 0.0]), corpus, 5)
    assert not np.isnan(all_scores).any()
    with pytest.raises(ValueError, match="dimension"):
        numeric.top_k(np.ones(3), corpus, 1)


def test_cosine_matrix_matches_brute_force() -> None:
    x = np.random.default_rng(1).normal(size=(6, 5))
    expected = [[np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) for b in x] for a in x]
    np.testing.assert_allclose(numeric.cosine_matrix(x), expected, rtol=1e-5, atol=1e-6)


# --- projections ------------------------------------------------------------------------------


def clusters(n_per: int = 10, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5, size=(3, d))
    x = np.concatenate([c + rng.normal(scale=0.3, size=(n_per, d)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(3), n_per)


@pytest.mark.parametrize("n_per,d", [(10, 12), (2, 40)])  # more points than dimensions, and fewer
def test_pca_matches_brute_force_eigenvectors(n_per: int, d: int) -> None:
    x, _ = clusters(n_per, d)
    proj = numeric.pca_2d(x)
    centred = x - x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred.T))
    top = eigenvectors[:, ::-1][:, :2]  # largest two
    expected = centred @ top
    for axis in range(2):  # equal up to sign
        sign = np.sign(np.dot(proj.coords[:, axis], expected[:, axis]))
        np.testing.assert_allclose(proj.coords[:, axis], sign * expected[:, axis], rtol=1e-3, atol=1e-3)
    # A point already in the data is placed where the map put it.
    np.testing.assert_allclose(proj.place(x[4]), proj.coords[4], atol=1e-4)
    # …and the same as scikit-learn's PCA, up to sign.
    from sklearn.decomposition import PCA

    reference = PCA(n_components=2).fit_transform(x)
    np.testing.assert_allclose(np.abs(proj.coords), np.abs(reference), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("n_per,d", [(10, 12), (2, 40), (1, 4)])
def test_pca_gram_and_sklearn_paths_give_the_same_map(n_per: int, d: int, monkeypatch) -> None:
    """Small corpora use the Gram-matrix PCA (faster there), large ones scikit-learn's: one map either way."""
    x, _ = clusters(n_per, d)
    gram = numeric.pca_2d(x)
    monkeypatch.setattr(numeric, "GRAM_PCA_MAX_POINTS", 0)
    library = numeric.pca_2d(x)
    np.testing.assert_allclose(gram.coords, library.coords, rtol=1e-3, atol=1e-3)  # signs are fixed alike
    np.testing.assert_allclose(gram.components, library.components, atol=1e-4)


def test_pca_degenerate_inputs() -> None:
    assert numeric.pca_2d(np.ones((1, 4))).coords.tolist() == [[0.0, 0.0]]
    one_direction = numeric.pca_2d(np.array([[0, 0], [1, 0], [2, 0]], dtype=np.float32)).coords
    assert np.allclose(one_direction[:, 1], 0) and np.allclose(np.abs(one_direction[:, 0]), [1, 0, 1])


def same_cluster_neighbour_rate(coords: np.ndarray, labels: np.ndarray) -> float:
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(labels[distances.argmin(axis=1)] == labels))


def test_tsne_keeps_clusters_and_lowers_perplexity() -> None:
    x, labels = clusters()
    proj = numeric.tsne_2d(x)
    assert proj.method == "t-SNE" and proj.coords.shape == (30, 2)
    assert "perplexity lowered" in proj.note and proj.place(x[0]) is None
    assert same_cluster_neighbour_rate(proj.coords, labels) == 1.0


@pytest.mark.parametrize("method,n", [("t-SNE", 4), ("UMAP", 5), ("tsne", 1)])
def test_too_few_points_fall_back_to_pca(method: str, n: int) -> None:
    proj = numeric.project(np.random.default_rng(0).normal(size=(n, 3)), method)
    assert proj.method == "PCA" and "instead" in proj.note and proj.coords.shape == (n, 2)


def test_unknown_projection_lists_known_ones() -> None:
    with pytest.raises(UnknownName, match="PCA"):
        numeric.project(np.ones((3, 2)), "isomap")
    assert numeric.canonical_method("TSNE") == "t-SNE"


def test_place_among_neighbours_is_weighted_mean() -> None:
    coords = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float32)
    placed = numeric.place_among_neighbours(coords, np.array([1, 2]), np.array([0.75, 0.25]))
    np.testing.assert_allclose(placed, [7.5, 2.5])


# --- cache --------------------------------------------------------------------------------------


def test_texts_key_depends_on_boundaries_and_content() -> None:
    assert texts_key(["ab", "c"]) != texts_key(["a", "bc"])
    assert texts_key(["a"]) == texts_key(["a"]) != texts_key(["A"])


def test_lru_bounds_entries_and_bytes() -> None:
    cache: EmbeddingCache[np.ndarray] = EmbeddingCache(max_entries=2, max_bytes=10_000)
    cache.put("a", np.zeros(10))
    cache.put("b", np.zeros(10))
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", np.zeros(10))
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2
    cache.put("big", np.zeros(2_000))  # 16 kB > 10 kB: not stored, nothing evicted for it
    assert cache.get("big") is None and len(cache) == 2
    calls = []
    assert "d" not in cache
    assert cache.get_or_load("d", lambda: calls.append(1) or np.ones(1)) is not None
    cache.get_or_load("d", lambda: calls.append(1) or np.ones(1))
    assert "d" in cache
    assert calls == [1]


# --- corpus and uploads ---------------------------------------------------------------------------


def test_validate_texts_limits(settings) -> None:
    small = replace(settings, max_corpus_texts=3, max_corpus_text_chars=10)
    assert validate_texts(["  a ", "", "b"], small) == ["a", "b"]
    with pytest.raises(InvalidInput, match="empty"):
        validate_texts(["", "  "], small)
    with pytest.raises(InputTooLarge, match="4 texts"):
        validate_texts(list("abcd"), small)
    with pytest.raises(InputTooLarge, match="Line 2"):
        validate_texts(["ok", "x" * 11], small)
    assert settings.max_corpus_texts == 5_000 and settings.max_corpus_text_chars == 2_000


def test_upload_csv_with_label_column(tmp_path, settings) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text('label,text\nanimals,"A cat, asleep"\n\nfood,Bread\n', encoding="utf-8")
    table = read_table(path, settings)
    assert table.default_text_column() == "text" and table.default_label_column() == "label"
    corpus = corpus_from_table(table, "text", "label", settings)
    assert corpus.texts == ["A cat, asleep", "Bread"] and corpus.labels == ["animals", "food"]


def test_upload_errors_name_the_line(tmp_path, settings) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("text,label\nfine,a\ntoo,many,fields\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 3 has 3 fields"):
        read_table(bad_csv, settings)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("first line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8.*line 2"):
        read_table(latin, settings)
    big = tmp_path / "big.txt"
    big.write_text("x" * 2_000)
    with pytest.raises(InputTooLarge, match="bytes"):
        read_table(big, replace(settings, max_file_size="1kb"))
    pdf = tmp_path / "x.pdf"
    pdf.write_text("a")
    with pytest.raises(InvalidInput, match=r"\.txt"):
        read_table(pdf, settings)
    assert parse_size("5mb") == 5 * 1024**2


# --- catalogue --------------------------------------------------------------------------------------


def test_catalogue_ids_and_labels_unique() -> None:
    for entries in (catalogue.MODELS, catalogue.WORD_VECTORS):
        assert len({e.id for e in entries}) == len(entries)
        assert len({e.label for e in entries}) == len(entries)
    assert all(spec.hub_id.count("/") == 1 for spec in catalogue.MODELS)
    assert catalogue.get("sentence-transformers/all-MiniLM-L6-v2").id == "minilm"
    with pytest.raises(UnknownName, match="minilm"):
        catalogue.get("nope")
    with pytest.raises(UnknownName, match="token vectors only"):
        catalogue.get_sentence_model("bert-base-uncased")


# --- word vectors on hand-made vectors ----------------------------------------------------------------


def test_uploaded_glove_and_word2vec_files(tmp_path, settings) -> None:
    glove = tmp_path / "glove.txt"
    glove.write_text("king 1 1 0\nqueen 1 0 1\nman 0 1 0\nwoman 0 0 1\napple -1 0 0\n", encoding="utf-8")
    vectors = wv.load_upload(glove, settings)
    assert vectors.size == 5 and vectors.kv.vector_size == 3
    assert wv.analogy(vectors, "king", "man", "woman", 1)[0][0] == "queen"
    assert "king" not in [w for w, _ in wv.analogy(vectors, "king", "man", "woman", 5)]  # inputs excluded
    assert wv.odd_one_out(vectors, "king queen man apple").odd == "apple"
    w2v_file = tmp_path / "vectors.txt"
    w2v_file.write_text("2 2\nup 0 1\ndown 0 -1\n", encoding="utf-8")
    assert wv.load_upload(w2v_file, settings).kv.index_to_key == ["up", "down"]
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2: expected a word and 2 numbers"):
        wv.load_upload(bad, settings)
    bad.write_text("a 1 2\nb 1 x\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2.*not all numbers"):
        wv.load_upload(bad, settings)


@pytest.mark.parametrize(("content", "message"), [
    ("a 1 2\n\nb 3 4\n", "line 2 is empty"),
    ("a 1 2\na 3 4\n", "'a' appears twice"),  # gensim would merge it silently
    ("3 2\na 1 2\nb 3 4\n", "promises 3 words, the file holds 2"),
    ("2 2\na 1 2\nb 3 x\n", "line 3: the values after 'b' are not all numbers"),
    ("", "holds no vectors"),
])
def test_bad_vector_files_name_the_problem(tmp_path, settings, content: str, message: str) -> None:
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        wv.load_upload(path, settings)


def test_odd_one_out_agrees_with_a_brute_force_centroid() -> None:
    rng = np.random.default_rng(3)
    words = ["breakfast", "lunch", "dinner", "car"]
    matrix = np.stack([rng.normal(size=8) + (0 if w != "car" else 4) for w in words]).astype(np.float32)
    vectors = wv.WordVectors(wv.keyed_vectors(words, matrix), "t", "")
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    centre = unit.mean(axis=0) / np.linalg.norm(unit.mean(axis=0))
    expected = sorted(zip(unit @ centre, words, strict=True))
    result = wv.odd_one_out(vectors, " ".join(words))
    assert result.odd == expected[0][1] == vectors.kv.doesnt_match(words)
    assert [w for w, _ in result.similarity_to_mean] == [w for _, w in expected]
    np.testing.assert_allclose([s for _, s in result.similarity_to_mean], [s for s, _ in expected], rtol=1e-5)


def test_unknown_words_are_named_with_suggestions() -> None:
    vectors = wv.WordVectors(wv.keyed_vectors(["king", "queen", "kingdom"], np.eye(3, dtype=np.float32)), "t", "")
    with pytest.raises(InvalidInput, match=r"'kingg' \(did you mean king") as info:
        wv.neighbours(vectors, "kingg")
    assert "not in the vocabulary" in str(info.value)
    assert wv.neighbours(vectors, "KING", 1)[0][0] in {"queen", "kingdom"}  # case falls back to lower-case


def test_network_word_vectors_offline_say_so(settings, monkeypatch, tmp_path) -> None:
    import gensim.downloader as api

    monkeypatch.setattr(api, "BASE_DIR", str(tmp_path))
    with pytest.raises(HubUnavailable, match="offline"):
        wv.load_source("glove-wiki-gigaword-50", settings)


# --- word2vec ------------------------------------------------------------------------------------------


def clustered_playlists(seed: int = 0) -> tuple[list[list[str]], dict[str, int]]:
    rng = random.Random(seed)
    items = {f"song{c}{i:02d}": c for c in range(4) for i in range(15)}
    by_cluster = {c: [s for s, cc in items.items() if cc == c] for c in range(4)}
    return [rng.sample(by_cluster[rng.randrange(4)], 8) for _ in range(500)], items


def test_word2vec_recommends_items_from_the_same_cluster() -> None:
    playlists, cluster_of = clustered_playlists()
    metadata = {s: w2v.Item(s, f"Title {s}", f"Band {c}") for s, c in cluster_of.items()}
    seen: list[float] = []
    trained = w2v.train(playlists, w2v.TrainParams(vector_size=16, window=5, negative=5, epochs=10), metadata,
                        progress=lambda fraction, _msg: seen.append(fraction))
    assert seen[-1] == pytest.approx(1.0) and len(seen) == 10
    for probe in ("song000", "song107", "song314"):
        similar = w2v.similar_items(trained, probe, 5)
        assert [cluster_of[item.id] for item, _ in similar] == [cluster_of[probe]] * 5
        assert similar[0][0].artist == f"Band {cluster_of[probe]}"
    assert w2v.similar_items(trained, "Title song000", 1)  # a title works too
    with pytest.raises(InvalidInput, match="not in the trained vocabulary"):
        w2v.similar_items(trained, "nosuchsong", 3)


def test_sequence_and_metadata_parsing_errors() -> None:
    assert w2v.parse_sequences("# header\na b c \nlonely\n\nd e\n") == [["a", "b", "c"], ["d", "e"]]
    assert w2v.parse_sequences("The cat sat.", lowercase_words=True) == [["the", "cat", "sat"]]
    with pytest.raises(InvalidInput, match="no sequence"):
        w2v.parse_sequences("one\ntwo\n")
    assert w2v.parse_metadata("id\ttitle\tartist\n1\tSong\tBand\n")["1"].artist == "Band"
    with pytest.raises(InvalidInput, match="line 2"):
        w2v.parse_metadata("1,Song,Band\njust-an-id\n")
    with pytest.raises(InvalidInput, match="epochs"):
        w2v.TrainParams(epochs=0).checked()


def test_playlist_download_offline_says_so(settings, tmp_path) -> None:
    with pytest.raises(w2v.DatasetUnavailable, match="offline"):
        w2v.download_playlists(replace(settings, cache_dir=tmp_path))


def test_toy_playlists_cluster_by_genre() -> None:
    playlists, metadata = w2v.toy_playlists(n=300)
    trained = w2v.train(playlists, w2v.TrainParams(vector_size=16, window=10, epochs=10), metadata)
    similar = w2v.similar_items(trained, "jazz_03", 5)
    assert sum(item.id.startswith("jazz") for item, _ in similar) >= 4
