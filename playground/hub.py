"""Hugging Face Hub failures, translated once into messages that say what to do.

Every loader (tokenizers, generation models, embedding models) catches the same few errors:
a gated repo, a wrong id, no network or cache. They all come here.
"""

from __future__ import annotations

from playground.errors import HubUnavailable, ModelLoadError, PlaygroundError


def hub_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a Hub load raises for reasons the visitor can act on (catch these, not all)."""
    from huggingface_hub.errors import HfHubHTTPError

    return (OSError, ValueError, HfHubHTTPError)


def translate(exc: BaseException, repo_id: str, what: str, *, local_only: bool) -> PlaygroundError:
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, GatedRepoError):  # before RepositoryNotFoundError: it is a subclass
        return ModelLoadError(f"{repo_id!r} is gated: accept its licence on huggingface.co and set HF_TOKEN "
                              "(as a Space secret when deployed).")
    if isinstance(exc, RepositoryNotFoundError):
        return ModelLoadError(f"There is no Hugging Face repo {repo_id!r} (or it is private). Check the id.")
    if isinstance(exc, LocalEntryNotFoundError) or (local_only and isinstance(exc, (OSError, ValueError))):
        return HubUnavailable(repo_id, "not in the local cache")
    text = str(exc).strip()
    first_line = text.splitlines()[0][:200] if text else type(exc).__name__
    return ModelLoadError(f"Could not load the {what} of {repo_id!r}: {first_line}")
