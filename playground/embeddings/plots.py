"""Plotly figures. These functions only draw: every number comes in already computed."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported lazily at run time: plotly takes a while to import
    from plotly.graph_objects import Figure

QUERY_COLOUR = "#d62728"
# Distinct label colours, none of them the query's red.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
LINE_COLOUR = "rgba(214, 39, 40, 0.35)"


def _hover(text: str, width: int = 60) -> str:
    short = text if len(text) <= 300 else text[:297] + "…"
    return "<br>".join(textwrap.wrap(short, width)) or " "


def sentence_map(coords: np.ndarray, texts: Sequence[str], labels: Sequence[str] | None, query: str,
                 query_xy: np.ndarray, neighbours: Sequence[tuple[int, float]], method: str) -> Figure:
    """The corpus on a 2-D map, the query as a star, lines from it to its (full-space) neighbours."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, score in neighbours:
        fig.add_trace(go.Scatter(x=[query_xy[0], coords[i, 0]], y=[query_xy[1], coords[i, 1]], mode="lines",
                                 line={"color": LINE_COLOUR, "width": 1 + 3 * max(score, 0)},
                                 hoverinfo="skip", showlegend=False))
    rank = {i: (r + 1, s) for r, (i, s) in enumerate(neighbours)}
    groups = sorted(set(labels)) if labels else [None]
    for number, group in enumerate(groups):
        idx = [i for i in range(len(texts)) if labels is None or labels[i] == group]
        hover = [_hover(texts[i]) + (f"<br><b>neighbour #{rank[i][0]}</b>, cosine {rank[i][1]:.3f}" if i in rank else "")
                 for i in idx]
        fig.add_trace(go.Scatter(
            x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=group or "texts",
            marker={"color": PALETTE[number % len(PALETTE)],
                    "size": [12 if i in rank else 8 for i in idx], "line": {"width": [2 if i in rank else 0 for i in idx],
                                                                          "color": QUERY_COLOUR}},
            text=hover, hovertemplate="%{text}<extra></extra>", showlegend=labels is not None,
        ))
    fig.add_trace(go.Scatter(x=[query_xy[0]], y=[query_xy[1]], mode="markers+text", name="query",
                             marker={"symbol": "star", "size": 18, "color": QUERY_COLOUR},
                             text=["query"], textposition="top center", hovertext=[_hover(query)],
                             hovertemplate="<b>query</b><br>%{hovertext}<extra></extra>"))
    fig.update_layout(title=f"{method} map of the corpus (lines: the query's nearest neighbours, found in the full space)",
                      height=520, margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"title": "label"},
                      xaxis={"showticklabels": False, "title": f"{method} 1"},
                      yaxis={"showticklabels": False, "title": f"{method} 2"})
    return fig


def heatmap(matrix: np.ndarray, labels: Sequence[str], title: str, zmin: float = -1.0, zmax: float = 1.0) -> Figure:
    import plotly.graph_objects as go

    short = [t if len(t) <= 40 else t[:39] + "…" for t in labels]
    # Duplicate short labels would merge on a categorical axis: number them.
    ticks = [f"{i + 1}. {t}" for i, t in enumerate(short)]
    fig = go.Figure(go.Heatmap(z=np.round(matrix, 3), x=[str(i + 1) for i in range(len(labels))], y=ticks, zmin=zmin, zmax=zmax, colorscale="RdBu",
                               reversescale=True, hovertemplate="%{y}<br>with text %{x}<br>cosine %{z:.3f}<extra></extra>",
                               texttemplate="%{z:.2f}" if len(labels) <= 12 else None))
    fig.update_layout(title=title, height=max(360, 26 * len(labels) + 160), margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      yaxis={"autorange": "reversed"})
    return fig


def word_map(coords: np.ndarray, words: Sequence[str], method: str, highlight: Sequence[str] = ()) -> Figure:
    import plotly.graph_objects as go

    colours = [QUERY_COLOUR if w in set(highlight) else "#1f77b4" for w in words]
    fig = go.Figure(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers+text", text=list(words),
                               textposition="top center", marker={"size": 9, "color": colours},
                               hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(title=f"{method} map of the chosen words", height=480, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      xaxis={"showticklabels": False}, yaxis={"showticklabels": False})
    return fig
