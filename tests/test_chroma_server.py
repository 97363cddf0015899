"""Server mode against a real ``chroma run``: shared index, several processes, outages, writers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from local_servers import free_port

from askdef import AskDef, Settings
from askdef.cli import main as cli_main
from askdef.errors import IndexLockedError, IndexMissingError, StoreUnavailableError
from askdef.index.chroma_server import META, PREFIX, SENTENCES, ServerIndex

CHROMA = Path(sys.executable).with_name("chroma")
PROJECT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "F-X fighter program partners",
    "Which European firms explore partnerships with Japan?",
    "export rules for defense equipment",
]


class ChromaServer:
    """One ``chroma run`` process on a fixed port and data folder; can be stopped and restarted."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120  # a loaded machine starts it slowly
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "chroma run exited at start"
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("chroma run did not answer its heartbeat within 30 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def new_database(self) -> str:
        """A fresh database, so each test has its own index on the shared server."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        name = f"t{uuid.uuid4().hex[:10]}"
        chromadb.AdminClient(
            ChromaSettings(
                chroma_api_impl="chromadb.api.fastapi.FastAPI",
                chroma_server_host="127.0.0.1",
                chroma_server_http_port=self.port,
                anonymized_telemetry=False,
            )
        ).create_database(name)
        return name


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _quick_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("askdef.index.chroma_lease.CONFIRM_PAUSE", 0.2)


def _server_bot(corpus: Path, url: str, database: str) -> AskDef:
    return AskDef(
        settings=Settings(
            corpus_dir=corpus,
            index_dir=corpus.parent / "unused-index",
            chroma_url=url,
            chroma_database=database,
            generator="extractive",
        )
    )


def _env(url: str, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDEF_")}
    pythonpath = os.pathsep.join([str(PROJECT / "src"), env.get("PYTHONPATH", "")])
    return {
        **env,
        "PYTHONPATH": pythonpath,
        "ASKDEF_CHROMA_URL": url,
        "ASKDEF_CHROMA_DATABASE": database,
    }


def _cli(corpus: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "askdef.cli", "--corpus", str(corpus), *args]


def _stored(bot: AskDef) -> tuple[list[str], int]:
    """The live generation's chunk ids in Chroma, and its manifest's chunk count."""
    index = ServerIndex(bot.settings)
    gen = index.require_current()
    ids = index.vector_store(gen).client.get(include=[])["ids"]
    return ids, index.read_manifest(gen).chunks


def test_two_processes_search_like_embedded_mode(
    chroma: ChromaServer, corpus: Path, tmp_path: Path, embedder, capsys
) -> None:
    database = chroma.new_database()
    bot = _server_bot(corpus, chroma.url, database)
    report = bot.ingest()
    assert report.chunks == report.embedded > 0
    assert not (corpus.parent / "unused-index").exists()  # nothing written beside the corpus
    ids, chunks = _stored(bot)
    assert len(ids) == len(set(ids)) == chunks == report.chunks

    embedded = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    embedded.ingest()
    expected = []
    for question in QUESTIONS:
        assert cli_main(["--corpus", str(corpus), "--index", str(tmp_path / "index"), "search",
                         question]) == 0  # fmt: skip
        expected.append(capsys.readouterr().out)
        assert [p.ref for p in bot.search(question)] == [p.ref for p in embedded.search(question)]

    script = (
        "import sys\nfrom askdef.cli import main\n"
        "for q in sys.argv[2:]:\n"
        "    assert main(['--corpus', sys.argv[1], 'search', q]) == 0\n"
        "    print('\\x00', end='', flush=True)\n"
    )
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(corpus), *QUESTIONS],
            env=_env(chroma.url, database),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    for replica in replicas:
        out, err = replica.communicate(timeout=120)
        assert replica.returncode == 0, err
        assert out.split("\x00")[:-1] == expected


def test_incremental_ingest_copies_unchanged_vectors(
    chroma: ChromaServer, corpus: Path, embedder
) -> None:
    bot = _server_bot(corpus, chroma.url, chroma.new_database())
    first = bot.ingest()
    assert bot.ingest().embedded == 0
    (corpus / "extra.md").write_text("# Extra\n\nAn extra note about fusion reactors.\n")
    (corpus / "japan-europe-defense-ties-global-security.txt").unlink()
    changed = bot.ingest()
    assert (changed.added, changed.removed) == (
        ["extra.md"],
        ["japan-europe-defense-ties-global-security.txt"],
    )
    assert 0 < changed.embedded < first.embedded
    ids, chunks = _stored(bot)
    assert len(ids) == len(set(ids)) == chunks == changed.chunks
    assert not any(i.startswith("japan-europe") for i in ids)
    # A replica that opened the old generation notices the publish on its next search.
    assert bot.search("fusion reactors", k=1)[0].doc_id == "extra.md"
    assert _server_bot(corpus, chroma.url, bot.settings.chroma_database).documents() == sorted(
        ["extra.md", "european-defense-industry-japan-potential.txt"]
    )
    # Superseded generations are dropped by the next writer; the serving one stays.
    index = ServerIndex(bot.settings)
    before = index.require_current()
    bot.ingest(rebuild=True)
    collections = {c.name for c in index._api().list_collections()} - {META}
    live = index.require_current()
    generations = {PREFIX + before, PREFIX + live}  # each with its sentence vectors beside it
    assert collections == generations | {name + SENTENCES for name in generations}


def test_a_second_writer_is_refused_and_never_duplicates(
    chroma: ChromaServer, corpus: Path, embedder
) -> None:
    database = chroma.new_database()
    bot = _server_bot(corpus, chroma.url, database)
    # Another process holds the lease: `askdef index` is refused with the lock message.
    with ServerIndex(bot.settings).writer_lock():
        with pytest.raises(IndexLockedError, match="Another askdef process"):
            bot.ingest()
        refused = subprocess.run(
            _cli(corpus, "index"),
            env=_env(chroma.url, database),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert refused.returncode == 1
    assert "Another askdef process" in refused.stderr and "Traceback" not in refused.stderr
    with pytest.raises(IndexMissingError, match="askdef index"):
        bot.search("Japan")

    # Two writers at once: one is refused (or they run one after the other), never both
    # into one collection.
    outcomes: list[object] = []

    def write() -> None:
        try:
            outcomes.append(_server_bot(corpus, chroma.url, database).ingest(rebuild=True))
        except IndexLockedError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 2
    assert any(not isinstance(o, IndexLockedError) for o in outcomes)
    ids, chunks = _stored(bot)
    assert len(ids) == len(set(ids)) == chunks
    assert bot.search("F-X fighter program partners", k=1)

    # A crashed writer's lease expires instead of blocking forever.
    index = ServerIndex(bot.settings)
    index._meta().upsert(
        ids=["lock"],
        documents=[json.dumps({"owner": "crashed", "expires": time.time() - 1})],
        embeddings=[[1.0]],
    )
    assert bot.ingest().embedded == 0


def test_server_down_at_start_then_mid_question_then_back(
    tmp_path: Path, corpus: Path, embedder
) -> None:
    server = ChromaServer(tmp_path / "chroma")
    nobody = _server_bot(corpus, server.url, "default_database")
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1.*chroma run --path"):
        nobody.search("Japan")
    with pytest.raises(StoreUnavailableError, match="ASKDEF_CHROMA_URL"):
        nobody.ingest()
    cli = subprocess.run(
        _cli(corpus, "index"),
        env=_env(server.url, "default_database"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1 and "cannot be reached" in cli.stderr
    assert "Traceback" not in cli.stderr
    from askdef.serve.http_api import error_status

    assert error_status(StoreUnavailableError("down")) == 503  # the API says: retry later

    server.start()
    try:
        bot = _server_bot(corpus, server.url, "default_database")
        bot.ingest()
        expected = [p.ref for p in bot.search("F-X fighter program partners")]
        server.stop()  # goes away while the generation is open
        with pytest.raises(StoreUnavailableError, match="cannot be reached"):
            bot.search("F-X fighter program partners")
        with pytest.raises(StoreUnavailableError):
            bot.ask("Which firms explore partnerships?")
        server.start()  # same port, same data: the next call just works
        assert [p.ref for p in bot.search("F-X fighter program partners")] == expected
    finally:
        server.stop()


def test_embedded_mode_is_untouched_by_server_settings(corpus: Path, tmp_path: Path) -> None:
    """Without ASKDEF_CHROMA_URL nothing talks to a server: the index lives in index_dir."""
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert settings.chroma_url == ""
    from askdef.index.store import IndexDir, open_backend

    assert isinstance(open_backend(settings), IndexDir)
    shutil.rmtree(tmp_path / "index", ignore_errors=True)
