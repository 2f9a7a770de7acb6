"""The LLM Tokens & Embeddings Playground backend.

Everything under `playground/` except `playground/ui/` is plain Python: it returns data
(dataclasses, numpy arrays, lists) and raises `playground.errors.PlaygroundError`, so it can be
tested and benchmarked without a server. Only `playground/ui/` imports gradio.
"""
