"""The exported encoder: torch's vectors from OpenVINO and onnxruntime, a broken cached export
replaced, torch kept when the export fails."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from askdef.index import exported_encoder
from askdef.index.embedding import Embedder, _model_path, load_embedder
from askdef.index.exported_encoder import ExportedTransformer, use_exported
from askdef.settings import DEFAULT_EMBED_MODEL

TEXTS = [
    "When did the embargo end?",
    "",
    "Mitsubishi Heavy Industries and Leonardo signed a memorandum in Tokyo on 4 March 2025.",
    "word " * 400,  # longer than the model's 256 word pieces: truncated alike by every runtime
]


def _model() -> SentenceTransformer:
    return SentenceTransformer(str(_model_path(DEFAULT_EMBED_MODEL)), device="cpu")


def _vectors(embedder: Embedder) -> np.ndarray:
    return np.array([*embedder.embed_documents(TEXTS), embedder.embed_query(TEXTS[0])])


def test_the_default_embedder_runs_the_export_and_embeds_as_torch_does(
    embedder: Embedder,
) -> None:
    assert isinstance(embedder.model._model[0].auto_model, ExportedTransformer)
    cosines = (_vectors(embedder) * _vectors(load_embedder(DEFAULT_EMBED_MODEL))).sum(axis=1)
    assert cosines.min() > 0.999


def test_onnxruntime_gives_torchs_exact_vectors(tmp_path: Path) -> None:
    onnx = load_embedder(DEFAULT_EMBED_MODEL, "onnx", tmp_path)
    assert isinstance(onnx.model._model[0].auto_model, ExportedTransformer)
    assert np.abs(_vectors(onnx) - _vectors(load_embedder(DEFAULT_EMBED_MODEL))).max() < 1e-5


def test_a_broken_cached_export_is_exported_again(tmp_path: Path) -> None:
    model = _model()
    expected = model.encode(TEXTS)
    folder = _model_path(DEFAULT_EMBED_MODEL)
    cached = tmp_path / f"{exported_encoder._identity(folder)}.onnx"
    cached.write_bytes(b"half a file")

    assert use_exported(model, folder, tmp_path, "onnx")
    assert np.abs(model.encode(TEXTS) - expected).max() < 1e-5
    assert cached.stat().st_size > 1_000_000
    assert [p.name for p in tmp_path.glob("*.partial")] == []


def test_a_failed_export_keeps_torch_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(exported_encoder, "_trace", fail)
    model = _model()
    expected = model.encode(TEXTS)
    with caplog.at_level(logging.WARNING):
        assert not use_exported(model, _model_path(DEFAULT_EMBED_MODEL), tmp_path, "openvino")
    assert "exporter broke" in caplog.text and "torch" in caplog.text
    assert not isinstance(model[0].auto_model, ExportedTransformer)
    assert np.abs(model.encode(TEXTS) - expected).max() < 1e-6
    assert list(tmp_path.glob("*.onnx")) == []
