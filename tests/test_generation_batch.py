"""Visitors generating at once share decoding steps (`generation.batch`), with the real SmolLM2.

Batches are formed deterministically here: the test holds the model's lock while the requests
queue (the batch's dispatcher waits for that lock), so they are all waiting when the batch starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from playground import runtime
from playground.generation import catalogue, models
from playground.generation.engine import GenerationFailed, GenerationRequest, GenerationUpdate, generate_stream

pytestmark = pytest.mark.slow

CHAT = [{"role": "user", "content": "What is the capital of France?"}]
REQUESTS = [GenerationRequest(prompt="Once upon a time", max_new_tokens=14),
            GenerationRequest(messages=CHAT, max_new_tokens=30),
            GenerationRequest(prompt="The sky is blue because the", max_new_tokens=6),
            GenerationRequest(messages=[{"role": "user", "content": "Write a poem about the sea."}], max_new_tokens=10),
            GenerationRequest(prompt="the cat sat on the mat and the cat", max_new_tokens=8, repetition_penalty=1.8)]
# A Chat-tab request (sampling at 0.7, no seed) in the same batch: greedy rows stay exact beside it.
SAMPLED = GenerationRequest(messages=CHAT, max_new_tokens=12, do_sample=True, temperature=0.7)


@pytest.fixture(scope="module")
def smol(settings):
    return models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)


def last(request: GenerationRequest, settings, stop: threading.Event | None = None) -> GenerationUpdate:
    final = None
    for update in generate_stream(request, settings, stop):
        final = update
    assert final is not None
    return final


def stream_into(out: dict[str, object], name: str, request: GenerationRequest, settings) -> None:
    """Generate, keeping the latest update as out[name] and when the first token came as out[name + "_first_token"]."""
    for update in generate_stream(request, settings):
        if update.steps and name + "_first_token" not in out:
            out[name + "_first_token"] = time.monotonic()
        out[name] = update


def wait_for_a_batch(smol) -> None:
    """Until a batch holds the model (at most 2 minutes), then half a second more: it is decoding."""
    deadline = time.monotonic() + 120
    while not smol.lock.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)


@contextmanager
def queued_together(smol) -> Iterator[None]:
    """Requests started inside the block are all waiting when their batch starts."""
    with smol.lock:
        yield
        time.sleep(0.3)  # the readers have queued their rows (prepare is a tokenizer call)


def run_at_once(work: list[Callable[[], object]], smol) -> list[object]:
    results: list[object] = [None] * len(work)

    def run(i: int) -> None:
        try:
            results[i] = work[i]()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    with queued_together(smol):
        for t in threads:
            t.start()
    for t in threads:
        t.join(timeout=180)
    return results


def test_a_batch_gives_each_visitor_the_same_tokens_probabilities_and_top5_as_alone(settings, smol):
    alone = [last(r, settings) for r in REQUESTS]
    *together, sampled = run_at_once([lambda r=r: last(r, settings) for r in [*REQUESTS, SAMPLED]], smol)
    assert isinstance(sampled, GenerationUpdate) and sampled.stats["batch_size"] == len(REQUESTS) + 1
    assert sampled.steps and all(0 < s.prob <= 1 and len(s.top) == 5 for s in sampled.steps)
    for a, b in zip(alone, together, strict=True):
        assert isinstance(b, GenerationUpdate) and b.stats["batch_size"] == len(REQUESTS) + 1
        assert a.stats["batch_size"] == 1
        assert [s.id for s in b.steps] == [s.id for s in a.steps] and b.text == a.text
        assert b.stop_reason == a.stop_reason  # each row stops on its own: eos, or its own max_new_tokens
        for x, y in zip(a.steps, b.steps, strict=True):
            assert [t[0] for t in y.top] == [t[0] for t in x.top]
            assert y.prob == pytest.approx(x.prob, abs=1e-4)
            assert [t[2] for t in y.top] == pytest.approx([t[2] for t in x.top], abs=1e-4)
    assert [len(b.steps) for b in together] == [14, 8, 6, 10, 8]  # the chat answer ends at <|im_end|>


def test_stop_ends_only_that_visitors_row(settings, smol):
    stop = threading.Event()
    seen: list[int] = []

    def stopper() -> GenerationUpdate:
        final = None
        for update in generate_stream(GenerationRequest(prompt="Once upon a time", max_new_tokens=40), settings, stop):
            final = update
            seen.append(len(update.steps))
            if len(update.steps) >= 3:
                stop.set()
        assert final is not None
        return final

    other = GenerationRequest(prompt="The weather today is", max_new_tokens=40)
    stopped, kept = run_at_once([stopper, lambda: last(other, settings)], smol)
    assert isinstance(stopped, GenerationUpdate) and isinstance(kept, GenerationUpdate)
    assert stopped.stop_reason == "stopped" and len(stopped.steps) < 10 and stopped.stats["batch_size"] == 2
    assert kept.stop_reason == "max_new_tokens" and len(kept.steps) == 40


def test_a_visitor_who_leaves_frees_their_row_and_the_others_finish(settings, smol):
    def leaver() -> int:
        stream = generate_stream(GenerationRequest(prompt="Once upon a time", max_new_tokens=60), settings)
        update = next(stream)
        stream.close()  # a client that went away
        return len(update.steps)

    stayer = GenerationRequest(prompt="My favourite food is", max_new_tokens=60)
    count_at_leave, kept = run_at_once([leaver, lambda: last(stayer, settings)], smol)
    assert isinstance(kept, GenerationUpdate) and len(kept.steps) == 60 and kept.stop_reason == "max_new_tokens"
    assert isinstance(count_at_leave, int) and count_at_leave < 60


def test_seeded_sampling_runs_alone_and_repeats_while_others_generate(settings, smol):
    seeded = GenerationRequest(prompt="My favourite animal is", max_new_tokens=10, do_sample=True, temperature=1.0,
                               top_p=1.0, top_k=0, seed=7)
    alone = last(seeded, settings)
    greedy = GenerationRequest(prompt="Two plus two is", max_new_tokens=10)
    out = run_at_once([lambda: last(seeded, settings), lambda: last(greedy, settings),
                       lambda: last(greedy, settings)], smol)
    assert isinstance(out[0], GenerationUpdate) and [s.id for s in out[0].steps] == [s.id for s in alone.steps]
    assert out[0].stats["batch_size"] == 1
    assert all(isinstance(o, GenerationUpdate) and o.stats["batch_size"] == 2 for o in out[1:])


def test_a_failing_batch_fails_each_of_its_rows_and_releases_the_model(settings, smol, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(smol.model, "generate", broken)
    out = run_at_once([lambda r=r: last(r, settings) for r in REQUESTS[:3]], smol)
    assert all(isinstance(o, GenerationFailed) and "ValueError" in str(o) for o in out), out
    deadline = time.monotonic() + 30
    while smol.lock.locked() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not smol.lock.locked()
    monkeypatch.undo()
    assert last(GenerationRequest(prompt="Hello", max_new_tokens=2), settings).finished


def test_a_batch_runs_on_the_runtime_thread_as_one_generate_call(settings, smol, monkeypatch):
    calls: list[tuple[str, int]] = []
    real = smol.model.generate

    def spy(*args, **kwargs):
        calls.append((threading.current_thread().name, kwargs["input_ids"].shape[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(smol.model, "generate", spy)
    out = run_at_once([lambda r=r: last(r, settings) for r in REQUESTS[:3]], smol)
    assert all(isinstance(o, GenerationUpdate) for o in out)
    assert len(calls) == 1 and calls[0][0].startswith(runtime.THREAD_NAME + "_") and calls[0][1] == 3


def test_a_request_arriving_mid_batch_joins_it_and_everyone_stays_exact(settings, smol):
    """The running batch makes room (its row pauses and re-reads its tokens so far in the next
    batch); the newcomer starts long before the first would have finished, and both answers are
    the ones each gets alone."""
    first = GenerationRequest(prompt="Once upon a time, in a land far away,", max_new_tokens=40)
    late = GenerationRequest(messages=CHAT, max_new_tokens=20)
    alone = [last(first, settings), last(late, settings)]
    out: dict[str, object] = {}

    def run_first() -> None:
        out["first"] = last(first, settings)

    thread = threading.Thread(target=run_first)
    thread.start()
    wait_for_a_batch(smol)
    late_thread = threading.Thread(target=stream_into, args=(out, "late", late, settings))
    late_thread.start()
    thread.join(timeout=300)
    finished_first = time.monotonic()
    late_thread.join(timeout=300)
    a, b = out["first"], out["late"]
    assert isinstance(a, GenerationUpdate) and isinstance(b, GenerationUpdate)
    assert out["late_first_token"] < finished_first  # it joined: it did not wait for the first to end
    assert a.stats["batch_size"] == 2 and b.stats["batch_size"] == 2
    for got, want in ((a, alone[0]), (b, alone[1])):
        assert [s.id for s in got.steps] == [s.id for s in want.steps] and got.stop_reason == want.stop_reason
        for x, y in zip(want.steps, got.steps, strict=True):
            assert [t[0] for t in y.top] == [t[0] for t in x.top]
            assert y.prob == pytest.approx(x.prob, abs=1e-4)


def test_other_torch_work_runs_between_decoding_steps_without_pausing_the_batch(settings, smol, monkeypatch):
    """A short job queued on the runtime thread (say, a sentence to embed) runs between two decoding
    steps: it does not wait for the generation, and the generation goes on in the same `generate`
    call (no pause, no second prompt pass), to the same tokens as alone."""
    request = GenerationRequest(prompt="Once upon a time", max_new_tokens=120)
    alone = last(request, settings)
    calls: list[int] = []
    real = smol.model.generate

    def spy(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(smol.model, "generate", spy)
    done: dict[str, object] = {}

    def generate() -> None:
        done["out"] = last(request, settings)
        done["generation"] = time.monotonic()

    thread = threading.Thread(target=generate)
    thread.start()
    wait_for_a_batch(smol)
    ran_on = runtime.call(lambda: threading.current_thread().name)
    done["other"] = time.monotonic()
    thread.join(timeout=300)
    out = done["out"]
    assert isinstance(out, GenerationUpdate) and len(out.steps) == 120
    assert done["other"] < done["generation"] and ran_on.startswith(runtime.THREAD_NAME + "_")
    assert len(calls) == 1, f"the batch paused and started again {len(calls) - 1} times"
    assert [s.id for s in out.steps] == [s.id for s in alone.steps]


def test_a_batch_about_to_end_finishes_before_a_newcomer_starts(settings, smol):
    """Pausing makes every row re-read its prompt (several steps' time), so a batch with at most
    `MIN_SEGMENT` steps left does not make room: the newcomer starts right after it ends."""
    from playground.generation.hooks import MIN_SEGMENT

    first = GenerationRequest(prompt="Once upon a time, in a land far away,", max_new_tokens=MIN_SEGMENT + 4)
    late = GenerationRequest(messages=CHAT, max_new_tokens=6)
    out: dict[str, object] = {}
    late_started = threading.Event()

    late_thread = threading.Thread(target=stream_into, args=(out, "late", late, settings))
    for update in generate_stream(first, settings):
        if len(update.steps) == 1 and not late_started.is_set():  # the first batch is decoding
            late_started.set()
            late_thread.start()
        out["first"] = update
    first_done = time.monotonic()
    late_thread.join(timeout=300)
    a, b = out["first"], out["late"]
    assert isinstance(a, GenerationUpdate) and isinstance(b, GenerationUpdate) and late_started.is_set()
    assert len(a.steps) == MIN_SEGMENT + 4 and a.stats["batch_size"] == 1 and b.stats["batch_size"] == 1
    assert out["late_first_token"] > first_done - 0.05  # it did not join: it started after the first ended


def test_a_handler_reading_its_generation_leaves_torch_every_core(settings, smol, monkeypatch):
    """A plain handler (the /chat API) waits for its tokens: it is not counted as serving meanwhile,
    so the batch decodes with every core, as for a visitor alone. (Counted while it handles a token,
    it may make a step start with one core fewer: counted throughout, every step after the first would.)"""
    monkeypatch.setattr(runtime, "RECENT_S", 0.0)  # only the request itself counts here, not the moment after
    cores = runtime.call(torch_threads)
    seen: list[int] = []
    hook = smol.model.register_forward_pre_hook(lambda *_: seen.append(torch_threads()))
    try:
        with runtime.serving():
            update = last(GenerationRequest(prompt="Once upon a time", max_new_tokens=6), settings)
    finally:
        hook.remove()
    assert len(update.steps) == 6 and seen and seen.count(cores) > len(seen) / 2 + 1


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def test_work_on_the_same_model_runs_between_the_batchs_steps_and_changes_nothing(settings, smol):
    """A Sampling run, the Inside view (its attention switched to eager for one pass, with a short
    greedy continuation) and the glitch probe's generate, all on the model a batch is decoding with:
    each runs between two decoding steps, long before the batch ends, and every answer, the batch's
    included, is the same as alone."""
    from playground.inside import forward
    from playground.lab import glitch
    from playground.sampling import runs
    from playground.sampling.pipeline import SamplingConfig
    from playground.sampling.tree import Tree

    request = GenerationRequest(prompt="Once upon a time", max_new_tokens=160)
    sampling = runs.RunRequest(catalogue.DEFAULT_MODEL, prompt="The sea was", max_new_tokens=4,
                               config=SamplingConfig(temperature=0.9, top_k=40, seed=5))
    candidate = glitch.candidates(settings, 1)[0]

    def others() -> dict[str, object]:
        return {"sampling": [b.tokens for b in runs.sample(Tree(limit=2), sampling, settings)][-1],
                "inside": forward.inspect_text(catalogue.DEFAULT_MODEL, "The cat sat on the mat.", settings,
                                               chat=False, new_tokens=2).lens.top_ids.tolist(),
                "glitch": glitch.repeat_test(candidate, settings, max_new_tokens=4).answer}

    attention = smol.model.config._attn_implementation  # the model's own (sdpa), never eager
    alone = {"batch": last(request, settings).steps, **others()}  # ids, probabilities and top-5
    done: dict[str, object] = {}
    produced = [0]  # the batch's tokens so far, as its stream reports them

    def generate() -> None:
        for update in generate_stream(request, settings):
            produced[0] = len(update.steps)
            done["batch"] = update.steps
        done["batch ended"] = time.monotonic()

    thread = threading.Thread(target=generate)
    thread.start()
    deadline = time.monotonic() + 120
    while produced[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    done["tokens before"] = produced[0]
    done.update(others())
    done["tokens after"] = produced[0]
    done["others ended"] = time.monotonic()
    thread.join(timeout=300)
    assert done["tokens before"] >= 2 and done["tokens after"] < 160, "they did not run while the batch decoded"
    assert done["others ended"] < done["batch ended"], "they waited for the batch"
    assert smol.model.config._attn_implementation == attention != "eager"  # the Inside pass switched it back
    assert {k: done[k] for k in alone} == alone
