"""Each shared queue of the built app is as wide as `ui.queues` states: no event narrows its group.

Gradio gives a group of events sharing a `concurrency_id` the smallest limit among them; these
tests build the real app and ask gradio's own queue for each group's width.
"""

from __future__ import annotations

import pytest

from app import build_demo
from playground.ui.queues import POLL_S, queue, widths


@pytest.fixture(scope="module")
def groups(settings):
    demo = build_demo(settings)
    names: dict[str, set[str]] = {}
    functions: dict[str, set[int]] = {}
    for fn in demo.fns.values():
        if fn.queue is not False:
            demo._queue.create_event_queue_for_fn(fn)  # what gradio does when the event is first called
            names.setdefault(str(fn.concurrency_id), set()).add(str(fn.api_name))
            functions.setdefault(str(fn.concurrency_id), set()).add(id(fn.fn))
    queues = demo._queue.event_queue_per_concurrency_id
    return {cid: (q.concurrency_limit, names[cid], len(functions[cid])) for cid, q in queues.items()}


def test_every_named_queue_is_as_wide_as_stated(groups, settings):
    stated = widths(settings)
    named = {cid: value for cid, value in groups.items() if cid in stated}
    assert set(named) == set(stated), "a queue is stated but no event uses it"
    for cid, (width, events, _) in named.items():
        assert width == stated[cid], f"{cid}: gradio runs {width} at once, not {stated[cid]} ({sorted(events)})"


def test_events_share_a_queue_only_through_ui_queues(groups, settings):
    """Any other group is one function's own queue (gradio names it by the function's id; a function
    wired to two triggers is one queue)."""
    stated = widths(settings)
    for cid, (_, events, functions) in groups.items():
        assert cid in stated or functions == 1, f"{sorted(events)} share {cid!r}, which ui.queues does not state"


def test_word_lookups_never_wait_behind_sentence_encoders(groups):
    by_event = {event: cid for cid, (_, events, _) in groups.items() for event in events}
    assert by_event["word_neighbors"] != by_event["embed_search"]
    assert by_event["tokenize"] == by_event["compare"] == by_event["lab_tax_view"]
    assert groups[by_event["tokenize"]][0] == 8


def test_an_unknown_queue_lists_the_known_ones(settings):
    with pytest.raises(KeyError, match="tokenizers"):
        queue("tokeniser", settings)


def test_the_built_app_polls_its_queue_calmly(settings):
    """The attribute `calm_polling` sets is gradio's own: a fresh queue has it (1 ms on Linux by
    default), so a gradio that renamed it fails here instead of polling every millisecond again."""
    import gradio as gr

    default = gr.Blocks().queue()._queue.sleep_when_free
    assert build_demo(settings)._queue.sleep_when_free == max(default, POLL_S) > 0.001
