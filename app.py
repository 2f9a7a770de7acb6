"""LLM Tokens & Embeddings Playground: the Gradio app.

    python app.py [--host H] [--port P] [--share] [--offline] [--auth user:password]

`build_demo(settings)` builds the page (tests use it); nothing happens at import time but
definitions. Heavy libraries (torch, transformers, sentence-transformers, umap) load on the
first request that needs them, so the page is served within seconds.
"""

from __future__ import annotations

import logging
import socket
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from playground.settings import PROJECT_DIR, Settings

if TYPE_CHECKING:  # imported in build_demo: nothing heavy at import time
    import gradio as gr

log = logging.getLogger("playground")



@dataclass(frozen=True)
class Tab:
    title: str
    ui: str  # the module with `build_tab(settings, shared)`: widgets and events only
    backend: str  # where the tab's work is done: plain data in and out, no gradio


# In page order. Each tab's code is in `backend`; `ui` only wires it to the page.
TABS: tuple[Tab, ...] = (
    Tab("Tokens", "playground.ui.tokens", "playground.tokenization.highlight"),
    Tab("Compare tokenizers", "playground.ui.compare", "playground.tokenization.compare"),
    Tab("Tokenizer lab", "playground.ui.lab", "playground.lab"),
    Tab("Generate", "playground.ui.generation", "playground.generation"),
    Tab("Sampling", "playground.ui.sampling", "playground.sampling"),
    Tab("Inside the model", "playground.ui.inside", "playground.inside"),
    Tab("Embeddings", "playground.ui.embeddings", "playground.embeddings"),
    Tab("Chat", "playground.ui.chat", "playground.chat"),
)

STYLE = PROJECT_DIR / "assets" / "style.css"
HEADER = """# LLM Tokens & Embeddings Playground
How large language models see text: tokens, ids, probabilities and vectors, on your own text."""


def build_demo(settings: Settings) -> gr.Blocks:
    import gradio as gr

    from playground.ui.queues import calm_polling

    demo = gr.Blocks(title="LLM Tokens & Embeddings Playground")
    with demo:
        gr.Markdown(HEADER, elem_id="header")
        if settings.is_exposed:
            gr.Markdown(exposure_note(settings), elem_id="exposure-note")
        if settings.offline:
            gr.Markdown("Offline mode: entries marked ⚠ need the Hugging Face Hub; everything else runs from the "
                        "offline pack.", elem_id="offline-note")
        shared: dict[str, object] = {"demo": demo}
        with gr.Tabs():
            for spec in TABS:
                with gr.Tab(spec.title, id=spec.ui.rsplit(".", 1)[-1]) as tab:
                    shared["tab"] = tab  # the tab being built, for tabs that react to being opened
                    shared[spec.ui] = import_module(spec.ui).build_tab(settings, shared)
    demo.queue(max_size=settings.queue_max_size, default_concurrency_limit=4)
    calm_polling(demo)
    return demo


def exposure_note(settings: Settings) -> str:
    """What visitors of a shared app may type, from the operator's settings (see README, Workshop)."""
    def state(on: bool | None) -> str:  # resolved to a bool when the settings were built
        return "**on**" if on else "**off**"

    urls = state(settings.allow_custom_base_url)
    if settings.allow_custom_base_url:
        urls += " (public addresses" + (" and the LAN" if settings.allow_private_base_urls else "") + " only)"
    return (f"Shared server: typed Hugging Face model and tokenizer ids are {state(settings.allow_custom_models)}, "
            f"typed base URLs for remote servers are {urls}; the operator sets these with --allow-custom-models, "
            "--allow-custom-base-url and --allow-private-base-urls.")


def _reachable(url: str, timeout: float = 2.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_network(settings: Settings) -> Settings:
    """Decide once, at start-up, whether the Hugging Face Hub is reachable (unless told)."""
    import os
    from dataclasses import replace

    if settings.offline is None:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        online = _reachable(endpoint)
        log.info("Hugging Face Hub %s: %s", endpoint, "reachable" if online else "NOT reachable, running offline")
        settings = replace(settings, offline=not online)
    return settings


def launch(settings: Settings, *, block: bool = True) -> gr.Blocks:
    from dataclasses import replace

    settings = resolve_network(settings)
    settings.apply_to_process()
    share = settings.share
    if share and not _reachable("https://api.gradio.app"):
        log.error("--share needs the internet to open a gradio.live link, and it is not reachable from here. "
                  "Serving locally only, on http://%s:%s. Deploy as a Space for a public URL.",
                  settings.host, settings.port)
        share = False
    settings = replace(settings, share=share)
    demo = build_demo(settings)
    demo.launch(
        server_name=settings.host, server_port=settings.port, share=share,
        auth=settings.auth_pair, max_file_size=settings.max_file_size,
        css_paths=[STYLE], allowed_paths=[], prevent_thread_lock=True, footer_links=["api"],
    )
    from playground import lazy

    lazy.warm_in_background()  # after the page is up: the first model request then waits less
    if block:
        demo.block_thread()
    return demo


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_args(argv)
    except ValueError as exc:  # a bad environment value: say which, not a traceback
        sys.exit(f"Configuration error: {exc}")
    launch(settings)


if __name__ == "__main__":
    main()
