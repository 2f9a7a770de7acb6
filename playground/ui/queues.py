"""Every shared queue of the app and its width, stated once; and how often Gradio polls for events.

Gradio gives all events with the same `concurrency_id` one queue, and that queue's width is the
*smallest* `concurrency_limit` among them (an event without one counts as the default, 4). Written
at each event, one narrow event silently narrows its whole group: `/embed_search`'s 2 once held
`/word_neighbors` (a numpy lookup of a few milliseconds) behind sentence encodings, and the
Tokenizer lab's views, which named no limit, held `/tokenize` at 4 instead of 8 (issue 11.5's load
test). So events name their queue here, `**queue("tokenizers", settings)`, and get its one width;
`tests/test_queues.py` checks that no group of the built app is narrower than stated.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.settings import Settings

REMOTE_AT_ONCE = 8  # calls to remote servers at once: they wait on the network, not on this machine

# How often Gradio's queue looks again for an event to start, when it has none or no free slot. Its
# default on Linux is every millisecond, and each look takes the GIL, which the torch thread needs
# between two operators: a launched app generated at 0.87-0.90x plain `model.generate`; at 10 ms,
# 0.96-0.99x (`bench/generation_speed.py`, A/B in alternation). An event, or one waiting for a slot
# to free up, now starts up to 10 ms later.
POLL_S = 0.01


def widths(settings: Settings) -> dict[str, int]:
    """Queue name → how many of its events run at once."""
    return {
        # Tokenizers are fast and release the GIL in their Rust code: many short requests side by side.
        "tokenizers": 8,
        "lab-train": 2,  # trainers use every core: two at once already share them
        # Local model work ends on the one torch thread (`playground.runtime`); these widths bound how many
        # requests wait there, not how many run.
        "generation": settings.generation_batch,  # one batch shares decoding steps: all its visitors at once
        "generation-preview": 4,
        "sampling": settings.generation_concurrency,
        "inside": settings.generation_concurrency,
        "inside-measure": 1,  # times tokens against context length: alone, or the timings measure the queue
        "glitch": 1,
        "sentences": 8,  # sentence and contextual encoders, and embeddings from an API
        "words": 8,  # static word vectors: numpy lookups, no torch
        "word2vec": 1,  # trains on every core
        # Remote calls: the network, not this machine, is the limit.
        "generation-server": REMOTE_AT_ONCE,
        "sampling-server": REMOTE_AT_ONCE,
        "chat": REMOTE_AT_ONCE,
    }


def queue(name: str, settings: Settings) -> dict[str, Any]:
    """The event keywords that put an event in the named queue: its id and its one width."""
    known = widths(settings)
    if name not in known:
        raise KeyError(f"unknown queue {name!r}; known: {', '.join(sorted(known))}")
    return {"concurrency_id": name, "concurrency_limit": known[name]}


def calm_polling(demo: gr.Blocks) -> None:
    """Let Gradio's queue look for new events every `POLL_S` instead of every millisecond.

    `sleep_when_free` is the queue's own attribute (not a launch option); gradio is pinned, and
    `tests/test_queues.py` fails if a new version drops the attribute this sets.
    """
    queue_ = demo._queue
    queue_.sleep_when_free = max(queue_.sleep_when_free, POLL_S)  # Gradio already polls slower on Windows
