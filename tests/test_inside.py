"""Inside the model: attention, the logit lens, positions and capacity against plain transformers.

The fast tests use numbers and a tiny randomly initialised GPT-2 (learned positions, `ln_f`);
the slow ones use SmolLM2 from the offline pack and check the app's numbers against an
independent plain-transformers run (the copy-as-code snippets, executed).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground import runtime
from playground.errors import InvalidInput, NotAllowed
from playground.generation import catalogue, models
from playground.inside import architecture, capacity, forward, lens, positions, snippet
from playground.pack.entries import Pack

SMOL = catalogue.DEFAULT_MODEL


# --- fast: formulas and data ---------------------------------------------------------------

def test_every_catalogue_model_has_shipped_numbers_with_a_source():
    for spec in catalogue.MODELS:
        arch = architecture.shipped(spec.id)
        assert arch is not None, spec.id
        assert spec.hub_id in arch.source and arch.heads % arch.kv_heads == 0 and arch.context >= 4096
        assert abs(arch.params / 1e9 - spec.params_b) / spec.params_b < 0.1  # agrees with the catalogue's size


def test_kv_formula_and_sliding_window():
    smol = architecture.shipped(SMOL)
    assert smol.kv_bytes_per_token(2) == 2 * 30 * 3 * 64 * 2 == 23_040
    assert smol.kv_bytes(1000, 4) == 1000 * smol.kv_bytes_per_token(4)
    gemma = architecture.shipped("google/gemma-3-1b-it")
    per_layer = 2 * 1 * 256 * 2
    assert gemma.kv_bytes(10_000, 2) == per_layer * (4 * 10_000 + 22 * 512)  # 22 local layers stop at 512


@pytest.mark.parametrize(("memory", "users"), [(0.1e9, 1), (0.3e9, 1), (0.5e9, 1), (16e9, 1), (1.5e9, 30),
                                                (16e9, 30)])
def test_fits_tokens_is_the_longest_context_that_fits(memory, users):
    arch = architecture.shipped("Qwen/Qwen2.5-0.5B-Instruct")
    found = capacity.fits_tokens(arch, memory, 2, users)
    weights = arch.params * 2
    if weights > memory:
        assert found is None
        return
    assert weights + users * arch.kv_bytes(found, 2) <= memory
    assert found == arch.context or weights + users * arch.kv_bytes(found + 1, 2) > memory


def test_flops_grow_with_context():
    arch = architecture.shipped(SMOL)
    assert arch.flops_per_token(1) == pytest.approx(2 * arch.params, rel=1e-3)
    assert arch.flops_per_token(8192) - arch.flops_per_token(0) == 4 * 30 * 8192 * 9 * 64


def test_the_figures_look_like_plotly_white_with_a_smaller_template():
    import plotly.io as pio

    from playground.inside import plots

    white = pio.templates["plotly_white"]
    weights = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
    labels, offsets = ["a", "b", "c", "d"], np.arange(8)
    figures = [plots.attention_heatmap(weights, labels, "t"), plots.looks_at(weights, labels, 3, "t"),
               plots.rope_scores(offsets, offsets * 1.0, offsets * 0.5, 4, np.ones(4), "a", "t"),
               plots.position_similarity(weights, "t"), plots.rope_frequencies(np.array([1.0, 0.1]), "t")]
    for fig in figures:
        template = fig.layout.template
        for trace in fig.data:  # every trace type drawn has plotly_white's defaults
            assert template.data[trace.type] == white.data[trace.type], trace.type
        expected = {k: v for k, v in white.layout.to_plotly_json().items() if k not in plots.UNUSED}
        assert template.layout.to_plotly_json() == expected
        assert not set(plots.UNUSED) & set(fig.layout.to_plotly_json())  # no figure has the parts left out


def test_the_rope_figure_equals_the_make_subplots_one():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from playground.inside import plots

    offsets, start, later, cosine = np.arange(6), np.linspace(0, 1, 6), np.linspace(1, 0, 6), np.ones(4)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("score of “a” attending to “a” d tokens back",
                                                        "the query of “a” at position p vs at 0"))
    fig.add_trace(go.Scatter(x=offsets, y=start, name="query at d, key at 0", line={"width": 4, "color": "#9ecae1"}),
                  1, 1)
    fig.add_trace(go.Scatter(x=offsets, y=later, name="query at 9+d, key at 9",
                             line={"width": 1.5, "color": "#d62728", "dash": "dot"}), 1, 1)
    fig.add_trace(go.Scatter(x=np.arange(4), y=cosine, name="cosine(q at p, q at 0)", line={"color": "#2ca02c"}),
                  1, 2)
    fig.update_xaxes(title_text="distance d (tokens)", row=1, col=1)
    fig.update_xaxes(title_text="position p", row=1, col=2)
    fig.update_yaxes(title_text="q·k / √d", row=1, col=1)
    fig.update_yaxes(title_text="cosine", row=1, col=2)
    fig.update_layout(title="t", height=380, legend={"orientation": "h", "y": -0.25}, **plots.layout())
    assert plots.rope_scores(offsets, start, later, 9, cosine, "a", "t").to_plotly_json() == fig.to_plotly_json()


def test_the_figures_built_without_plotly_validation_equal_validated_ones(monkeypatch):
    import json

    from playground.inside import plots

    rng = np.random.default_rng(0)
    weights = np.tril(rng.random((6, 6)))
    labels = ["a", "b", "b", "c", "d", "e"]
    top = rng.integers(0, 5, (3, 6))
    layer_lens = forward.Lens(top_ids=top, top_labels=[[labels[i] for i in row] for row in top],
                              top_probs=rng.random((3, 6)), entropy_bits=rng.random((3, 6)) * 4,
                              chosen_ids=top[-1], chosen_labels=[labels[i] for i in top[-1]],
                              chosen_rank=rng.integers(0, 900, (3, 6)), layer_names=["embeddings", "layer 1", "layer 2"])
    offsets = np.arange(8)

    def figures():
        return [plots.attention_heatmap(weights, labels, "t"), plots.looks_at(weights, labels, 4, "t"),
                *(plots.lens_heatmap(layer_lens, labels, metric, "t", 1) for metric in plots.LENS_METRICS),
                plots.rope_frequencies(np.array([1.0, 0.1]), "t"), plots.position_similarity(weights, "t"),
                plots.rope_scores(offsets, offsets * 1.0, offsets * 0.5, 4, np.ones(4), "a", "t")]

    fast = [json.loads(fig.to_json()) for fig in figures()]
    monkeypatch.setattr(plots, "VALIDATE", True)
    assert fast == [json.loads(fig.to_json()) for fig in figures()]


def test_shipped_smollm2_numbers_equal_the_pack_config(settings):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(Pack(settings).smollm2_dir)
    real = architecture.from_config(config, architecture.shipped(SMOL).params)
    assert replace(real, source="") == replace(architecture.shipped(SMOL), source="")


@pytest.fixture(scope="module")
def tiny_gpt2():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=100)).eval()


def test_learned_positions_of_a_gpt2(tiny_gpt2):
    pos = runtime.call(positions.compute, tiny_gpt2, 5)
    assert pos.kind == "learned" and pos.similarity.shape == (64, 64)
    assert np.allclose(np.diag(pos.similarity), 1, atol=1e-5)
    arch = architecture.from_config(tiny_gpt2.config, 1000)
    assert (arch.layers, arch.heads, arch.kv_heads, arch.head_dim, arch.context) == (2, 2, 2, 16, 64)


def test_the_pass_on_a_gpt2_reads_ln_f_and_restores_attention(tiny_gpt2):
    before = tiny_gpt2.config._attn_implementation
    raw = runtime.call(forward._forward, tiny_gpt2, [1, 2, 3, 4, 5], 0, 3)
    assert tiny_gpt2.config._attn_implementation == before
    assert raw["attentions"].shape == (2, 2, 5, 5) and raw["top_ids"].shape == (3, 5)
    import torch

    with torch.no_grad():
        logits = tiny_gpt2(torch.tensor([[1, 2, 3, 4, 5]])).logits[0]
    assert np.array_equal(raw["chosen"], logits.argmax(-1).numpy())


def test_a_pass_that_fails_leaves_the_attention_as_it_was(tiny_gpt2):
    """The pass runs between a generation batch's steps: whatever fails, the batch's next step must
    find the model's own attention again."""
    before = [(c, c._attn_implementation) for c in forward._attention_configs(tiny_gpt2)]
    assert before and all(implementation != "eager" for _, implementation in before)
    with pytest.raises(IndexError):
        runtime.call(forward._forward, tiny_gpt2, [1, 2, 10**6], 0, 1)  # an id past the vocabulary
    assert [(c, c._attn_implementation) for c, _ in before] == before


def test_empty_text_is_refused_clearly(settings):
    with pytest.raises(InvalidInput, match="empty"):
        forward.inspect_text(SMOL, "   ", settings)


def test_a_model_over_the_budget_is_refused_with_numbers_before_loading(settings):
    spec = catalogue.get("microsoft/Phi-3-mini-4k-instruct")
    with pytest.raises(NotAllowed, match=r"GB for its weights.*size budget on this server is 4 GB"):
        forward.check_fits(spec, settings, 64)
    assert spec.id not in models.loaded_ids()


# --- slow: SmolLM2 against plain transformers ---------------------------------------------------

TEXT = "The cat sat on the mat. Where did the cat sit?"


@pytest.fixture(scope="module")
def view(settings):
    return forward.inspect_text(SMOL, TEXT, settings, chat=True, new_tokens=4)


def run_snippet(code: str, settings) -> dict:
    local = code.replace(repr(SMOL), repr(str(Pack(settings).smollm2_dir)), 1)
    assert local != code
    scope: dict = {}
    exec(compile(local, "<snippet>", "exec"), scope)  # noqa: S102 - the snippet the app shows, run as a user would
    return scope


@pytest.mark.slow
def test_attention_rows_sum_to_one_and_the_mask_is_causal(view):
    layers, heads, n, m = view.attentions.shape
    assert (layers, heads) == (30, 9) and n == m == len(view.ids) == view.prompt_tokens + 4
    assert np.allclose(view.attentions.sum(-1), 1, atol=1e-4)
    assert np.all(np.triu(view.attentions, 1) == 0)  # nothing attends to a later token
    assert view.labels[:2] == ["<|im_start|>", "system"]


@pytest.mark.slow
def test_attention_equals_plain_transformers_eager(view, settings):
    scope = run_snippet(snippet.attention_code(SMOL, view.ids, 5, 2), settings)
    assert np.allclose(scope["attention"].numpy(), view.attentions[5, 2], atol=1e-5)
    scope = run_snippet(snippet.attention_code(SMOL, view.ids, 29, None), settings)
    assert np.allclose(scope["attention"].numpy(), view.attentions[29].mean(0), atol=1e-5)


@pytest.mark.slow
def test_logit_lens_last_layer_is_the_models_own_logits(view, settings):
    scope = run_snippet(snippet.lens_code(SMOL, view.ids), settings)
    logits = scope["out"].logits[0].float()
    probs = logits.softmax(-1)
    assert np.array_equal(view.lens.top_ids[-1], logits.argmax(-1).numpy())
    assert np.array_equal(view.lens.chosen_ids, logits.argmax(-1).numpy())
    assert np.allclose(view.lens.top_probs[-1], probs.max(-1).values.numpy(), atol=1e-5)
    assert np.all(view.lens.chosen_rank[-1] == 0)
    # every layer, top-1 and its probability, against the snippet's own fp32 lens (the app's runs its bulk in
    # bf16 on a CPU that has it: tolerances in tests/test_inside_lens.py and playground/inside/lens.py)
    assert np.array_equal(view.lens.top_ids, scope["lens_top"].numpy())
    assert np.allclose(view.lens.top_probs, scope["lens_prob"].numpy(), atol=lens.PROB_TOLERANCE)
    entropy = -(probs * probs.log()).sum(-1) / np.log(2)
    assert np.allclose(view.lens.entropy_bits[-1], entropy.numpy(), atol=1e-3)
    assert view.lens.layer_names[0] == "embeddings" and len(view.lens.layer_names) == 31


@pytest.mark.slow
def test_kv_bytes_per_token_equals_the_real_cache(view, settings):
    scope = run_snippet(snippet.capacity_code(SMOL, view.ids), settings)
    loaded = models.load_model(catalogue.get(SMOL), settings)
    arch = architecture.of_loaded(loaded.model)
    size = forward.dtype_bytes(loaded.model.dtype)
    assert arch.source == architecture.LOADED
    assert scope["cache_bytes"] == arch.kv_bytes(len(view.ids), size) == len(view.ids) * arch.kv_bytes_per_token(size)
    assert scope["kv_bytes_per_token"] == arch.kv_bytes_per_token(size)


@pytest.mark.slow
def test_the_eager_switch_leaves_generation_unchanged(view, settings):
    import torch

    loaded = models.load_model(catalogue.get(SMOL), settings)
    ids = torch.tensor([view.ids[:20]], device=loaded.model.device)

    def greedy():
        with torch.inference_mode():
            return loaded.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False,
                                         temperature=None, top_p=None, top_k=None)[0].tolist()

    implementation = loaded.model.config._attn_implementation
    before = runtime.call(greedy)
    forward.inspect_text(SMOL, "Another text, another pass.", settings, chat=False)
    assert loaded.model.config._attn_implementation == implementation
    assert all(layer.self_attn.config._attn_implementation == implementation for layer in loaded.model.model.layers)
    assert runtime.call(greedy) == before


@pytest.mark.slow
def test_rope_scores_depend_only_on_the_distance(view, settings):
    pos = view.positions
    assert pos.kind == "rope" and pos.token_label == "·cat"  # the most frequent word of the text
    assert pos.extra["max_difference"] < 1e-3 * np.abs(pos.scores_start).max()
    assert np.allclose(pos.scores_start, pos.scores_later, atol=1e-3)
    assert pos.query_cosine[0] == pytest.approx(1) and pos.query_cosine.min() < 0.9  # the query itself moves
    theta = 100_000.0  # rope_theta of the pack's config
    assert np.allclose(pos.inv_freq, 1 / theta ** (np.arange(0, 64, 2) / 64), rtol=1e-5)


@pytest.mark.slow
def test_long_texts_are_capped_with_a_note(settings):
    small = replace(settings, inside_max_tokens=24)
    out = forward.inspect_text(SMOL, "word " * 200, small, chat=False, new_tokens=4)
    assert len(out.ids) == 24 and out.prompt_tokens == 20
    assert "inside_max_tokens" in out.notes[0] and "201 tokens" in out.notes[0]


@pytest.mark.slow
def test_time_per_token_is_measured_and_kept(settings):
    spec = catalogue.get(SMOL)
    first = capacity.measured(spec, settings)
    assert first.contexts == [16, 512, 2048] and all(s > 0 for s in first.seconds_per_token)
    assert capacity.measured(spec, settings) is first  # measured once per model and device
