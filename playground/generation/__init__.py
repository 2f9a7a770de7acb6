"""Text generation with a local causal language model, token by token (the Generate tab's backend).

`catalogue` lists the models, `models` loads and caches them, `engine` streams a generation with
each token's probability and top-5 alternatives, `snippet` writes the transformers code that
reproduces a generation. Nothing here imports gradio; torch and transformers load on first use.
"""
