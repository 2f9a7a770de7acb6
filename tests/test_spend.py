"""The spend ledger on every way out of a turn, through the real openai client and a loopback server.

Each cap is set so that one call's worst case fits and two do not: a reservation that a failure
left behind would refuse the normal call that follows it.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest
import remote_support

from playground.chat.backends import BackendConfig
from playground.chat.errors import BackendError, SpendCapReached, UnpricedModel
from playground.chat.turn import TurnOptions, drain, run_turn
from playground.chat.usage import counter_for, remote_facts
from playground.errors import PlaygroundError
from playground.remote.spend import SpendLedger, is_openai

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

OPERATOR_KEY = "sk-operator-0b1d2f3a4c5e6a7b8c9d"
MODEL = "gpt-4o-mini"
MAX_TOKENS = 1000
LONG = " ".join(f"word{i}" for i in range(40))  # a 43-word answer: room to Stop or leave mid-stream


def worst_case(settings, message: str = "Hello") -> float:
    """What run_turn reserves for one call: the counted prompt plus MAX_TOKENS at the listed price."""
    facts = remote_facts(MODEL, settings)
    system = TurnOptions().system_prompt
    prompt = counter_for(MODEL, settings).prompt_tokens([{"role": "system", "content": system},
                                                         {"role": "user", "content": message}])
    return prompt * facts.input_per_token + MAX_TOKENS * facts.output_per_token


def operator(settings, fake, cap: str, **more):
    """The operator's key on the fake server; `cap` ("session" or "total") fits one worst case, not two."""
    room = 1.5 * worst_case(settings)
    caps = {"spend_cap_session_usd": room if cap == "session" else 100.0,
            "spend_cap_total_usd": room if cap == "total" else 100.0}
    return replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url,
                   **{"chat_timeout_s": 0.5, **caps, **more})


def call(settings, ledger, message="Hello", stop=None, base_url=None):
    config = BackendConfig.of("openai", MODEL, base_url)
    return run_turn([], message, TurnOptions(max_tokens=MAX_TOKENS), config, settings, ledger=ledger, stop=stop)


def refused_port() -> int:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAILURES = ["401", "403", "404", "429", "500", "timeout", "die", "refused"]
RETRIED = {"429", "500", "timeout"}  # the openai client tries these twice (max_retries=1)


@pytest.mark.parametrize("cap", ["session", "total"])
@pytest.mark.parametrize("mode", FAILURES)
def test_a_failure_never_uses_up_a_cap(fake, settings, cap, mode):
    s = operator(settings, fake, cap)
    ledger = SpendLedger()
    if mode == "refused":  # the operator's server is down
        s = replace(s, openai_base_url=f"http://127.0.0.1:{refused_port()}/v1")
    else:
        fake.fail(mode, times=2 if mode in RETRIED else 1)
    with pytest.raises(BackendError):
        drain(call(s, ledger))
    assert ledger.total == 0.0 and ledger.spent == 0.0  # failures never count
    s = replace(s, openai_base_url=fake.base_url)
    result = drain(call(s, ledger))  # and the next normal call goes through
    assert result.reply == "You said: Hello"
    assert ledger.total == pytest.approx(result.usage.cost)


def test_the_issues_429_scenario_no_longer_locks_the_key(fake, settings):
    """gpt-4o, max_tokens 4000, total cap $0.05: one 429 used to reserve $0.04 for good."""
    s = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url, spend_cap_total_usd=0.05)
    ledger = SpendLedger()
    config = BackendConfig.of("openai", "gpt-4o")
    for _ in range(3):
        fake.fail("429", times=2)
        with pytest.raises(BackendError, match="429"):
            drain(run_turn([], "Hi", TurnOptions(max_tokens=4000), config, s, ledger=ledger))
    assert ledger.total == 0.0
    assert drain(run_turn([], "Hi", TurnOptions(max_tokens=4000), config, s, ledger=ledger)).reply == "You said: Hi"


@pytest.mark.parametrize("cap", ["session", "total"])
def test_a_client_that_leaves_mid_answer_gives_the_reservation_back(fake, settings, cap):
    s = operator(settings, fake, cap, chat_timeout_s=5)
    ledger = SpendLedger()
    fake.fail("slow")
    updates = call(s, ledger, LONG)
    for update in updates:
        if update.reply.count(" ") > 3:  # mid-answer
            assert ledger.total == pytest.approx(worst_case(settings, LONG))  # held while it runs
            break
    updates.close()  # what gradio does when the browser goes away: GeneratorExit at the yield
    assert ledger.total == 0.0
    assert drain(call(s, ledger)).reply == "You said: Hello"


def test_stop_settles_to_what_was_streamed(fake, settings):
    s = operator(settings, fake, "total", chat_timeout_s=5)
    ledger, stop = SpendLedger(), threading.Event()
    fake.fail("slow")
    result = None
    for update in call(s, ledger, LONG, stop=stop):
        if update.reply.count(" ") > 3:
            stop.set()
        result = update.result or result
    assert result is not None and result.finish_reason == "stopped"
    assert ledger.spent == pytest.approx(result.usage.cost) and ledger.total == ledger.spent
    assert result.usage.cost < worst_case(settings, LONG)


def test_session_and_total_caps_count_the_same_way(fake, settings):
    """Both refuse a call whose worst case would pass them, and both count settled costs only."""
    ledger = SpendLedger()
    worst = worst_case(settings)
    for cap in ("session", "total"):
        s = replace(operator(settings, fake, cap), **{f"spend_cap_{cap}_usd": worst * 0.9})
        with pytest.raises(SpendCapReached, match="worst case"):
            drain(call(s, ledger))
    assert ledger.total == 0.0


def test_thirty_threads_racing_real_successes_never_pass_the_total_cap(fake, settings):
    worst = worst_case(settings)
    cap = 10.5 * worst
    s = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url, chat_timeout_s=10,
                spend_cap_total_usd=cap, spend_cap_session_usd=100.0)
    ledger = SpendLedger()
    start = threading.Barrier(30)
    outcomes: list[str] = []
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], ledger.total)
            time.sleep(0.0005)

    def one() -> None:
        start.wait()
        try:
            drain(call(s, ledger))
            outcomes.append("ok")
        except SpendCapReached:
            outcomes.append("capped")
        except PlaygroundError as exc:  # pragma: no cover - shown if it happens
            outcomes.append(f"error: {exc}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert set(outcomes) <= {"capped", "ok"}, outcomes
    assert outcomes.count("ok") >= 10  # every call that fitted went through
    assert peak[0] <= cap + 1e-12 and ledger.spent <= cap
    assert ledger.total == pytest.approx(ledger.spent)  # nothing left reserved


def test_every_tab_admits_operator_calls_by_one_rule(settings):
    """Chat and API embeddings each had their own "is this OpenAI?" test, and they disagreed: Chat's
    exact host let an unpriced model through OpenAI's regional hosts (eu.api.openai.com) uncounted."""
    assert is_openai("https://api.openai.com/v1") and is_openai("https://eu.api.openai.com/v1")
    assert not is_openai("https://notopenai.com/v1") and not is_openai("http://127.0.0.1:8000/v1")
    ledger = SpendLedger()
    with pytest.raises(UnpricedModel, match="'mystery' has none"):
        ledger.admit("https://eu.api.openai.com/v1", "mystery", False, 0.0, settings)
    assert "cannot count" in (ledger.admit("http://127.0.0.1:8000/v1", "mystery", False, 0.0, settings) or "")
    assert ledger.admit("https://api.openai.com/v1", "gpt-4o-mini", True, 0.0, settings) is None
    with pytest.raises(SpendCapReached):
        ledger.admit("https://api.openai.com/v1", "gpt-4o-mini", True, settings.spend_cap_session_usd, settings)
