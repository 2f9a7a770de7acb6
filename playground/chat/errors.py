"""Errors a chat visitor can act on: each says what happened and what to do next.

They are `PlaygroundError`s, so the tab shows them once as a message (never in the transcript)
and the conversation stays as it was, ready for a retry.
"""

from __future__ import annotations

from playground.errors import PlaygroundError


class ChatError(PlaygroundError):
    """Base class for chat failures."""


class NoApiKey(ChatError):
    def __init__(self, base_url: str):
        super().__init__(
            f"No API key for {base_url}. Type one in the 'API key' box (it is kept for this browser session "
            "only), or have the server's operator set OPENAI_API_KEY in the environment or the .env file. "
            "The 'Local model' backend needs no key and no network."
        )


class BackendError(ChatError):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ContextOverflow(ChatError):
    def __init__(self, prompt_tokens: int, max_tokens: int, window: int, model: str, counted_with: str):
        super().__init__(
            f"This conversation no longer fits {model}'s context window: {prompt_tokens:,} prompt tokens "
            f"(counted with {counted_with}) + {max_tokens:,} max_tokens for the answer = "
            f"{prompt_tokens + max_tokens:,} > {window:,}. Tick 'Drop the oldest turns to fit', undo or clear "
            "some turns, turn 'resend history' off, or lower max_tokens."
        )
        self.prompt_tokens, self.max_tokens, self.window = prompt_tokens, max_tokens, window


class SpendCapReached(ChatError):
    def __init__(self, scope: str, spent: float, cap: float):
        super().__init__(
            f"The spend cap for the server's own API key is reached ({scope}: ${spent:.4f} of ${cap:.2f}). "
            "Type your own API key to go on, or use the 'Local model' backend, which is free."
        )
