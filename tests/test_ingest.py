"""Ingest into a real on-disk Chroma store with the real packaged embedder."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from askdef import AskDef, Settings
from askdef.errors import (
    CorpusNotFoundError,
    EmptyCorpusError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
)
from askdef.index.store import IndexDir
from askdef.index.vectors import open_reader, open_vector_store
from askdef.ingest.loading import corpus_files
from askdef.serve.web import build_app

ARTICLE = "european-defense-industry-japan-potential.txt"


def _index_command(corpus: Path, index: Path) -> list[str]:
    """``askdef index`` on these folders, as a user runs it."""
    folders = ["--corpus", str(corpus), "--index", str(index)]
    return [sys.executable, "-m", "askdef.cli", *folders, "index"]


def _signalled_while_embedding(command: list[str], sent: signal.Signals) -> tuple[int, str]:
    """Run ``command`` with its stderr on a terminal, where a user sees the progress bar, and
    send it ``sent`` once the bar shows the first texts embedded: mid-build, whatever the
    machine's speed. Returns its exit code and all it wrote there."""
    import fcntl
    import pty
    import struct
    import termios

    terminal, its_end = pty.openpty()
    # a terminal 24 lines by 100 columns: at the size of 0 a new one has, tqdm draws nothing
    fcntl.ioctl(its_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    writer = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=its_end,
        # as from a terminal: a child inherits an ignored SIGINT, and some library in this
        # process (the suite's servers and browsers) may have set it so by now
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(its_end)
    shown, signalled = "", False
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the writer is gone and so is its end of the terminal
            break
        if not chunk:
            break
        shown += chunk.decode(errors="replace")
        bars = re.findall(r"\| *(\d+)/(\d+) ", shown)  # "| 64/6123 "
        if not signalled and bars and 0 < int(bars[-1][0]) < int(bars[-1][1]):
            writer.send_signal(sent)  # mid-build: a finished bar is too late to interrupt
            signalled = True
    os.close(terminal)
    assert signalled, f"the bar never showed a build under way: {shown}"
    return writer.wait(), shown


def _stored_ids(bot: AskDef) -> list[str]:
    gen = IndexDir(bot.settings.index_dir).require_current()
    return open_reader(gen).client.get()["ids"]


def test_first_ingest_indexes_every_paragraph(corpus: Path, tmp_path: Path, embedder) -> None:
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = bot.ingest()
    assert sorted(report.added) == sorted(p.name for p in corpus.iterdir())
    ids = _stored_ids(bot)
    assert len(ids) == len(set(ids)) == report.chunks == report.embedded
    manifest = json.loads(
        (IndexDir(tmp_path / "index").require_current() / "manifest.json").read_text()
    )
    assert manifest["embed_model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert set(manifest["files"]) == set(report.added)
    original = (corpus / ARTICLE).read_text(encoding="utf-8")
    for n in range(1, 22):
        p = bot.paragraph(ARTICLE, n)
        assert original[p.start : p.end] == p.text


def test_reingest_is_incremental(corpus: Path, tmp_path: Path, embedder) -> None:
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = bot.ingest()
    before = sorted(_stored_ids(bot))

    again = bot.ingest()
    assert (again.added, again.updated, again.removed, again.embedded) == ([], [], [], 0)
    assert sorted(_stored_ids(bot)) == before

    path = corpus / ARTICLE
    path.write_text(
        path.read_text(encoding="utf-8") + "\nA new closing paragraph was added.\n",
        encoding="utf-8",
    )
    (corpus / "japan-europe-defense-ties-global-security.txt").unlink()
    (corpus / "extra.md").write_text("# Extra\n\nAn extra note about fusion reactors.\n")
    changed = bot.ingest()
    assert changed.updated == [ARTICLE]
    assert changed.removed == ["japan-europe-defense-ties-global-security.txt"]
    assert changed.added == ["extra.md"]
    ids = _stored_ids(bot)
    assert len(ids) == len(set(ids)) == changed.chunks
    assert not any(i.startswith("japan-europe") for i in ids)
    assert changed.embedded < first.embedded  # only the changed files were embedded
    assert bot.search("fusion reactors", k=1)[0].doc_id == "extra.md"
    assert bot.search("new closing paragraph", k=1)[0].text == "A new closing paragraph was added."


def test_other_settings_need_a_rebuild(corpus: Path, tmp_path: Path, embedder) -> None:
    AskDef(corpus_dir=corpus, index_dir=tmp_path / "index").ingest()
    other = AskDef(
        settings=Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chunk_size=128)
    )
    with pytest.raises(IndexMismatchError, match=r"chunk_size.*askdef index --rebuild"):
        other.search("Japan")
    with pytest.raises(IndexMismatchError):
        other.ingest()
    assert other.ingest(rebuild=True).embedded > 0
    assert other.search("Japan", k=1)


def test_corrupt_manifest_and_missing_index(corpus: Path, tmp_path: Path, embedder) -> None:
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    with pytest.raises(IndexMissingError, match="askdef index"):
        bot.search("Japan")
    bot.ingest()
    manifest = IndexDir(tmp_path / "index").require_current() / "manifest.json"
    manifest.write_text("{not json")
    fresh = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    with pytest.raises(IndexCorruptError, match="run `askdef index` to repair it"):
        fresh.search("Japan")
    assert "manifest" in (fresh.ingest().repaired or "")
    assert fresh.search("Japan", k=1)


def test_bad_corpus_files_are_skipped_not_fatal(corpus: Path, tmp_path: Path, embedder) -> None:
    (corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    (corpus / "image.png").write_bytes(b"\x89PNG")
    report = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index").ingest()
    reasons = {s.doc_id: s.reason for s in report.skipped}
    assert "binary" in reasons["photo.txt"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert reasons["image.png"].startswith("unsupported file type (.png): askdef reads")
    assert len(report.added) == 2


def test_a_file_of_another_type_is_reported_like_an_unreadable_one(
    corpus: Path, tmp_path: Path, embedder
) -> None:
    """A new user's folder: a spreadsheet and an OpenDocument text beside the articles, plus
    hidden files (not corpus files: never listed)."""
    (corpus / "budget.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    (corpus / "minutes.odt").write_bytes(b"PK\x03\x04 an OpenDocument text")
    (corpus / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "config").write_text("[core]\n")
    index = tmp_path / "index"
    run = subprocess.run(_index_command(corpus, index), capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    for name, suffix in (("budget.xlsx", ".xlsx"), ("minutes.odt", ".odt")):
        assert f"skipped {name}: unsupported file type ({suffix}): askdef reads .txt, .md, " in (
            run.stderr
        )
    assert "convert it to one of those" in run.stderr and ".pdf" in run.stderr
    assert ".DS_Store" not in run.stderr and ".git" not in run.stderr
    assert "added 2" in run.stdout

    from askdef.serve.chat import answer_turn

    settings = Settings(corpus_dir=corpus, index_dir=index, generator="extractive", judge="none")
    bot = AskDef(settings=settings)
    assert bot.unindexed() == ["budget.xlsx", "minutes.odt"]
    *_, last = answer_turn(bot, "What does the budget spreadsheet say?", None, None)
    assert "2 corpus files not indexed" in last.status


def test_links_out_of_the_corpus_are_skipped_and_never_served(corpus: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text("The vault code is 4417 and nobody may know it.\n")
    (outside / "folder" / "notes.txt").write_text("The vault code is 4417, notes say.\n")
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "outside").symlink_to(outside / "folder", target_is_directory=True)
    (corpus / ".drafts").mkdir()
    (corpus / ".drafts" / "draft.txt").write_text("Drafts are linked in on purpose.\n")
    (corpus / "drafts").symlink_to(".drafts", target_is_directory=True)  # stays inside: fine
    (corpus / "latest.txt").symlink_to(ARTICLE)  # inside, and indexed once as ARTICLE
    (corpus / "archive").mkdir()
    (corpus / "archive" / "again").symlink_to("..", target_is_directory=True)  # a loop
    index = tmp_path / "index"
    run = subprocess.run(
        _index_command(corpus, index),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 3, run.stderr
    real = outside.resolve()
    assert (
        f"skipped passwd.txt: is a link to a file outside the corpus folder "
        f"({real / 'secret.txt'}); not indexed"
    ) in run.stderr
    assert (
        f"skipped outside: is a link to a folder outside the corpus folder ({real / 'folder'}); "
        "nothing under it is indexed"
    ) in run.stderr
    assert run.stderr.count("skipped ") == 2, run.stderr

    bot = AskDef(settings=Settings(corpus_dir=corpus, index_dir=index, generator="extractive"))
    originals = sorted(p.name for p in corpus.iterdir() if p.is_file() and not p.is_symlink())
    assert bot.documents() == sorted([*originals, "drafts/draft.txt"])
    for doc_id in bot.documents():
        assert not any("4417" in p.text for p in bot.document(doc_id))
    api = TestClient(build_app(bot), base_url="http://localhost")
    for doc_id in ("passwd.txt", "outside/notes.txt"):
        assert api.get(f"/api/documents/{doc_id}").status_code == 404


def test_hard_links_to_files_outside_the_corpus_are_skipped_and_never_served(
    corpus: Path, tmp_path: Path, embedder
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is 4417 and nobody may know it.\n")
    os.link(outside / "secret.txt", corpus / "notes.txt")  # a name in the corpus, one outside
    os.link(corpus / ARTICLE, corpus / "copy.txt")  # both names inside: indexed under each
    bot = AskDef(settings=Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    report = bot.ingest()
    assert [(s.doc_id, s.reason) for s in report.skipped] == [
        (
            "notes.txt",
            "is a hard link to a file with 1 other name(s) outside the corpus folder (or hidden "
            "in it); not indexed: copy the file into the corpus instead of linking it",
        )
    ]
    assert "copy.txt" in bot.documents() and "notes.txt" not in bot.documents()
    assert "notes.txt" in bot.unindexed()
    api = TestClient(build_app(bot), base_url="http://localhost")
    assert api.get("/api/documents/notes.txt").status_code == 404
    assert not any("4417" in p.text for p in bot.search("vault code"))


def test_indexed_file_replaced_by_a_link_out_of_the_corpus_leaves_the_index(
    corpus: Path, tmp_path: Path, embedder
) -> None:
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    bot.ingest()
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 4417 and nobody may know it.\n")
    (corpus / ARTICLE).unlink()
    (corpus / ARTICLE).symlink_to(secret)
    report = bot.ingest()
    assert report.removed == [ARTICLE] and not report.updated
    ((skipped_id, reason),) = [(s.doc_id, s.reason) for s in report.skipped]
    assert skipped_id == ARTICLE and "outside the corpus folder" in reason
    assert ARTICLE not in bot.documents()
    with pytest.raises(KeyError):
        bot.document(ARTICLE)


def test_corpus_walk_reports_broken_links_and_unreadable_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "c"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "a.txt").write_text("A.\n")
    (corpus / "gone.txt").symlink_to("nowhere.txt")
    (corpus / "loop1.txt").symlink_to("loop2.txt")
    (corpus / "loop2.txt").symlink_to("loop1.txt")
    listdir = Path.iterdir

    def iterdir(self: Path):  # root cannot chmod a folder out of reach, so fake it
        if self.name == "locked":
            raise PermissionError(13, "Permission denied")
        return listdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    found = corpus_files(corpus)
    assert found.files == [corpus / "a.txt"]
    assert {s.doc_id: s.reason for s in found.skipped} == {
        "gone.txt": "is a broken link (to nowhere.txt); not indexed",
        "locked": "is a folder that cannot be read (Permission denied); "
        "nothing under it is indexed",
        "loop1.txt": "is a broken link (to loop2.txt); not indexed",
        "loop2.txt": "is a broken link (to loop1.txt); not indexed",
    }


def test_empty_or_missing_corpus(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpusError, match="No readable"):
        AskDef(corpus_dir=tmp_path / "empty", index_dir=tmp_path / "index").ingest()
    with pytest.raises(CorpusNotFoundError, match="does not exist"):
        AskDef(corpus_dir=tmp_path / "nope", index_dir=tmp_path / "index").ingest()
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_a_corpus_of_stopwords_alone_is_indexed_and_searched(tmp_path: Path, embedder) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("The of and.\n\nIt is a the.\n")
    bot = AskDef(corpus_dir=tmp_path / "c", index_dir=tmp_path / "index")
    assert bot.ingest().chunks == 2
    assert {hit.paragraph for hit in bot.search("the of", k=2)} == {1, 2}
    extractive = Settings(generator="extractive", corpus_dir=tmp_path / "c")
    assert AskDef(index_dir=tmp_path / "index", settings=extractive).ask("What is it?").refused


def test_html_is_indexed_as_visible_text(tmp_path: Path, embedder) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "page.html").write_text(
        "<html><head><title>T</title><style>p{}</style></head><body><nav>Home | About</nav>"
        "<h2>Tidal Power</h2><p>The Rance tidal station opened in <b>1966</b> in France.</p>"
        "<script>alert(1)</script></body></html>"
    )
    bot = AskDef(corpus_dir=tmp_path / "c", index_dir=tmp_path / "index")
    bot.ingest()
    (hit,) = bot.search("When did the Rance tidal station open?", k=1)
    assert (hit.text, hit.section) == (
        "The Rance tidal station opened in 1966 in France.",
        "Tidal Power",
    )


def test_second_writer_is_refused(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from askdef.index.store import IndexDir
            with IndexDir(__import__('pathlib').Path({str(index)!r})).writer_lock():
                print('locked', flush=True)
                time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match="Another askdef process is writing"):
            AskDef(corpus_dir=corpus, index_dir=index).ingest()
    finally:
        holder.kill()
        holder.wait()


def test_kill_during_ingest_keeps_previous_index(corpus: Path, tmp_path: Path, embedder) -> None:
    index = tmp_path / "index"
    bot = AskDef(corpus_dir=corpus, index_dir=index)
    bot.ingest()
    live = IndexDir(index).require_current()
    expected = [p.ref for p in bot.search("F-X fighter program partners", k=3)]

    big = corpus / "big.txt"
    big.write_text(
        "\n".join(f"Paragraph {i} talks about topic {i} at length." for i in range(3000))
    )
    code, _ = _signalled_while_embedding(_index_command(corpus, index), signal.SIGKILL)
    assert code == -signal.SIGKILL

    reader = AskDef(corpus_dir=corpus, index_dir=index)
    assert IndexDir(index).require_current() == live
    assert [p.ref for p in reader.search("F-X fighter program partners", k=3)] == expected
    big.unlink()
    bot.ingest()  # the lock died with the writer; the leftover generation is cleaned up
    assert [g for g in index.glob("gen-*")] == [live]


def test_ctrl_c_during_ingest_says_how_far_it_got(corpus: Path, tmp_path: Path, embedder) -> None:
    index = tmp_path / "index"
    AskDef(corpus_dir=corpus, index_dir=index).ingest()
    live = IndexDir(index).require_current()
    (corpus / "big.txt").write_text(
        "\n\n".join(f"Paragraph {i} talks about topic {i} at length." for i in range(3000))
    )
    code, err = _signalled_while_embedding(_index_command(corpus, index), signal.SIGINT)
    assert code == 130
    assert re.search(r"interrupted: embedded [\d,]+ of [\d,]+ new chunks and sentences", err), err
    assert "previous index is unchanged" in err and "Traceback" not in err
    assert IndexDir(index).require_current() == live
    assert list(index.glob("gen-*")) == [live]  # the partial build is gone


def test_more_chunks_than_one_chroma_call_takes(tmp_path: Path) -> None:
    from llama_index.core.schema import TextNode

    from askdef.index.vectors import add_nodes

    store = open_vector_store(tmp_path, create=True)
    limit = store.client._client.get_max_batch_size()
    nodes = [
        TextNode(id_=f"n{i}", text=f"chunk {i}", embedding=[1.0, i / 10_000, 0.5, 0.25])
        for i in range(limit + 100)
    ]
    add_nodes(store, nodes)
    assert store.client.count() == limit + 100


def _hold_lock(index: Path) -> subprocess.Popen[str]:
    """Another process holding the embedded index's writer lock (as a running ingest does)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\nfrom askdef.index.store import IndexDir\n"
            "with IndexDir(pathlib.Path(sys.argv[1])).writer_lock():\n"
            "    print('locked', flush=True)\n    time.sleep(60)\n",
            str(index),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_second_askdef_index_process_gets_the_lock_message(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    holder = _hold_lock(index)
    try:
        second = subprocess.run(
            _index_command(corpus, index),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1
    assert "Another askdef process is writing the index" in second.stderr
    assert "Traceback" not in second.stderr
    assert not (index / "CURRENT").exists()


class _Watched(io.StringIO):
    """A stderr that calls ``then`` when ``words`` are written to it."""

    def __init__(self, words: str, then: Callable[[], object]) -> None:
        super().__init__()
        self.words, self.then = words, then

    def write(self, text: str) -> int:
        if self.words in text:
            self.then()
        return super().write(text)


def test_serve_startup_waits_for_a_writer_instead_of_crashing(
    corpus: Path, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from askdef.serve.web import ensure_index

    index = tmp_path / "index"
    bot = AskDef(corpus_dir=corpus, index_dir=index)
    # An existing index is served as is: startup never writes, so a writer does not block it.
    bot.ingest()
    live = IndexDir(index).require_current()
    holder = _hold_lock(index)
    try:
        ensure_index(bot, poll=0.1)
        assert IndexDir(index).require_current() == live
    finally:
        holder.kill()
        holder.wait()

    # No index yet and another process is building it: wait with a message, then go on.
    fresh = tmp_path / "fresh"
    holder = _hold_lock(fresh)
    said = _Watched("Waiting", holder.kill)  # the other writer goes away without publishing,
    monkeypatch.setattr(sys, "stderr", said)  # once serve says it waits for it
    try:
        ensure_index(AskDef(corpus_dir=corpus, index_dir=fresh), poll=0.1)
    finally:
        holder.kill()
        holder.wait()
    assert "Another askdef process is writing" in said.getvalue()
    assert "Waiting" in said.getvalue()
    assert IndexDir(fresh).require_current() is not None


def test_a_document_repeating_a_sentence_indexes(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    said = "The program replaces the F-2 fighter."
    (corpus / "notes.txt").write_text(f"{said} It starts in 2035.\n\nAgain: {said}\n\n{said}\n")
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert bot.ingest().chunks == 3
    assert bot.search("Which fighter does the program replace?")[0].doc_id == "notes.txt"


def test_a_file_whose_text_is_over_the_limit_is_skipped(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "short.txt").write_text("Japan eased its export rules in 2023.\n")
    (corpus / "long.txt").write_text("Defence budgets grew again this year. " * 100)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", max_file_chars=2_000)
    report = AskDef(settings=settings).ingest()
    assert report.added == ["short.txt"]
    assert [(s.doc_id, s.reason) for s in report.skipped] == [
        (
            "long.txt",
            "long.txt: holds 3,800 characters of text, over the limit of 2,000 "
            "(ASKDEF_MAX_FILE_CHARS); not indexed: split it into smaller files, or raise the "
            "limit.",
        )
    ]
