"""Branching on a serving engine (issue 13): runs and branches from a server's top_logprobs, through
the real `openai` client against the loopback fake server (vLLM's `continue_final_message`, the
completions API for raw prompts, OpenAI's chat API refused with a note)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import remote_support
from fake_logprobs import fake_prob
from fake_openai_server import CONTINUATION

from playground.chat.backends import BackendConfig
from playground.errors import InvalidInput
from playground.generation.request import GenerationRequest
from playground.sampling import server as on_server
from playground.sampling.tree import BeyondRun, RunGone

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

KEY = "sk-visitor-7f3a9c1e5b2d4f6a8c0e"
CHAT = GenerationRequest(messages=[{"role": "user", "content": "hi there"}], max_new_tokens=20)
RAW = GenerationRequest(prompt="Once upon a time", max_new_tokens=20)


def last(updates):
    out = None
    for out in updates:  # noqa: B007 - the last one is the finished branch
        pass
    assert out is not None
    return out


def config(fake, kind="compatible", model="fake-model"):
    return BackendConfig.of(kind, model, fake.base_url, KEY)


def test_a_chat_branch_continues_the_chosen_start_as_the_assistant(fake, settings):
    tree = on_server.new_tree(settings)
    run = last(on_server.sample(tree, CHAT, config(fake), settings))
    assert run.text == "You said: hi there" and len(run.steps) == 4
    branch = last(on_server.continue_from(tree, run.id, 1, "#2", KEY, settings))  # " alt1" at step 1
    body = fake.requests[-1]["body"]
    assert body["messages"][-1] == {"role": "assistant", "content": "You alt1"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert branch.text == "You alt1" + CONTINUATION and branch.parent == run.id and branch.split == 1
    assert [s.text for s in branch.steps[:2]] == ["You", " alt1"] and branch.forced == 1
    assert branch.steps[1].prob == pytest.approx((1 - fake_prob(1)) * 0.4)  # the alternative's own probability
    assert branch.log_prob == pytest.approx(sum(math.log(s.prob) for s in branch.steps))
    assert body["max_tokens"] == 18  # the run's 20, less the 2 tokens the branch starts with
    assert list(tree.branches) == [run.id, branch.id]


def test_a_raw_prompt_branch_uses_the_completions_api(fake, settings):
    tree = on_server.new_tree(settings)
    run = last(on_server.sample(tree, RAW, config(fake), settings))
    assert run.text == " and so on, 🙂 forever." and "echo" not in fake.requests[-1]["body"]
    branch = last(on_server.continue_from(tree, run.id, 2, " forever", KEY, settings))  # typed, not in the top-5
    assert fake.requests[-1]["path"] == "/v1/completions"
    assert fake.requests[-1]["body"]["prompt"] == "Once upon a time and so forever"
    assert branch.text.startswith(" and so forever") and branch.steps[2].prob == 0.0
    assert any("not among the server's top-5" in n for n in branch.notes)


def test_openais_chat_api_cannot_branch_and_says_what_can(fake, settings):
    s = replace(settings, openai_base_url=fake.base_url)
    tree = on_server.new_tree(s)
    run = last(on_server.sample(tree, CHAT, BackendConfig.of("openai", "gpt-4o-mini", None, KEY), s))
    sent = len(fake.requests)
    with pytest.raises(InvalidInput, match="no assistant prefill"):
        last(on_server.continue_from(tree, run.id, 1, "#2", KEY, s))
    assert len(fake.requests) == sent and list(tree.branches) == [run.id]


def test_bad_branch_points_get_clear_messages(fake, settings):
    tree = on_server.new_tree(settings)
    run = last(on_server.sample(tree, CHAT, config(fake), settings))
    with pytest.raises(BeyondRun, match="has 4 tokens"):
        last(on_server.continue_from(tree, run.id, 9, "#1", KEY, settings))
    with pytest.raises(InvalidInput, match="#1–#5"):
        last(on_server.continue_from(tree, run.id, 0, "#7", KEY, settings))
    with pytest.raises(RunGone):
        last(on_server.continue_from(tree, "b99", 0, "#1", KEY, settings))


def test_a_failed_branch_is_not_kept_and_the_tree_is_bounded(fake, settings):
    s = replace(settings, sampling_max_branches=2, chat_timeout_s=0.5)
    tree = on_server.new_tree(s)
    run = last(on_server.sample(tree, CHAT, config(fake), s))
    fake.fail("500", times=2)
    with pytest.raises(Exception, match=r"internal error \(500\)"):
        last(on_server.continue_from(tree, run.id, 1, "#2", KEY, s))
    assert list(tree.branches) == [run.id]  # the failure left the session as it was
    first = last(on_server.continue_from(tree, run.id, 1, "#2", KEY, s))
    second = last(on_server.continue_from(tree, first.id, 1, "#3", KEY, s))
    assert list(tree.branches) == [first.id, second.id]
    assert any(f"Branch {run.id} was dropped" in n for n in second.notes)
