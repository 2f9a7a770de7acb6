"""What every tab shares: turning backend errors into one clear message at the edge.

A `PlaygroundError` becomes a `gr.Error` with its own message (it says how to fix the
problem). Anything else is a bug: it is logged with its traceback on the server and the
visitor sees a short generic message, never the traceback. Under tests
(`PLAYGROUND_RAISE_ERRORS=1`) bugs propagate so they stay visible.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import gradio as gr
from gradio.blocks import Block

from playground import runtime
from playground.errors import PlaygroundError

log = logging.getLogger("playground")
F = TypeVar("F", bound=Callable[..., Any])

# What a handler returns to update several components at once: each component → its new value
# (or a `gr.update(...)`). Values are whatever that component takes, hence Any.
Updates = dict[Block, Any]


def unchanged() -> Updates:
    """Leave every output of a handler as it is. Not `{}`: gradio reads an empty dict as one value for
    all the outputs and fails the event (an error toast, and a traceback in the server log)."""
    skip: Updates = gr.skip()
    return skip

class Pace:
    """While a stream runs, redraw at most every `every_s` seconds: the page's HTML grows with every
    token, and sending each one would cost more than decoding it."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last = 0.0

    def due(self) -> bool:
        """Whether it is time to redraw (and, if so, the clock starts again)."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return False
        self._last = now
        return True


GENERIC_ERROR = "Something went wrong on the server (it has been logged). Try again, or try other input."


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, PlaygroundError):
        return gr.Error(str(exc), print_exception=False)
    if os.environ.get("PLAYGROUND_RAISE_ERRORS") == "1":
        return exc
    # Log type and traceback only: the message of a library error can quote user input.
    log.error("unhandled %s in a handler", type(exc).__name__, exc_info=exc)
    return gr.Error(GENERIC_ERROR, print_exception=False)


def at_edge(fn: F) -> F:
    """Wrap an event handler (plain or generator) so errors reach the visitor as one message."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - this is the edge
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from None

        return cast(F, gen_wrapper)  # functools.wraps keeps the signature gradio reads

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with runtime.serving():  # torch leaves this request a core (a stream mostly waits: not counted)
                return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - this is the edge
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from None

    return cast(F, wrapper)


DOWNLOADS = Path(tempfile.gettempdir()) / "playground-downloads"
DOWNLOAD_TTL_S = 3600


def download_file(name: str, content: str) -> str:
    """Write a download into a fresh private folder; gradio copies it and serves it to this visitor.

    Folders older than an hour are removed on the way, so repeated exports of a 200,000-character
    text do not fill the disk of a shared server."""
    DOWNLOADS.mkdir(exist_ok=True)
    cutoff = time.time() - DOWNLOAD_TTL_S
    for old in DOWNLOADS.iterdir():
        try:
            expired = old.stat().st_mtime < cutoff
        except OSError:  # another request removed it first
            continue
        if expired:
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=DOWNLOADS)) / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def stats_markdown(pairs: list[tuple[str, object]]) -> str:
    """A one-line stat strip: **12** tokens · **48** characters …"""
    def fmt(value: object) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    return " · ".join(f"**{fmt(v)}** {k}" for k, v in pairs)
