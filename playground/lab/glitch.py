"""Glitch-token candidates for the local model: tokens whose input embedding is an outlier.

A token that (almost) never occurred in the model's training data keeps an embedding row that
training barely moved, and its norm stands apart from the rest (the "SolidGoldMagikarp"
tokens of GPT-2/3 were found this way). The norms are outliers by a robust z-score (median and
MAD), and each candidate is then put to the test: the model is asked to repeat it, greedily,
and the answer is shown. All torch work runs on the torch thread (`playground.runtime`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from playground import runtime
from playground.settings import Settings

if TYPE_CHECKING:
    from playground.generation.models import LoadedModel

REPEAT_PROMPT = 'Repeat this text exactly, and nothing else: "{token}"'
REPEAT_NEW_TOKENS = 16
MAX_CANDIDATES = 24
_norms: dict[str, np.ndarray] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Candidate:
    id: int
    token: str  # as the vocabulary writes it
    text: str  # what it stands for
    norm: float
    z: float  # robust z-score of the norm: (norm − median) / (1.4826 · MAD)
    answer: str | None = None  # what the model said when asked to repeat it
    repeated: bool | None = None  # did the answer contain the token's text?


def _model(settings: Settings) -> LoadedModel:
    from playground.generation import catalogue, models

    # Called here, not on the torch thread: load_model runs its load there itself, and a torch job
    # waiting on another visitor's load of the same model would wait for a job queued behind it.
    return models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)


def embedding_norms(settings: Settings) -> np.ndarray:
    """The L2 norm of every input-embedding row of the local model, computed once per process."""
    loaded = _model(settings)
    with _lock:
        found = _norms.get(loaded.spec.id)
        if found is None:
            weight = loaded.model.get_input_embeddings().weight
            found = _norms[loaded.spec.id] = runtime.call(lambda: runtime.to_numpy(weight.norm(dim=1)))
        return found


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x − median) / (1.4826 · MAD): a z-score that a few extreme values cannot hide behind."""
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    z: np.ndarray = (values - median) / (mad if mad > 0 else 1.0)
    return z


def candidates(settings: Settings, count: int = 8) -> list[Candidate]:
    """The `count` tokens whose embedding norm is furthest below (most) or above the rest."""
    count = max(1, min(int(count), MAX_CANDIDATES))
    loaded = _model(settings)
    norms = embedding_norms(settings)
    tok = loaded.tokenizer
    n = min(len(norms), len(tok))  # rows past the vocabulary are padding, never produced
    z = robust_z(norms[:n])
    special = set(tok.all_special_ids)
    order = [int(i) for i in np.argsort(-np.abs(z), kind="stable") if int(i) not in special]
    low = [i for i in order if z[i] < 0][: (count + 1) // 2]  # untrained rows: the classic glitch tokens
    high = [i for i in order if z[i] > 0][: count - len(low)]
    out = []
    for i in sorted(low + high, key=lambda k: z[k]):
        out.append(Candidate(i, tok.convert_ids_to_tokens(i), tok.decode([i]), float(norms[i]), float(z[i])))
    return out


def repeat_test(candidate: Candidate, settings: Settings, max_new_tokens: int = REPEAT_NEW_TOKENS) -> Candidate:
    """Ask the model to repeat the token (greedy, a few new tokens) and keep its answer."""
    loaded = _model(settings)
    tok = loaded.tokenizer
    prompt = tok.apply_chat_template([{"role": "user", "content": REPEAT_PROMPT.format(token=candidate.text)}],
                                     add_generation_prompt=True, tokenize=False)

    def generate() -> str:
        import torch

        inputs = tok(prompt, return_tensors="pt", add_special_tokens=False).to(loaded.model.device)
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                        pad_token_id=tok.pad_token_id or tok.eos_token_id)
        answer: str = tok.decode(out[0, inputs["input_ids"].shape[1]:].tolist(), skip_special_tokens=True)
        return answer

    answer = runtime.call(generate)
    wanted = candidate.text.strip()
    return Candidate(candidate.id, candidate.token, candidate.text, candidate.norm, candidate.z, answer.strip(),
                     bool(wanted) and wanted in answer)
