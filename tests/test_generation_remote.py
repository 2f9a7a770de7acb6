"""The Generate tab's serving-engine backend through the real `openai` client against a real HTTP
server on loopback that speaks the logprobs formats real servers send (`fake_logprobs`), with faults.

Exact figures: the fake's i-th answer token has probability `fake_prob(i)`, its alternatives are
" alt1".." alt4", an emoji comes as two byte pieces, vLLM's `prompt_logprobs` has every fourth
prompt token outside its top 5.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import openai
import pytest
import remote_support
from fake_logprobs import fake_prob, render_chat, split_tokens, token_id

from playground.chat.backends import BackendConfig
from playground.chat.usage import counter_for, remote_facts
from playground.errors import NotAllowed
from playground.generation.remote.logprobs import ServerTokens, chat_steps, completion_steps, token_data
from playground.generation.remote.render import prompt_html
from playground.generation.remote.stream import RemoteUpdate, generate_remote
from playground.generation.request import GenerationRequest
from playground.generation.view import generated_html
from playground.remote.errors import BackendError
from playground.remote.spend import SpendLedger

server, fake = remote_support.server, remote_support.fake  # fixtures: the loopback fake server

KEY = "sk-visitor-7f3a9c1e5b2d4f6a8c0e"
OPERATOR_KEY = "sk-operator-0b1d2f3a4c5e6a7b8c9d"
MESSAGES = [{"role": "user", "content": "hi 🙂 there"}]
ANSWER = "You said: hi 🙂 there"
RAW = "Once upon a time"
LONG = [{"role": "user", "content": " ".join(f"word{i}" for i in range(40))}]


def chat_request(messages=MESSAGES, **kw) -> GenerationRequest:
    return GenerationRequest(messages=messages, max_new_tokens=kw.pop("max_new_tokens", 64), **kw)


def final(updates) -> RemoteUpdate:
    last = None
    for update in updates:
        last = update
    assert last is not None and last.finished
    return last


def run(fake, settings, request, *, kind="compatible", model="fake-model", key=KEY, **kw) -> RemoteUpdate:
    return final(generate_remote(request, BackendConfig.of(kind, model, fake.base_url, key), settings, **kw))


def test_chat_logprobs_stream_into_the_tabs_token_steps(fake, settings):
    out = run(fake, settings, chat_request())
    assert out.text == ANSWER and out.stop_reason == "eos" and out.logprobs
    pieces = [b"You", b" said:", b" hi", b" ", "🙂".encode()[:2], "🙂".encode()[2:], b" there"]
    assert out.tokens.token_bytes([s.id for s in out.steps]) == pieces  # an emoji: two byte pieces, never decoded alone
    assert [s.prob for s in out.steps] == pytest.approx([fake_prob(i) for i in range(len(pieces))])
    assert all(s.id < 0 for s in out.steps)  # a chat API names tokens by text: no id is made up
    first = out.steps[0]
    assert [t for _, t, _ in first.top] == ["You", " alt1", " alt2", " alt3", " alt4"]
    assert first.top[0][0] == first.id  # the chosen token is the top one: the tooltip marks it
    assert [p for *_, p in first.top[1:]] == pytest.approx([(1 - fake_prob(0)) * f for f in (0.4, 0.2, 0.1, 0.05)])
    sent = [r["body"] for r in fake.requests]
    assert sent[-1]["logprobs"] is True and sent[-1]["top_logprobs"] == 5 and sent[-1]["stream"] is True
    assert sent[-1]["temperature"] == 0.0  # greedy
    html = generated_html(out.steps, out.tokens, by_probability=True, limit=100)
    assert html.count('class="gtok') == len(pieces) and '<span class="hex">' in html and "said:" in html


def test_vllm_prompt_logprobs_show_the_prompts_tokens_with_ids(fake, settings):
    out = run(fake, settings, chat_request())
    probe, stream = (r["body"] for r in fake.requests)
    assert probe["prompt_logprobs"] == 5 and not probe.get("stream") and probe["max_tokens"] == 1
    assert "prompt_logprobs" not in stream  # vLLM refuses it on a stream
    tokens = split_tokens(render_chat(MESSAGES))
    assert out.prompt is not None and [p.id for p in out.prompt] == [token_id(t) for t in tokens]
    assert out.prompt[0].step is None  # nothing comes before the first token
    # vLLM names the first token by id only; its text comes from where the same id appears again
    assert out.tokens.token_bytes([out.prompt[0].id]) == [b"<|im_start|>"]
    assert out.prompt_ids == [token_id(t) for t in tokens]
    unlikely = out.prompt[3].step  # outside its top 5, ranked 7th: its own probability, and the top 5 above it
    assert unlikely is not None and unlikely.prob == pytest.approx(0.01)
    assert unlikely.top[0][1] == " likelier" and unlikely.id not in [i for i, _, _ in unlikely.top]
    assert out.prompt[1].step is not None and out.prompt[1].step.prob == pytest.approx(fake_prob(1))
    html = prompt_html(out.prompt, out.tokens, out.server, limit=100)
    assert f"{len(tokens)} prompt tokens" in html and "no probability" in html and f"id {tokens and token_id(tokens[0])}" in html


def test_the_non_streaming_chat_format_reads_the_same(fake, settings):
    client = openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)
    response = client.chat.completions.create(model="m", messages=MESSAGES, logprobs=True, top_logprobs=5)
    whole = chat_steps(response.choices[0].logprobs.content, ServerTokens())
    streamed = run(fake, settings, chat_request()).steps
    assert [(s.text, s.prob, [t for _, t, _ in s.top]) for s in whole] == \
        [(s.text, s.prob, [t for _, t, _ in s.top]) for s in streamed]
    client.close()


def test_a_raw_prompt_uses_completions_with_echo_for_the_prompts_tokens(fake, settings):
    out = run(fake, settings, GenerationRequest(prompt=RAW, max_new_tokens=64))
    assert out.text == " and so on, 🙂 forever." and out.stop_reason == "eos"
    body = fake.requests[-1]["body"]
    assert fake.requests[-1]["path"] == "/v1/completions" and body["echo"] is True and body["logprobs"] == 5
    assert out.prompt is not None and [p.text for p in out.prompt] == ["Once", " upon", " a", " time"]
    assert out.prompt[0].step is None and out.prompt[1].step is not None
    assert [s.text for s in out.steps][:3] == [" and", " so", " on,"]
    assert [s.prob for s in out.steps] == pytest.approx([fake_prob(i) for i in range(len(out.steps))])
    assert out.tokens.token_bytes([out.steps[4].id, out.steps[5].id]) == [b"\xf0\x9f", b"\x99\x82"]


def test_the_non_streaming_completions_echo_format_reads_the_same(fake):
    client = openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)
    response = client.completions.create(model="m", prompt=RAW, logprobs=5, echo=True, max_tokens=3)
    prompt, generated = completion_steps(response.choices[0].logprobs, ServerTokens(), len(RAW))
    assert [p.text for p in prompt] == ["Once", " upon", " a", " time"]
    assert [s.text for s in generated] == [" and", " so", " on,"]
    assert response.choices[0].finish_reason == "length"
    client.close()


def test_a_server_without_logprobs_says_so_and_the_text_still_streams(fake, settings):
    fake.lacks.add("logprobs")
    out = run(fake, settings, chat_request(), want_prompt=False)
    assert out.text == ANSWER and out.steps == [] and not out.logprobs
    assert any("sent no logprobs" in n and fake.base_url in n for n in out.notes)


def test_a_server_that_refuses_logprobs_is_asked_again_without_them(fake, settings):
    fake.lacks.add("logprobs_400")
    out = run(fake, settings, chat_request(), want_prompt=False)
    assert out.text == ANSWER and out.steps == []
    assert any("does not offer logprobs" in n and fake.base_url in n for n in out.notes)
    assert "logprobs" not in fake.requests[-1]["body"]


def test_a_server_without_prompt_logprobs_or_echo_still_generates(fake, settings):
    fake.lacks.update({"prompt_logprobs", "echo"})
    out = run(fake, settings, chat_request())
    assert out.prompt is None and out.text == ANSWER and len(out.steps) == 7
    assert any("does not offer the prompt's tokens" in n for n in out.notes)
    raw = run(fake, settings, GenerationRequest(prompt=RAW, max_new_tokens=64))
    assert raw.prompt is None and raw.text == " and so on, 🙂 forever." and len(raw.steps) == 7
    assert any("(echo)" in n for n in raw.notes) and "echo" not in fake.requests[-1]["body"]


def test_openai_gets_its_own_parameter_names_and_a_plain_note(fake, settings):
    s = replace(settings, openai_base_url=fake.base_url)
    request = chat_request(do_sample=True, temperature=0.8, top_k=40, repetition_penalty=1.3, seed=7)
    out = run(fake, s, request, kind="openai", model="gpt-4o-mini", want_prompt=True)
    body = fake.requests[-1]["body"]
    assert body["max_completion_tokens"] == 64 and body["seed"] == 7 and body["top_p"] == 0.95
    assert "top_k" not in body and "repetition_penalty" not in body and len(fake.requests) == 1  # no probe
    assert any("OpenAI's never does" in n for n in out.notes) and any("top_k is not an OpenAI" in n for n in out.notes)


def test_compatible_servers_get_vllms_sampling_extras(fake, settings):
    run(fake, settings, chat_request(do_sample=True, top_k=40, repetition_penalty=1.3), want_prompt=False)
    body = fake.requests[-1]["body"]
    assert body["top_k"] == 40 and body["repetition_penalty"] == 1.3


@pytest.mark.parametrize(("mode", "message"), [
    ("die", "broke in the middle of the answer"), ("500", r"internal error \(500\)"),
    ("401", r"rejected by .* \(401"), ("timeout", "did not answer within"),
])
def test_faults_name_the_server(fake, settings, mode, message):
    fake.fail(mode, times=1 if mode == "die" else 2)
    with pytest.raises(BackendError, match=message) as info:
        run(fake, replace(settings, chat_timeout_s=0.5), chat_request(), want_prompt=False)
    assert fake.base_url in str(info.value) and KEY not in str(info.value)


def operator(settings, fake):
    return replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url, chat_timeout_s=5)


def worst(settings, messages, max_new) -> float:
    facts = remote_facts("gpt-4o-mini", settings)
    prompt = counter_for("gpt-4o-mini", settings).prompt_tokens(messages)
    return prompt * facts.input_per_token + max_new * facts.output_per_token


def operator_call(s, ledger, stop=None, messages=LONG, max_new=1000):
    return generate_remote(chat_request(messages, max_new_tokens=max_new), BackendConfig.of("openai", "gpt-4o-mini"),
                           s, stop=stop, ledger=ledger)


@pytest.mark.parametrize("mode", ["die", "500", "timeout"])
def test_a_failed_call_gives_the_operators_reservation_back(fake, settings, mode):
    s, ledger = replace(operator(settings, fake), chat_timeout_s=0.5), SpendLedger()
    fake.fail(mode, times=1 if mode == "die" else 2)  # the client retries a 500 and a timeout once
    with pytest.raises(BackendError):
        final(operator_call(s, ledger))
    assert ledger.total == 0.0 and ledger.spent == 0.0
    out = final(operator_call(s, ledger))
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}"
    assert out.operator_key and ledger.spent == pytest.approx(out.cost_usd) and out.cost_usd > 0


def test_stop_and_a_reader_that_leaves_settle_or_release(fake, settings):
    s, ledger, stop = operator(settings, fake), SpendLedger(), threading.Event()
    fake.fail("slow")
    last = None
    for update in operator_call(s, ledger, stop):
        last = update
        if len(update.steps) > 3:
            stop.set()
    assert last is not None and last.stop_reason == "stopped" and len(last.steps) < 43
    assert ledger.spent == pytest.approx(last.cost_usd) and ledger.total == ledger.spent
    assert 0 < last.cost_usd < worst(settings, LONG, 1000)
    spent = ledger.spent
    fake.fail("slow")
    updates = operator_call(s, ledger)
    for update in updates:
        if len(update.steps) > 3:
            assert ledger.total == pytest.approx(spent + worst(settings, LONG, 1000))  # held while it runs
            break
    updates.close()  # gradio closing the stream of a client that left
    assert ledger.total == pytest.approx(spent) and ledger.spent == pytest.approx(spent)


def test_the_operators_key_never_goes_to_a_typed_url(fake, settings):
    s = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url="https://api.openai.com/v1")
    run(fake, s, chat_request(), key="", want_prompt=False)  # the visitor typed the fake's URL, no key
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer no-key"


def test_an_exposed_app_refuses_typed_loopback_urls(fake, settings):
    s = replace(settings, exposed=True, allow_custom_base_url=True)
    with pytest.raises(NotAllowed, match="loopback"):
        run(fake, s, chat_request())
    assert fake.requests == []


def test_token_bytes_spelled_by_openai():
    assert token_data("bytes:\\xf0\\x9f") == b"\xf0\x9f"
    assert token_data("x", [240, 159]) == b"\xf0\x9f"
    assert token_data(" caf\u00e9") == " café".encode()
    assert math.isclose(fake_prob(0), 0.9)


def test_the_prompt_token_call_is_paid_for_too(fake, settings):
    """On the operator's key, the one-token prompt_logprobs call counts toward the caps like the stream."""
    from fake_openai_server import fake_prompt_tokens

    s, ledger = operator(settings, fake), SpendLedger()
    out = final(generate_remote(chat_request(), BackendConfig.of("compatible", "gpt-4o-mini"), s, ledger=ledger))
    facts = remote_facts("gpt-4o-mini", settings)
    prompt = fake_prompt_tokens(MESSAGES)
    stream = prompt * facts.input_per_token + len(ANSWER.split()) * facts.output_per_token
    probe = prompt * facts.input_per_token + 1 * facts.output_per_token
    assert len(fake.requests) == 2 and out.prompt is not None
    assert out.cost_usd == pytest.approx(stream + probe) and ledger.spent == pytest.approx(stream + probe)
