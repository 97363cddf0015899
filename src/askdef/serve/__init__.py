"""Serve: askdef over HTTP — the Gradio chat, the JSON API, the OpenAI-compatible API.

Owns rendering answers and sources to safe HTML, streaming, sign-in and request limits.
May import ``askdef.api`` (the ``AskDef`` it serves) and everything below it.
"""
