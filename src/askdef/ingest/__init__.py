"""Ingest: corpus files → documents → paragraphs → chunks, embedded and written to the index.

Owns reading files (text, HTML, Word, PDF), cleaning them into numbered paragraphs, chunking,
and the incremental build that swaps a new index generation in (``pipeline.ingest``).
May import ``askdef.index`` and the shared modules (types, errors, settings, text).
"""
