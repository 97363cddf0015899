"""Fault injection on real indexes: each part damaged (truncated, deleted, garbage, zero bytes),
then what search, ``/api/health`` and ``askdef index`` make of it; and a full disk."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from askdef import AskDef, Settings
from askdef.cli import main as cli_main
from askdef.errors import DiskFullError, IndexCorruptError
from askdef.index.store import IndexDir
from askdef.serve.http_api import create_api
from askdef.serve.streaming import Gate
from askdef.serve.web import ensure_index

PROJECT = Path(__file__).resolve().parents[1]
Fault = Callable[[Path], None]  # damages the live generation folder


def _segment(gen: Path) -> Path:
    """The HNSW segment folder of the generation's Chroma store."""
    return next(p for p in (gen / "chroma").iterdir() if p.is_dir())


def _truncate(path: Path, size: int = 0) -> None:
    os.truncate(path, size)


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(max(64, _size(path)))))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# name -> (the part that is damaged, the fault); "current" is the pointer, not a part
FAULTS: dict[str, tuple[str, Fault]] = {
    "manifest truncated": ("manifest", lambda g: _truncate(g / "manifest.json", 20)),
    "manifest garbage": ("manifest", lambda g: _garbage(g / "manifest.json")),
    "manifest deleted": ("manifest", lambda g: (g / "manifest.json").unlink()),
    "documents deleted": ("documents", lambda g: (g / "docs.json").unlink()),
    "documents garbage": ("documents", lambda g: _garbage(g / "docs.json")),
    "chunk list deleted": ("chunks", lambda g: (g / "chunks.jsonl").unlink()),
    "chunk list truncated": ("chunks", lambda g: _truncate(g / "chunks.jsonl", 300)),
    "chunk list zero bytes": ("chunks", lambda g: _truncate(g / "chunks.jsonl")),
    "chroma.sqlite3 truncated": (
        "dense",
        lambda g: _truncate(g / "chroma" / "chroma.sqlite3", 8192),
    ),
    "chroma.sqlite3 deleted": ("dense", lambda g: (g / "chroma" / "chroma.sqlite3").unlink()),
    "chroma.sqlite3 zero bytes": ("dense", lambda g: _truncate(g / "chroma" / "chroma.sqlite3")),
    "bm25 folder deleted": ("bm25", lambda g: shutil.rmtree(g / "bm25")),
    "bm25 vocabulary garbage": ("bm25", lambda g: _garbage(g / "bm25" / "vocab.index.json")),
    "bm25 data zero bytes": ("bm25", lambda g: _truncate(g / "bm25" / "data.csc.index.npy")),
    "CURRENT garbage": ("current", lambda g: (g.parent / "CURRENT").write_text("gen-\x00zz")),
    "CURRENT not UTF-8": ("current", lambda g: (g.parent / "CURRENT").write_bytes(b"\x00\xff")),
}
# Chroma keeps a small collection in its log, so HNSW files matter from ~1,000 vectors on.
HNSW_FAULTS: dict[str, tuple[str, Fault]] = {
    "HNSW folder deleted": ("dense", lambda g: shutil.rmtree(_segment(g))),
    "HNSW data truncated": ("dense", lambda g: _truncate(_segment(g) / "data_level0.bin", 100)),
    "HNSW header garbage": ("dense", lambda g: _garbage(_segment(g) / "header.bin")),
}
QUESTION = "Which European companies are involved in Japan's F-X fighter program?"
LARGE_QUESTION = "alpha bravo number 3-4"


def _settings(root: Path, corpus: Path) -> Settings:
    return Settings(
        corpus_dir=corpus, index_dir=root / "index", generator="extractive", judge="none"
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """The bundled corpus, indexed (45 chunks)."""
    root = tmp_path_factory.mktemp("small")
    shutil.copytree(PROJECT / "corpus", root / "corpus")
    AskDef(settings=_settings(root, root / "corpus")).ingest()
    return root


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """1,320 generated paragraphs, indexed: enough that Chroma writes its HNSW files."""
    root = tmp_path_factory.mktemp("large")
    (root / "corpus").mkdir()
    rng = random.Random(1)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    for f in range(12):
        paragraphs = [
            " ".join(rng.choice(words) for _ in range(12)).capitalize() + f" number {f}-{i}."
            for i in range(110)
        ]
        (root / "corpus" / f"doc{f}.txt").write_text("\n\n".join(paragraphs))
    AskDef(settings=_settings(root, root / "corpus")).ingest()
    return root


def _damaged_copy(built: Path, tmp_path: Path, fault: Fault) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(built, root)
    fault(IndexDir(root / "index").require_current())
    return root


def _check_fault(
    built: Path,
    tmp_path: Path,
    part: str,
    fault: Fault,
    question: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = [p.ref for p in AskDef(settings=_settings(built, built / "corpus")).search(question)]
    root = _damaged_copy(built, tmp_path, fault)
    settings = _settings(root, root / "corpus")
    bot = AskDef(settings=settings)
    with pytest.raises(IndexCorruptError, match="askdef index") as raised:  # never a partial search
        bot.search(question)
    if part != "current":
        assert part in raised.value.problems, raised.value
    with TestClient(create_api(AskDef(settings=settings), gate=Gate(1, 1))) as http:
        health = http.get("/api/health")
    assert health.status_code == 503 and health.json()["status"] == "error"
    if part != "current":
        assert health.json()["parts"][part] != "ok"
    code = cli_main(["--corpus", str(root / "corpus"), "--index", str(root / "index"), "index"])
    err = capsys.readouterr().err
    assert code == 0 and "the index was damaged" in err and "rebuilt it" in err, err
    repaired = AskDef(settings=settings)
    assert [p.ref for p in repaired.search(question)] == expected
    assert (
        cli_main(
            ["--corpus", str(root / "corpus"), "--index", str(root / "index"), "index", "--check"]
        )
        == 0
    )
    again = cli_main(["--corpus", str(root / "corpus"), "--index", str(root / "index"), "index"])
    out, err = capsys.readouterr()
    assert again == 0 and "unchanged" in out and "damaged" not in err  # repaired for good
    assert len(list((root / "index").glob("gen-*"))) == 1  # and the damaged one is gone


@pytest.mark.parametrize("name", FAULTS)
def test_each_damaged_part_is_named_reported_and_repaired(
    name: str, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part, fault = FAULTS[name]
    _check_fault(small, tmp_path, part, fault, QUESTION, capsys)


@pytest.mark.parametrize("name", HNSW_FAULTS)
def test_damaged_vector_index_files_are_found_too(
    name: str, large: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part, fault = HNSW_FAULTS[name]
    _check_fault(large, tmp_path, part, fault, LARGE_QUESTION, capsys)


def test_check_alone_reports_damage_with_exit_1(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _damaged_copy(small, tmp_path, FAULTS["bm25 folder deleted"][1])
    code = cli_main(
        ["--corpus", str(root / "corpus"), "--index", str(root / "index"), "index", "--check"]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("askdef: The index is damaged") and "bm25:" in err
    assert "Traceback" not in err


def test_rebuild_replaces_an_unreadable_pointer(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _damaged_copy(small, tmp_path, FAULTS["CURRENT not UTF-8"][1])
    where = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    assert cli_main([*where, "search", "F-X"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CURRENT is unreadable" in err and "askdef index" in err
    assert cli_main([*where, "index", "--rebuild"]) == 0
    assert AskDef(settings=_settings(root, root / "corpus")).search(QUESTION)


# --------------------------------------------------------------------------- a full disk


@contextmanager
def small_disk(path: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` at ``path`` (needs root); the test is skipped where it cannot."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({mounted.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_leaves_the_live_index_readable_and_says_how_much_was_needed(
    small: Path, tmp_path: Path
) -> None:
    live_kb = sum(f.stat().st_size for f in (small / "index").rglob("*") if f.is_file()) // 1024
    with small_disk(tmp_path / "disk", live_kb + 400) as disk:
        shutil.copytree(small / "index", disk / "index")
        corpus = Path(shutil.copytree(small / "corpus", tmp_path / "corpus"))
        settings = Settings(corpus_dir=corpus, index_dir=disk / "index", generator="extractive")
        bot = AskDef(settings=settings)
        before = [p.ref for p in bot.search(QUESTION)]
        (corpus / "new.txt").write_text("A new document about Japan's defense exports.\n")
        with pytest.raises(DiskFullError, match=r"is full \(\d+\.\d MB free\).*copy of the live"):
            bot.ingest()
        assert list((disk / "index").glob("gen-*")) == [IndexDir(disk / "index").require_current()]
        assert [p.ref for p in AskDef(settings=settings).search(QUESTION)] == before


def test_a_first_index_on_a_full_disk_is_one_message(tmp_path: Path, embedder: object) -> None:
    with small_disk(tmp_path / "disk", 64) as disk:
        corpus = Path(shutil.copytree(PROJECT / "corpus", tmp_path / "corpus"))
        bot = AskDef(settings=Settings(corpus_dir=corpus, index_dir=disk / "index"))
        with pytest.raises(DiskFullError, match="is full"):
            bot.ingest()
        assert not list((disk / "index").glob("gen-*"))


# --------------------------------------------------------------------------- read-only


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def _serves(index: Path, corpus: Path) -> None:
    """Search, an answer and a healthy ``/api/health`` from the index at ``index``."""
    bot = AskDef(settings=Settings(corpus_dir=corpus, index_dir=index, generator="extractive"))
    ensure_index(bot)  # what `askdef serve` does first: nothing, as an index exists
    assert bot.search(QUESTION) and not bot.ask(QUESTION).refused
    with TestClient(create_api(bot, gate=Gate(1, 1))) as http:
        assert http.get("/api/health").json()["status"] == "ok"


def test_readers_never_write_the_index(small: Path, tmp_path: Path) -> None:
    index = Path(shutil.copytree(small / "index", tmp_path / "index"))
    before = _hashes(index)
    _serves(index, small / "corpus")
    assert _hashes(index) == before


def test_a_read_only_index_is_served(small: Path, tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    bound = subprocess.run(
        ["mount", "--bind", str(small / "index"), str(mount)], capture_output=True, text=True
    )
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount the index read-only ({bound.stderr.strip()})")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
        with pytest.raises(OSError):
            (mount / "probe").write_text("x")  # it really is read-only
        _serves(mount, small / "corpus")
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextmanager
def _read_only(folder: Path) -> Iterator[Path]:
    """``folder`` bound read-only at another path; skips where mounting is not allowed."""
    mount = folder.parent / f"{folder.name}-ro"
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(mount)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only ({bound.stderr.decode().strip()})")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextmanager
def _lock_is_a_folder(index: Path) -> Iterator[Path]:
    """An index whose writer's lock cannot be opened, even by root (tests run as root in CI,
    where a chmod stops nothing)."""
    (index / ".lock").mkdir()
    yield index


@pytest.mark.parametrize("unwritable", [_read_only, _lock_is_a_folder], ids=["read-only", "lock"])
def test_indexing_an_unwritable_index_says_so_in_one_line(
    unwritable: Callable[[Path], Any],
    small: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index = Path(shutil.copytree(small / "index", tmp_path / "index"))
    (index / ".lock").unlink(missing_ok=True)
    with unwritable(index) as target:
        code = cli_main(["--corpus", str(small / "corpus"), "--index", str(target), "index"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"askdef: Cannot write the index in {target}") and "writable" in err
