"""The Sampling tab's backend on the real offline SmolLM2-135M-Instruct: the pipeline stage by
stage, replay against `generate`, branching from a cropped KV cache, side-by-side slots, bad input."""

from __future__ import annotations

import math
import re

import pytest

from playground.errors import InvalidInput
from playground.generation import catalogue, models
from playground.sampling import runs
from playground.sampling.pipeline import ORDER, SamplingConfig
from playground.sampling.render import branch_chips, encoded_tokens, step_html, tree_html
from playground.sampling.side import Slot, run_slots, word_diff
from playground.sampling.tree import BeyondRun, NotInVocabulary, RunGone, Tree

RAW = "The best thing about the sea is"


def last(iterator):
    final = None
    for final in iterator:  # noqa: B007 - the last value is the point
        pass
    return final


# --- fast: no model ------------------------------------------------------------------------------


def test_word_diff_marks_only_the_words_that_differ():
    pieces = word_diff("the sea is calm today", "the sea was calm tonight")
    changed = [w for w, differs in pieces if differs]
    assert changed == ["was", "tonight"]
    assert "".join(w for w, _ in pieces) == "the sea was calm tonight"


@pytest.mark.parametrize("config", [SamplingConfig(temperature=-1), SamplingConfig(top_p=0), SamplingConfig(top_k=-2),
                                    SamplingConfig(min_p=1.0), SamplingConfig(repetition_penalty=0)])
def test_bad_settings_are_refused_with_a_message(config):
    with pytest.raises(InvalidInput):
        config.check()


def test_the_tree_drops_the_oldest_with_a_note_and_says_so_later():
    from playground.sampling.tree import Branch

    tree = Tree(limit=2)
    notes = []
    for _ in range(3):
        notes += tree.add(Branch(tree.new_id(), "m", "m", SamplingConfig(), 1, [1], 4))
    assert list(tree.branches) == ["b2", "b3"] and "b1 was dropped" in notes[0]
    with pytest.raises(RunGone, match="no longer in this session"):
        tree.get("b1")
    with pytest.raises(RunGone, match="holds no run 'b7'"):
        tree.get("b7")


# --- slow: the real model ------------------------------------------------------------------------

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def loaded(settings):
    return models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)


def _generate(loaded, ids, config: SamplingConfig, n: int) -> list[int]:
    """What `model.generate` draws: the global RNG seeded as a user of transformers would."""
    import torch

    from playground import runtime

    def work():
        with torch.inference_mode():
            if config.do_sample:
                torch.manual_seed(config.seed)
            x = torch.tensor([ids], device=loaded.model.device)
            out = loaded.model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=n,
                                        pad_token_id=loaded.tokenizer.eos_token_id, **config.generate_kwargs())
        return out[0, len(ids):].tolist()

    return runtime.call(work)


REPLAYS = [
    SamplingConfig(temperature=0.7, top_k=50, top_p=0.95, seed=1),
    SamplingConfig(temperature=1.5, top_k=0, top_p=1.0, min_p=0.05, repetition_penalty=1.3, seed=7),
    SamplingConfig(temperature=1.0, top_k=20, top_p=0.8, seed=123),
    SamplingConfig(temperature=1.2, top_k=0, top_p=0.9, seed=2024),
    SamplingConfig(temperature=0, repetition_penalty=1.2),
]


@slow
@pytest.mark.parametrize("config", REPLAYS, ids=lambda c: c.label())
def test_replaying_the_stages_draws_exactly_what_generate_drew(settings, loaded, config):
    tree = Tree(limit=4)
    request = runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=12, config=config)
    branch = last(runs.sample(tree, request, settings))
    expected = _generate(loaded, branch.prompt_ids, config, 12)
    assert branch.tokens == expected[:len(branch.tokens)]
    assert len(branch.tokens) == len(expected)  # stopped where generate stopped (eos or the cap)


@slow
def test_each_stage_does_what_its_setting_says(settings, loaded):
    config = SamplingConfig(temperature=0.8, top_k=10, top_p=0.5, min_p=0.1, repetition_penalty=1.3, seed=3)
    branch = last(runs.sample(Tree(limit=4), runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=8,
                                                             config=config), settings))
    vocab = loaded.model.config.vocab_size
    for view in branch.steps:
        stages = {s.name: s for s in view.stages}
        assert [s.name for s in view.stages] == list(ORDER)
        assert stages["raw"].kept == vocab
        assert stages["top-k"].kept <= 10
        assert stages["top-p"].kept <= stages["top-k"].kept and stages["min-p"].kept <= stages["top-p"].kept
        for name in ORDER[1:-1]:
            assert 0 < stages[name].mass_left <= 1 + 1e-6 and stages[name].entropy_bits >= 0
            gone = {c.id for c in stages[name].removed}
            assert not gone & {c.id for c in stages[name].top}  # removed tokens are not candidates any more
        assert view.token_prob > 0  # a drawn token was still possible after every stage
    # Temperature below 1 sharpens: the top token's probability rises from the penalty stage to the temperature one.
    first = {s.name: s for s in branch.steps[0].stages}
    assert first["temperature"].top[0].prob >= first["repetition penalty"].top[0].prob
    assert first["temperature"].entropy_bits <= first["repetition penalty"].entropy_bits


@slow
def test_greedy_without_penalty_takes_the_models_top_token(settings, loaded):
    config = SamplingConfig(temperature=0, repetition_penalty=1.0)
    branch = last(runs.sample(Tree(limit=4), runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=6,
                                                             config=config), settings))
    for view in branch.steps:
        assert view.token == view.raw_top[0].id
        assert all(not s.applied for s in view.stages[1:-1])  # generate builds no processor for these settings


@slow
def test_a_branch_reuses_the_kv_cache_and_matches_a_fresh_read(settings, loaded):
    config = SamplingConfig(temperature=0.9, top_k=40, top_p=0.95, seed=11)
    tree = Tree(limit=8)
    run = last(runs.sample(tree, runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=12,
                                                 config=config), settings))
    alternative = run.steps[4].raw_top[1].id
    cached = last(runs.continue_from(tree, run.id, 4, f"#{alternative}", settings))
    assert cached.reused_tokens == len(run.prompt_ids) + 4 - 1  # prompt + 4 tokens, minus the one re-read
    assert cached.parent == run.id and cached.split == 4 and cached.tokens[:4] == run.tokens[:4]
    assert cached.tokens[4] == alternative and cached.steps[4].forced
    runs._caches.clear()  # evicted: the prefix is read again in one pass
    fresh = last(runs.continue_from(tree, run.id, 4, f"#{alternative}", settings))
    assert fresh.reused_tokens == 0
    assert fresh.tokens == cached.tokens
    for a, b in zip(fresh.steps[4:], cached.steps[4:], strict=True):
        assert math.isclose(a.model_prob, b.model_prob, rel_tol=1e-3, abs_tol=1e-6)
    # The branch's stage view at the split is the parent's distribution, with the visitor's token.
    assert [c.id for c in cached.steps[4].stages[0].top] == [c.id for c in run.steps[4].stages[0].top]
    assert cached.log_prob != run.log_prob and cached.perplexity > 0


@slow
def test_typed_tokens_and_bad_branch_points_get_clear_messages(settings, loaded):
    tree = Tree(limit=2)
    run = last(runs.sample(tree, runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=5,
                                                 config=SamplingConfig(seed=5)), settings))
    typed = last(runs.continue_from(tree, run.id, 2, " wonderful", settings))
    assert typed.tokens[2] == loaded.tokenizer(" wonderful", add_special_tokens=False)["input_ids"][0]
    with pytest.raises(BeyondRun, match="Step 5 is beyond branch b1: it has 5 tokens"):
        last(runs.continue_from(tree, run.id, 5, "#1", settings))
    with pytest.raises(NotInVocabulary, match="outside SmolLM2-135M-Instruct's vocabulary"):
        last(runs.continue_from(tree, run.id, 1, "#49152", settings))
    with pytest.raises(InvalidInput, match="is 4 tokens"):
        last(runs.continue_from(tree, run.id, 1, " antidisestablishment", settings))
    last(runs.continue_from(tree, typed.id, 1, "#11", settings))  # a third branch: b1 is dropped (limit 2)
    with pytest.raises(RunGone, match="b1 is no longer in this session"):
        last(runs.continue_from(tree, run.id, 1, "#11", settings))


@slow
def test_views_render_the_steps(settings, loaded):
    tree = Tree(limit=4)
    run = last(runs.sample(tree, runs.RunRequest(catalogue.DEFAULT_MODEL, prompt=RAW, max_new_tokens=6,
                                                 config=SamplingConfig(seed=8)), settings))
    view = models.load_view(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    html = step_html(run, 2, view)
    assert len(re.findall(r'class="smp-stage[ "]', html)) == len(ORDER) and "top-p" in html
    assert branch_chips(run, view, 100).count('class="tok') == len(run.steps)
    assert "b1" in tree_html(tree, "b1")


@slow
def test_chips_survive_an_emoji_split_over_two_tokens_and_a_cut_in_the_middle(settings):
    view = models.load_view(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    ids = view.raw_encode("sea 🌊 blue", add_special_tokens=False)
    whole = encoded_tokens(view, ids)
    assert whole.text == "sea 🌊 blue"
    cut = encoded_tokens(view, ids[:3])  # ends inside the emoji's bytes: still one span per token
    assert len(cut) == 3 and cut.ends[-1] == len(cut.text)


@slow
def test_side_by_side_same_seed_twice_is_identical_and_greedy_matches_a_greedy_run(settings, loaded):
    slots = [Slot(catalogue.DEFAULT_MODEL, 1.0, 1.0, 42), Slot(catalogue.DEFAULT_MODEL, 1.0, 1.0, 42),
             Slot(catalogue.DEFAULT_MODEL, 0.0, 1.0, 42)]
    final = last(run_slots(slots, "Name a colour.", 10, settings))
    assert final[0].text == final[1].text and all(r.done for r in final)
    greedy = last(runs.sample(Tree(limit=2), runs.RunRequest(
        catalogue.DEFAULT_MODEL, messages=[{"role": "user", "content": "Name a colour."}], max_new_tokens=10,
        config=SamplingConfig(temperature=0, top_k=0, top_p=1.0)), settings))
    assert final[2].text == greedy.text
