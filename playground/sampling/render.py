"""HTML for the Sampling tab: clickable token chips, the pipeline at one step, the branch tree,
two branches side by side and the side-by-side slots. Plain strings, escaped here once; CSS in
`assets/style.css` (the `.smp` rules).

Generated tokens are drawn by the app's chip renderer (`playground.render.render_chips`): their
bytes are joined into one text and each token's span comes from its byte length, so a character
split over two tokens shows as one group, exactly as in the Tokens tab.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from playground.generation.view import generated_html
from playground.sampling.pipeline import Candidate, Stage, StepView
from playground.sampling.server import ServerBranch
from playground.sampling.side import SlotResult, word_diff
from playground.sampling.tree import Branch, Tree
from playground.tokenization.encoded import Encoded, char_offsets_from_byte_lengths
from playground.tokenization.render import render_chips
from playground.tokenization.visible import byte_segments, visible

STAGE_HELP = {
    "raw": "the model's logits turned into probabilities (softmax)",
    "repetition penalty": "tokens already in the text: positive logits divided, negative multiplied by the penalty",
    "temperature": "logits divided by T: below 1 sharpens, above 1 flattens",
    "top-k": "only the k most likely tokens stay",
    "top-p": "the smallest set of most likely tokens whose mass reaches p stays",
    "min-p": "tokens below min-p × the top token's probability are removed",
    "final": "the distribution the token is drawn from",
}


def _piece(data: bytes) -> str:
    html = "".join(f'<span class="hex">{escape(part)}</span>' if kind == "hex" else escape(visible(part))
                   for kind, part in byte_segments(data))
    return html or "∅"


def encoded_tokens(view: Any, ids: Sequence[int]) -> Encoded:
    """Generated ids as an `Encoded` (text and per-token spans) for the chip renderer."""
    pieces = view.token_bytes(list(ids))
    joined = b"".join(pieces)
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    special = np.array([i in view.special_ids for i in ids], dtype=bool)
    try:
        text = joined.decode("utf-8")
        starts, ends = char_offsets_from_byte_lengths(text, lengths) if len(ids) else (lengths, lengths)
    except UnicodeDecodeError:  # cut mid-character (or bytes a hot sampler strung together): token by token
        texts = [p.decode("utf-8", errors="replace") for p in pieces]
        ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
        starts = ends - np.array([len(t) for t in texts], dtype=np.int64)
        text = "".join(texts)
    return Encoded(text, np.array(list(ids), dtype=np.int64), starts, ends, special)


def branch_chips(branch: Branch, view: Any, limit: int) -> str:
    """The branch's tokens, one chip each; clicking a chip shows that step (see ui/sampling.py)."""
    if not branch.steps:
        return '<div class="empty">The sampled tokens appear here; click one to see how it was drawn.</div>'
    titles = []
    for i, s in enumerate(branch.steps):
        how = "picked by you" if s.forced else "drawn"
        inherited = f" · shared with {branch.parent}" if branch.split is not None and i < branch.split else ""
        titles.append(f"step {i} · {how} · p = {s.token_prob:.1%} after the sampling settings · model p = "
                      f"{s.model_prob:.1%}{inherited}")
    head = (f'<div class="smp-head">Branch <b>{escape(branch.id)}</b> · {escape(branch.config.label())} · seed '
            f'{branch.seed} · click a token to see its step</div>')
    return head + render_chips(view, encoded_tokens(view, branch.tokens), limit=limit, extra_title=titles)


def _rows(cands: Sequence[Candidate], view: Any, chosen: int, cls: str = "") -> str:
    datas = view.token_bytes([c.id for c in cands])
    out = []
    for c, data in zip(cands, datas, strict=True):
        mark = " chosen" if c.id == chosen else ""
        out.append(f'<tr class="{cls}{mark}"><td class="smp-t">{_piece(data)}</td><td>{c.id}</td>'
                   f'<td><span class="smp-bar" style="width:{max(1.0, c.prob * 36):.0f}px"></span>{c.prob:.1%}</td></tr>')
    return "".join(out)


def _stage_card(n: int, stage: Stage, view: Any, chosen: int) -> str:
    off = "" if stage.applied else " off"
    state = "" if stage.applied else ' <span class="smp-off">not applied</span>'
    facts = (f"{stage.kept:,} tokens possible · mass kept {stage.mass_left:.1%} · entropy "
             f"{stage.entropy_bits:.2f} bits")
    removed = (f'<tr><th colspan="3">removed by this stage</th></tr>{_rows(stage.removed, view, chosen, "gone")}'
               if stage.removed else "")
    return (f'<div class="smp-stage{off}" title="{escape(STAGE_HELP.get(stage.name, ""), quote=True)}">'
            f'<div class="smp-name">{n}. {escape(stage.name)} <code>{escape(stage.setting)}</code>{state}</div>'
            f'<div class="smp-facts">{facts}</div>'
            f'<table class="smp-cands">{_rows(stage.top, view, chosen)}{removed}</table></div>')


def step_html(branch: Branch, index: int, view: Any) -> str:
    """Every stage of one step, in generate's order, and the token that came out."""
    step: StepView = branch.step(index)
    data = view.token_bytes([step.token])[0]
    how = ("picked by you (a branch point)" if step.forced else
           "drawn at random from the final distribution" if branch.config.do_sample else "the most likely (greedy)")
    head = (f'<div class="smp-head">Branch <b>{escape(branch.id)}</b>, step <b>{index}</b>: '
            f'<span class="smp-token">{_piece(data)}</span> (id {step.token}) — {how}; '
            f"p = {step.token_prob:.2%} after the settings, {step.model_prob:.2%} under the model alone.</div>")
    cards = "".join(_stage_card(n + 1, s, view, step.token) for n, s in enumerate(step.stages))
    return f'<div class="smp">{head}<div class="smp-stages">{cards}</div></div>'


def _ppl(branch: Any) -> str:
    ppl = branch.perplexity
    return "—" if ppl is None or math.isinf(ppl) else f"{ppl:.2f}"


def tree_html(tree: Tree[Any], current: str | None) -> str:
    """The session's branches (local ones, or a serving engine's: the same fields)."""
    if not tree.branches:
        return '<div class="empty">Runs and branches of this session are listed here.</div>'
    rows = []
    for b in tree.branches.values():
        if b.parent is None:
            origin = "run"
        else:
            gone = "" if b.parent in tree.branches else " (dropped)"
            origin = f"from {escape(b.parent)}{gone} at step {b.split}"
        text = escape(b.text[:160]) + ("…" if len(b.text) > 160 else "")
        mark = ' class="current"' if b.id == current else ""
        rows.append(f"<tr{mark}><td><b>{escape(b.id)}</b></td><td>{origin}</td><td>{len(b.steps)}</td>"
                    f"<td>{b.log_prob:.2f}</td><td>{_ppl(b)}</td><td class=\"smp-text\">{text}</td></tr>")
    head = ("<tr><th>branch</th><th>split off</th><th>tokens</th><th>total log-prob</th><th>perplexity</th>"
            "<th>text</th></tr>")
    return f'<table class="smp-tree">{head}{"".join(rows)}</table>'


def server_chips(branch: ServerBranch, limit: int) -> str:
    """A server branch's tokens as the Generate tab draws them (hover: the server's top-5); click one to branch."""
    if not branch.steps:
        return (f'<div class="empty">{escape(branch.server or "The server")} sent no tokens with logprobs for '
                f"{escape(branch.id)} (see the notes): there is nothing to branch from.</div>")
    head = (f'<div class="smp-head">Branch <b>{escape(branch.id)}</b> on {escape(branch.server)} · '
            f"{escape(branch.model)} · click a token to branch from it</div>")
    return head + generated_html(branch.steps, branch.tokens, by_probability=True, limit=limit)


def _diff_html(base: str, other: str) -> str:
    return "".join(f'<span class="smp-diff">{escape(w)}</span>' if changed else escape(w)
                   for w, changed in word_diff(base, other))


def compare_html(a: Branch, b: Branch) -> str:
    """Two branches next to each other; the words of the second that differ from the first are marked."""
    def card(br: Branch, body: str) -> str:
        return (f'<div class="smp-slot"><div class="smp-name">{escape(br.id)} · {len(br.steps)} tokens · log-prob '
                f"{br.log_prob:.2f} · perplexity {_ppl(br)}</div><div class=\"smp-out\">{body}</div></div>")

    return f'<div class="smp-slots">{card(a, escape(a.text))}{card(b, _diff_html(a.text, b.text))}</div>'


def slots_html(results: Sequence[SlotResult]) -> str:
    """The side-by-side slots; every slot after the first marks the words that differ from slot 1."""
    if not results:
        return '<div class="empty">Pick a preset or fill the slots, then press Run side by side.</div>'
    base = results[0].text
    cards = []
    for n, r in enumerate(results):
        body = escape(r.text) if n == 0 else _diff_html(base, r.text)
        state = "" if r.done else " …"
        cards.append(f'<div class="smp-slot"><div class="smp-name">slot {n + 1}: {escape(r.label)}{state}</div>'
                     f'<div class="smp-out">{body}</div></div>')
    return f'<div class="smp-slots">{"".join(cards)}</div>'
