"""Import and warm UMAP in a background thread, so the first UMAP map does not freeze the page.

`import umap` compiles numba code: about 19 s cold on a 2-core machine, then a first fit pays
more JIT compilation. `start()` is idempotent and returns at once; `status()` says where it is,
with the measured cold import and warm-up times (shown in the UI and printed by the benchmark).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("playground")

WARMING_MESSAGE = "UMAP is warming up (first use ~20 s)"


@dataclass(frozen=True)
class WarmupStatus:
    state: str  # "cold" | "warming" | "ready" | "failed"
    import_s: float | None = None
    first_fit_s: float | None = None
    error: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def describe(self) -> str:
        if self.state == "ready":
            return f"UMAP ready (import {self.import_s:.1f} s, first fit {self.first_fit_s:.1f} s)."
        if self.state == "failed":
            return f"UMAP could not be loaded ({self.error}); use PCA or t-SNE."
        return WARMING_MESSAGE + "."


_lock = threading.Lock()
_done = threading.Event()
_status = WarmupStatus("cold")
_thread: threading.Thread | None = None


def status() -> WarmupStatus:
    return _status


def start() -> WarmupStatus:
    """Begin warming in a daemon thread unless already started; returns the current status."""
    global _thread, _status
    with _lock:
        if _thread is None:
            _status = WarmupStatus("warming")
            _thread = threading.Thread(target=_warm, name="umap-warmup", daemon=True)
            _thread.start()
    return _status


def wait(timeout: float | None = None) -> WarmupStatus:
    start()
    _done.wait(timeout)
    return _status


def _warm() -> None:
    global _status
    try:
        started = time.perf_counter()
        import numpy as np
        import umap

        imported = time.perf_counter()
        # A small fit compiles the numba kernels a real map needs (cosine metric, both inits).
        data = np.random.default_rng(0).normal(size=(80, 16)).astype(np.float32)
        umap.UMAP(n_neighbors=10, metric="cosine", init="random", random_state=0, n_jobs=1).fit_transform(data)
        umap.UMAP(n_neighbors=10, metric="cosine", init="spectral", random_state=0, n_jobs=1).fit_transform(data)
        finished = time.perf_counter()
        _status = WarmupStatus("ready", imported - started, finished - imported)
        log.info("UMAP warm: import %.1f s, first fits %.1f s", imported - started, finished - imported)
    except Exception as exc:  # noqa: BLE001 - reported through status(), the thread must not die silently
        _status = WarmupStatus("failed", error=type(exc).__name__)
        log.error("UMAP warm-up failed", exc_info=exc)
    finally:
        _done.set()
