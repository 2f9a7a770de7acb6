"""One name space for the lab's tokenizer pickers: the catalogue plus this visitor's trained ones.

A trained tokenizer is named `trained:<name>` and lives only in the visitor's session store
(a dict kept in `gr.State`, bounded by `Settings.lab_max_trained`); everything else resolves
through the app's tokenizer catalogue and its shared, single-flight loader.
"""

from __future__ import annotations

from typing import Any

from playground.errors import InvalidInput
from playground.lab import corpora
from playground.lab.train import Trained
from playground.settings import Settings
from playground.tokenization.backends import Tokenizer

TRAINED = "trained:"
Store = dict[str, Trained]


def trained_choices(store: Store | None) -> list[tuple[str, str]]:
    return [(f"★ {name} (trained in this session)", TRAINED + name) for name in reversed(list(store or {}))]


def get_trained(name: str, store: Store | None) -> Trained:
    key = name.removeprefix(TRAINED)
    if not store or key not in store:
        raise InvalidInput(f"{key!r} is not among the tokenizers trained in this session (only the last few are "
                           "kept, and a reload starts a new session). Train it again.")
    return store[key]


def tokenizer_for(name: str, store: Store | None, settings: Settings) -> Tokenizer:
    """A trained tokenizer of this session, or a catalogue / typed one through the shared loader."""
    if not name:
        raise InvalidInput("Pick a tokenizer.")
    if name.startswith(TRAINED):
        return get_trained(name, store).view()
    from playground.tokenization.catalogue import resolve
    from playground.tokenization.load import tokenizer as load_tokenizer

    return load_tokenizer(resolve(name, allow_custom=bool(settings.allow_custom_models)), settings)


def choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) for the lab's pickers: the app's tokenizer catalogue."""
    from playground.tokenization.load import choices as catalogue_choices

    return catalogue_choices(settings)


def pipeline_of(name: str, store: Store | None, settings: Settings) -> Any:
    """The `tokenizers.Tokenizer` behind a name, for the pipeline view (never modified by it)."""
    if name.startswith(TRAINED):
        return get_trained(name, store).rust
    tokenizer = tokenizer_for(name, store, settings)
    hf = getattr(tokenizer, "hf", None)
    if hf is None:
        raise InvalidInput(f"{tokenizer.spec.label} is a tiktoken encoding: its pipeline is one regex split and "
                           "byte-level BPE, with no normalizer or post-processor. See 'Replay merges' for it, or "
                           "pick a Hugging Face tokenizer (MiniLM, SmolLM2, Gemma 3) or one you trained.")
    return hf.backend_tokenizer


def training_text(example: str | None, pasted: str | None, upload: str | None, settings: Settings) -> tuple[str, str]:
    """The text to train on and a short label for it: an upload, else pasted text, else an example."""
    limit = settings.lab_max_corpus_bytes
    if upload:
        return corpora.checked(corpora.from_upload(upload, limit), limit), "uploaded file"
    if pasted and pasted.strip():
        return corpora.checked(pasted, limit), "pasted text"
    if example:
        return corpora.checked(corpora.example(example), limit), example
    raise InvalidInput("Nothing to train on: paste some text, upload a .txt file or pick an example corpus.")
