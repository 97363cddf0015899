"""One settings object for askdef; every field is described and can come from ``ASKDEF_*``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Bounds on what one corpus file may expand to. 5 million characters is ~2,500 pages of dense
# text, a few hundred times a typical report; a document bomb (a small .docx unzipping to a
# 400 MB part, a 30,000-page PDF) is skipped instead of holding the writer lock for minutes.
MAX_FILE_CHARS = 5_000_000
MAX_PDF_PAGES = 5_000

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
EmbedBackend = Literal["openvino", "onnx", "torch"]
GeneratorChoice = Literal["auto", "openai", "local", "extractive"]
# what --generator accepts (askdef ask, chat, eval, serve and app.py): Settings.generator's values
GENERATORS: tuple[str, ...] = get_args(GeneratorChoice)


def default_cache_dir() -> Path:
    """askdef's cache folder: ``$ASKDEF_CACHE_DIR``, else ``$XDG_CACHE_HOME/askdef``, else
    ``~/.cache/askdef``. Models live in its ``models/`` subfolder, exports in ``onnx/``."""
    explicit = os.environ.get("ASKDEF_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "askdef"


class Settings(BaseSettings):
    """askdef's settings. Environment variables ``ASKDEF_<FIELD>`` override the defaults."""

    model_config = SettingsConfigDict(env_prefix="ASKDEF_", frozen=True, extra="forbid")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to answer from.")
    index_dir: Path = Field(Path("index"), description="Folder of the derived index.")
    chroma_url: str = Field(
        "",
        description="Chroma server (e.g. http://chroma:8000) holding the index instead of the "
        "embedded store under index_dir; every replica pointed at it shares one index.",
    )
    chroma_token: str = Field(
        "", description="Token for a Chroma server with token auth (sent as a Bearer token)."
    )
    chroma_tenant: str = Field("default_tenant", description="Chroma tenant of the index.")
    chroma_database: str = Field(
        "default_database",
        description="Chroma database of the index; one per askdef deployment sharing a server.",
    )
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="Sentence-transformers model: the packaged default, or a local model folder.",
    )
    embed_backend: EmbedBackend = Field(
        "openvino",
        description="Runtime of the embedding model. openvino (2x torch's indexing speed, "
        "bfloat16 where the CPU has it) and onnx (torch's exact vectors) run an ONNX export made "
        "once into cache_dir; askdef keeps torch when that fails.",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Folder for files askdef derives from its packaged models: the local LLM's "
        "assembled weights and the embedding model's ONNX export.",
    )
    chunk_size: int = Field(
        256, ge=32, description="Most word pieces a chunk embeds, its section line included."
    )
    chunk_overlap: int = Field(
        32, ge=0, description="Word pieces shared by neighbouring chunks of a long paragraph."
    )
    top_k: int = Field(5, ge=1, le=100, description="Passages returned by search by default.")
    candidates: int = Field(
        40, ge=1, description="Chunks each retriever (dense, BM25) hands to fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    rerank_pool: int = Field(
        10,
        ge=0,
        le=100,
        description="Fused passages re-ordered by their best sentence's relevance to the "
        "question before the best k are returned (0 keeps the fusion order).",
    )
    max_file_chars: int = Field(
        MAX_FILE_CHARS,
        ge=1,
        description="Corpus files whose text is longer than this many characters are skipped "
        "(with the reason) rather than indexed.",
    )
    max_pdf_pages: int = Field(
        MAX_PDF_PAGES,
        ge=1,
        description="PDFs with more pages are skipped (with the reason) before their text is read.",
    )
    max_question_chars: int = Field(
        2000, ge=1, description="Longer questions are refused with a message."
    )
    max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="HTTP request bodies over this many bytes are refused (413) as they are read.",
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a client has to send a request's whole body; a slower one is refused "
        "(408) and its connection closed, so a trickle of bytes cannot hold it open.",
    )
    cors_origins: tuple[str, ...] = Field(
        (),
        description="Origins (scheme://host:port) whose web pages may call this server from a "
        'browser, JSON list in ASKDEF_CORS_ORIGINS, e.g. ["https://intranet.example"]; other '
        "origins are refused.",
    )
    allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Host names the server may be reached under besides its address, localhost "
        'and any IP address, JSON list in ASKDEF_ALLOWED_HOSTS, e.g. ["askdef.intranet.example"] '
        '(any port; ["*"] turns the check off, for a proxy that checks Host itself); requests '
        "naming another host are refused (421), which stops DNS rebinding.",
    )

    generator: GeneratorChoice = Field(
        "auto",
        description="Who writes answers. auto: openai when OPENAI_BASE_URL or OPENAI_API_KEY is "
        "set, else the local model when installed, else extractive.",
    )
    model: str = Field(
        "gpt-4o-mini", description="Model name sent to the OpenAI-compatible server."
    )
    local_model: str = Field(
        "", description="A .gguf file for the local generator (default: the packaged Qwen 1.5B)."
    )
    local_threads: int | None = Field(
        None, ge=1, description="CPU threads for the local model (default: all cores)."
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the LLM server's next bytes before failing."
    )
    llm_retries: int = Field(
        2, ge=0, description="Retries of a failed LLM request (429, 5xx, connection errors)."
    )
    answer_deadline: float = Field(
        180.0, gt=0, description="Longest one answer may take; then the extractive one is shown."
    )
    max_answer_tokens: int = Field(300, ge=16, description="Most tokens an LLM answer may use.")
    answer_sentences: int = Field(
        3, ge=1, description="Most sentences an LLM answer may use; it is stopped after them."
    )
    context_passages: int = Field(
        5, ge=1, le=20, description="Retrieved paragraphs given to the generator."
    )
    context_sentences: int = Field(
        5,
        ge=1,
        description="The best sentences of those paragraphs that an LLM reads (reading the prompt "
        "is most of a local model's time to its first token).",
    )
    judge: Literal["auto", "trained", "cascade", "openai", "local", "none"] = Field(
        "auto",
        description="Who judges whether a cited paragraph states an answer's sentence that is not "
        "its word-for-word copy, and whether an answer's quotes answer the question. trained: "
        "askdef's own trained model (milliseconds, packaged). cascade: that model, with the "
        "sentences it cannot decide sent to the LLM. local and openai: the LLM asked yes/no "
        "(seconds). auto: cascade for an LLM generator, trained for the extractive one. none: "
        "only word-for-word copies are shown.",
    )
    entailment_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Least probability of 'yes' from the judge for a paragraph to back a "
        "sentence (default: the one tuned with the judge).",
    )
    answer_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Least probability of 'yes' from the judge that an answer's quotes answer "
        "the question asked (not a neighbouring fact); below it the answer is refused "
        "(default: the one tuned with the judge).",
    )
    fallback: bool = Field(
        True,
        description="Answer extractively when the LLM fails, or refuses while a retrieved "
        "sentence fits the question (the answer says so).",
    )

    examples: tuple[str, ...] = Field(
        (), description="Example questions the web chat offers (JSON list in ASKDEF_EXAMPLES)."
    )

    def index_shape(self) -> dict[str, Any]:
        """The settings an index depends on; an index built with others must be rebuilt."""
        return {
            "embed_model": self.embed_model,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
        }
