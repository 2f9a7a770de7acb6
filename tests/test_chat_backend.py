"""Chat backend through the real `openai` client against a real HTTP server on loopback.

No patched functions: `tests/fake_openai_server.py` speaks the chat-completions protocol, records
what it receives, and fails on demand.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest
import remote_support
from fake_openai_server import fake_prompt_tokens

from playground.chat import conversation
from playground.chat.backends import BackendConfig, BackendKind, Connection, resolve_connection
from playground.chat.errors import BackendError, ContextOverflow, NoApiKey, SpendCapReached, UnpricedModel
from playground.chat.turn import SpendLedger, TurnOptions, drain, run_turn
from playground.chat.usage import counter_for
from playground.errors import InvalidInput
from playground.prices.data import money, price_map

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

KEY = "sk-visitor-7f3a9c1e5b2d4f6a8c0e"
OPERATOR_KEY = "sk-operator-0b1d2f3a4c5e6a7b8c9d"
SYSTEM = "You are a helpful assistant. Answer briefly."


@pytest.fixture
def fast(settings):
    """Short client timeout so the timeout test takes seconds."""
    return replace(settings, chat_timeout_s=0.5)


def turn(fake, settings, history, message, *, key=KEY, model="gpt-4o-mini", kind="compatible", **options):
    config = BackendConfig.of(kind, model, fake.base_url, key)
    return drain(run_turn(history, message, TurnOptions(system_prompt=SYSTEM, **options), config, settings))


def history_of(*pairs: tuple[str, str]) -> list[dict]:
    out = []
    for user, assistant in pairs:
        out += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return out


def test_resend_history_on_sends_the_whole_conversation(fake, settings):
    first = turn(fake, settings, [], "Hi, I'm Sam")
    history = history_of(("Hi, I'm Sam", first.reply))
    second = turn(fake, settings, history, "What's my name?")
    assert second.reply == "Your name is Sam."
    assert fake.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Hi, I'm Sam"},
        {"role": "assistant", "content": "You said: Hi, I'm Sam"},
        {"role": "user", "content": "What's my name?"},
    ]
    assert second.messages_sent == fake.requests[-1]["body"]["messages"]
    body = fake.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 256 and body["temperature"] == 0.7


def test_resend_history_off_sends_only_system_and_latest_message(fake, settings):
    history = history_of(("Hi, I'm Sam", "You said: Hi, I'm Sam"))
    result = turn(fake, settings, history, "What's my name?", resend_history=False)
    assert fake.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": "What's my name?"},
    ]
    assert result.reply.startswith("I don't know your name")


def test_usage_from_the_api_and_cost_from_litellm(fake, settings):
    result = turn(fake, settings, history_of(("Hi, I'm Sam", "You said: Hi, I'm Sam")), "What's my name?")
    sent = fake.requests[-1]["body"]["messages"]
    price = price_map(settings).lookup("gpt-4o-mini")
    u = result.usage
    assert (u.prompt_tokens, u.completion_tokens, u.source) == (fake_prompt_tokens(sent), 4, "api")
    assert u.counted_with is None
    assert u.input_cost == pytest.approx(fake_prompt_tokens(sent) * price.input_per_token)
    assert u.output_cost == pytest.approx(4 * price.output_per_token)
    assert u.cost == pytest.approx(u.input_cost + u.output_cost) and u.cost > 0
    assert u.context_window == price.context_window
    assert u.context_fraction == pytest.approx((fake_prompt_tokens(sent) + 4) / price.context_window)
    assert result.finish_reason == "stop"


def test_usage_counted_with_the_tokenizer_when_the_server_sends_none(fake, settings):
    fake.fail("no_usage")
    result = turn(fake, settings, [], "Hello there")
    counter = counter_for("gpt-4o-mini", settings)
    assert result.usage.source == "counted" and result.usage.counted_with == "o200k_base"
    assert result.usage.prompt_tokens == counter.prompt_tokens(result.messages_sent)
    assert result.usage.completion_tokens == counter.text_tokens("You said: Hello there")


def test_unknown_model_has_no_price_not_zero(fake, settings):
    result = turn(fake, settings, [], "Hello", model="my-local-llama")
    assert result.usage.cost is None and money(result.usage.cost) == "no price listed"
    assert result.usage.context_window is None
    assert "no price listed" in result.usage.price_source


def test_server_that_rejects_stream_options_still_answers(fake, settings):
    fake.fail("reject_stream_options")
    result = turn(fake, settings, [], "Hello")
    assert result.reply == "You said: Hello"
    assert "stream_options" not in fake.requests[-1]["body"]
    assert result.usage.source == "counted"


def test_finish_reason_length_when_max_tokens_cuts_the_answer(fake, settings):
    result = turn(fake, settings, [], "one two three four five", max_tokens=3)
    assert result.finish_reason == "length" and result.reply == "You said: one"
    assert result.usage.completion_tokens == 3


def test_openai_backend_uses_max_completion_tokens(fake, settings):
    result = turn(fake, settings, [], "Hello", kind="openai", max_tokens=50)
    body = fake.requests[-1]["body"]
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert result.request["max_completion_tokens"] == 50


def test_non_streaming_response_parses_with_the_openai_client(fake):
    import openai

    client = openai.OpenAI(api_key=KEY, base_url=fake.base_url, max_retries=0, timeout=5)
    response = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Hi"}])
    assert response.choices[0].message.content == "You said: Hi" and response.usage.prompt_tokens == 7


@pytest.mark.parametrize(("mode", "expected"), [
    ("401", "rejected by"),
    ("403", "403 Forbidden"),
    ("404", "Model 'gpt-4o-mini' was not found"),
    ("429", "Rate limit or quota reached"),
    ("500", "internal error (500)"),
    ("timeout", "did not answer within 0.5 s"),
    ("die", "broke in the middle of the answer"),
])
def test_failures_become_clear_messages_without_the_key(fake, fast, mode, expected):
    fake.fail(mode, times=2)  # the client retries once
    history = history_of(("Hi, I'm Sam", "You said: Hi, I'm Sam"))
    before = json.dumps(history)
    with pytest.raises(BackendError) as info:
        turn(fake, fast, history, "What's my name?")
    message = str(info.value)
    assert expected in message
    assert KEY not in message and KEY[-8:] not in message
    assert json.dumps(history) == before


def test_one_retry_hides_a_single_server_error(fake, settings):
    fake.fail("500", times=1)
    assert turn(fake, settings, [], "Hello").reply == "You said: Hello"
    assert len(fake.requests) == 2


def test_connection_refused(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = BackendConfig.of("compatible", "m", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(BackendError, match="Cannot connect to http://127.0.0.1"):
        drain(run_turn([], "Hello", TurnOptions(), config, settings))


def test_typed_key_goes_to_the_typed_base_url_only(fake, settings):
    turn(fake, settings, [], "Hello")
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"


def test_operator_key_is_used_only_for_the_operators_base_url(fake, settings):
    operator = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url)
    turn(fake, operator, [], "Hello", key=None, kind="openai")
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}"
    # A visitor who types another base URL never gets the operator's key sent there.
    elsewhere = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url="https://api.openai.com/v1")
    turn(fake, elsewhere, [], "Hello", key=None)
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer no-key"
    assert OPERATOR_KEY not in repr(resolve_connection(BackendConfig.of("openai", "gpt-4o"), operator))


def test_typed_base_urls_can_be_turned_off(fake, settings):
    from playground.errors import NotAllowed

    locked = replace(settings, allow_custom_base_url=False, openai_base_url="https://api.openai.com/v1")
    with pytest.raises(NotAllowed, match="typed base URLs are off"):
        resolve_connection(BackendConfig.of("compatible", "m", fake.base_url), locked)
    # The operator's own server stays reachable, typed or not.
    own = replace(locked, openai_base_url=fake.base_url)
    assert resolve_connection(BackendConfig.of("compatible", "m", fake.base_url), own).base_url == fake.base_url


def test_no_key_says_where_to_put_one(settings):
    with pytest.raises(NoApiKey) as info:
        drain(run_turn([], "Hello", TurnOptions(), BackendConfig.of("openai", "gpt-4o-mini"), settings))
    assert "OPENAI_API_KEY" in str(info.value) and "Local model" in str(info.value)


def test_spend_caps_apply_to_the_operators_key(fake, settings):
    operator = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url,
                       spend_cap_session_usd=0.01, spend_cap_total_usd=0.02)
    ledger = SpendLedger()
    options = TurnOptions()
    config = BackendConfig.of("openai", "gpt-4o-mini")
    result = drain(run_turn([], "Hello", options, config, operator, ledger=ledger))
    assert result.operator_key and ledger.total == pytest.approx(result.usage.cost)
    with pytest.raises(SpendCapReached, match="this session"):
        drain(run_turn([], "Hello", options, config, operator, session_spent=0.011, ledger=ledger))
    ledger.add(0.05)
    with pytest.raises(SpendCapReached, match="all visitors"):
        drain(run_turn([], "Hello", options, config, operator, ledger=ledger))
    # The visitor's own key is not capped by the operator's budget.
    typed = BackendConfig.of("openai", "gpt-4o-mini", api_key=KEY)
    assert drain(run_turn([], "Hello", options, typed, operator, session_spent=5.0, ledger=ledger)).reply


def test_the_worst_case_is_reserved_before_a_call_and_given_back_when_it_breaks(fake, settings):
    operator = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url,
                       spend_cap_session_usd=1.0, spend_cap_total_usd=1.0)
    config = BackendConfig.of("openai", "gpt-4o-mini")
    ledger = SpendLedger()
    result = drain(run_turn([], "Hello", TurnOptions(max_tokens=1000), config, operator, ledger=ledger))
    assert ledger.total == pytest.approx(result.usage.cost)  # settled to the real cost
    # A call whose worst case (1000 output tokens) would pass the remaining budget is refused up front.
    tight = replace(operator, spend_cap_total_usd=ledger.total + 0.0001)
    with pytest.raises(SpendCapReached, match="worst case"):
        drain(run_turn([], "Hello", TurnOptions(max_tokens=1000), config, tight, ledger=ledger))
    # A stream that dies mid-answer gives its reservation back: a failure never uses up the cap.
    before = ledger.total
    fake.fail("die")
    with pytest.raises(BackendError):
        drain(run_turn([], "Hello", TurnOptions(max_tokens=100), config, operator, ledger=ledger))
    assert ledger.total == pytest.approx(before)


def test_operator_key_refuses_unpriced_openai_models(settings):
    operator = replace(settings, openai_api_key=OPERATOR_KEY)
    with pytest.raises(UnpricedModel, match="has none"):
        drain(run_turn([], "Hello", TurnOptions(), BackendConfig.of("openai", "not-a-real-model"), operator))


@pytest.mark.parametrize("message", ["", "   ", "\n"])
def test_empty_message_is_refused_before_any_call(fake, settings, message):
    with pytest.raises(InvalidInput):
        turn(fake, settings, [], message)
    assert fake.requests == []


@pytest.mark.parametrize("bad", [[{"role": "wizard", "content": "x"}], [{"role": "user"}], "not a list",
                                 [{"role": "user", "content": 3}]])
def test_malformed_history_is_refused(fake, settings, bad):
    with pytest.raises(InvalidInput):
        turn(fake, settings, bad, "Hello")


def test_bad_base_url_and_key(settings):
    for url in ["ftp://x/v1", "localhost:8000", "http://user:pw@host/v1"]:
        with pytest.raises(InvalidInput):
            resolve_connection(BackendConfig.of("compatible", "m", url), settings)
    with pytest.raises(InvalidInput) as info:
        resolve_connection(BackendConfig.of("compatible", "m", "http://h/v1", "sk-abc def"), settings)
    assert "sk-abc" not in str(info.value)


def test_context_overflow_gives_the_numbers_and_dropping_oldest_turns_fits(settings):
    messages = [{"role": "system", "content": "s"}] + history_of(*[(f"q{i} " * 20, f"a{i} " * 20)
                                                                    for i in range(5)])
    messages.append({"role": "user", "content": "last"})

    def count(ms):
        return sum(len(m["content"].split()) + 1 for m in ms)

    with pytest.raises(ContextOverflow) as info:
        conversation.fit_to_context(messages, count, 100, 10, False, model="m", counted_with="words")
    assert info.value.prompt_tokens == count(messages) and info.value.window == 100
    assert f"{count(messages):,} prompt tokens" in str(info.value) and "100" in str(info.value)
    fitted = conversation.fit_to_context(messages, count, 100, 10, True, model="m", counted_with="words")
    assert fitted.messages[0] == messages[0] and fitted.messages[-1] == messages[-1]
    assert fitted.messages[1:-1] == messages[1 + fitted.dropped:-1]
    assert fitted.dropped % 2 == 0 and fitted.prompt_tokens + 10 <= 100
    assert conversation.fit_to_context(messages[-1:], count, 100, 10, False, model="m",
                                       counted_with="w").dropped == 0
    with pytest.raises(ContextOverflow):  # even the latest message alone does not fit
        conversation.fit_to_context(messages, count, 5, 10, True, model="m", counted_with="words")


def test_exports_request_view_and_code_never_hold_the_key(fake, settings):
    result = turn(fake, settings, [], "Hello")
    dumped = json.dumps(result.as_dict())
    assert KEY not in dumped and "[redacted" in dumped
    assert KEY not in result.code and 'os.environ["OPENAI_API_KEY"]' in result.code
    compile(result.code, "<copy-as-code>", "exec")
    assert KEY not in repr(BackendConfig.of("compatible", "m", fake.base_url, KEY))
    assert KEY not in repr(Connection("http://h", KEY, "typed"))


def test_backend_registry_is_data():
    from playground.chat.backends import BACKENDS

    assert len({b.kind for b in BACKENDS}) == len(BACKENDS) == len(BackendKind)
    assert len({b.label for b in BACKENDS}) == len(BACKENDS)


def test_session_accounts_undo_and_export(fake, settings):
    from playground.chat.session import ChatSession

    operator = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url)
    config = BackendConfig.of("openai", "gpt-4o-mini")
    s = ChatSession()
    for message in ("Hi, I'm Sam", "What's my name?"):
        s = s.add(drain(run_turn(s.history, message, TurnOptions(), config, operator, ledger=SpendLedger())))
    assert [m["content"] for m in s.history] == ["Hi, I'm Sam", "You said: Hi, I'm Sam", "What's my name?",
                                                 "Your name is Sam."]
    assert s.cost == pytest.approx(sum(t.usage.cost for t in s.turns))
    assert s.operator_spent_usd == pytest.approx(s.cost)
    rows = s.growth_rows()
    assert [r[1] for r in rows] == [2, 4] and rows[1][2] > rows[0][2]  # the prompt grows every turn
    undone = s.undo()
    assert len(undone.turns) == 1 and undone.operator_spent_usd == s.operator_spent_usd  # spent stays spent
    exported = json.loads(s.export(OPERATOR_KEY))
    assert exported["messages"] == s.history and len(exported["calls"]) == 2
    assert OPERATOR_KEY not in s.export(OPERATOR_KEY) + s.last_request_json(OPERATOR_KEY)
    unpriced = s.add(turn(fake, settings, s.history, "Hello", model="my-local-llama"))
    assert unpriced.cost is None and unpriced.growth_rows()[-1][5] == "no price listed"


def test_chat_works_without_a_price_map_and_the_operator_rule_still_holds(fake, settings, tmp_path):
    """Prices are never a hard dependency: no map means "no price listed", not a failed call."""
    bare = replace(settings, cache_dir=tmp_path, offline=True)  # no pack, no litellm map, no network
    result = turn(fake, bare, [], "Hello")
    assert result.reply and "no price listed" in result.usage.price_source
    operator = replace(bare, openai_api_key=OPERATOR_KEY)
    with pytest.raises(UnpricedModel, match="has none"):  # OpenAI's own URL with the server's key: refused unpriced
        drain(run_turn([], "Hello", TurnOptions(), BackendConfig.of("openai", "gpt-4o"), operator))


def test_the_tabs_turn_form_maps_every_box_to_its_option():
    from playground.ui.chat import TurnForm

    form = TurnForm("local", "", "http://ignored.example/v1", "sk-ignored", "Be brief.", False, 12.0, 0.5, True, "7")
    assert form.options() == TurnOptions(system_prompt="Be brief.", resend_history=False, max_tokens=12,
                                         temperature=0.5, seed=7, drop_oldest=True)
    assert replace(form, seed="", drop_oldest=False).options().seed is None
    config = form.config()  # the local model takes no URL or key, whatever the hidden boxes hold
    assert config.kind is BackendKind.LOCAL and config.base_url is None and config.api_key is None


def test_a_handler_waiting_for_a_server_leaves_torch_every_core(fake, settings, monkeypatch):
    """While a chat call waits for the server, its thread is not counted as serving (see
    `runtime.waiting`): local generation keeps every core."""
    from playground import runtime

    seen: list[int] = []

    class Observed(list):  # the server's record of a request, taken while the client waits for it
        def append(self, item: dict) -> None:
            seen.append(runtime.serving_now())
            super().append(item)

    monkeypatch.setattr(fake, "requests", Observed())
    with runtime.serving():
        assert runtime.serving_now() == 1
        reply = turn(fake, settings, [], "Hello").reply
        assert runtime.serving_now() == 1
    assert reply == "You said: Hello" and seen == [0]
