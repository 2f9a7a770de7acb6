"""The Hugging Face Hub, as every loader (tokenizers, generation and embedding models) meets it.

- `is_hub_id` / `check_typed_id`: a visitor-typed id is a Hub repo id, never a local path
  (`..`, `/etc`, or a folder that happens to exist next to the app, which `from_pretrained`
  would read instead of the Hub).
- `check_files_budget`: a typed tokenizer is held to the server's size budget from the Hub's
  file metadata, before any download (models are measured by their parameters, in
  `generation/models.py`).
- `translate`: the few failures a visitor can act on (a gated repo, a wrong id, no network or
  cache), turned once into messages that say what to do.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from playground.errors import HubUnavailable, InvalidInput, ModelLoadError, NotAllowed, PlaygroundError

# What `AutoTokenizer.from_pretrained` may fetch: prefetched for workshops, weighed for typed ids.
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json",
                   "generation_config.json", "vocab.txt", "vocab.json", "merges.txt", "*.model", "chat_template.jinja"]


def is_hub_id(name: str) -> bool:
    """An `owner/name` id by the Hub's own rules (no `..`, no leading dot or dash, ≤ 96 characters)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def check_typed_id(name: str) -> str:
    """`name` if it can only mean a Hub repo; a local path (or a folder that exists here) is refused."""
    if not is_hub_id(name):
        raise InvalidInput(f"{name!r} is not a Hugging Face id: use owner/name (letters, digits, '-', '_', '.').")
    if Path(name).expanduser().exists():
        raise NotAllowed(f"{name!r} names a folder on this server; only Hugging Face Hub ids are loaded.")
    return name


def token() -> str | None:
    """The Hub token (HF_TOKEN, or the one `huggingface-cli login` saved), for gated repos."""
    from huggingface_hub import get_token

    return get_token()


def check_files_budget(repo_id: str, patterns: Sequence[str], budget_gb: float, what: str) -> None:
    """Refuse a repo whose files matching `patterns` weigh more than the budget (Hub metadata only)."""
    from huggingface_hub import model_info

    try:
        info = model_info(repo_id, files_metadata=True, token=token())
    except hub_errors() as exc:
        raise translate(exc, repo_id, "metadata", local_only=False) from None
    sizes = [s.size or 0 for s in info.siblings or [] if any(fnmatch.fnmatch(s.rfilename, p) for p in patterns)]
    total_gb = sum(sizes) / 1e9
    if total_gb > budget_gb:
        raise NotAllowed(
            f"The {what} files of {repo_id!r} weigh {total_gb:.2f} GB; the size budget on this server is "
            f"{budget_gb:g} GB (PLAYGROUND_MODEL_SIZE_BUDGET_GB). Pick a smaller one."
        )


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
