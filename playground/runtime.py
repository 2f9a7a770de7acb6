"""All torch work in one place: the device and dtype it runs with, and the one thread it runs on.

Why one thread: PyTorch's CPU kernels use OpenMP, and OpenMP keeps a team of threads per
calling thread. When several Gradio worker threads each run torch, their teams compete for
the cores, and generation loses about half its speed for the rest of the process (issue 11).
So model loads, forward passes, `generate` and `encode` are handed to `submit` / `call` and
run on one long-lived thread; callers wait on a `Future`.

Work submitted from the torch thread itself runs inline (a load inside a forward-pass job
must not wait for itself).
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
    return _pool().submit(fn, *args, **kwargs)


def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn` on the torch thread and wait for it; its exception is raised here."""
    return submit(fn, *args, **kwargs).result()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor on any device (CUDA tensors must come to the CPU first)."""
    return tensor.detach().float().cpu().numpy()
