"""Sentence embeddings from an API, against a real OpenAI-compatible server on loopback
(`tests/fake_embeddings_server.py`): neighbours, batching, the cache, Matryoshka `dimensions`,
cost from LiteLLM's map, the operator key's spend caps, and a clear message for every way a
server can fail, each followed by a normal call that works."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from fake_embeddings_server import FULL_DIMENSIONS, FakeEmbeddings, fake_vector

from playground.embeddings import remote, search
from playground.errors import InvalidInput, NotAllowed, PlaygroundError, UnknownName
from playground.remote.spend import OPERATOR_SPEND

TEXTS = ["The cat sat on the mat.", "A dog chased the cat.", "Interest rates rose again.",
         "The bank raised interest rates.", "Bake the bread for an hour.", "Fresh bread from the oven."]
KEY = "sk-operator-test-key"


@pytest.fixture
def fake() -> Iterator[FakeEmbeddings]:
    with FakeEmbeddings() as server:
        yield server


@pytest.fixture
def operator(settings, fake):
    """The operator's key and base URL point at the fake server (as if it were OpenAI)."""
    return replace(settings, openai_api_key=KEY, openai_base_url=fake.base_url, exposed=False)


def typed(fake: FakeEmbeddings, **kwargs) -> remote.ApiOptions:
    return remote.ApiOptions(base_url=fake.base_url, **kwargs)


def assert_brute_force_neighbours(result: search.SearchResult, dimensions: int | None = None) -> None:
    """Each neighbour's score is the oracle's cosine, and they are the top scores (ties in any order)."""
    q = fake_vector(result.query, dimensions)
    scores = np.array([float(q @ fake_vector(t, dimensions)) for t in result.texts])
    found = [n.score for n in result.neighbours]
    np.testing.assert_allclose(found, [scores[n.index] for n in result.neighbours], atol=1e-5)
    np.testing.assert_allclose(found, np.sort(scores)[::-1][:len(found)], atol=1e-5)


def search_api(fake, settings, query="interest rates", texts=TEXTS, model="api:fake-embed", **options):
    return search.embed_search(query, texts, model, 3, "PCA", settings, api=typed(fake, **options))


def test_a_compatible_server_finds_the_neighbours_brute_force_finds(fake, settings) -> None:
    result = search_api(fake, settings)
    assert_brute_force_neighbours(result)
    assert result.neighbours[0].text == "Interest rates rose again."
    assert result.dimensions == FULL_DIMENSIONS and result.api and result.where == fake.base_url
    body = fake.requests[0]["body"]
    assert body["model"] == "fake-embed" and body["encoding_format"] == "float" and "dimensions" not in body
    assert fake.requests[0]["headers"]["authorization"] == "Bearer no-key"  # no key typed, none sent
    assert result.tokens == sum(len(t.split()) for t in TEXTS) + 2
    assert result.cost_usd is None  # a model nobody lists a price for: no price, never $0
    as_json = result.as_json()
    assert as_json["model"] == "api:fake-embed" and as_json["base_url"] == fake.base_url


def test_batches_and_the_cache_keyed_by_server_model_dimensions_and_content(fake, settings) -> None:
    texts = [f"text number {i} about topic {i % 7}" for i in range(600)]
    first = search_api(fake, settings, "topic 3", texts)
    sizes = [len(r["body"]["input"]) for r in fake.requests]
    assert sizes == [256, 256, 88, 1]  # the corpus in batches, then the query
    assert first.encoded_now
    again = search_api(fake, settings, "topic 5", texts)
    assert not again.encoded_now and len(fake.requests) == 5  # only the new query was sent
    short = search_api(fake, settings, "topic 5", texts, dimensions=8)
    assert short.encoded_now and short.dimensions == 8  # other dimensions: another cache entry
    assert all(r["body"]["dimensions"] == 8 for r in fake.requests[5:])


def test_matryoshka_dimensions_change_the_neighbours_as_truncation_does(fake, settings) -> None:
    for dimensions in (None, 4):
        result = search_api(fake, settings, "the cat and the dog", model="api:fake-embed",
                            dimensions=dimensions)
        assert_brute_force_neighbours(result, dimensions)
        assert result.dimensions == (dimensions or FULL_DIMENSIONS)


def test_openai_model_with_the_operator_key_costs_the_listed_price_and_counts(fake, operator) -> None:
    before = OPERATOR_SPEND.total
    result = search.embed_search("interest rates", TEXTS, "text-embedding-3-small", 2, "PCA", operator,
                                 api=remote.ApiOptions(dimensions=16))
    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    assert fake.requests[0]["body"]["dimensions"] == 16 and result.dimensions == 16
    price = 2e-08  # text-embedding-3-small in LiteLLM's map, per input token
    assert result.cost_usd == pytest.approx(result.tokens * price)
    assert result.operator_spent_usd == pytest.approx(result.cost_usd)
    assert OPERATOR_SPEND.total == pytest.approx(before + result.cost_usd)
    with pytest.raises(InvalidInput, match="between 1 and 1,536"):
        search.embed_search("q", TEXTS, "text-embedding-3-small", 2, "PCA", operator,
                            api=remote.ApiOptions(dimensions=4096))


def test_dimensions_must_be_whole() -> None:
    spec, _ = remote.api_model("text-embedding-3-small")
    assert remote.check_dimensions(None, spec) is None and remote.check_dimensions(0, spec) is None
    assert remote.check_dimensions(256.0, spec) == 256  # the page's number box may send a float
    for bad in (256.5, float("nan"), float("inf")):  # 256.5 was cut to 256 without a word
        with pytest.raises(InvalidInput, match="whole number"):
            remote.check_dimensions(bad, spec)


def test_the_operator_key_never_goes_to_a_typed_url_and_caps_hold(fake, operator) -> None:
    elsewhere = fake.base_url.replace("127.0.0.1", "localhost")  # the same server, but not the operator's URL
    search.embed_search("q", TEXTS, "text-embedding-3-small", 2, "PCA", operator,
                        api=remote.ApiOptions(base_url=elsewhere))
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer no-key"
    capped = replace(operator, spend_cap_total_usd=OPERATOR_SPEND.total)  # nothing left to spend
    with pytest.raises(PlaygroundError, match="spend cap"):
        search.embed_search("q", ["a new corpus"], "text-embedding-3-small", 2, "PCA", capped)


@pytest.mark.parametrize(("mode", "times", "message"), [
    ("404", 1, "has no embeddings for 'text-embedding-3-small'.*lacks a /v1/embeddings endpoint"),
    ("nan", 1, "NaN, infinite or non-numeric"),
    ("wrong_dim", 1, "embeddings of different lengths"),
    ("empty", 1, "returned 0 embeddings for 6 inputs"),
    ("empty_vector", 1, "empty embedding for input 1"),
    ("missing", 1, "returned 5 embeddings for 6 inputs"),
    ("500", 3, "internal error"),  # the openai client retried twice first
    ("429", 3, "Rate limit"),
])
def test_every_server_fault_gets_a_clear_message_naming_the_server(fake, operator, mode, times, message) -> None:
    before = OPERATOR_SPEND.total
    texts = [f"{mode} {t}" for t in TEXTS]  # a corpus of its own: never served from the cache
    fake.fail(mode, times)
    with pytest.raises(PlaygroundError, match=message) as info:
        search.embed_search("q", texts, "text-embedding-3-small", 2, "PCA", operator)
    assert fake.base_url in str(info.value) and KEY not in str(info.value)
    assert OPERATOR_SPEND.total == pytest.approx(before)  # a failed call never uses up the cap
    assert len(search.embed_search("q", texts, "text-embedding-3-small", 2, "PCA", operator).neighbours) == 2


def test_dimensions_a_server_ignores_are_named(fake, settings) -> None:
    fake.fail("ignore_dimensions")
    with pytest.raises(PlaygroundError, match="48-dimensional embeddings where 8 were asked for"):
        search_api(fake, settings, texts=["only here", "and here"], dimensions=8)


def test_bad_model_names_and_urls(fake, settings) -> None:
    with pytest.raises(InvalidInput, match="After 'api:'"):
        search.embed_search("q", TEXTS, "api:", 2, "PCA", settings, api=typed(fake))
    with pytest.raises(UnknownName, match="api:<model name>"):
        remote.api_model("text-embedding-4")
    with pytest.raises(InvalidInput, match="base URL"):
        search.embed_search("q", TEXTS, "api:m", 2, "PCA", settings, api=remote.ApiOptions(base_url="ftp://x"))
    with pytest.raises(InvalidInput, match="Type the server's base URL"):
        search.embed_search("q", TEXTS, "api:m", 2, "PCA", replace(settings, openai_base_url=None))


def test_an_exposed_app_refuses_a_typed_url_to_its_own_machine(fake, settings) -> None:
    exposed = replace(settings, exposed=True, allow_custom_base_url=True)
    with pytest.raises(NotAllowed, match="loopback"):
        search_api(fake, exposed, texts=["never sent"])
    assert fake.requests == []


def test_vectors_are_unit_length_float32(fake, settings) -> None:
    encoder = remote.encoder("api:fake-embed", typed(fake), settings)
    vectors = encoder.encode(["one two", "three"])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1)


def test_an_unpriced_model_on_the_operators_own_server_says_the_cap_cannot_count_it(fake, operator) -> None:
    before = OPERATOR_SPEND.total
    result = search.embed_search("q", TEXTS, "api:fake-embed", 2, "PCA", operator)
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"  # the operator's own base URL
    assert result.cost_usd is None and any("spend cap cannot count" in n for n in result.notes)
    assert OPERATOR_SPEND.total == pytest.approx(before)
