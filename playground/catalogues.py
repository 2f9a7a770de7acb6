"""Every Hugging Face Hub entry the app knows, for `python -m playground.pack prefetch`."""

from __future__ import annotations

from collections.abc import Iterator

from playground.hub import TOKENIZER_FILES

MODEL_FILES = [*TOKENIZER_FILES, "*.safetensors", "*.safetensors.index.json", "modules.json",
               "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/*"]


def hub_downloads(include_models: bool) -> Iterator[tuple[str, list[str]]]:
    """(repo id, file patterns) for every hub entry; weights only when asked for."""
    from playground.tokenization.catalogue import TOKENIZERS, Source

    seen: set[str] = set()
    for spec in TOKENIZERS:
        if spec.source is Source.HUB and spec.ref not in seen:
            seen.add(spec.ref)
            yield spec.ref, TOKENIZER_FILES
    if include_models:
        for repo in model_repos():
            if repo not in seen:
                seen.add(repo)
                yield repo, MODEL_FILES


def model_repos() -> list[str]:
    """Hub repos of the generation and embedding catalogues (weights included on --models)."""
    repos: list[str] = []
    for module, attr in (("playground.generation.catalogue", "MODELS"), ("playground.embeddings.catalogue", "MODELS")):
        try:
            specs = getattr(__import__(module, fromlist=[attr]), attr)
        except ImportError:
            continue
        repos += [spec.hub_id for spec in specs if getattr(spec, "hub_id", None)]
    return repos
