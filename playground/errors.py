"""Errors the user can act on.

The backend raises these with a message that says what went wrong *and how to fix it*; the
UI layer shows the message once (as a `gr.Error`) and never a traceback. Anything that is not
a `PlaygroundError` is a bug: the UI logs it and shows a short generic message.
"""

from __future__ import annotations

from collections.abc import Iterable


class PlaygroundError(Exception):
    """Base class: the message is shown to the user as is."""


class InputTooLarge(PlaygroundError):
    def __init__(self, what: str, size: int, limit: int, unit: str = "characters"):
        super().__init__(
            f"{what} is {size:,} {unit}; the limit on this server is {limit:,} {unit}. "
            "Shorten it, or raise the limit (see README, Configuration)."
        )
        self.size, self.limit = size, limit


class UnknownName(PlaygroundError):
    """A catalogue lookup failed; the message lists what is known."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = ""):
        known = sorted(known)
        shown = ", ".join(known[:40]) + (" …" if len(known) > 40 else "")
        super().__init__(f"Unknown {kind} {name!r}. Known: {shown}.{(' ' + hint) if hint else ''}")


class HubUnavailable(PlaygroundError):
    """A Hugging Face Hub entry was asked for but the Hub cannot be reached."""

    def __init__(self, repo_id: str, reason: str = ""):
        super().__init__(
            f"{repo_id!r} needs the Hugging Face Hub, which this server cannot reach"
            f"{f' ({reason})' if reason else ''}. Pick an entry marked 'offline', or run "
            "`make prefetch` on a machine with a network to cache the Hub entries."
        )


class ModelLoadError(PlaygroundError):
    """A model or tokenizer exists in principle but could not be loaded."""


class InvalidInput(PlaygroundError):
    """Input the user typed that cannot be used (ids that are not integers, …)."""


class NotAllowed(PlaygroundError):
    """The operator's settings forbid this (user-typed hub ids, model size budget, …)."""
