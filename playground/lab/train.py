"""Train BPE, WordPiece and Unigram tokenizers with the `tokenizers` trainers.

Each algorithm gets the pipeline its best-known users have: byte-level BPE as in GPT-2 (no
unknown characters, ever), WordPiece as in BERT ('##' continuations, [CLS] … [SEP]), and
Unigram as in SentencePiece / T5 ('▁' for spaces). `pipeline(...)` builds that tokenizer and
its trainer; `train(...)` runs it and keeps the result as its `tokenizer.json` text, which is
what a visitor downloads and what the session keeps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from playground.errors import InvalidInput

if TYPE_CHECKING:
    from tokenizers import Tokenizer as RustTokenizer

    from playground.tokenization.backends import HFTokenizer

Progress = Callable[[float, str], None]
MIN_VOCAB = 300  # the byte-level alphabet alone is 256 entries


class Algorithm(StrEnum):
    BPE = "BPE"
    WORDPIECE = "WordPiece"
    UNIGRAM = "Unigram"

    @property
    def like(self) -> str:
        return {"BPE": "byte-level, as GPT-2 and GPT-4", "WordPiece": "as BERT",
                "Unigram": "SentencePiece-style, as T5"}[self.value]


# Special tokens each pipeline reserves, first one = unknown token where the model has one.
SPECIALS = {
    Algorithm.BPE: ["<|endoftext|>"],
    Algorithm.WORDPIECE: ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"],
    Algorithm.UNIGRAM: ["<unk>", "<s>", "</s>"],
}


def pipeline(algorithm: Algorithm, vocab_size: int) -> tuple[RustTokenizer, Any]:
    """An untrained tokenizer with its normalizer, pre-tokenizer, decoder, and the matching trainer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = SPECIALS[algorithm]
    if algorithm is Algorithm.BPE:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer: trainers.Trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif algorithm is Algorithm.WORDPIECE:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                          show_progress=False)
    if algorithm is Algorithm.WORDPIECE:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    return tok, trainer


@dataclass(eq=False)
class Trained:
    """A trained tokenizer as the session keeps it: its tokenizer.json and how it was made."""

    name: str
    algorithm: Algorithm
    json: str
    vocab_size: int
    asked_vocab_size: int
    corpus: str  # what it was trained on
    corpus_bytes: int
    seconds: float
    _view: HFTokenizer | None = field(default=None, init=False, repr=False)

    @cached_property
    def rust(self) -> RustTokenizer:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(self.json)

    def view(self) -> HFTokenizer:
        """The app's one tokenizer interface over this one (chips, token bytes, the vocabulary explorer)."""
        if self._view is None:
            from playground import lazy
            from playground.tokenization.backends import HFTokenizer
            from playground.tokenization.catalogue import Family, Source, TokenizerSpec

            specials = SPECIALS[self.algorithm]
            fast = lazy.transformers().PreTrainedTokenizerFast(
                tokenizer_object=self.rust,
                unk_token=None if self.algorithm is Algorithm.BPE else specials[0],
                additional_special_tokens=specials,
            )
            # The family is re-detected from the tokenizer's own pipeline; the source names no
            # file because the tokenizer lives only in this visitor's session.
            spec = TokenizerSpec(f"trained:{self.name}", self.name, Family.OTHER, Source.PACK, self.name,
                                 note="trained in this session")
            self._view = HFTokenizer(spec, fast, "")
        return self._view

    def merges(self) -> list[tuple[str, str]]:
        """BPE's merges in the order they were learned (rank 0 first); empty for the others."""
        if self.algorithm is not Algorithm.BPE:
            return []
        return [tuple(pair) for pair in json.loads(self.json)["model"]["merges"]]

    def merge_ids(self) -> list[tuple[int, int, int]]:
        """The merges as (left id, right id, merged id), for drawing them through the token interface."""
        def ids(token: str) -> int:
            found = self.rust.token_to_id(token)
            if found is None:  # every piece of a learned merge, and its result, is in the vocabulary
                raise ValueError(f"merge piece {token!r} is not in the trained vocabulary")
            return found

        return [(ids(a), ids(b), ids(a + b)) for a, b in self.merges()]


def _batches_with_progress(lines: Sequence[str], progress: Progress | None, what: str) -> Iterator[list[str]]:
    """Hand the lines to the trainer in 20 batches (the trainer takes lists of strings too),
    reporting how far its counting pass has got: one Python step per batch, not per line."""
    step = max(1, len(lines) // 20)
    for start in range(0, len(lines), step):
        if progress is not None:
            progress(0.8 * start / max(1, len(lines)), what)
        yield list(lines[start:start + step])


def check_vocab_size(vocab_size: int, max_vocab: int) -> int:
    size = int(vocab_size)
    if size < MIN_VOCAB:
        raise InvalidInput(f"A vocabulary of {size:,} is too small: at least {MIN_VOCAB} (the 256 bytes plus merges).")
    if size > max_vocab:
        raise InvalidInput(f"A vocabulary of {size:,} is over this server's limit of {max_vocab:,} "
                           "(PLAYGROUND_LAB_MAX_VOCAB_SIZE). Pick a smaller size.")
    return size


def train(text: str, algorithm: Algorithm | str, vocab_size: int, *, name: str, corpus: str, max_vocab: int,
          progress: Progress | None = None) -> Trained:
    """Train one tokenizer on `text` (already checked for size: `corpora.checked`)."""
    algorithm = Algorithm(algorithm)
    size = check_vocab_size(vocab_size, max_vocab)
    lines = text.splitlines()
    tok, trainer = pipeline(algorithm, size)
    started = time.perf_counter()
    what = f"Training {algorithm} ({size:,} tokens) on {len(text.encode('utf-8')):,} bytes"
    tok.train_from_iterator(_batches_with_progress(lines, progress, what), trainer)
    seconds = time.perf_counter() - started
    if progress is not None:
        progress(0.95, "Saving the trained tokenizer")
    return Trained(name=name, algorithm=algorithm, json=tok.to_str(), vocab_size=tok.get_vocab_size(),
                   asked_vocab_size=size, corpus=corpus, corpus_bytes=len(text.encode("utf-8")), seconds=seconds)


def remember(store: dict[str, Trained] | None, trained: Trained, limit: int) -> dict[str, Trained]:
    """The session's trained tokenizers with this one added; the oldest go beyond `limit`."""
    kept = dict(store or {})
    kept.pop(trained.name, None)
    kept[trained.name] = trained
    while len(kept) > max(1, limit):
        kept.pop(next(iter(kept)))
    return kept


def unique_name(store: dict[str, Trained] | None, algorithm: Algorithm | str, vocab_size: int, corpus: str) -> str:
    base = f"{Algorithm(algorithm)} {int(vocab_size):,} on {corpus}"
    name, n = base, 2
    while store and name in store:
        name, n = f"{base} ({n})", n + 1
    return name


def chars_per_token(tokenizer: RustTokenizer, lines: Sequence[str]) -> float:
    """Characters per token on `lines`, without the special tokens the post-processor adds."""
    encodings = tokenizer.encode_batch(list(lines), add_special_tokens=False)
    tokens = sum(len(e.ids) for e in encodings)
    return sum(map(len, lines)) / tokens if tokens else 0.0


@dataclass(frozen=True)
class CurvePoint:
    algorithm: str
    asked: int  # vocabulary size asked for
    vocab_size: int  # what the trainer produced (small corpora stop early)
    chars_per_token: float  # on held-out text


def compression_curve(text: str, algorithms: Sequence[Algorithm | str], sizes: Sequence[int], *, max_vocab: int,
                      max_bytes: int = 300_000, progress: Progress | None = None) -> list[CurvePoint]:
    """Characters per token against vocabulary size, for each algorithm, trained on the same text.

    Trained on the first 90% of the lines and measured on the last 10%, so a large vocabulary
    cannot score by memorising the measured text. Long texts are cut at `max_bytes` first so
    that a curve of 3 × 5 trainings stays interactive.
    """
    cut = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    lines = [line for line in cut.splitlines() if line.strip()]
    if len(lines) < 10:
        raise InvalidInput("The compression curve needs at least 10 non-empty lines of text (10% are held out).")
    split = int(len(lines) * 0.9)
    train_lines, test_lines = lines[:split], lines[split:]
    sizes = sorted({check_vocab_size(s, max_vocab) for s in sizes})
    jobs = [(Algorithm(a), s) for a in algorithms for s in sizes]
    points = []
    for k, (algorithm, size) in enumerate(jobs):
        if progress is not None:
            progress(k / len(jobs), f"Training {algorithm} with {size:,} tokens ({k + 1} of {len(jobs)})")
        tok, trainer = pipeline(algorithm, size)
        tok.train_from_iterator(train_lines, trainer, length=len(train_lines))
        points.append(CurvePoint(str(algorithm), size, tok.get_vocab_size(), chars_per_token(tok, test_lines)))
    return points


def curve_sizes(largest: int, count: int = 5) -> list[int]:
    """`count` vocabulary sizes doubling up to `largest` (at least MIN_VOCAB)."""
    sizes = [max(MIN_VOCAB, int(largest / 2 ** k)) for k in range(count)]
    return sorted(set(sizes))
