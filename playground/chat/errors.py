"""Errors a chat visitor can act on: each says what happened and what to do next.

They are `PlaygroundError`s, so the tab shows them once as a message (never in the transcript)
and the conversation stays as it was, ready for a retry.
"""

from __future__ import annotations

from playground.errors import PlaygroundError

# Failures of any remote call (chat's included): one definition, in playground.remote.
from playground.remote.errors import BackendError, NoApiKey, SpendCapReached, UnpricedModel

__all__ = ["BackendError", "ChatError", "ContextOverflow", "NoApiKey", "SpendCapReached", "UnpricedModel"]


class ChatError(PlaygroundError):
    """Base class for chat failures."""


class ContextOverflow(ChatError):
    def __init__(self, prompt_tokens: int, max_tokens: int, window: int, model: str, counted_with: str):
        super().__init__(
            f"This conversation no longer fits {model}'s context window: {prompt_tokens:,} prompt tokens "
            f"(counted with {counted_with}) + {max_tokens:,} max_tokens for the answer = "
            f"{prompt_tokens + max_tokens:,} > {window:,}. Tick 'Drop the oldest turns to fit', undo or clear "
            "some turns, turn 'resend history' off, or lower max_tokens."
        )
        self.prompt_tokens, self.max_tokens, self.window = prompt_tokens, max_tokens, window
