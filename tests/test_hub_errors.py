"""The one translation of Hub failures that every loader uses."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

from playground.errors import HubUnavailable, InvalidInput, ModelLoadError
from playground.hub import hub_errors, translate


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://hub.invalid/api"))


@pytest.mark.parametrize(("exc", "local_only", "kind", "words"), [
    (GatedRepoError("gated", response=_response(403)), False, ModelLoadError, "is gated: accept its licence"),
    (RepositoryNotFoundError("404", response=_response(404)), False, ModelLoadError, "There is no Hugging Face repo"),
    (LocalEntryNotFoundError("no cache"), False, HubUnavailable, "not in the local cache"),
    (OSError("no file"), True, HubUnavailable, "needs the Hugging Face Hub"),
    (OSError("Connection reset\nmore detail"), False, ModelLoadError, "Could not load the model of 'a/b': Connection reset"),
])
def test_hub_failures_become_messages_that_say_what_to_do(exc, local_only, kind, words):
    assert isinstance(exc, hub_errors())  # the loaders' except clause catches it
    out = translate(exc, "a/b", "model", local_only=local_only)
    assert type(out) is kind and words in str(out) and "more detail" not in str(out)


def test_our_own_errors_pass_through():
    mine = InvalidInput("already clear")
    assert translate(mine, "a/b", "model", local_only=False) is mine
