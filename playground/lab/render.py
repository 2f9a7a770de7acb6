"""HTML for the Tokenizer lab: merge trees and pipeline stages. Escaped here, styled in style.css.

Token splits reuse the app's chip renderer (`playground.tokenization.render.render_chips`); tables go to
Gradio's Dataframe as plain rows, so only what a table cannot show is drawn here.
"""

from __future__ import annotations

from html import escape

from playground.lab.replay import Node, Replay
from playground.lab.stages import Stages
from playground.tokenization.visible import byte_segments, visible


def bytes_html(data: bytes) -> str:
    """Token bytes as text, with the bytes of a partial character shown as hex."""
    return "".join(f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(part)
                   for kind, part in byte_segments(data))


def bytes_text(data: bytes) -> str:
    """The same as plain text, for tables: 'F0 9F' for a partial character."""
    return "".join(f"⟨{part}⟩" if kind == "hex" else part for kind, part in byte_segments(data))


def _node(node: Node) -> str:
    if node.step is None and not node.children:
        label = f'<span class="mt-label leaf" title="byte, id {node.rank}">{bytes_html(node.data)}</span>'
        return f'<div class="mt-node">{label}</div>'
    how = f"merge step {node.step}, rank {node.rank:,}" if node.step else f"looked up whole: id {node.rank:,}"
    label = (f'<span class="mt-label{" whole" if node.step is None else ""}" title="{escape(how, quote=True)}">'
             f'{bytes_html(node.data)}<small>#{node.rank:,}</small></span>')
    kids = "".join(_node(child) for child in node.children)
    return f'<div class="mt-node">{label}<div class="mt-kids">{kids}</div></div>'


def replay_html(replay: Replay) -> str:
    """One tree per final token, grouped by the regex piece it came from."""
    pieces = []
    for piece in replay.pieces:
        trees = "".join(f'<div class="mt-root">{_node(root)}</div>' for root in piece.roots)
        pieces.append(f'<div class="mt-piece" title="{escape("regex piece " + repr(piece.text), quote=True)}">'
                      f'<div class="mt-piece-text">{escape(visible(piece.text))}</div>{trees}</div>')
    summary = (f'<div class="mt-summary">{len(replay.text):,} characters → {len(replay.pieces)} regex pieces → '
               f"{len(replay.merges)} merges → <b>{len(replay.ids)} tokens</b> ({escape(replay.encoding)}). "
               "Read each tree from the bytes at the bottom up; the number is the merge rank, which is also "
               "the token id.</div>")
    return f'<div class="merge-trees">{summary}<div class="mt-row">{"".join(pieces)}</div></div>'


def replay_rows(replay: Replay) -> list[list[object]]:
    """The merges in the order they happen: step, pair, result, rank."""
    return [[m.step, bytes_text(m.left), bytes_text(m.right), bytes_text(m.left + m.right), m.rank]
            for m in replay.merges]


def _box(title: str, component: str, body: str) -> str:
    return (f'<div class="stage"><div class="stage-head">{escape(title)} <code>{escape(component)}</code></div>'
            f'<div class="stage-body">{body}</div></div>')


def _pill(text: str, cls: str = "", title: str = "") -> str:
    attr = f' title="{escape(title, quote=True)}"' if title else ""
    return f'<span class="pill{(" " + cls) if cls else ""}"{attr}>{escape(visible(text))}</span>'


def stages_html(stages: Stages) -> str:
    normalized = _box("1. Normalizer", stages.normalizer, f'<span class="pill">{escape(visible(stages.normalized))}</span>')
    pieces = _box("2. Pre-tokenizer", stages.pre_tokenizer,
                  "".join(_pill(p, title=f"characters {a}–{b} of the normalized text") for p, (a, b) in stages.pieces))
    model = _box("3. Model", stages.model, "".join(
        '<span class="pill-group">' + "".join(_pill(tok, title=f"id {i}") for i, tok in tokens) + "</span>"
        for tokens in stages.model_tokens))
    final = _box("4. Post-processor", stages.post_processor, "".join(
        _pill(tok, "added" if added else "", f"id {i}" + (" · added by the post-processor" if added else ""))
        for i, tok, added in stages.final))
    return f'<div class="stages">{normalized}{pieces}{model}{final}</div>'
