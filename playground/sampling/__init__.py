"""The Sampling tab's backend: the sampling pipeline at each step, branches, side-by-side runs.

No Gradio here: `runs` and `side` return plain data (`tree.Branch`, `side.SlotResult`), and
`render` turns it into HTML for `playground/ui/sampling.py`.
"""
