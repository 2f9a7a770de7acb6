"""Copy as code: the plain transformers program that reproduces a generation.

The probabilities it prints are the ones the page shows: recorded by a logits processor, as
`engine` records them, so they come after the repetition penalty (transformers runs its own
processors first) and before temperature / top-k / top-p (which it runs after custom ones).
`output_logits` would give the scores before the penalty; `output_scores`, after the sampling
warpers: neither is what the page shows.
"""

from __future__ import annotations

from playground.generation.engine import GenerationRequest, Prepared


def copy_as_code(request: GenerationRequest, prepared: Prepared) -> str:
    """Runnable Python for this request: same model, same prompt, same parameters, greedy or seeded."""
    hub_id = prepared.spec.hub_id
    lines = [
        "import torch",
        "from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList",
        "",
        f"model_id = {hub_id!r}",
        "tokenizer = AutoTokenizer.from_pretrained(model_id)",
        "dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32",
        'model = AutoModelForCausalLM.from_pretrained(model_id, dtype=dtype, device_map="auto", use_safetensors=True)',
        "",
    ]
    if request.messages is not None:
        lines += [
            f"messages = {request.messages!r}",
            "prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)",
            "inputs = tokenizer(prompt, add_special_tokens=False, return_tensors=\"pt\").to(model.device)",
        ]
    else:
        lines += [
            f"prompt = {request.prompt!r}",
            "inputs = tokenizer(prompt, return_tensors=\"pt\").to(model.device)",
        ]
    args = [f"max_new_tokens={prepared.max_new_tokens}", f"do_sample={request.do_sample}"]
    if request.do_sample:
        args += [f"temperature={request.temperature}", f"top_p={request.top_p}", f"top_k={request.top_k}"]
    if request.repetition_penalty != 1.0:
        args.append(f"repetition_penalty={request.repetition_penalty}")
    if request.do_sample and request.seed is not None:
        lines.append(f"torch.manual_seed({request.seed})  # same seed, same samples (on the same hardware)")
    lines += [
        "",
        "class Probabilities(LogitsProcessor):",
        '    """Each step\'s distribution after the repetition penalty, before temperature / top-k / top-p."""',
        "",
        "    def __init__(self):",
        "        self.steps = []",
        "",
        "    def __call__(self, input_ids, scores):",
        "        self.steps.append(torch.softmax(scores[0].float(), dim=-1))",
        "        return scores",
        "",
        "",
        "probabilities = Probabilities()",
        "out = model.generate(**inputs, logits_processor=LogitsProcessorList([probabilities]), " + ", ".join(args) + ")",
        "new_ids = out[0, inputs[\"input_ids\"].shape[1]:]",
        "print(tokenizer.decode(new_ids, skip_special_tokens=True))",
        "",
        "# Each new token with the model's probability for it and the top 5 at that step:",
        "for token_id, probs in zip(new_ids.tolist(), probabilities.steps):",
        "    top = probs.topk(5)",
        "    alternatives = [(tokenizer.decode([int(i)]), round(float(p), 4)) for p, i in zip(top.values, top.indices)]",
        "    print(repr(tokenizer.decode([token_id])), round(float(probs[token_id]), 4), alternatives)",
    ]
    return "\n".join(lines) + "\n"
