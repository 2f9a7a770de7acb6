"""Dropdown choices shared by the sub-tabs: each model labelled with where it would load from."""

from __future__ import annotations

from playground.embeddings.catalogue import MODELS
from playground.embeddings.models import availability
from playground.embeddings.remote import API_MODELS
from playground.settings import Settings


def model_choices(settings: Settings, sentence_only: bool) -> list[tuple[str, str]]:
    out = []
    for spec in MODELS:
        if sentence_only and not spec.sentence:
            continue
        where = availability(spec, settings)
        out.append((f"{'⚠ ' if 'needs' in where else ''}{spec.label} — {where}", spec.id))
    return out


def api_model_choices() -> list[tuple[str, str]]:
    """OpenAI's embedding models and 'any OpenAI-compatible server' (its value is the `api:` prefix)."""
    return [(spec.label, spec.id) for spec in API_MODELS]
