"""The generation backend with the real offline SmolLM2-135M-Instruct (loaded once per session)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from playground import runtime
from playground.errors import InvalidInput, NotAllowed, UnknownName
from playground.generation import catalogue, models
from playground.generation.engine import (
    GenerationFailed,
    GenerationRequest,
    generate_stream,
    model_context_length,
    prepare,
    render_prompt,
)
from playground.generation.snippet import copy_as_code
from playground.generation.view import generated_html, prompt_html
from playground.pack.entries import Entry, Pack

CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def wait_until(condition, seconds: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def last(request: GenerationRequest, settings, stop: threading.Event | None = None):
    final = None
    for update in generate_stream(request, settings, stop):
        final = update
    return final


# --- fast: catalogue and validation (no model) --------------------------------------------------


def test_catalogue_ids_and_labels_are_unique():
    ids = [m.id for m in catalogue.MODELS]
    labels = [m.label for m in catalogue.MODELS]
    assert len(ids) == len(set(ids)) and len(labels) == len(set(labels))
    assert catalogue.MODELS[0].id == catalogue.DEFAULT_MODEL and catalogue.MODELS[0].pack == "smollm2"
    assert all(m.hub_id for m in catalogue.MODELS) and [m.id for m in catalogue.MODELS if m.gated] == ["google/gemma-3-1b-it"]


def test_unknown_and_user_typed_models():
    with pytest.raises(UnknownName, match="Known: .*SmolLM2-135M"):
        catalogue.get("not a model")
    with pytest.raises(NotAllowed, match="does not load user-typed"):
        catalogue.get("someone/some-model", allow_custom=False)
    spec = catalogue.get("someone/some-model", allow_custom=True)
    assert spec.custom and spec.hub_id == "someone/some-model"


@pytest.mark.parametrize("request_", [
    GenerationRequest(prompt="   "),
    GenerationRequest(messages=[{"role": "user", "content": ""}]),
    GenerationRequest(messages=[{"role": "system", "content": "You are nice."}]),
    GenerationRequest(prompt="hi", messages=CHAT),
    GenerationRequest(messages=[{"role": "robot", "content": "hi"}]),
    GenerationRequest(prompt="hi", max_new_tokens=0),
    GenerationRequest(prompt="hi", do_sample=True, temperature=0),
])
def test_bad_input_is_refused_with_a_message(settings, request_):
    with pytest.raises(InvalidInput):
        prepare(request_, settings)


def test_importing_the_backend_does_not_import_torch():
    code = "import sys, playground.generation.engine, playground.generation.view; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- slow: the real model ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def smol(settings):
    assert Pack(settings).has(Entry.SMOLLM2), "run `python -m playground.pack build`"
    spec = catalogue.get(catalogue.DEFAULT_MODEL)
    return models.load_model(spec, settings)


@pytest.mark.slow
def test_rendered_chat_template_has_the_special_tokens_with_their_ids(settings, smol):
    text, ids = render_prompt(GenerationRequest(messages=CHAT), settings)
    tok = smol.tokenizer
    start, end = tok.convert_tokens_to_ids("<|im_start|>"), tok.convert_tokens_to_ids("<|im_end|>")
    assert text.startswith("<|im_start|>system") and text.endswith("<|im_start|>assistant\n")
    assert ids.count(start) == 3 and ids.count(end) == 2 and ids[0] == start
    assert ids == tok.apply_chat_template(CHAT, tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"]
    html = prompt_html(prepare(GenerationRequest(messages=CHAT), settings), settings)
    assert f'special" title="token #0 · id {start}' in html and f'data-id="{end}"' in html
    assert model_context_length(catalogue.DEFAULT_MODEL, settings) == 8192


@pytest.mark.slow
def test_greedy_is_deterministic_stops_at_im_end_and_matches_plain_generate(settings, smol):
    import torch

    request = GenerationRequest(messages=CHAT, max_new_tokens=48)
    first, second = last(request, settings), last(request, settings)
    ids = [s.id for s in first.steps]
    assert ids == [s.id for s in second.steps] and first.text == second.text
    assert first.finished and first.stop_reason == "eos"
    assert ids[-1] == smol.tokenizer.convert_tokens_to_ids("<|im_end|>") and first.steps[-1].special
    assert "Paris" in first.text and "<|im_end|>" not in first.text
    prompt = torch.tensor([first.prompt_ids])
    plain = runtime.call(smol.model.generate, prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=48,
                         do_sample=False)
    assert plain[0, prompt.shape[1]:].tolist() == ids
    stats = first.stats
    device, torch_dtype = runtime.device_and_dtype()  # whatever this machine has: the runtime chose it
    dtype = str(torch_dtype).removeprefix("torch.")
    assert stats["prompt_tokens"] == len(first.prompt_ids) and stats["new_tokens"] == len(ids)
    assert stats["ttft_s"] > 0 and stats["tokens_per_s"] > 0 and stats["device"] == device and stats["dtype"] == dtype
    assert 400 < stats["model_memory_mb"] < 700


@pytest.mark.slow
def test_max_new_tokens_is_a_hard_stop_and_is_reported(settings, smol):
    final = last(GenerationRequest(prompt="Once upon a time", max_new_tokens=7), settings)
    assert final.stop_reason == "max_new_tokens" and len(final.steps) == 7 and final.stats["new_tokens"] == 7


@pytest.mark.slow
def test_max_new_tokens_over_the_cap_is_clamped_with_a_note(settings, smol):
    capped = replace(settings, max_new_tokens=5)
    final = last(GenerationRequest(prompt="Once upon a time", max_new_tokens=50), capped)
    assert len(final.steps) == 5 and final.stop_reason == "max_new_tokens"
    assert final.notes == ["max_new_tokens clamped to 5 (server cap; you asked for 50)."]


@pytest.mark.slow
def test_probabilities_and_top5_under_greedy(settings, smol):
    final = last(GenerationRequest(messages=CHAT, max_new_tokens=12), settings)
    for step in final.steps:
        assert 0 < step.prob <= 1 and len(step.top) == 5
        probs = [p for _, _, p in step.top]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-5
        assert step.top[0][0] == step.id and step.top[0][2] == pytest.approx(step.prob)  # greedy takes the argmax
    html = generated_html(final.steps, models.load_view(smol.spec, settings), by_probability=True, limit=100)
    assert html.count('class="gtok') == len(final.steps) and "<table>" in html and "Paris" in html


@pytest.mark.slow
def test_seeded_sampling_repeats_and_seeds_differ(settings, smol):
    def run(seed: int) -> list[int]:
        req = GenerationRequest(prompt="My favourite animal is", max_new_tokens=12, do_sample=True, temperature=1.0,
                                top_p=1.0, top_k=0, seed=seed)
        return [s.id for s in last(req, settings).steps]

    a = run(1)
    assert run(1) == a
    assert any(run(seed) != a for seed in (2, 3, 4))


@pytest.mark.slow
def test_stop_event_ends_a_stream_promptly(settings, smol):
    stop = threading.Event()
    updates = []
    for update in generate_stream(GenerationRequest(prompt="Once upon a time", max_new_tokens=200), settings, stop):
        updates.append(update)
        if len(update.steps) >= 3:
            stop.set()
    final = updates[-1]
    assert final.finished and final.stop_reason == "stopped" and len(final.steps) < 10


@pytest.mark.slow
def test_closing_a_stream_early_releases_the_model(settings, smol):
    stream = generate_stream(GenerationRequest(prompt="Once upon a time", max_new_tokens=200), settings)
    next(stream)
    stream.close()  # a visitor who went away
    assert wait_until(lambda: not smol.lock.locked())  # released once its job has ended
    assert last(GenerationRequest(prompt="Hello", max_new_tokens=2), settings).finished


@pytest.mark.slow
def test_prompt_longer_than_the_context_says_the_numbers(settings, smol):
    with pytest.raises(InvalidInput, match=r"The prompt is [\d,]+ tokens, but SmolLM2-135M-Instruct reads at most 8,192"):
        prepare(GenerationRequest(prompt="hello " * 9000), settings)


@pytest.mark.slow
def test_a_worker_that_raises_ends_the_stream_with_an_error(settings, smol, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(smol.model, "generate", broken)
    with pytest.raises(GenerationFailed, match="failed \\(ValueError\\)"):
        last(GenerationRequest(prompt="Hello", max_new_tokens=3), settings)
    assert wait_until(lambda: not smol.lock.locked())  # released by the batch's dispatcher once the job ended


@pytest.mark.slow
def test_out_of_memory_frees_the_cache_and_the_app_keeps_serving(settings, smol, monkeypatch):
    import torch

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(smol.model, "generate", oom)
    with pytest.raises(models.OutOfMemory, match="Out of memory while generating"):
        last(GenerationRequest(prompt="Hello", max_new_tokens=3), settings)
    assert models.loaded_ids() == []
    monkeypatch.undo()
    assert last(GenerationRequest(prompt="Hello", max_new_tokens=2), settings).finished  # reloads


@pytest.mark.slow
def test_copy_as_code_reproduces_the_generation(settings, smol):
    request = GenerationRequest(messages=CHAT, max_new_tokens=20)
    final = last(request, settings)
    code = copy_as_code(request, prepare(request, settings))
    assert "apply_chat_template" in code and "max_new_tokens=20" in code and "trust_remote_code" not in code
    local = code.replace(repr(catalogue.DEFAULT_MODEL), repr(str(Pack(settings).smollm2_dir)), 1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(local, "snippet", "exec"), {})  # noqa: S102 - our own generated code, on the local model
    assert out.getvalue().splitlines()[0] == final.text


@pytest.mark.slow
def test_copy_as_code_prints_the_probabilities_the_page_shows_under_a_penalty(settings, smol):
    """With a repetition penalty the page's probabilities differ from the raw logits'; the code's match the page."""
    import re

    request = GenerationRequest(messages=CHAT, max_new_tokens=12, repetition_penalty=1.8)
    final = last(request, settings)
    code = copy_as_code(request, prepare(request, settings))
    assert "repetition_penalty=1.8" in code
    local = code.replace(repr(catalogue.DEFAULT_MODEL), repr(str(Pack(settings).smollm2_dir)), 1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(local, "snippet", "exec"), {})  # noqa: S102 - our own generated code, on the local model
    lines = out.getvalue().splitlines()
    assert lines[0] == final.text
    printed = [float(re.match(r"^.* ([0-9.e-]+) \[", line).group(1)) for line in lines[1:]]
    shown = [step.prob for step in final.steps]
    assert len(printed) == len(shown) and printed == pytest.approx(shown, abs=2e-4)


@pytest.mark.slow
def test_the_model_stays_locked_until_its_job_has_ended(settings, smol, monkeypatch):
    """A reader that goes away must not free the model while its job still runs on the torch thread."""
    smol = current_model(settings)  # the OOM test above reloads the model: patch the one in use
    release = threading.Event()
    real = smol.model.generate

    def lingering_generate(*args, **kwargs):
        out = real(*args, **kwargs)
        release.wait(30)  # the job is still running after its last token (a slow final step)
        return out

    monkeypatch.setattr(smol.model, "generate", lingering_generate)
    stream = generate_stream(GenerationRequest(prompt="Once upon a time", max_new_tokens=50), settings)
    next(stream)
    stream.close()  # returns at once: a client that left must not wait for the job…
    assert smol.lock.locked()  # …but the model stays locked while the job runs
    release.set()
    assert wait_until(lambda: not smol.lock.locked())
    monkeypatch.undo()
    assert last(GenerationRequest(prompt="Hello", max_new_tokens=2), settings).finished


@pytest.mark.slow
def test_generation_runs_on_the_runtime_thread(settings, smol, monkeypatch):
    smol = current_model(settings)  # the OOM test above reloads the model: patch the one in use
    names = []
    real = smol.model.generate

    def spy(*args, **kwargs):
        names.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(smol.model, "generate", spy)
    assert last(GenerationRequest(prompt="Hello", max_new_tokens=2), settings).finished
    assert len(names) == 1 and names[0].startswith(runtime.THREAD_NAME + "_")


def current_model(settings):
    return models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)


def test_the_stats_line_names_shared_decoding_steps_only_when_others_shared_them():
    from playground.ui.generation import stats_line

    base = {"prompt_tokens": 3, "new_tokens": 2, "ttft_s": 0.1, "tokens_per_s": 5.0, "device": "cuda:0",
            "dtype": "float16", "model_memory_mb": 5}
    assert "visitors sharing" not in stats_line({**base, "batch_size": 1})
    assert "**3** visitors sharing the decoding steps" in stats_line({**base, "batch_size": 3})


def test_the_stats_line_says_how_long_the_model_was_busy_with_others_only_when_it_was():
    from playground.ui.generation import stats_line

    base = {"prompt_tokens": 5, "new_tokens": 3, "ttft_s": 0.1, "tokens_per_s": 20.0, "device": "cpu",
            "dtype": "float32", "model_memory_mb": 538.0}
    assert "waiting" not in stats_line({**base, "queued_s": 0.01}) and "waiting" not in stats_line(base)
    assert "**1.25** s waiting for the model" in stats_line({**base, "queued_s": 1.25})


@pytest.mark.slow
def test_a_generation_reports_the_time_it_waited_for_the_model(settings):
    loaded = current_model(settings)
    with loaded.lock:  # the model is busy (as with another visitor's batch) for a moment
        done: dict[str, object] = {}
        request = GenerationRequest(prompt="Hi", max_new_tokens=2)
        thread = threading.Thread(target=lambda: done.update(out=last(request, settings)))
        thread.start()
        time.sleep(0.5)
    thread.join(60)
    assert 0.4 < done["out"].stats["queued_s"] < 30 and done["out"].stats["ttft_s"] < done["out"].stats["queued_s"]
