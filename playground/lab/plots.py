"""Plotly figures for the Tokenizer lab: the compression curve and the token-tax chart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playground.lab.tax import TaxRow
from playground.lab.train import CurvePoint

COLOURS = {"BPE": "#0969da", "WordPiece": "#cf222e", "Unigram": "#1a7f37"}


def compression_figure(points: Sequence[CurvePoint]) -> Any:  # a plotly Figure (plotly is untyped)
    import plotly.graph_objects as go

    fig = go.Figure()
    for algorithm in dict.fromkeys(p.algorithm for p in points):
        mine = [p for p in points if p.algorithm == algorithm]
        fig.add_scatter(
            x=[p.vocab_size for p in mine], y=[p.chars_per_token for p in mine], name=algorithm,
            mode="lines+markers", marker={"size": 9, "color": COLOURS.get(algorithm)},
            hovertemplate="%{x:,} tokens in the vocabulary<br>%{y:.2f} characters per token<extra>" + algorithm + "</extra>",
        )
    short = [p for p in points if p.vocab_size < p.asked]
    stopped = sorted({p.vocab_size for p in short})
    where = f"{stopped[0]:,}" if len(stopped) == 1 else f"{stopped[0]:,}–{stopped[-1]:,}"
    title = (f"Some trainings stopped below the size asked, at {where} tokens: the text has too few distinct "
             "pieces for more. Train on more text (e.g. an example corpus)." if short else "")
    fig.update_layout(
        height=380, margin={"l": 50, "r": 20, "t": 70 if title else 40, "b": 50},
        legend={"orientation": "h", "y": 1.12}, title={"text": title, "font": {"size": 13, "color": "#9a6700"}},
        xaxis={"title": "vocabulary size (what the trainer produced)", "type": "log"},
        yaxis={"title": "characters per token (held-out text)"},
    )
    return fig


def tax_figure(rows: Sequence[TaxRow]) -> Any:
    """Premium over English per language, one bar group per tokenizer."""
    import plotly.graph_objects as go

    fig = go.Figure()
    languages = list(dict.fromkeys(r.language for r in rows))
    for tokenizer in dict.fromkeys(r.tokenizer for r in rows):
        by_lang = {r.language: r for r in rows if r.tokenizer == tokenizer}
        fig.add_bar(
            x=languages, y=[by_lang[lang].premium if lang in by_lang else None for lang in languages], name=tokenizer,
            customdata=[by_lang[lang].tokens if lang in by_lang else None for lang in languages],
            hovertemplate="%{x}: %{y:.2f}× English (%{customdata} tokens)<extra>" + tokenizer + "</extra>",
        )
    fig.add_hline(y=1.0, line_dash="dot", line_color="#57606a")
    # The axis is sized by the data, with headroom, and the legend sits above the plot area: a
    # legend laid over the top of the plot (or plotly's tight autorange) hid the tallest bar's top.
    # The top margin leaves the page's label for the chart (top left) clear of the legend: about
    # three long tokenizer names fit in a legend row.
    tallest = max((r.premium for r in rows), default=1.0)
    legend_rows = -(-len(dict.fromkeys(r.tokenizer for r in rows)) // 3)
    fig.update_layout(
        height=420 + 22 * legend_rows, barmode="group", margin={"l": 50, "r": 20, "t": 36 + 22 * legend_rows, "b": 100},
        legend={"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        yaxis={"title": "tokens, × the English sentence", "range": [0, max(tallest, 1.0) * 1.08]},
        xaxis={"tickangle": -35},
    )
    return fig
