"""The ONNX encoder: torch's vectors, a broken cached export replaced, torch kept on failure."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from askdef.index import onnx_encoder
from askdef.index.embedding import Embedder, _model_path, load_embedder
from askdef.index.onnx_encoder import OnnxTransformer, use_onnx
from askdef.settings import DEFAULT_EMBED_MODEL

TEXTS = [
    "When did the embargo end?",
    "",
    "Mitsubishi Heavy Industries and Leonardo signed a memorandum in Tokyo on 4 March 2025.",
    "word " * 400,  # longer than the model's 256 word pieces: truncated alike by both runtimes
]


def _model() -> SentenceTransformer:
    return SentenceTransformer(str(_model_path(DEFAULT_EMBED_MODEL)), device="cpu")


def test_onnx_embedder_returns_the_vectors_torch_returns(embedder: Embedder) -> None:
    assert isinstance(embedder.model._model[0].auto_model, OnnxTransformer)
    torch_embedder = load_embedder(DEFAULT_EMBED_MODEL)
    vectors = [
        np.array([*e.embed_documents(TEXTS), e.embed_query(TEXTS[0])])
        for e in (embedder, torch_embedder)
    ]
    assert np.abs(vectors[0] - vectors[1]).max() < 1e-5


def test_a_broken_cached_export_is_exported_again(tmp_path: Path) -> None:
    model = _model()
    expected = model.encode(TEXTS)
    folder = _model_path(DEFAULT_EMBED_MODEL)
    cached = tmp_path / f"{onnx_encoder._identity(folder)}.onnx"
    cached.write_bytes(b"half a file")

    assert use_onnx(model, folder, tmp_path)
    assert np.abs(model.encode(TEXTS) - expected).max() < 1e-5
    assert cached.stat().st_size > 1_000_000
    assert [p.name for p in tmp_path.glob("*.partial")] == []


def test_a_failed_export_keeps_torch_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(onnx_encoder, "_trace", fail)
    model = _model()
    expected = model.encode(TEXTS)
    with caplog.at_level(logging.WARNING):
        assert not use_onnx(model, _model_path(DEFAULT_EMBED_MODEL), tmp_path)
    assert "exporter broke" in caplog.text and "torch" in caplog.text
    assert not isinstance(model[0].auto_model, OnnxTransformer)
    assert np.abs(model.encode(TEXTS) - expected).max() < 1e-6
    assert list(tmp_path.glob("*.onnx")) == []
