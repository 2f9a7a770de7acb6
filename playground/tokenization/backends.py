"""One interface over tiktoken and Hugging Face fast tokenizers.

Every per-family quirk (tiktoken's raw bytes, byte-level 'Ġ', SentencePiece '▁' and
<0xNN>, WordPiece '##') lives here, so the views never branch on the backend.
"""

from __future__ import annotations

import copy
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import numpy as np

from playground.errors import InvalidInput
from playground.tokenization.catalogue import Family, TokenizerSpec
from playground.tokenization.encoded import Encoded, char_offsets_from_byte_lengths


@dataclass(frozen=True)
class Normalization:
    lowercases: bool = False
    strips_accents: bool = False
    unicode_form: str | None = None  # "NFC", "NFKC", …


class Tokenizer(ABC):
    """A loaded tokenizer. Thread-safe: encode never mutates shared state."""

    spec: TokenizerSpec
    family: Family
    library: str  # "tiktoken" or "transformers", for copy-as-code
    vocab_size: int
    special_ids: frozenset[int]
    unk_id: int | None = None
    normalization: Normalization = Normalization()
    model_max_length: int | None = None

    @abstractmethod
    def encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> Encoded:
        """Token ids with character offsets into `text`.

        `allow_special=False` treats a typed '<|endoftext|>' as plain text, as a chat app must
        for user input; True lets it become the control token.
        """

    @abstractmethod
    def raw_encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> list[int]:
        """The library's own encode call, for tests and benchmarks to compare against."""

    @abstractmethod
    def token_bytes(self, ids: Sequence[int]) -> list[bytes]:
        """What each token stands for, as bytes (a byte-level piece may be half a character)."""

    @abstractmethod
    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """Each token as the vocabulary writes it ('Ġworld', '▁world', '##ing')."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str: ...

    def check_ids(self, ids: Sequence[int]) -> None:
        bad = [i for i in ids if not self.is_valid_id(i)]
        if bad:
            shown = ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else "")
            raise InvalidInput(f"Not in this tokenizer's vocabulary (0 … {self.vocab_size - 1}): {shown}.")

    @abstractmethod
    def is_valid_id(self, token_id: int) -> bool: ...

    def lost_bytes(self, encoded: Encoded) -> int:
        """UTF-8 bytes of the text that no token carries (a byte-level vocabulary without some
        bytes silently skips them, so decoding does not give the text back). 0 when exact."""
        return 0

    _byte_lengths: np.ndarray | None = None

    def byte_lengths(self) -> np.ndarray:
        """Bytes per token id, built once: a table lookup beats decoding 400k tokens per request."""
        if self._byte_lengths is None:
            ids = range(self.vocab_size)
            lengths = np.zeros(self.vocab_size, dtype=np.int64)
            for i, piece in zip(ids, self._all_pieces()):
                lengths[i] = len(piece)
            self._byte_lengths = lengths
        return self._byte_lengths

    def _all_pieces(self) -> list[bytes]:
        return self.token_bytes(range(self.vocab_size))

    _special_pattern: re.Pattern[str] | None = None

    def contains_special_text(self, text: str) -> bool:
        """Does the text contain a special token's string (e.g. a typed '<|endoftext|>')?"""
        if self._special_pattern is None:
            strings = sorted({s for s in self.token_strings(sorted(self.special_ids)) if s}, key=len, reverse=True)
            self._special_pattern = re.compile("|".join(map(re.escape, strings))) if strings else re.compile(r"(?!x)x")
        return self._special_pattern.search(text) is not None


# --- tiktoken ---------------------------------------------------------------------------------


class TiktokenTokenizer(Tokenizer):
    library = "tiktoken"

    def __init__(self, spec: TokenizerSpec, encoding: Any):
        self.spec, self.family, self._enc = spec, Family.TIKTOKEN, encoding
        self.vocab_size = encoding.n_vocab
        self.special_ids = frozenset(encoding._special_tokens.values())
        self._special_array = np.fromiter(self.special_ids, dtype=np.int64)
        self.encoding_name = encoding.name

    def raw_encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> list[int]:
        ids: list[int] = (self._enc.encode(text, allowed_special="all") if allow_special
                          else self._enc.encode_ordinary(text))
        return ids

    def encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> Encoded:
        ids_list = self.raw_encode(text, allow_special=allow_special)
        ids = np.asarray(ids_list, dtype=np.int64)
        starts, ends = char_offsets_from_byte_lengths(text, self.byte_lengths()[ids])
        special = np.isin(ids, self._special_array) if allow_special else np.zeros(len(ids), dtype=bool)
        return Encoded(text, ids, starts, ends, special)

    def is_valid_id(self, token_id: int) -> bool:
        try:
            self._enc.decode_single_token_bytes(token_id)
            return True
        except (KeyError, OverflowError, ValueError):
            return False

    def token_bytes(self, ids: Sequence[int]) -> list[bytes]:
        return [self._enc.decode_single_token_bytes(i) for i in ids]

    def _all_pieces(self) -> list[bytes]:
        pieces = []
        for i in range(self.vocab_size):
            try:
                pieces.append(self._enc.decode_single_token_bytes(i))
            except KeyError:  # o200k leaves ids unassigned
                pieces.append(b"")
        return pieces

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        # tiktoken's vocabulary *is* bytes; a partial character is written as \xNN, never as "�".
        return [b.decode("utf-8", errors="backslashreplace") for b in self.token_bytes(ids)]

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self._enc.decode(list(ids))
        return text


# --- Hugging Face fast tokenizers ----------------------------------------------------------------


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in for each byte ('Ġ' for space), inverted (transformers' own table)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    table = cast(Callable[[], dict[int, str]], bytes_to_unicode)()  # transformers leaves it unannotated
    return {char: byte for byte, char in table.items()}


def _components(node: Any) -> list[dict[str, Any]]:
    """Flatten a tokenizer.json pipeline node (a Sequence or a single step) into its steps."""
    if not node:
        return []
    for key in ("pretokenizers", "normalizers", "decoders", "processors"):
        if key in node:
            return [step for child in node[key] for step in _components(child)]
    return [node]


def pipeline_config(backend: Any) -> dict[str, Any]:
    """A `tokenizers.Tokenizer`'s pipeline as tokenizer.json writes it, with the model's type but
    not its vocabulary (each component serialises itself; `to_str` would serialise everything)."""
    config: dict[str, Any] = {"model": {"type": type(backend.model).__name__}}
    for key in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        component = getattr(backend, key)
        config[key] = json.loads(component.__getstate__()) if component is not None else None
    return config


def detect_family(config: dict[str, Any]) -> Family:
    """The family, read from the tokenizer's own pipeline description (tokenizer.json)."""
    model_type = config.get("model", {}).get("type")
    steps = _components(config.get("pre_tokenizer")) + _components(config.get("decoder"))
    types = {step.get("type") for step in steps}
    if model_type == "WordPiece":
        return Family.WORDPIECE
    if "ByteLevel" in types:
        return Family.BYTE_BPE
    if "Metaspace" in types or (model_type in {"BPE", "Unigram"} and {"Replace", "ByteFallback"} & types):
        return Family.SP_UNIGRAM if model_type == "Unigram" else Family.SP_BPE
    return Family.OTHER


def detect_normalization(config: dict[str, Any]) -> Normalization:
    steps = _components(config.get("normalizer"))
    lower = strip = False
    form = None
    for step in steps:
        kind = step.get("type")
        if kind == "BertNormalizer":
            lower = lower or bool(step.get("lowercase"))
            accents = step.get("strip_accents")
            strip = strip or bool(step.get("lowercase") if accents is None else accents)
        elif kind == "Lowercase":
            lower = True
        elif kind == "StripAccents":
            strip = True
        elif kind in {"NFC", "NFD", "NFKC", "NFKD"}:
            form = kind
        elif kind == "Precompiled":
            form = form or "NFKC"  # SentencePiece's precompiled charsmap is NFKC-based
    return Normalization(lower, strip, form)


class HFTokenizer(Tokenizer):
    library = "transformers"

    def __init__(self, spec: TokenizerSpec, hf_tokenizer: Any, source_path: str):
        if not getattr(hf_tokenizer, "is_fast", False):
            raise InvalidInput(f"{spec.id} has no fast tokenizer (tokenizer.json); offsets need one.")
        self.spec, self.hf, self.source_path = spec, hf_tokenizer, source_path
        backend = hf_tokenizer.backend_tokenizer
        # The pipeline description without the vocabulary: parsing all of tokenizer.json (33 MB for
        # Gemma 3) costs seconds, and family and normalization need only these few steps.
        config = pipeline_config(backend)
        self.family = detect_family(config)
        self.normalization = detect_normalization(config)
        # encode must never flip a flag on a tokenizer that another request is using at the same
        # moment, so each behaviour has its own copy, configured once. `hf` is this wrapper's alone
        # (loaded for it) and is only asked to decode, which sets nothing: its backend serves
        # special tokens as such; one private copy (a Rust-side deep copy, no JSON round trip)
        # treats them as plain text.
        self._with_special = backend
        self._plain = copy.deepcopy(backend)
        for rust in (self._with_special, self._plain):
            rust.no_truncation()
            rust.no_padding()
        self._plain.encode_special_tokens = True
        self.vocab_size = self._with_special.get_vocab_size(with_added_tokens=True)
        self.special_ids = frozenset(hf_tokenizer.all_special_ids) | frozenset(
            i for i, tok in hf_tokenizer.added_tokens_decoder.items() if tok.special
        )
        self.unk_id = hf_tokenizer.unk_token_id
        # [UNK] is "special" to transformers, but to a learner it is a failed lookup, counted apart.
        self.special_ids = self.special_ids - {self.unk_id}
        self._special_array = np.fromiter(self.special_ids, dtype=np.int64)
        max_len = getattr(hf_tokenizer, "model_max_length", None)
        self.model_max_length = max_len if isinstance(max_len, int) and max_len < 10**8 else None

    def lost_bytes(self, encoded: Encoded) -> int:
        if self.family is not Family.BYTE_BPE:
            return 0  # (a text made only of missing bytes has no tokens at all: all its bytes are lost)
        carried = int(self.byte_lengths()[encoded.ids[~encoded.special]].sum())
        in_tokens = encoded.text.encode("utf-8")
        return max(0, len(in_tokens) - carried)

    def _backend(self, allow_special: bool) -> Any:
        return self._with_special if allow_special else self._plain

    def raw_encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> list[int]:
        ids: list[int] = self._backend(allow_special).encode(text, add_special_tokens=add_special_tokens).ids
        return ids

    def encode(self, text: str, *, add_special_tokens: bool = True, allow_special: bool = False) -> Encoded:
        enc = self._backend(allow_special).encode(text, add_special_tokens=add_special_tokens)
        ids = np.asarray(enc.ids, dtype=np.int64)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        starts, ends = offsets[:, 0].copy(), offsets[:, 1].copy()
        special = np.isin(ids, self._special_array)
        if special.any():
            # Added special tokens carry (0, 0); place them where they occur in the sequence.
            zero_width = special & (starts == ends)
            running_end = np.maximum.accumulate(np.where(zero_width, 0, ends)) if len(ends) else ends
            starts[zero_width] = ends[zero_width] = running_end[zero_width]
        return Encoded(text, ids, starts, ends, special)

    def is_valid_id(self, token_id: int) -> bool:
        return 0 <= token_id < self.vocab_size and self._with_special.id_to_token(token_id) is not None

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self._with_special.id_to_token(int(i)) or "" for i in ids]

    def token_bytes(self, ids: Sequence[int]) -> list[bytes]:
        return [self._piece_bytes(int(i), piece) for i, piece in zip(ids, self.token_strings(ids))]

    def _piece_bytes(self, token_id: int, piece: str) -> bytes:
        if token_id in self.special_ids:
            return piece.encode("utf-8")
        if self.family is Family.BYTE_BPE:
            table = _byte_decoder()
            if all(ch in table for ch in piece):
                return bytes(table[ch] for ch in piece)
            return piece.encode("utf-8")  # added tokens are stored as plain text
        if self.family in (Family.SP_BPE, Family.SP_UNIGRAM):
            if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
                return bytes([int(piece[3:5], 16)])
            return piece.replace("▁", " ").encode("utf-8")
        if self.family is Family.WORDPIECE and piece.startswith("##"):
            return piece[2:].encode("utf-8")
        return piece.encode("utf-8")

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self.hf.decode(list(ids), skip_special_tokens=False)
        return text

    def byte_lengths(self) -> np.ndarray:
        """Bytes per token id, as `len(token_bytes([i])[0])` for every id, computed from the lengths
        alone: the vocabulary comes in one call and no bytes are built (Gemma 3 has 262k tokens)."""
        if self._byte_lengths is None:
            strings = [""] * self.vocab_size
            for token, token_id in self._with_special.get_vocab(with_added_tokens=True).items():
                if 0 <= token_id < self.vocab_size:
                    strings[token_id] = token
            lengths = np.fromiter(map(self._length_rule(), strings), dtype=np.int64, count=len(strings))
            for token_id in self.special_ids:
                if 0 <= token_id < self.vocab_size:
                    lengths[token_id] = len(strings[token_id].encode("utf-8"))
            self._byte_lengths = lengths
        return self._byte_lengths

    def _length_rule(self) -> Callable[[str], int]:
        """`len(self._piece_bytes(i, piece))` for a non-special piece, without building the bytes."""
        if self.family is Family.BYTE_BPE:
            stand_ins = frozenset(_byte_decoder())
            return lambda piece: len(piece) if stand_ins.issuperset(piece) else len(piece.encode("utf-8"))
        if self.family in (Family.SP_BPE, Family.SP_UNIGRAM):
            def sentencepiece(piece: str) -> int:
                if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
                    return 1
                return len(piece.encode("utf-8")) - 2 * piece.count("▁")  # '▁' is 3 bytes, a space 1

            return sentencepiece
        if self.family is Family.WORDPIECE:
            return lambda piece: len(piece.encode("utf-8")) - (2 if piece.startswith("##") else 0)
        return lambda piece: len(piece.encode("utf-8"))
