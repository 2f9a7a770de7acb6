"""Contextual token embeddings: one word in several sentences, through a transformer.

For each sentence, the chosen word's tokens are found from the tokenizer's character offsets
(never by decoding ids), and their last-hidden-layer vectors are averaged (a word cut into
several WordPiece pieces gets the mean of its pieces). The static vector of the same tokens
comes from the model's input-embedding matrix: it is the same in every sentence, so its
similarity across sentences is 1.0 whenever the word is tokenized the same way, while the
contextual vectors move with the meaning ("bank" by a river vs the bank that lends money).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground import runtime
from playground.embeddings import numeric
from playground.embeddings.catalogue import EmbeddingModelSpec, get
from playground.embeddings.models import load_token_encoder
from playground.errors import InputTooLarge, InvalidInput
from playground.settings import Settings

MAX_SENTENCES = 12


@dataclass(frozen=True)
class Occurrence:
    sentence: str
    start: int  # character span of the word in the sentence
    end: int
    tokens: list[str]  # the vocabulary entries of the word's pieces
    token_ids: list[int]
    all_tokens: list[str]  # every token of the sentence (specials included), for the table


@dataclass(frozen=True)
class ContextualResult:
    model: EmbeddingModelSpec
    word: str
    occurrences: list[Occurrence]
    contextual: np.ndarray  # (m, d) last-hidden-layer vector of the word in each sentence
    static: np.ndarray  # (m, d) input-embedding vector of the same tokens
    contextual_similarity: np.ndarray  # (m, m) cosine
    static_similarity: np.ndarray  # (m, m) cosine

    def as_json(self) -> dict[str, object]:
        return {
            "model": self.model.id, "word": self.word,
            "sentences": [o.sentence for o in self.occurrences],
            "tokens": [o.tokens for o in self.occurrences],
            "contextual_similarity": np.round(self.contextual_similarity, 4).tolist(),
            "static_similarity": np.round(self.static_similarity, 4).tolist(),
        }


def find_word(sentence: str, word: str) -> tuple[int, int] | None:
    """Character span of the first whole-word, case-insensitive match, or None."""
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", sentence, flags=re.IGNORECASE)
    return match.span() if match else None


def _forward(model: Any, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    """On the torch thread: (m, T, d) last-hidden-layer vectors and (m, T, d) input-embedding rows of the
    same tokens (only those rows leave the device, not the whole vocabulary table)."""
    import torch

    with torch.inference_mode():
        batch = batch.to(model.device)
        hidden = model(**batch).last_hidden_state
        static = model.get_input_embeddings()(batch["input_ids"])
    return runtime.to_numpy(hidden), runtime.to_numpy(static)


def contextual_compare(word: str, sentences: Sequence[str] | str, model: str, settings: Settings) -> ContextualResult:
    spec = get(model)
    word = (word or "").strip()
    if not word or len(word.split()) != 1:
        raise InvalidInput("Type one word to follow through the sentences (e.g. bank).")
    if isinstance(sentences, str):
        sentences = sentences.splitlines()
    clean = [s.strip() for s in sentences if s and s.strip()]
    if len(clean) < 2:
        raise InvalidInput("Give at least two sentences (one per line) that use the word.")
    if len(clean) > MAX_SENTENCES:
        raise InputTooLarge("The list of sentences", len(clean), MAX_SENTENCES, unit="sentences")
    spans = []
    for number, sentence in enumerate(clean, start=1):
        if len(sentence) > settings.max_corpus_text_chars:
            raise InputTooLarge(f"Sentence {number}", len(sentence), settings.max_corpus_text_chars)
        span = find_word(sentence, word)
        if span is None:
            raise InvalidInput(f"Sentence {number} does not contain the word {word!r}: {sentence!r}.")
        spans.append(span)

    enc = load_token_encoder(spec, settings)
    batch = enc.tokenizer(clean, return_offsets_mapping=True, padding=True, truncation=True,
                          max_length=256, return_tensors="pt")
    offsets = batch.pop("offset_mapping").tolist()
    special = batch.pop("special_tokens_mask", None)
    ids = batch["input_ids"].tolist()
    mask = batch["attention_mask"].tolist()
    hidden, static_rows = runtime.call(_forward, enc.model, batch)
    del special

    occurrences, contextual, static = [], [], []
    for row, (sentence, (start, end)) in enumerate(zip(clean, spans, strict=True)):
        picked = [t for t, (a, b) in enumerate(offsets[row])
                  if mask[row][t] and b > a and a < end and b > start]
        if not picked:
            raise InvalidInput(f"Sentence {row + 1}: the word {word!r} was cut off (sentences are truncated at "
                               "256 tokens); move it earlier or shorten the sentence.")
        token_ids = [ids[row][t] for t in picked]
        occurrences.append(Occurrence(
            sentence, start, end, enc.tokenizer.convert_ids_to_tokens(token_ids), token_ids,
            enc.tokenizer.convert_ids_to_tokens([i for i, m in zip(ids[row], mask[row], strict=True) if m]),
        ))
        contextual.append(hidden[row, picked].mean(axis=0))
        static.append(static_rows[row, picked].mean(axis=0))
    contextual_m, static_m = np.stack(contextual), np.stack(static)
    return ContextualResult(spec, word, occurrences, contextual_m, static_m,
                            numeric.cosine_matrix(contextual_m), numeric.cosine_matrix(static_m))
