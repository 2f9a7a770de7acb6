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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import torch

T = TypeVar("T")

THREAD_NAME = "torch"
_guard = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_queued = 0  # jobs submitted and not yet started


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


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
        return _executor


def submit(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """Run `fn(*args, **kwargs)` on the torch thread; the Future holds its result or exception."""
    if on_torch_thread():
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the Future
            done.set_exception(exc)
        return done
    global _queued
    with _guard:
        _queued += 1

    def counted() -> T:
        global _queued
        with _guard:
            _queued -= 1
        return fn(*args, **kwargs)

    return _pool().submit(counted)


def others_waiting() -> bool:
    """Jobs are queued behind the running one (a long job, a generation batch, can make room for them)."""
    return _queued > 0


def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn` on the torch thread and wait for it; its exception is raised here."""
    return submit(fn, *args, **kwargs).result()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor on any device (CUDA tensors must come to the CPU first)."""
    return tensor.detach().float().cpu().numpy()
