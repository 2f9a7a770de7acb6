"""HTML for a server run in the Generate tab: the prompt's tokens as the server read them.

The generated tokens need nothing of their own: `generation.view.generated_html` draws them from
the run's `ServerTokens`. The prompt's tokens are drawn the same way (their probability is the
one the model gave each prompt token after the ones before it), after a line for the first
token, which has no probability: nothing comes before it.
"""

from __future__ import annotations

from html import escape

from playground.generation.remote.logprobs import PromptToken, ServerTokens
from playground.generation.view import generated_html
from playground.tokenization.render import pieces_html


def waiting_html(server: str, api: str) -> str:
    where = escape(server)
    if api == "chat":
        return (f'<div class="empty">{where} applies the model\'s own chat template. Its prompt tokens appear here '
                "after Generate, where the server offers them (vLLM: prompt_logprobs).</div>")
    return f'<div class="empty">The raw prompt goes to {where}\'s completions API; its tokens appear here after ' \
           "Generate, where the server echoes them.</div>"


def prompt_html(prompt: list[PromptToken] | None, tokens: ServerTokens, server: str, *, limit: int) -> str:
    """The prompt's tokens with the probability the model gave each (hover: the top-5 at that place)."""
    if not prompt:
        return (f'<div class="empty">{escape(server)} sent no prompt tokens for this run (see the notes): only '
                "the answer's tokens are shown below.</div>")
    head = prompt[0]
    shown = pieces_html(tokens.token_bytes([head.id])[0]) or "(not named by the server)"
    id_text = f", id {head.id}" if head.id >= 0 else ""
    first = (f'<div class="legend">{len(prompt):,} prompt tokens, as {escape(server)} read them. The first, '
             f"<code>{shown}</code>{id_text}, has no probability: nothing comes before it.</div>")
    steps = [p.step for p in prompt[1:] if p.step is not None]
    return first + generated_html(steps, tokens, by_probability=True, limit=limit)
