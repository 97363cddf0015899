"""Run the embedding model's transformer from an ONNX export, in OpenVINO or onnxruntime.

On 2 cores (benchmarks/embedding_backends.py, SQuAD) torch embeds 21 paragraphs/s and one
question in 19 ms; onnxruntime 21/s and 7 ms with the same vectors; OpenVINO 45/s and 6 ms
(bfloat16 where the CPU has it: vectors within 0.002, dense nDCG@10 unchanged). sentence-
transformers' own ONNX and OpenVINO backends need optimum-onnx / optimum-intel, which require
transformers < 4.58 / < 5.6 (askdef runs 5.x), so askdef exports the model folder itself,
offline, once, into a cache, and keeps sentence-transformers' tokenizer, pooling and
normalisation around the exported graph.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Runtime = Literal["openvino", "onnx"]
Run = Callable[[dict[str, np.ndarray]], np.ndarray]  # inputs -> last hidden state

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts of unlike lengths (so padding too) that must embed as torch embeds them.
_PROBE = [
    "A short probe.",
    "A longer probe sentence, with punctuation, digits like 1,250 and a name: Ōsaka.",
    "Der dritte Satz ist deutsch; le quatrième mélange les langues.",
]
# Least cosine to torch's vector: onnxruntime's float32 gives 1 - 1e-7, OpenVINO's bfloat16
# 1 - 2e-5; a wrong graph (other weights, swapped inputs) gives well under 0.99.
_LEAST_COSINE = 0.999


class ExportedTransformer(torch.nn.Module):
    """A drop-in for a Hugging Face encoder's ``forward`` that runs the exported graph."""

    def __init__(self, run: Run, names: list[str], config: Any) -> None:
        super().__init__()
        self.run, self.names, self.config = run, names, config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutput

        given = {"input_ids": input_ids, "attention_mask": attention_mask, **kwargs}
        if given.get("token_type_ids") is None:
            given["token_type_ids"] = torch.zeros_like(input_ids)
        hidden = self.run({n: given[n].numpy().astype(np.int64) for n in self.names})
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


def use_exported(
    st: SentenceTransformer, model_dir: Path, cache_dir: Path, runtime: Runtime
) -> bool:
    """Swap ``st``'s transformer for its ONNX export run by ``runtime``; False (torch kept,
    the reason logged) if that cannot be done or does not embed as torch does.

    The export is cached under ``cache_dir`` by the model folder's identity; a cached file that
    does not load or does not embed as torch does is exported again once.
    """
    transformer: Any = st[0]
    encoder = getattr(transformer, "auto_model", None)
    if not isinstance(encoder, torch.nn.Module):
        log.warning("%s does not start with a transformer; embedding with torch.", model_dir)
        return False
    names = [n for n in _INPUTS if n in transformer.tokenizer.model_input_names]
    expected = st.encode(_PROBE, normalize_embeddings=True)
    path = cache_dir / f"{_identity(model_dir)}.onnx"
    exported = False
    while True:
        try:
            if not path.exists():
                exported = True
                _export(encoder, transformer.tokenizer, names, path)
            transformer.model = ExportedTransformer(_runner(path, runtime), names, encoder.config)
            actual = st.encode(_PROBE, normalize_embeddings=True)
            cosine = float((expected * actual).sum(axis=1).min())
            if cosine < _LEAST_COSINE:
                raise ValueError(f"its vectors differ from torch's (cosine {cosine:.4f})")
        except Exception as exc:  # any export or runtime failure keeps the torch encoder
            transformer.model = encoder
            if not exported:  # a stale or broken cached export: replace it once
                path.unlink(missing_ok=True)
                continue
            log.warning("%s encoder unavailable (%s); embedding with torch.", runtime, exc)
            return False
        return True


def _runner(path: Path, runtime: Runtime) -> Run:
    if runtime == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its notes about unused initialisers are noise here
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        return lambda feed: session.run(["last_hidden_state"], feed)[0]
    import openvino

    compiled = openvino.Core().compile_model(str(path), "CPU")
    local = threading.local()  # an infer request serves one call at a time: one per thread

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        if not hasattr(local, "request"):
            local.request = compiled.create_infer_request()
        return np.array(local.request.infer(feed)["last_hidden_state"])

    return run


def _identity(model_dir: Path) -> str:
    """A key for the folder's weights and config: their names, sizes and modification times."""
    digest = hashlib.sha256(str(model_dir.resolve()).encode())
    for file in sorted(model_dir.iterdir()):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(torch.__version__.encode())
    return digest.hexdigest()[:24]


def _export(encoder: torch.nn.Module, tokenizer: Any, names: list[str], path: Path) -> None:
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # two processes starting at once export once
        if path.exists():  # the other one did
            return
        sample = tokenizer(_PROBE, padding=True, return_tensors="pt")
        partial = path.with_suffix(f".{os.getpid()}.partial")
        try:
            with warnings.catch_warnings():  # tracer notes about BERT's Python branches
                warnings.simplefilter("ignore")
                _trace(encoder, names, sample, partial)
            os.replace(partial, path)  # readers never see a half-written file
        finally:
            partial.unlink(missing_ok=True)
            encoder.eval()  # the exporter leaves dropout on


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
