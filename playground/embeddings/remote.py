"""Sentence embeddings from an API: OpenAI's text-embedding-3 models and any OpenAI-compatible
`/v1/embeddings` server (TEI, vLLM, Ollama, LM Studio, Gemini's OpenAI-compatible endpoint).

Model ids as `/embed_search` takes them: `text-embedding-3-small`, `text-embedding-3-large`
(OpenAI, or the operator's base URL), and `api:<name>` for whatever model a compatible server
serves. `dimensions` asks the server to shorten the vectors: text-embedding-3 models are trained
Matryoshka-style, so their first 256 numbers, renormalised, are a usable embedding on their own,
and a learner can watch what that does to the neighbours.

The same key, exposure and spend rules as Chat (`playground.remote`): a typed key goes only to
the URL the visitor chose, the operator's key only to the operator's base URL, a typed URL on an
exposed app is address-checked, and a call paid with the operator's key reserves its worst case
(every input token at the listed price) and settles to what the server reports, or gives the
reservation back when the call fails. Batching is ours (OpenAI takes at most 2,048 inputs a
request); retries and timeouts are the openai client's. Every answer is checked before use:
one finite vector per input, all of one length (the requested one, when `dimensions` is set).
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground import runtime
from playground.errors import InvalidInput, PlaygroundError, UnknownName
from playground.remote.client import openai_client
from playground.remote.connection import Connection, resolve_connection
from playground.remote.errors import BackendError, translate_error
from playground.remote.spend import OPERATOR_SPEND, Hold, SpendLedger
from playground.settings import Settings

API_PREFIX = "api:"
BATCH_SIZE = 256  # inputs per request: far under OpenAI's 2,048, and small enough for local servers
MAX_RETRIES = 2
MAX_DIMENSIONS = 8_192


@dataclass(frozen=True)
class ApiModelSpec:
    id: str  # what `/embed_search` takes
    label: str
    openai: bool  # OpenAI's own model: OpenAI's URL (or the operator's) by default, a key needed
    max_dimensions: int | None  # full vector length, when known
    notes: str = ""


API_MODELS: tuple[ApiModelSpec, ...] = (
    ApiModelSpec("text-embedding-3-small", "OpenAI text-embedding-3-small (API, 1536-d, key needed)", True, 1536,
                 "OpenAI's small embedding model. Matryoshka-trained: ask for fewer dimensions to shorten it."),
    ApiModelSpec("text-embedding-3-large", "OpenAI text-embedding-3-large (API, 3072-d, key needed)", True, 3072,
                 "OpenAI's large embedding model. Matryoshka-trained: ask for fewer dimensions to shorten it."),
    ApiModelSpec(API_PREFIX, "OpenAI-compatible server (TEI, vLLM, Ollama, LM Studio, Gemini…)", False, None,
                 "Any server with a /v1/embeddings endpoint: type its base URL and the model name it serves."),
)
_BY_ID = {spec.id: spec for spec in API_MODELS}


@dataclass(frozen=True)
class ApiOptions:
    """What the visitor chose for an API model: never kept beyond one request (the key is theirs)."""

    base_url: str = ""
    api_key: str = field(default="", repr=False)
    dimensions: int | None = None
    session_spent: float = 0.0  # what the operator's key already spent for this session (USD)


def is_api_model(model: str) -> bool:
    name = (model or "").strip()
    return name in _BY_ID or name.startswith(API_PREFIX)


def api_model(model: str) -> tuple[ApiModelSpec, str]:
    """(catalogue entry, the model name sent to the server) for an API model id."""
    name = (model or "").strip()
    if name.startswith(API_PREFIX):
        served = name.removeprefix(API_PREFIX).strip()
        if not served or len(served) > 200 or not served.isprintable():
            raise InvalidInput("After 'api:' type the model name the server serves, e.g. api:nomic-embed-text "
                               "(Ollama) or api:BAAI/bge-small-en-v1.5 (TEI, vLLM).")
        return _BY_ID[API_PREFIX], served
    if name not in _BY_ID:
        raise UnknownName("API embedding model", name, [*(_BY_ID.keys() - {API_PREFIX}), "api:<model name>"])
    return _BY_ID[name], name


def check_dimensions(dimensions: float | None, spec: ApiModelSpec) -> int | None:
    """`dimensions` from the page's number box or the API: None or 0 (full vectors), else a whole number."""
    if not dimensions:
        return None
    if isinstance(dimensions, bool) or not math.isfinite(dimensions) or dimensions != int(dimensions):
        raise InvalidInput(f"dimensions must be a whole number, not {dimensions!r}.")
    value = int(dimensions)
    limit = spec.max_dimensions or MAX_DIMENSIONS
    if not 1 <= value <= limit:
        raise InvalidInput(f"dimensions must be between 1 and {limit:,} for {spec.id.rstrip(':') or spec.label} "
                           f"(got {value:,}); leave it empty for the full vectors.")
    return value


@dataclass
class ApiEncoder:
    """Encodes texts through one server for one request; `calls` says what each call used and cost."""

    spec: ApiModelSpec
    model: str  # the name sent to the server
    connection: Connection
    dimensions: int | None
    settings: Settings
    session_spent: float = 0.0
    ledger: SpendLedger = OPERATOR_SPEND
    tokens: int = 0
    cost_usd: float | None = 0.0  # None once a call had no listed price
    operator_spent_usd: float = 0.0  # what the operator's key paid (counts toward the caps)
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.model if self.spec.openai else API_PREFIX + self.model

    @property
    def where(self) -> str:
        return self.connection.base_url

    @property
    def cache_key(self) -> tuple[str, str, str, int | None]:
        # The server is part of the key: two servers may serve different weights under one name.
        return ("api", self.connection.base_url, self.model, self.dimensions)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n,) texts → (n, d) unit-length float32 vectors, in batches of BATCH_SIZE."""
        return np.concatenate([self._call(texts[i:i + BATCH_SIZE]) for i in range(0, len(texts), BATCH_SIZE)])

    def _call(self, batch: list[str]) -> np.ndarray:
        import openai

        from playground.chat import usage

        try:
            facts = usage.remote_facts(self.model, self.settings)
        except PlaygroundError:  # no price map here: prices are never a hard dependency
            facts = usage.ModelFacts(None, None, "no price map here", None, "unknown")
        counted = sum(usage.counter_for(self.model, self.settings).text_tokens(t) for t in batch)
        hold: AbstractContextManager[Hold | None] = nullcontext(None)
        if self.connection.operator_key:
            note = self.ledger.admit(self.connection.base_url, self.model, facts.priced,
                                     self.session_spent + self.operator_spent_usd, self.settings)
            if note and note not in self.notes:
                self.notes.append(note)
            if facts.priced:
                hold = self.ledger.reserve(counted * (facts.input_per_token or 0.0), self.settings,
                                           self.session_spent + self.operator_spent_usd)
        kwargs: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.dimensions:
            kwargs["dimensions"] = self.dimensions
        with hold as reservation:
            client = openai_client(self.connection, self.settings, max_retries=MAX_RETRIES)
            try:
                with runtime.waiting():  # the server does the work; this thread needs no core meanwhile
                    response = client.embeddings.create(**kwargs)
            except openai.APIError as exc:
                raise self._error(exc) from None
            finally:
                client.close()
            vectors = self._checked(response, len(batch))
            used = getattr(getattr(response, "usage", None), "prompt_tokens", None)
            tokens = used if isinstance(used, int) and used >= 0 else counted
            cost = tokens * facts.input_per_token if facts.priced and facts.input_per_token is not None else None
            if reservation is not None and cost is not None:
                reservation.settle(cost)
                self.operator_spent_usd += cost
        self.tokens += tokens
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost
        return vectors

    def _error(self, exc: Exception) -> BackendError:
        import openai

        where = self.connection.base_url
        if isinstance(exc, openai.NotFoundError | openai.UnprocessableEntityError) or \
                getattr(exc, "status_code", None) in {405, 501}:
            return BackendError(f"{where} has no embeddings for {self.model!r} ({getattr(exc, 'status_code', '?')}): "
                                "the server lacks a /v1/embeddings endpoint, or does not serve this model as an "
                                "embedding model. Check the base URL (it usually ends in /v1) and the model name.",
                                getattr(exc, "status_code", None))
        return translate_error(exc, self.connection, self.model, self.settings.chat_timeout_s)

    def _checked(self, response: object, expected: int) -> np.ndarray:
        """The vectors of a response, or a clear error naming the server and what its answer lacks."""
        where = self.connection.base_url
        data = getattr(response, "data", None)
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else "no"
            raise BackendError(f"{where} returned {got} embeddings for {expected} inputs: its /v1/embeddings answer "
                               "lacks one vector per input.")
        rows: list[list[float] | None] = [None] * expected
        for position, item in enumerate(data):
            index = getattr(item, "index", position)
            vector = getattr(item, "embedding", None)
            if not isinstance(index, int) or not 0 <= index < expected or rows[index] is not None:
                raise BackendError(f"{where} returned embeddings with a bad or repeated index ({index!r}).")
            if not isinstance(vector, list) or not vector:
                raise BackendError(f"{where} returned an empty embedding for input {index + 1}: it lacks a vector.")
            if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in vector):
                raise BackendError(f"{where} returned an embedding with NaN, infinite or non-numeric values for "
                                   f"input {index + 1}.")
            rows[index] = vector
        lengths = {len(row) for row in rows if row is not None}
        if len(lengths) != 1:
            raise BackendError(f"{where} returned embeddings of different lengths ({', '.join(map(str, sorted(lengths)))}"
                               "): every vector of one model must have the same dimension.")
        (length,) = lengths
        if self.dimensions and length != self.dimensions:
            raise BackendError(f"{where} returned {length}-dimensional embeddings where {self.dimensions} were asked "
                               f"for: it lacks support for the 'dimensions' parameter with {self.model!r}. Leave "
                               "dimensions empty.")
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise BackendError(f"{where} returned an all-zero embedding: it has no direction to compare.")
        unit: np.ndarray = matrix / norms
        return unit


def encoder(model: str, options: ApiOptions, settings: Settings, ledger: SpendLedger = OPERATOR_SPEND) -> ApiEncoder:
    """The encoder for an API model id (see the module docstring); raises on a bad URL, key or option."""
    spec, served = api_model(model)
    dimensions = check_dimensions(options.dimensions, spec)
    connection = resolve_connection(options.base_url, options.api_key, settings, openai_default=spec.openai,
                                    needs_key=spec.openai and not options.base_url.strip())
    return ApiEncoder(spec, served, connection, dimensions, settings, options.session_spent, ledger)

