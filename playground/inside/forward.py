"""One forward pass, opened up: attention weights per layer and head, and the logit lens.

How the attention weights are obtained: PyTorch's fused attention (`sdpa`, what the model
normally runs with) never materialises the weights, so for this one pass the model's attention
implementation is switched to `eager` (`model.set_attn_implementation("eager")`) and switched
back in a `finally`. Eager attention computes softmax(QKᵀ/√d + mask) explicitly: the weights are
exact, not an approximation. The switch is safe although the Generate tab shares the model
object: the switch, the pass and the restore run inside ONE `runtime.call` (the one thread all
torch work runs on, so no other forward pass can interleave). Run between two decoding steps of
a generation batch on the same model, it is over before the batch's next step, which runs with
the model's own attention again (tested). Switching is a config attribute, so it costs
nothing; a second eager copy of the weights would double the memory (see bench/inside_speed.py).

The logit lens: every layer's hidden state, passed through the model's final norm and its
unembedding (the output layer), read as if it were the last layer (`lens.py`: how it is kept fast).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground import runtime
from playground.errors import InvalidInput, NotAllowed
from playground.generation import catalogue, models
from playground.inside import architecture, lens, positions
from playground.settings import Settings
from playground.tokenization.visible import visible

HOW = ("Attention weights come from one eager-attention forward pass (the model's fused attention "
       "is switched to `eager` for that pass only and back afterwards): they are the exact softmax "
       "weights the model used, not an estimate.")


@dataclass
class Lens:
    """Layer-by-layer predictions; rows are layers (0 = the embeddings), columns are positions."""

    top_ids: np.ndarray  # (layers + 1, n) int: most likely next token read from that layer
    top_labels: list[list[str]]
    top_probs: np.ndarray  # (layers + 1, n)
    entropy_bits: np.ndarray  # (layers + 1, n)
    chosen_ids: np.ndarray  # (n,) the model's own next-token choice (last layer's top-1)
    chosen_labels: list[str]
    chosen_rank: np.ndarray  # (layers + 1, n): rank of the chosen token at each layer (0 = top)
    layer_names: list[str]


@dataclass
class Inspection:
    model_id: str
    model_label: str
    ids: list[int]
    labels: list[str]  # one visible label per token
    prompt_tokens: int  # the rest were generated (greedy) before the pass
    attentions: np.ndarray  # (layers, heads, n, n) float32; row i = how token i spreads its attention
    lens: Lens
    positions: positions.Positions
    device: str
    dtype: str
    forward_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attentions.shape[1])


def dtype_bytes(dtype: Any) -> int:
    import torch

    return torch.empty((), dtype=dtype).element_size()


def check_fits(spec: catalogue.ModelSpec, settings: Settings, tokens: int) -> None:
    """Refuse, with the numbers, a view that would not fit, before anything is loaded."""
    arch = architecture.shipped(spec.id)
    if arch is None or spec.id in models.loaded_ids():
        return  # loaded already (only the view's arrays are new), or unknown: load_model checks custom ids
    _, dtype = runtime.device_and_dtype()
    weights_gb = arch.params * dtype_bytes(dtype) / 1e9
    attention_gb = arch.layers * arch.heads * tokens * tokens * 4 / 1e9
    if weights_gb > settings.model_size_budget_gb:
        raise NotAllowed(
            f"{spec.label} needs {weights_gb:.1f} GB for its weights here ({arch.params / 1e9:.2f} B parameters × "
            f"{dtype_bytes(dtype)} bytes) plus {attention_gb * 1000:.0f} MB of attention weights for {tokens} tokens; "
            f"the size budget on this server is {settings.model_size_budget_gb:g} GB "
            "(PLAYGROUND_MODEL_SIZE_BUDGET_GB). Pick a smaller model.")


def prompt_ids(tokenizer: Any, text: str, chat: bool) -> list[int]:
    if not (text or "").strip():
        raise InvalidInput("The text is empty: type something to look inside the model with.")
    if chat and getattr(tokenizer, "chat_template", None):
        out = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                            tokenize=True, return_dict=True)
        return list(out["input_ids"])
    return list(tokenizer(text)["input_ids"])


def inspect_text(model_id: str, text: str, settings: Settings, *, chat: bool = True, new_tokens: int = 0) -> Inspection:
    """Tokenize, cap, check the budget, load, then run the pass on the torch thread."""
    spec = catalogue.get(model_id or catalogue.DEFAULT_MODEL, allow_custom=bool(settings.allow_custom_models))
    if len(text or "") > settings.max_input_chars:
        raise InvalidInput(f"The text is {len(text):,} characters; the limit is {settings.max_input_chars:,}.")
    cap = settings.inside_max_tokens
    new_tokens = max(0, min(int(new_tokens), cap - 1))
    tokenizer = models.load_tokenizer(spec, settings)
    ids = prompt_ids(tokenizer, text, chat)
    notes = []
    if len(ids) + new_tokens > cap:
        keep = cap - new_tokens
        notes.append(f"The text has {len(ids):,} tokens; only the first {keep:,} are shown "
                     f"(the cap here is {cap:,} tokens, setting `inside_max_tokens`): attention grows with "
                     "the square of the length.")
        ids = ids[:keep]
    check_fits(spec, settings, len(ids) + new_tokens)
    loaded = models.load_model(spec, settings)
    view = models.load_view(spec, settings)
    label_of = _labeller(view)
    special = set(loaded.tokenizer.all_special_ids)
    token = positions.pick_token([i for i in ids if any(c.isalpha() for c in label_of(i))], special)
    raw = runtime.call(_forward, loaded.model, ids, new_tokens, token if token is not None else ids[-1])
    all_ids = raw["ids"]
    top_ids = raw["top_ids"]
    layer_lens = Lens(top_ids=top_ids, top_labels=[[label_of(int(t)) for t in row] for row in top_ids],
                top_probs=raw["top_probs"], entropy_bits=raw["entropy"], chosen_ids=raw["chosen"],
                chosen_labels=[label_of(int(t)) for t in raw["chosen"]], chosen_rank=raw["rank"],
                layer_names=["embeddings"] + [f"layer {i}" for i in range(1, len(top_ids))])
    pos = raw["positions"]
    if pos.token_id is not None:
        pos.token_label = label_of(pos.token_id)
    return Inspection(model_id=spec.id, model_label=spec.label, ids=all_ids, labels=[label_of(i) for i in all_ids],
                      prompt_tokens=len(ids), attentions=raw["attentions"], lens=layer_lens, positions=pos,
                      device=loaded.device, dtype=loaded.dtype, forward_s=raw["forward_s"], notes=notes)


def _labeller(view: Any) -> Callable[[int], str]:
    cache: dict[int, str] = {}

    def label(token_id: int) -> str:
        if token_id not in cache:
            data = view.token_bytes([token_id])[0]
            cache[token_id] = visible(data.decode("utf-8", errors="backslashreplace")) or "∅"
        return cache[token_id]

    return label


def _attention_configs(model: Any) -> list[Any]:
    """Every config that chooses an attention implementation: the model's, those nested in it and
    those its submodules hold (`set_attn_implementation` writes to all of them)."""
    found: dict[int, Any] = {}
    todo = [model.config, *(module.config for module in model.modules() if hasattr(module, "config"))]
    while todo:
        config = todo.pop()
        if config is None or id(config) in found or not hasattr(config, "_attn_implementation_internal"):
            continue
        found[id(config)] = config
        todo.extend(getattr(config, key, None) for key in getattr(config, "sub_configs", {}))
    return list(found.values())


def _forward(model: Any, ids: list[int], new_tokens: int, position_token: int) -> dict[str, Any]:
    """Runs on the torch thread: optional greedy continuation, then the eager pass and the lens."""
    import torch

    device = model.device
    with torch.inference_mode():
        x = torch.tensor([ids], device=device)
        if new_tokens:
            x = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new_tokens, do_sample=False,
                               temperature=None, top_p=None, top_k=None)
        started = time.perf_counter()
        saved = [(config, config._attn_implementation_internal) for config in _attention_configs(model)]
        try:
            model.set_attn_implementation("eager")
            out = model(x, output_attentions=True, output_hidden_states=True, use_cache=False)
        finally:  # each config as it was (a composite model's parts may differ), whatever failed
            for config, implementation in saved:
                config._attn_implementation_internal = implementation
        attentions = runtime.to_numpy(torch.cat(out.attentions, dim=0))  # (layers, heads, n, n)
        found = lens.lens(model, out.hidden_states, out.logits[0])
        forward_s = time.perf_counter() - started
        pos = positions.compute(model, position_token)
    return {"ids": x[0].tolist(), "attentions": attentions, "positions": pos, "forward_s": forward_s, **found}
