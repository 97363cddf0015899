"""Shared fixtures: the real packaged embedder (loaded once) and a built index of the corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from askdef import AskDef
from askdef.index.embedding import Embedder, load_embedder
from askdef.settings import DEFAULT_EMBED_MODEL, Settings

# Answers in tests are verified by askdef's trained judge and written by the extractive
# generator: fast and the same on every run. The 1.5B LLM (which "auto" picks when installed,
# 1.6 GB as soon as a bot or server resolves its generator) runs only in the tests marked llm,
# which name it.
os.environ["ASKDEF_JUDGE"] = "trained"
os.environ["ASKDEF_GENERATOR"] = "extractive"

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "corpus"
HANDBOOK = PROJECT / "eval" / "corpora" / "handbook"  # a made-up HR handbook, for conversations


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    settings = Settings()  # the backend a user gets, so the tests exercise it
    return load_embedder(DEFAULT_EMBED_MODEL, settings.embed_backend, settings.cache_dir)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may edit."""
    return Path(shutil.copytree(CORPUS, tmp_path / "corpus"))


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AskDef:
    """The bundled corpus, indexed once for the read-only tests."""
    root = tmp_path_factory.mktemp("indexed")
    bot = AskDef(corpus_dir=shutil.copytree(CORPUS, root / "corpus"), index_dir=root / "index")
    bot.ingest()
    return bot


@pytest.fixture(scope="session")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AskDef:
    """The made-up HR handbook of ``eval/conversations.jsonl`` (read where it is, so that the
    conversation set's corpus is this one), indexed once, answered by the extractive
    generator."""
    root = tmp_path_factory.mktemp("handbook")
    corpus = HANDBOOK
    bot = AskDef(
        settings=Settings(corpus_dir=corpus, index_dir=root / "index", generator="extractive")
    )
    bot.ingest()
    return bot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``llm`` run the packaged 1.5B model: skipped, with the reason and the
    install command, where it is not installed."""
    from askdef.answer.local_llm import runtime_available
    from askdef.answer.packaged_weights import install_hint

    if runtime_available():
        return
    skip = pytest.mark.skip(reason=f"the packaged local LLM is not installed: {install_hint()}")
    for item in items:
        if "llm" in item.keywords:
            item.add_marker(skip)
