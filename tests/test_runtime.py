"""The runtime's one torch thread: jobs in order, and short jobs run between a long job's steps.

Plain Python jobs stand in for torch work here (the scheduling does not depend on what a job
computes); `test_generation_batch.py` checks the same with real generation batches.
"""

from __future__ import annotations

import threading
import time

import pytest
import torch

from playground import runtime


def long_job(steps: int, log: list[str], started: threading.Event) -> int:
    """Stands in for a generation batch: steps, with `between_steps` between them."""
    started.set()
    with torch.inference_mode():  # as in a batch: the short jobs must not inherit it
        for i in range(steps):
            time.sleep(0.01)
            log.append(f"step {i}")
            runtime.between_steps()
    return steps


def test_jobs_run_in_order_on_one_named_thread():
    names = [runtime.submit(lambda i=i: (i, threading.current_thread().name)) for i in range(5)]
    results = [f.result(10) for f in names]
    assert [i for i, _ in results] == list(range(5))
    assert len({name for _, name in results}) == 1 and results[0][1].startswith(runtime.THREAD_NAME + "_")


def test_a_short_job_runs_between_a_long_jobs_steps_as_on_a_free_thread():
    log: list[str] = []
    started = threading.Event()
    running = runtime.submit(long_job, 60, log, started, long=True)
    assert started.wait(10)
    time.sleep(0.05)

    def short() -> tuple[bool, bool]:
        log.append("short")
        return torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    assert runtime.call(short) == (True, False)
    assert running.result(10) == 60
    at = log.index("short")
    assert 0 < at < len(log) - 1, "the short job waited for the long one to end"


def test_a_failing_short_job_fails_alone():
    log: list[str] = []
    started = threading.Event()
    running = runtime.submit(long_job, 40, log, started, long=True)
    assert started.wait(10)

    def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        runtime.call(broken)
    failed_at = len(log)
    assert running.result(10) == 40 and len(log) == 40
    assert failed_at < 40, "the failing job waited for the long one to end"


def test_a_long_job_waits_its_turn_and_is_announced():
    log: list[str] = []
    first, second = threading.Event(), threading.Event()
    running = runtime.submit(long_job, 30, log, first, long=True)
    assert first.wait(10)
    waiting = runtime.submit(lambda: (second.set(), len(log))[1], long=True)
    assert runtime.long_jobs_waiting()
    assert running.result(10) == 30
    assert waiting.result(10) == 30, "the second long job ran between the first one's steps"
    assert not runtime.long_jobs_waiting()


def test_a_job_submitted_from_the_torch_thread_runs_inline():
    def outer() -> str:
        return runtime.call(lambda: threading.current_thread().name)

    assert runtime.call(outer).startswith(runtime.THREAD_NAME + "_")


def test_a_job_cancelled_while_waiting_never_runs():
    release = threading.Event()
    blocker = runtime.submit(release.wait, 10)
    ran: list[int] = []
    cancelled = runtime.submit(ran.append, 1)
    assert cancelled.cancel()
    release.set()
    assert blocker.result(10) is True
    runtime.call(lambda: None)  # everything queued before it has run
    assert ran == []


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch) -> int:
    """torch's thread count with nothing served; the moment after a request is not kept (RECENT_S 0)."""
    monkeypatch.setattr(runtime, "RECENT_S", 0.0)
    count = runtime.call(torch.get_num_threads)
    if count < 2:
        pytest.skip("one core: nothing to leave")
    return count


def step_threads(short_jobs: bool = True) -> int:
    """A batch's next decoding step: the threads it would run with."""
    runtime.between_steps(short_jobs)
    return torch.get_num_threads()


def test_a_batchs_steps_leave_a_core_to_a_request_being_served(cores):
    inside, release = threading.Event(), threading.Event()

    def request() -> None:
        with runtime.serving():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=request)
    thread.start()
    assert inside.wait(10) and runtime.serving_now() == 1
    seen = {"a step": runtime.call(step_threads, long=True),
            "a seeded run's step": runtime.call(step_threads, False, long=True),
            "any other job": runtime.call(torch.get_num_threads)}
    release.set()
    thread.join(10)
    assert runtime.serving_now() == 0
    seen["a step once it is served"] = runtime.call(step_threads, long=True)
    assert seen == {"a step": cores - 1, "a seeded run's step": cores, "any other job": cores,
                    "a step once it is served": cores}


def test_a_handler_waiting_for_its_own_job_is_not_counted(cores):
    with runtime.serving():
        assert runtime.serving_now() == 1
        assert runtime.call(runtime.serving_now) == 0  # not even at the job's start
        assert runtime.call(step_threads, long=True) == cores
        assert runtime.serving_now() == 1


def test_the_moment_after_a_request_is_kept_for_the_next(cores, monkeypatch):
    monkeypatch.setattr(runtime, "RECENT_S", 0.5)
    with runtime.serving():
        pass
    assert runtime.call(step_threads, long=True) == cores - 1  # another request is probably on its way
    time.sleep(0.6)
    assert runtime.call(step_threads, long=True) == cores


def test_a_wait_that_outlives_its_request_leaves_the_count_right():
    """A handler draining a stream that waits inside (a remote answer) fails while the stream is
    suspended; the stream is closed later, on another thread. Nobody stays counted, nor below zero."""
    def stream():
        with runtime.waiting():
            yield 1
            yield 2

    with runtime.serving():
        chunks = stream()
        next(chunks)
        assert runtime.serving_now() == 0
    assert runtime.serving_now() == 0
    closer = threading.Thread(target=chunks.close)
    closer.start()
    closer.join(10)
    assert runtime.serving_now() == 0
    with runtime.serving():
        assert runtime.serving_now() == 1
    assert runtime.serving_now() == 0


def test_a_long_job_refits_its_threads_between_steps(cores):
    counted = [threading.Event() for _ in range(3)]
    proceed = [threading.Event() for _ in range(2)]
    counts: list[int] = []

    def stepping() -> None:
        for i in range(3):
            counts.append(torch.get_num_threads())
            counted[i].set()
            if i < 2:
                proceed[i].wait(10)
                runtime.between_steps()

    running = runtime.submit(stepping, long=True)
    assert counted[0].wait(10)
    with runtime.serving():  # a request arrives between steps 0 and 1, and is done before step 2
        proceed[0].set()
        assert counted[1].wait(10)
    proceed[1].set()
    running.result(10)
    assert counts == [cores, cores - 1, cores]


def test_a_handler_counts_as_served_while_it_runs_and_a_stream_does_not():
    from playground.ui.common import at_edge

    @at_edge
    def handler() -> int:
        return runtime.serving_now()

    @at_edge
    def stream():
        yield runtime.serving_now()

    assert runtime.serving_now() == 0
    assert handler() == 1 and list(stream()) == [0]
    assert runtime.serving_now() == 0
