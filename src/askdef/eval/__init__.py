"""Eval: scores answers against a question set and writes the report.

Owns question sets and their gold paragraphs, the metrics, the run and the report.
It drives any object with ``AskDef``'s ``search``/``ask`` (``evaluation.Bot``), so it never
imports ``askdef.api``; may import ``askdef.answer``, ``askdef.ingest``, ``askdef.index`` and
the shared modules.
"""
