"""Heavy libraries, imported on first use under one lock.

`transformers` resolves its names lazily, and two threads doing their first
`from transformers import X` at the same moment can see `ImportError: cannot import name`
(seen in the app when the Compare tab's on-load event and a chat turn raced). Every
first use goes through here; after that the module and its names are plain attributes.
"""

from __future__ import annotations

import threading
import time
from types import ModuleType

_lock = threading.RLock()
_TRANSFORMERS_NAMES = (
    "AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForCausalLM", "PreTrainedTokenizerFast",
    "GenerationConfig", "LogitsProcessor", "LogitsProcessorList", "StoppingCriteria", "StoppingCriteriaList",
)


def transformers() -> ModuleType:
    with _lock:
        import transformers as module
        import transformers.generation.streamers  # noqa: F401 - resolved here, under the lock

        for name in _TRANSFORMERS_NAMES:
            getattr(module, name)
        return module


def sentence_transformers() -> ModuleType:
    with _lock:
        transformers()
        import sentence_transformers as module

        return module


def warm_in_background(delay_s: float = 2.0) -> threading.Thread:
    """Import the heavy libraries after the page is up, so the first model request is quicker."""

    def warm() -> None:
        time.sleep(delay_s)
        sentence_transformers()

    thread = threading.Thread(target=warm, name="warm-imports", daemon=True)
    thread.start()
    return thread
