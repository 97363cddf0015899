"""Run the embedding model's transformer in onnxruntime instead of torch.

The same graph gives the same vectors (checked on every load) in a third of torch's time for
one question, the cost that dominates a search. sentence-transformers' own ONNX backend needs
``optimum-onnx``, which requires transformers < 4.58 (askdef runs 5.x), so askdef exports the
packaged model folder itself, offline, once, into a cache, and keeps sentence-transformers'
tokenizer, pooling and normalisation around it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts of unlike lengths (padding included) on which ONNX must match torch before it is used.
_PROBE = (
    "A short probe.",
    "A longer probe sentence, with punctuation, digits like 1,250 and a name: Ōsaka.",
)
_TOLERANCE = 1e-4  # largest difference of a hidden state; float32 graphs differ by ~1e-6


class OnnxTransformer(torch.nn.Module):
    """A drop-in for a Hugging Face encoder's ``forward`` that runs an ONNX session."""

    def __init__(self, session: onnxruntime.InferenceSession, config: Any) -> None:
        super().__init__()
        self.session = session
        self.config = config
        self._names = {i.name for i in session.get_inputs()}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutput

        feed = {"input_ids": input_ids, "attention_mask": attention_mask, **kwargs}
        if "token_type_ids" in self._names and feed.get("token_type_ids") is None:
            feed["token_type_ids"] = torch.zeros_like(input_ids)
        arrays = {n: feed[n].numpy().astype(np.int64) for n in self._names}
        (hidden,) = self.session.run(["last_hidden_state"], arrays)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


def use_onnx(st: SentenceTransformer, model_dir: Path, cache_dir: Path) -> bool:
    """Swap ``st``'s transformer for its ONNX export; False (torch kept) if that cannot be done.

    The export is cached under ``cache_dir`` by the model folder's identity; a cached file that
    does not load or does not match torch on the probe texts is exported again once.
    """
    transformer: Any = st[0]
    encoder = getattr(transformer, "auto_model", None)
    if not isinstance(encoder, torch.nn.Module):
        log.warning("%s does not start with a transformer; embedding with torch.", model_dir)
        return False
    path = cache_dir / f"{_identity(model_dir)}.onnx"
    exported = False
    while True:
        try:
            if not path.exists():
                exported = True
                _export(encoder, transformer.tokenizer, path)
            session = _session(path)
            difference = _difference(encoder, session, transformer.tokenizer)
            if difference > _TOLERANCE:
                raise ValueError(f"its output differs from torch's by {difference:.2g}")
        except Exception as exc:  # any export or runtime failure keeps the torch encoder
            if not exported:  # a stale or broken cached export: replace it once
                path.unlink(missing_ok=True)
                continue
            log.warning("ONNX encoder unavailable (%s); embedding with torch.", exc)
            return False
        transformer.model = OnnxTransformer(session, encoder.config)
        return True


def _identity(model_dir: Path) -> str:
    """A key for the folder's weights and config: their names, sizes and modification times."""
    digest = hashlib.sha256(str(model_dir.resolve()).encode())
    for file in sorted(model_dir.iterdir()):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(torch.__version__.encode())
    return digest.hexdigest()[:24]


def _export(encoder: torch.nn.Module, tokenizer: Any, path: Path) -> None:
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # two processes starting at once export once
        if path.exists() and _loads(path):
            return
        names = [n for n in _INPUTS if n in tokenizer.model_input_names]
        sample = tokenizer(list(_PROBE), padding=True, return_tensors="pt")
        partial = path.with_suffix(f".{os.getpid()}.partial")
        try:
            with warnings.catch_warnings():  # tracer notes about BERT's Python branches
                warnings.simplefilter("ignore")
                _trace(encoder, names, sample, partial)
            os.replace(partial, path)  # readers never see a half-written file
        finally:
            partial.unlink(missing_ok=True)


def _trace(encoder: torch.nn.Module, names: list[str], sample: Any, path: Path) -> None:
    torch.onnx.export(
        _Positional(encoder, names),
        tuple(sample[n] for n in names),
        str(path),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-likes
        external_data=False,
    )


class _Positional(torch.nn.Module):
    """The encoder with positional inputs and one output, the shape the exporter traces."""

    def __init__(self, encoder: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.encoder, self.names = encoder, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.encoder(**dict(zip(self.names, inputs, strict=True))).last_hidden_state


def _session(path: Path) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings about unused initialisers are noise here
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _loads(path: Path) -> bool:
    try:
        _session(path)
    except Exception:
        return False
    return True


def _difference(
    encoder: torch.nn.Module, session: onnxruntime.InferenceSession, tokenizer: Any
) -> float:
    sample = tokenizer(list(_PROBE), padding=True, return_tensors="pt")
    encoder.eval()  # the exporter leaves dropout on; sentence-transformers resets it per call
    with torch.inference_mode():
        expected = encoder(**sample).last_hidden_state.numpy()
    actual = OnnxTransformer(session, None)(**sample).last_hidden_state.numpy()
    mask = sample["attention_mask"].numpy()[..., None].astype(bool)
    return float(np.abs(np.where(mask, expected - actual, 0)).max())
