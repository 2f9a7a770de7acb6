"""Embeddings: sentence neighbours and 2-D maps, word vectors, contextual and home-trained vectors.

Nothing here imports gradio. Heavy libraries (torch, sentence-transformers, gensim, umap,
scikit-learn, plotly) are imported inside the functions that need them.
"""
