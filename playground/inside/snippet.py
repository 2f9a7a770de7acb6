"""Copy as code: plain transformers programs that reproduce each view's numbers.

Each snippet stands alone (load, run, compute) and ends with named results (`attention`,
`lens_top` / `lens_prob`, `kv_bytes_per_token` / `cache_bytes`) that a test compares with the app's.
The exact token ids are written out, so the snippet sees what the view saw (chat template,
cap and generated tokens included).
"""

from __future__ import annotations

from collections.abc import Sequence


def _head(hub_id: str, ids: Sequence[int], eager: bool) -> list[str]:
    attn = ', attn_implementation="eager"' if eager else ""
    why = "  # eager attention: the weights are computed explicitly" if eager else ""
    return [
        "import torch",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f"model_id = {hub_id!r}",
        "tokenizer = AutoTokenizer.from_pretrained(model_id)",
        f"model = AutoModelForCausalLM.from_pretrained(model_id{attn}).eval(){why}",
        f"ids = torch.tensor([{list(ids)!r}])  # the exact tokens of the view",
        "",
    ]


def attention_code(hub_id: str, ids: Sequence[int], layer: int, head: int | None) -> str:
    pick = "out.attentions[layer][0].mean(0)  # average over heads" if head is None else \
        f"out.attentions[layer][0, {head}]"
    lines = _head(hub_id, ids, eager=True) + [
        "with torch.no_grad():",
        "    out = model(ids, output_attentions=True)",
        f"layer = {layer}  # 0-based: the view's layer {layer + 1}",
        f"attention = {pick}  # (tokens, tokens); row i = how token i spreads its attention",
        "print(attention.sum(-1))  # every row sums to 1 (softmax)",
        "print(torch.triu(attention, 1).abs().max())  # 0: no token looks at a later one (causal mask)",
    ]
    return "\n".join(lines) + "\n"


def lens_code(hub_id: str, ids: Sequence[int]) -> str:
    lines = _head(hub_id, ids, eager=False) + [
        "with torch.no_grad():",
        "    out = model(ids, output_hidden_states=True)",
        "    norm, unembed = model.base_model.norm, model.get_output_embeddings()",
        "    lens_top, lens_prob = [], []",
        "    for i, h in enumerate(out.hidden_states):  # 0 = embeddings, then after each layer",
        "        h = h[0] if i == len(out.hidden_states) - 1 else norm(h[0])  # the last one is already normed",
        "        probs = torch.softmax(unembed(h).float(), dim=-1)",
        "        best = probs.max(dim=-1)",
        "        lens_top.append(best.indices)",
        "        lens_prob.append(best.values)",
        "lens_top, lens_prob = torch.stack(lens_top), torch.stack(lens_prob)  # (layers + 1, tokens)",
        "print(torch.equal(lens_top[-1], out.logits[0].argmax(-1)))  # the last row is the model's own answer",
        "print([tokenizer.decode(t) for t in lens_top[:, -1].tolist()])  # the next-token guess, layer by layer",
    ]
    return "\n".join(lines) + "\n"


def capacity_code(hub_id: str, ids: Sequence[int]) -> str:
    lines = _head(hub_id, ids, eager=False) + [
        "config = model.config",
        "dtype_bytes = torch.empty((), dtype=model.dtype).element_size()",
        "head_dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads",
        "# a key and a value per layer, per KV head, per dimension:",
        "kv_bytes_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * dtype_bytes",
        "with torch.no_grad():",
        "    cache = model(ids, use_cache=True).past_key_values",
        "cache_bytes = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache.layers)",
        "print(kv_bytes_per_token, cache_bytes / ids.shape[1])  # the same number",
    ]
    return "\n".join(lines) + "\n"
