"""Inside the model: attention, the logit lens, positions and capacity, as plain data.

`architecture` holds the few config numbers of every catalogue model (shipped, with their
source, for Hub-only models offline); `inspect` runs one eager-attention forward pass and
turns it into attention weights and a layer-by-layer lens; `positions` shows how the model
knows order; `capacity` prices each token in memory and compute. `plots` only draws.
Nothing here imports gradio.
"""
