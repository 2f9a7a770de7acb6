"""Tokenizer lab: train tokenizers, replay real merges, the token tax and a vocabulary explorer.

Backend only: every module here returns plain data (dataclasses, lists, dicts) and knows
nothing of Gradio; `playground/lab/render.py` and `plots.py` draw, `playground/ui/lab.py` wires.
"""
