"""All torch work in one place: the device and dtype it runs with, and the one thread it runs on.

Why one thread (issue 11.1). PyTorch's CPU kernels use OpenMP (GNU libgomp, shipped in the torch
wheel), and libgomp gives every thread that enters a parallel region its own team of worker
threads, kept for that thread's lifetime. Between parallel regions a worker spins for 300,000
iterations before it sleeps, so the next region (decoding runs thousands of small ones per token)
starts at once. But once the process holds more OpenMP threads than CPUs, libgomp cuts the spin
to 100 iterations (its manual, GOMP_SPINCOUNT): every region then pays a futex sleep and wake-up.
On 2 cores a second team appears as soon as a second thread has run torch (a Gradio worker
encoding a sentence, say), and generation drops to about half speed for the rest of the process
(issue 11 measured 0.57×; `OMP_WAIT_POLICY=PASSIVE`, which never spins, gives the same slow
speed, and that is the fingerprint of this cause). Measured here on the shared machine with a
plain `model.generate` (64 tokens, tokens/s): all work on one pool thread 14.6–17.1; after a
second thread ran one matmul, 0.8–4.0 on that same pool thread.

So model loads, forward passes, `generate` and `encode` are handed to `submit` / `call` and run
on one long-lived thread: one team, never more OpenMP threads than cores. Callers wait on a
`Future`. Work submitted from the torch thread itself runs inline (a load inside a forward-pass
job must not wait for itself). Code that runs torch outside this thread (even a small matmul in
a request thread) brings the slowdown back: route it here.

One thread, but nobody waits for a whole generation (issue 11.5). A generation batch is a *long*
job (`submit(..., long=True)`): between two decoding steps it calls `between_steps()`, which runs the
short jobs queued behind it (a query to embed, a Sampling step, the Inside view) right there, then decoding goes
on with its KV cache as it was. Before this, the batch ended its `generate` for them and started
again, re-reading every row's prompt, and a query waited up to eight decoding steps. A short job
run aside sees the thread as any job does (gradients on, outside inference mode). Long jobs never
run aside (they would nest); a batch makes room for one by pausing (`long_jobs_waiting`).

Cores are shared with the requests being served (issue 11.5). A team of as many OpenMP threads as
cores is fastest on an idle machine, but when a request's thread (a tokenizer call, a handler
building a figure, Gradio sending results) takes one of the cores, each parallel region waits at
its barrier for the descheduled team thread: under the 30-session load test, decoding ran about
1.5x slower with 2 threads than with 1 on 2 cores. So handlers run inside `serving()`, and while
any does, the decoding steps of a generation batch use one core fewer (`between_steps` fits the
team to the free cores). A handler takes milliseconds, less than one decoding step, so the switch,
made at step boundaries, would come too late for the request that triggered it: the team stays
smaller for `RECENT_S` after a request, since under a room's load the next one is then on its way.
A visitor alone gets every core. A handler that waits (for its torch job, the next token of its
generation, a remote server) is not counted meanwhile (`waiting`). Everything else starts with
every core: a job, a batch's prompt pass, the short jobs run between steps and every step of a
seeded run, so their numbers do not depend on how busy the server is (a reduction split over
fewer threads rounds differently, and a seed must repeat its draws).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import torch

T = TypeVar("T")

THREAD_NAME = "torch"


@dataclass(eq=False)
class _Job:
    run: Callable[[], Any]
    done: Future[Any]
    long: bool


_ready = threading.Condition()  # guards the queue and the thread
_queue: deque[_Job] = deque()
_thread: threading.Thread | None = None
_aside = False  # `between_steps` is running jobs (read and written on the torch thread only)
_serving = 0  # requests being served right now (`serving`) and not waiting, each using a core
_served_at = -1e9  # when a request was last served (time.monotonic())
RECENT_S = 0.5  # a request served this recently predicts the next one
_local = threading.local()  # `.visit`: the request this thread is serving
_cores = 0  # torch's own thread count, read once on the torch thread


@dataclass(eq=False)
class _Visit:
    """One request being served. A wait holds on to it, not to its thread: a generator can be
    resumed, or closed, on another thread, and after its request has ended."""

    counted: bool = True  # in `_serving` now
    ended: bool = False


def device_and_dtype() -> tuple[str, torch.dtype]:
    """bf16 (or fp16) on a GPU, fp32 on a CPU, where half precision is slow and lossy."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if torch.backends.mps.is_available():
        return "mps", torch.float16
    return "cpu", torch.float32


def on_torch_thread() -> bool:
    return threading.current_thread().name.startswith(THREAD_NAME + "_")


def _worker() -> None:
    while True:
        with _ready:
            while not _queue:
                _ready.wait()
            job = _queue.popleft()
        _use_cores(share=False)
        _execute(job)


def _execute(job: _Job) -> None:
    if not job.done.set_running_or_notify_cancel():
        return  # cancelled while it waited
    try:
        job.done.set_result(job.run())
    except BaseException as exc:  # noqa: BLE001 - handed to the caller through the Future
        job.done.set_exception(exc)


def submit(fn: Callable[..., T], /, *args: Any, long: bool = False, **kwargs: Any) -> Future[T]:
    """Run `fn(*args, **kwargs)` on the torch thread; the Future holds its result or exception.

    `long`: a job that runs in steps and calls `between_steps()` between them (a generation batch)."""
    global _thread
    done: Future[T] = Future()
    job = _Job(lambda: fn(*args, **kwargs), done, long)
    if on_torch_thread():
        _execute(job)
        return done
    with _ready:
        if _thread is None:
            _thread = threading.Thread(target=_worker, name=THREAD_NAME + "_0", daemon=True)
            _thread.start()
        _queue.append(job)
        _ready.notify()
    return done


def between_steps(short_jobs: bool = True) -> None:
    """Called by a long job between its steps, on the torch thread: run the short jobs waiting, then
    fit the threads to the cores free now for the next step. A seeded run passes `short_jobs` false:
    it shares neither torch's random state nor its thread count, so its draws repeat. Not from a job
    that itself runs aside, and never a long job (they wait for `long_jobs_waiting`)."""
    global _aside
    if not on_torch_thread() or _aside or not short_jobs:
        return
    with _ready:
        short = [job for job in _queue if not job.long]
        for job in short:
            _queue.remove(job)
    if short:
        import torch

        _use_cores(share=False)
        _aside = True
        try:
            # As on a free thread: the long job may be inside `inference_mode` and `no_grad` (generate is).
            with torch.inference_mode(False), torch.enable_grad():
                for job in short:
                    _execute(job)
        finally:
            _aside = False
    _use_cores(share=True)


@contextmanager
def serving() -> Iterator[None]:
    """Around a request's own work on its thread (entered and left there): while it runs, and for
    `RECENT_S` after, a batch's decoding steps leave a core to the requests being served."""
    global _serving, _served_at
    if getattr(_local, "visit", None) is not None:  # nested: counted once
        yield
        return
    visit = _Visit()
    with _ready:
        _serving += 1
    _local.visit = visit
    try:
        yield
    finally:
        _local.visit = None
        with _ready:
            if visit.counted:
                _serving -= 1
            visit.counted, visit.ended = False, True
            _served_at = time.monotonic()


@contextmanager
def waiting() -> Iterator[None]:
    """Around a wait that needs no core (a torch job, a generation's next token, a remote server's
    answer): the request this thread serves is not counted meanwhile. It is counted again when the
    wait ends, unless it ended first (a stream closed later, on any thread, changes nothing)."""
    global _serving
    visit: _Visit | None = getattr(_local, "visit", None)
    if visit is None:  # this thread serves no request
        yield
        return
    with _ready:
        paused, visit.counted = visit.counted, False  # a nested wait finds it paused already
        if paused:
            _serving -= 1
    try:
        yield
    finally:
        if paused:
            with _ready:
                if not visit.ended:
                    visit.counted = True
                    _serving += 1


def serving_now() -> int:
    return _serving


def _use_cores(share: bool) -> None:
    """On the torch thread: every core, or, if `share`, one fewer while a request is being served
    (or was, a moment ago)."""
    global _cores
    import torch

    if not _cores:
        _cores = torch.get_num_threads()
    busy = share and (_serving > 0 or time.monotonic() - _served_at < RECENT_S)
    want = max(1, _cores - 1) if busy else _cores
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)


def long_jobs_waiting() -> bool:
    """A long job (another model's generation batch) waits: a running batch pauses to let it in."""
    with _ready:
        return any(job.long for job in _queue)


def call(fn: Callable[..., T], /, *args: Any, long: bool = False, **kwargs: Any) -> T:
    """Run `fn` on the torch thread and wait for it; its exception is raised here."""
    with waiting():  # before it is queued: the job must not see this request as one being served
        return submit(fn, *args, long=long, **kwargs).result()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor on any device (CUDA tensors must come to the CPU first)."""
    return tensor.detach().float().cpu().numpy()
