"""HTML for the Generate tab: the rendered prompt's chips and the generated tokens' chips.

Plain strings, escaped here once. The prompt reuses the app's chip renderer (`playground.render`)
through the one tokenizer interface, so special tokens get the same highlight as everywhere else.
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
from playground.render import PALETTE, render_chips
from playground.settings import Settings
from playground.tokenization.visible import byte_segments, visible

# CSS for the generated chips, scoped by gradio to the HTML component (gr.HTML css_template).
CHIPS_CSS = """
.gen { line-height: 1.2; display: flex; flex-wrap: wrap; gap: 4px 2px; padding: 6px 2px;
       font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.gtok { position: relative; display: inline-flex; flex-direction: column; align-items: center; padding: 2px 4px;
        border-radius: 4px; cursor: help; color: #1f2328; box-shadow: inset 0 -1px 0 rgba(0,0,0,.12); }
.gtok .t { font-size: 15px; white-space: pre; }
.gtok .m { font-size: 10px; color: #57606a; margin-top: 1px; }
.gtok.special { outline: 2px solid #6d28d9; }
.gtok.special .t { font-weight: 600; color: #4c1d95; }
.gtok .tip { display: none; position: absolute; top: 100%; left: 0; z-index: 20; background: #fff; color: #1f2328;
             border: 1px solid #8c959f; border-radius: 6px; padding: 4px 6px; box-shadow: 0 4px 12px rgba(0,0,0,.18);
             font-size: 12px; white-space: nowrap; }
.gtok:hover .tip { display: block; }
.tip table { border-collapse: collapse; }
.tip td, .tip th { padding: 1px 6px; text-align: left; }
.tip th { font-weight: 600; color: #57606a; border-bottom: 1px solid #d0d7de; }
.tip tr.chosen td { font-weight: 700; background: #fff8c5; }
.tip .bar { display: inline-block; height: 8px; background: #2da44e; border-radius: 2px; vertical-align: middle; }
.legend { font-size: 12px; color: #57606a; margin: 2px 0 6px; font-family: system-ui, sans-serif; }
.legend .sw { display: inline-block; width: 46px; height: 10px; border-radius: 2px; vertical-align: middle;
              background: linear-gradient(90deg, hsl(0,85%,80%), hsl(60,85%,80%), hsl(120,60%,78%)); }
.hex { font-size: 11px; color: #57606a; }
.empty { color: #57606a; font-style: italic; font-family: system-ui, sans-serif; }
"""


def prompt_html(prepared: Prepared, settings: Settings) -> str:
    """The prompt exactly as the model reads it, one chip per token (hover: id, vocabulary entry, bytes)."""
    view = models.load_view(prepared.spec, settings)
    encoded = view.encode(prepared.text, add_special_tokens=prepared.add_special_tokens, allow_special=True)
    return render_chips(view, encoded, limit=settings.max_view_tokens)


def _piece_html(data: bytes) -> str:
    return "".join(
        f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(part)
        for kind, part in byte_segments(data)
    )


def _prob_colour(prob: float) -> str:
    # red (unlikely) → yellow → green (near certain); light enough for dark text
    return f"hsl({prob * 120:.0f},75%,80%)"


def _tip(step: TokenStep, view: Any) -> str:
    rows = []
    datas = view.token_bytes([t for t, _, _ in step.top])
    for (token_id, _, prob), data in zip(step.top, datas, strict=True):
        chosen = ' class="chosen"' if token_id == step.id else ""
        rows.append(f"<tr{chosen}><td>{_piece_html(data) or '∅'}</td><td>{token_id}</td>"
                    f'<td><span class="bar" style="width:{max(1, prob * 60):.0f}px"></span> {prob:.1%}</td></tr>')
    if step.id not in {t for t, _, _ in step.top}:
        rows.append(f'<tr class="chosen"><td>{_piece_html(view.token_bytes([step.id])[0])}</td><td>{step.id}</td>'
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
        text = escape(visible(data.decode("utf-8"))) if step.special else _piece_html(data)
        chips.append(
            f'<span class="{cls}"{style} data-id="{step.id}" data-prob="{step.prob:.4f}">'
            f'<span class="t">{text or "∅"}</span><span class="m">{step.id} · {step.prob:.0%}</span>'
            f"{_tip(step, spec_view)}</span>"
        )
    legend = ('<div class="legend">Colour = the model\'s probability for the token it produced: '
              'low <span class="sw"></span> high.</div>' if by_probability else "")
    more = (f'<div class="empty">… and {len(steps) - limit:,} more tokens.</div>' if len(steps) > limit else "")
    return f'{legend}<div class="gen">{"".join(chips)}</div>{more}'
