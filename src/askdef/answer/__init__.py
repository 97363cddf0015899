"""Answer: from a question and its passages to a verified, cited ``Answer``.

Owns the generators (extractive, local llama.cpp, OpenAI-compatible), their prompts, claim
parsing, citation verification and entailment, and the answer steps run after generation
(``steps.STEPS``, run by ``pipeline.stream_answer``).
May import ``askdef.index`` (the embedder and the corpus vocabulary) and the shared modules.
"""
