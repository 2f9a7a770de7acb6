"""Plotly figures for the Inside-the-model tab. They only draw: every number comes in computed."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.inside.architecture import Arch

if TYPE_CHECKING:
    from playground.inside.capacity import Row
    from playground.inside.forward import Lens

MARGIN = {"l": 10, "r": 10, "t": 60, "b": 10}
TRACES = ("heatmap", "bar", "scatter")  # the trace types drawn here
UNUSED = ("geo", "polar", "scene", "ternary")  # layout parts of a template that no figure here has
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf")


@functools.cache
def _template() -> Any:
    """plotly_white with only what these figures use: a figure validates its template when it gets one, and the
    whole plotly_white (defaults for 24 trace types, maps, polar and 3-D axes) takes 8–9 ms per figure, this 3 ms.
    The figures look the same."""
    import plotly.graph_objects as go
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    layout = {key: value for key, value in white.layout.to_plotly_json().items() if key not in UNUSED}
    return go.layout.Template(layout=layout, data={kind: white.data[kind] for kind in TRACES})


def layout() -> dict[str, Any]:
    """What every figure here shares: margins and the template."""
    return {"margin": MARGIN, "template": _template()}


VALIDATE = False  # see _figure


def _figure(data: Any = None, start: dict[str, Any] | None = None) -> Any:
    """A figure that skips plotly's check and coercion of every property given to it afterwards: half of each
    figure's time here (3–4 ms; its traces are still checked when made). The view's figures are written in plotly's
    coerced form already (titles as {"text": …}), and tests/test_inside.py builds each one both ways (VALIDATE True
    and False) and compares the JSON."""
    import plotly.graph_objects as go

    return go.Figure(data, start, _validate=VALIDATE)


def _text(text: str) -> dict[str, str]:
    return {"text": text}


def ticks(labels: Sequence[str]) -> list[str]:
    """Numbered labels: the same token twice must stay two rows on a categorical axis."""
    return [f"{i} {t if len(t) <= 14 else t[:13] + '…'}" for i, t in enumerate(labels)]


def attention_heatmap(weights: np.ndarray, labels: Sequence[str], title: str) -> Any:
    """(n, n) weights: row = the token doing the looking, column = the token looked at."""
    import plotly.graph_objects as go

    n = len(labels)
    z = np.where(np.tril(np.ones((n, n), dtype=bool)), weights, np.nan)  # the future is masked: blank
    names = ticks(labels)
    fig = _figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", zmin=0, zmax=float(np.nanmax(z)) or 1,
                             colorbar={"title": _text("weight")},
                             hovertemplate="%{y} looks at %{x}<br>weight %{z:.3f}<extra></extra>"))
    side = min(900, max(420, 14 * n + 180))
    fig.update_layout(title=_text(title), height=side, xaxis={"tickangle": -60, "title": _text("looked at (key)")},
                      yaxis={"autorange": "reversed", "title": _text("looking (query)")}, **layout())
    return fig


def looks_at(weights: np.ndarray, labels: Sequence[str], index: int, title: str) -> Any:
    """One row of the attention matrix as bars: where token `index` puts its attention."""
    import plotly.graph_objects as go

    row = weights[index, : index + 1]
    names = ticks(labels[: index + 1])
    colours = ["#d62728" if i == index else "#1f77b4" for i in range(index + 1)]
    fig = _figure(go.Bar(x=names, y=row, marker_color=colours, hovertemplate="%{x}<br>weight %{y:.3f}<extra></extra>"))
    fig.update_layout(title=_text(title), height=360, yaxis={"title": _text("attention weight"), "range": [0, 1]},
                      xaxis={"tickangle": -60}, **layout())
    return fig


LENS_METRICS = {  # name in the UI: (Lens field, colour scale)
    "probability of the top guess": ("top_probs", "Viridis"),
    "entropy (bits)": ("entropy_bits", "Magma_r"),
    "rank of the final choice": ("chosen_rank", "Cividis_r"),
}


LENS_WINDOW = 20  # positions per lens view: wider and the guessed text in the cells is unreadable


def _cell(text: str) -> str:
    return text if len(text) <= 9 else text[:8] + "…"


def lens_heatmap(lens: Lens, labels: Sequence[str], metric: str, title: str, start: int = 0) -> Any:
    """Layers (rows, embeddings at the bottom) × LENS_WINDOW positions from `start`; each cell shows that
    layer's top guess."""
    import plotly.graph_objects as go

    field, scale = LENS_METRICS[metric]
    cols = slice(max(0, start), max(0, start) + LENS_WINDOW)
    z = getattr(lens, field)[:, cols].astype(float)
    if field == "chosen_rank":
        z = np.log10(1 + z)  # ranks span 0 … vocabulary size: colour by order of magnitude
    names = ticks(labels)[cols]
    top = [[_cell(t) for t in row[cols]] for row in lens.top_labels]
    chosen = np.array(lens.chosen_labels, dtype=object)[cols]
    custom = np.dstack([lens.top_probs[:, cols], lens.entropy_bits[:, cols], lens.chosen_rank[:, cols],
                        np.broadcast_to(chosen, z.shape)])
    fig = _figure(go.Heatmap(
        z=z, x=names, y=lens.layer_names, text=top, texttemplate="%{text}", textfont={"size": 10},
        colorscale=scale, customdata=custom,
        colorbar={"title": _text("log10(1 + rank)" if field == "chosen_rank" else metric.split(" (")[0])},
        hovertemplate=("after %{y}, at %{x}<br>top guess <b>%{text}</b> p=%{customdata[0]:.3f}<br>"
                       "entropy %{customdata[1]:.2f} bits<br>final choice %{customdata[3]} has rank %{customdata[2]}"
                       "<extra></extra>")))
    fig.update_layout(title=_text(title), height=max(420, 19 * len(lens.layer_names) + 200),
                      xaxis={"tickangle": -60, "title": _text("position (each cell guesses the NEXT token)"),
                             "side": "bottom"},
                      yaxis={"title": _text("read out after")}, **layout())
    return fig


def rope_frequencies(inv_freq: np.ndarray, title: str) -> Any:
    import plotly.graph_objects as go

    wavelength = 2 * np.pi / inv_freq
    fig = _figure(go.Scatter(x=np.arange(len(inv_freq)), y=wavelength, mode="lines+markers",
                             hovertemplate="pair %{x}: one full turn every %{y:,.1f} tokens<extra></extra>"))
    fig.update_layout(title=_text(title), height=340, xaxis={"title": _text("dimension pair")},
                      yaxis={"title": _text("tokens per full rotation"), "type": "log"}, **layout())
    return fig


def _two_panels(titles: tuple[str, str], x_titles: tuple[str, str], y_titles: tuple[str, str]) -> dict[str, Any]:
    """The layout of plotly's make_subplots(rows=1, cols=2, subplot_titles=titles), written out with the axis titles:
    make_subplots takes 8 ms per figure (it builds and deep-copies a grid spec). The right panel's traces go on x2/y2
    (tested: the same figure)."""
    def axis(anchor: str, domain: list[float], text: str) -> dict[str, Any]:
        return {"anchor": anchor, "domain": domain, "title": {"text": text}}

    def heading(text: str, x: float) -> dict[str, Any]:
        return {"font": {"size": 16}, "showarrow": False, "text": text, "x": x, "xanchor": "center", "xref": "paper",
                "y": 1.0, "yanchor": "bottom", "yref": "paper"}

    return {"xaxis": axis("y", [0.0, 0.45], x_titles[0]), "yaxis": axis("x", [0.0, 1.0], y_titles[0]),
            "xaxis2": axis("y2", [0.55, 1.0], x_titles[1]), "yaxis2": axis("x2", [0.0, 1.0], y_titles[1]),
            "annotations": [heading(titles[0], 0.225), heading(titles[1], 0.775)]}


def rope_scores(offsets: np.ndarray, start: np.ndarray, later: np.ndarray, later_at: int, cosine: np.ndarray,
                token: str, title: str) -> Any:
    """Score q·k/√d against the distance, for a pair starting at 0 and the same pair shifted."""
    import plotly.graph_objects as go

    panels = _two_panels((f"score of “{token}” attending to “{token}” d tokens back",
                          f"the query of “{token}” at position p vs at 0"),
                         ("distance d (tokens)", "position p"), ("q·k / √d", "cosine"))
    fig = _figure([
        go.Scatter(x=offsets, y=start, name="query at d, key at 0", line={"width": 4, "color": "#9ecae1"},
                   xaxis="x", yaxis="y"),
        go.Scatter(x=offsets, y=later, name=f"query at {later_at}+d, key at {later_at}",
                   line={"width": 1.5, "color": "#d62728", "dash": "dot"}, xaxis="x", yaxis="y"),
        go.Scatter(x=np.arange(len(cosine)), y=cosine, name="cosine(q at p, q at 0)", line={"color": "#2ca02c"},
                   xaxis="x2", yaxis="y2")], panels)
    fig.update_layout(title=_text(title), height=380, legend={"orientation": "h", "y": -0.25}, **layout())
    return fig


def position_similarity(similarity: np.ndarray, title: str) -> Any:
    import plotly.graph_objects as go

    fig = _figure(go.Heatmap(z=similarity, colorscale="RdBu", reversescale=True, zmin=-1, zmax=1,
                             hovertemplate="position %{y} vs %{x}: cosine %{z:.2f}<extra></extra>"))
    fig.update_layout(title=_text(title), height=520, xaxis={"title": _text("position")},
                      yaxis={"title": _text("position"), "autorange": "reversed"}, **layout())
    return fig


def memory_plot(rows: Sequence[Row], target_name: str, target_bytes: float, users: int) -> Any:
    """Weights + KV caches against context length, one line per model, × where memory runs out."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, row in enumerate(rows):
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=row.contexts, y=row.total_bytes / 1e9, name=row.label, line={"color": colour},
                                 hovertemplate=f"{row.label}<br>%{{x:,}} tokens: %{{y:.2f}} GB<extra></extra>"))
        if row.fits_tokens is not None and row.fits_tokens < row.arch.context:
            fig.add_trace(go.Scatter(x=[max(row.fits_tokens, 1)], y=[target_bytes / 1e9], mode="markers",
                                     marker={"symbol": "x", "size": 14, "color": colour}, showlegend=False,
                                     hovertemplate=f"{row.label} runs out at {row.fits_tokens:,} tokens<extra></extra>"))
    right = max(int(r.contexts[-1]) for r in rows) if rows else 1
    # A trace, not add_hline: on a log axis plotly places a line annotation at 10^y and stretches the axis.
    fig.add_trace(go.Scatter(x=[1, right], y=[target_bytes / 1e9] * 2, mode="lines", name=target_name,
                             line={"dash": "dash", "color": "#444"}, hoverinfo="skip"))
    low = min([float(r.total_bytes.min()) for r in rows] + [target_bytes]) / 1e9
    high = max([float(r.total_bytes.max()) for r in rows] + [target_bytes]) / 1e9
    who = "one conversation" if users == 1 else f"{users} conversations at once"
    fig.update_layout(title=f"Memory for {who}: weights + KV cache, up to each context window",
                      height=460, xaxis={"title": "context length (tokens)", "type": "log", "dtick": 1},
                      # dtick 1: a label at every power of ten only (plotly's 2 and 5 in between read as values)
                      yaxis={"title": "GB", "type": "log", "dtick": 1,
                             "range": [np.log10(low * 0.7), np.log10(high * 1.5)]},
                      **layout())
    return fig


def compute_plot(arch: Arch, label: str, contexts: Sequence[int], measured_s: Sequence[float] | None, where: str) -> Any:
    """Theoretical FLOPs per new token, and the measured time per token on this machine."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    xs = np.unique(np.geomspace(1, arch.context, 60).astype(np.int64))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=xs, y=[arch.flops_per_token(int(n)) / 1e9 for n in xs], name="GFLOPs per token (formula)",
                             line={"color": "#1f77b4"}), secondary_y=False)
    if measured_s:
        fig.add_trace(go.Scatter(x=list(contexts), y=[s * 1000 for s in measured_s], name=f"ms per token ({where})",
                                 mode="lines+markers", line={"color": "#d62728"}), secondary_y=True)
    fig.update_xaxes(title_text="context length (tokens)", type="log", dtick=1)
    fig.update_yaxes(title_text="GFLOPs per new token", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="measured ms per token", secondary_y=True, rangemode="tozero")
    fig.update_layout(title=f"Compute per new token: {label}", height=400, legend={"orientation": "h", "y": -0.2},
                      **layout())
    return fig
