"""The local backend: SmolLM2-135M-Instruct from the offline pack, same message semantics, no key."""

from __future__ import annotations

import json

import pytest

from playground.chat.backends import BackendConfig
from playground.chat.errors import ContextOverflow
from playground.chat.turn import TurnOptions, drain, run_turn

pytestmark = pytest.mark.slow

LOCAL = BackendConfig.of("local")
SYSTEM = "You are a helpful assistant. Answer briefly."


def test_local_turn_with_history_counts_tokens_with_the_model(settings):
    from playground.generation.engine import GenerationRequest, render_prompt

    history = [{"role": "user", "content": "Hi, I'm Sam"}, {"role": "assistant", "content": "Hello Sam!"}]
    result = drain(run_turn(history, "What's my name?", TurnOptions(SYSTEM, max_tokens=12, temperature=0),
                            LOCAL, settings))
    assert result.messages_sent == [{"role": "system", "content": SYSTEM}, *history,
                                    {"role": "user", "content": "What's my name?"}]
    _, ids = render_prompt(GenerationRequest(messages=result.messages_sent), settings)
    u = result.usage
    assert u.prompt_tokens == len(ids) and u.source == "counted" and "tokenizer" in u.counted_with
    assert 1 <= u.completion_tokens <= 12 and result.finish_reason in {"stop", "length"}
    assert u.free and u.cost == 0.0 and u.price_source.startswith("runs on this server")
    assert u.context_window == 8192
    assert result.reply.strip()


def test_local_resend_off_and_length_finish(settings):
    history = [{"role": "user", "content": "Hi, I'm Sam"}, {"role": "assistant", "content": "Hello Sam!"}]
    result = drain(run_turn(history, "Write a long poem about the sea.",
                            TurnOptions(SYSTEM, resend_history=False, max_tokens=3, temperature=0), LOCAL, settings))
    assert result.messages_sent == [{"role": "system", "content": SYSTEM},
                                    {"role": "user", "content": "Write a long poem about the sea."}]
    assert result.finish_reason == "length" and result.usage.completion_tokens == 3


def test_local_context_overflow_then_drop_oldest(settings):
    giant = "sea " * 9000  # more than SmolLM2's 8,192-token window on its own
    history = [{"role": "user", "content": giant}, {"role": "assistant", "content": "Noted."},
               {"role": "user", "content": "Hi, I'm Sam"}, {"role": "assistant", "content": "Hello Sam!"}]
    options = TurnOptions(SYSTEM, max_tokens=2, temperature=0)
    with pytest.raises(ContextOverflow) as info:
        drain(run_turn(history, "What's my name?", options, LOCAL, settings))
    assert info.value.window == 8192 and info.value.prompt_tokens > 9000
    assert f"{info.value.prompt_tokens:,} prompt tokens" in str(info.value)
    result = drain(run_turn(history, "What's my name?", TurnOptions(SYSTEM, max_tokens=2, temperature=0,
                                                                    drop_oldest=True), LOCAL, settings))
    assert result.dropped == 2 and result.messages_sent[1]["content"] == "Hi, I'm Sam"
    assert any("Dropped the 2 oldest" in note for note in result.notes)


def test_chat_endpoint_local_on_the_session_app(client):
    out = client.predict([], "Hi, I'm Sam. Say hello.", "local", "", "", "", SYSTEM, True, 8, 0.0, False,
                         api_name="/chat")
    assert out["messages_sent"][-1] == {"role": "user", "content": "Hi, I'm Sam. Say hello."}
    assert out["usage"]["completion_tokens"] <= 8 and out["finish_reason"] in {"stop", "length"}
    assert out["messages"][-1] == {"role": "assistant", "content": out["reply"]}


def test_retry_at_temperature_above_zero_samples_afresh_unless_seeded(settings):
    """Retry used to replay seed 0: the same "random" answer every time."""
    def answer(seed=None) -> str:
        options = TurnOptions(SYSTEM, max_tokens=16, temperature=1.5, seed=seed)
        return drain(run_turn([], "Tell me a surprising fact.", options, LOCAL, settings)).reply

    assert answer() != answer()  # 16 tokens sampled at temperature 1.5 twice: never the same by chance
    assert answer(seed=7) == answer(seed=7)


def test_seed_and_drop_oldest_reach_the_turn_from_the_api_and_the_tab(client):
    """Both edges passed seed and drop_oldest in each other's place (positional arguments in the wrong
    order): no seed meant seed False (so Retry replayed one sample), and a seed of 7 turned drop_oldest on."""
    def api_turn(**kw: object) -> dict:
        return client.predict([], "Say hi.", "local", "", "", "", SYSTEM, True, 4, 1.0, False, *kw.values(),
                              api_name="/chat")

    assert "seed" not in api_turn()["request"]
    assert api_turn(seed=7)["request"]["seed"] == 7

    def tab_turn(seed: str) -> dict:
        out = client.predict("Say hi.", "local", "", "", "", SYSTEM, True, 4, 1.0, False, seed, api_name="/chat_turn")
        return json.loads(out[5])  # the "Last request" view

    assert "seed" not in tab_turn("")
    assert tab_turn("7")["seed"] == 7
