"""Index: the stored corpus and search over it.

Owns the embedder, the index generations on disk or on a Chroma server (dense vectors,
sentence vectors, BM25, manifest), their integrity checks and hybrid retrieval.
May import only the shared modules (types, errors, settings, text).
"""
