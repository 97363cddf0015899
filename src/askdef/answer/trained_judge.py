"""askdef's own judge: a cross-encoder trained by askdef (``training/train_judge.py``) that
scores whether a premise states a claim, or answers a question, in milliseconds.

The model is all-MiniLM-L6-v2 fine-tuned on public data as a binary classifier over the pair
(premise, claim) or (premise, question); its card is ``judge_model/README.md``. It ships with
the package as ONNX and runs in onnxruntime with the ``tokenizers`` library: no torch, no
network, and the same score for the same pair on every run.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdef.errors import ModelError

if TYPE_CHECKING:
    from askdef.answer.entailment import Judge

MODEL_DIR = Path(__file__).with_name("judge_model")


@dataclass(frozen=True)
class JudgeCard:
    """What ``judge_model/judge.json`` says of the model: its version, the files it runs from
    and the thresholds tuned with it."""

    version: str
    model_file: str
    max_tokens: int
    entailed: float
    answered: float
    band: tuple[float, float]  # support scores left to an LLM in a cascade


def read_card(folder: Path = MODEL_DIR) -> JudgeCard:
    """The model's card; ``ModelError`` when the folder lacks it."""
    try:
        raw = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
        fields = {k: raw[k] for k in JudgeCard.__dataclass_fields__}
        return JudgeCard(**{**fields, "band": tuple(fields["band"])})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"askdef's judge model is missing or damaged in {folder} ({exc}); reinstall askdef, "
            "or retrain it with `make judge`."
        ) from exc


class TrainedJudge:
    """The trained cross-encoder as a ``Judge``. The model loads on first use (a few hundred
    milliseconds); one instance serves many threads."""

    def __init__(self, folder: Path = MODEL_DIR, *, threads: int = 1) -> None:
        self.card = read_card(folder)
        self.name = f"askdef-judge {self.card.version}"
        self.entailed = self.card.entailed
        self.answered = self.card.answered
        self.band = Band(*self.card.band)
        self._folder = folder
        self._threads = threads
        self._lock = threading.Lock()

    def entailment(self, premise: str, claim: str) -> float:
        return self.score(premise, claim)

    def answers(self, premise: str, question: str) -> float:
        return self.score(premise, question)

    def score(self, premise: str, second: str) -> float:
        """P(yes) for one pair: ``premise`` states ``second`` (a claim) or answers it (a
        question)."""
        return self.scores([(premise, second)])[0]

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        """P(yes) for each pair, in one batch."""
        if not pairs:
            return []
        import numpy as np

        tokenizer, session = self._runtime
        with self._lock:  # the tokenizer's padding setting is shared state
            encoded = tokenizer.encode_batch(pairs)
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        logits = session.run(["logits"], feed)[0][:, 0]
        return [1.0 / (1.0 + math.exp(-float(x))) for x in logits]

    @functools.cached_property
    def _runtime(self) -> tuple[Any, Any]:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(
                str(self._folder / self.card.model_file),
                options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"askdef's judge model in {self._folder} could not be loaded ({exc}); reinstall "
                "askdef, or retrain it with `make judge`."
            ) from exc
        # As in training: the longer text (the premise, nearly always) gives way first.
        tokenizer.enable_truncation(self.card.max_tokens, strategy="longest_first")
        tokenizer.enable_padding()
        return tokenizer, session


def on_own_scale(p: float, threshold: float) -> float:
    """``p`` mapped so that ``threshold`` sits at 0.5, keeping order on each side: scores of
    judges tuned to different thresholds become comparable."""
    if p >= threshold:
        return 0.5 + 0.5 * (p - threshold) / (1.0 - threshold) if threshold < 1.0 else 1.0
    return 0.5 * p / threshold if threshold > 0.0 else 0.0


@dataclass(frozen=True)
class Band:
    """Trained-judge scores of a sentence's support that it does not decide alone."""

    low: float
    high: float


class CascadeJudge:
    """The trained judge first; a sentence whose support it scores inside ``band`` goes to the
    LLM judge ``second``, which decides it. Whether quotes answer the question is the trained
    judge's alone (it ranks answers better than the LLM: docs/answers.md). Scores are on one
    scale, each judge's threshold at 0.5."""

    entailed = 0.5

    def __init__(self, first: TrainedJudge, second: Judge, band: Band) -> None:
        self.name = f"{first.name} + {second.name} LLM"
        self.answered = first.answered
        self.first = first
        self.second = second
        self.band = band
        self.asked_second = 0  # pairs the trained judge left to the LLM

    def entailment(self, premise: str, claim: str) -> float:
        p = self.first.entailment(premise, claim)
        if self.band.low <= p <= self.band.high:
            self.asked_second += 1
            return on_own_scale(self.second.entailment(premise, claim), self.second.entailed)
        return on_own_scale(p, self.first.entailed)

    def answers(self, premise: str, question: str) -> float:
        return self.first.answers(premise, question)
