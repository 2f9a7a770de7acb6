"""HTML for the Generate tab: the rendered prompt's chips and the generated tokens' chips.

Plain strings, escaped here once; styled by `assets/style.css` (under `#gen-chips`). The prompt
and the byte pieces reuse the app's chip renderer (`playground.tokenization.render`) through
the one tokenizer interface, so special tokens get the same highlight as everywhere else.
Generated chips carry their id and probability, a top-5 tooltip, and a colour by position or by
probability. Token text comes from each token's bytes (a piece of an emoji shows as hex), never
from decoding ids one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from playground.generation import models
from playground.generation.engine import Prepared, TokenStep
from playground.settings import Settings
from playground.tokenization.render import PALETTE, pieces_html, render_chips
from playground.tokenization.visible import visible


def prompt_html(prepared: Prepared, settings: Settings) -> str:
    """The prompt exactly as the model reads it, one chip per token (hover: id, vocabulary entry, bytes)."""
    view = models.load_view(prepared.spec, settings)
    encoded = view.encode(prepared.text, add_special_tokens=prepared.add_special_tokens, allow_special=True)
    return render_chips(view, encoded, limit=settings.max_view_tokens)


def _prob_colour(prob: float) -> str:
    # red (unlikely) → yellow → green (near certain); light enough for dark text
    return f"hsl({prob * 120:.0f},75%,80%)"


def _id(token_id: int) -> str:
    # Below zero: a server that names tokens by text only (a chat API's logprobs): no id to show.
    return str(token_id) if token_id >= 0 else "–"


def _tip(step: TokenStep, view: Any) -> str:
    rows = []
    datas = view.token_bytes([t for t, _, _ in step.top])
    for (token_id, _, prob), data in zip(step.top, datas, strict=True):
        chosen = ' class="chosen"' if token_id == step.id else ""
        rows.append(f"<tr{chosen}><td>{pieces_html(data) or '∅'}</td><td>{_id(token_id)}</td>"
                    f'<td><span class="bar" style="width:{max(1, prob * 60):.0f}px"></span> {prob:.1%}</td></tr>')
    if step.id not in {t for t, _, _ in step.top}:
        rows.append(f'<tr class="chosen"><td>{pieces_html(view.token_bytes([step.id])[0])}</td><td>{_id(step.id)}</td>'
                    f"<td>{step.prob:.2%} (sampled)</td></tr>")
    head = "<tr><th>top 5 at this step</th><th>id</th><th>probability</th></tr>"
    return f'<span class="tip"><table>{head}{"".join(rows)}</table></span>'


def generated_html(steps: Sequence[TokenStep], spec_view: Any, *, by_probability: bool, limit: int) -> str:
    """One chip per generated token: its text, id and probability; hover for the top-5 alternatives."""
    if not steps:
        return '<div class="empty">The generated tokens appear here, one chip each.</div>'
    shown = steps[:limit]
    datas = spec_view.token_bytes([s.id for s in shown])
    chips = []
    for i, (step, data) in enumerate(zip(shown, datas, strict=True)):
        style = f' style="background:{_prob_colour(step.prob)}"' if by_probability else ""
        cls = "gtok" + ("" if by_probability else f" tok c{i % PALETTE}") + (" special" if step.special else "")
        text = escape(visible(data.decode("utf-8"))) if step.special else pieces_html(data)
        chips.append(
            f'<span class="{cls}"{style} data-id="{step.id}" data-prob="{step.prob:.4f}">'
            f'<span class="t">{text or "∅"}</span><span class="m">{_id(step.id)} · {step.prob:.0%}</span>'
            f"{_tip(step, spec_view)}</span>"
        )
    legend = ('<div class="legend">Colour = the model\'s probability for the token it produced: '
              'low <span class="sw"></span> high.</div>' if by_probability else "")
    more = (f'<div class="empty">… and {len(steps) - limit:,} more tokens.</div>' if len(steps) > limit else "")
    return f'{legend}<div class="gen">{"".join(chips)}</div>{more}'
