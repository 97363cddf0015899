"""A long-running reader across many index updates: what it holds, what it leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from local_servers import free_port, wait_for_health

from askdef import AskDef
from askdef.index.store import IndexDir

NOTE = "cycle-note.txt"


@dataclass(frozen=True)
class Usage:
    """What a process holds: open file handles, threads, resident memory (MB)."""

    handles: int
    threads: int
    rss_mb: float

    @classmethod
    def of(cls, pid: int) -> Usage:
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        return cls(
            handles=len(os.listdir(f"/proc/{pid}/fd")),
            threads=int(status["Threads"]),
            rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        )


def _askdef_folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if "askdef" in p.name)


def test_a_server_stays_flat_over_20_index_updates_and_leaves_no_copies(
    corpus: Path, tmp_path: Path, embedder
) -> None:
    """Each update the server picked up kept the old generation open (+16 handles, +6
    threads, +7 MB each, and the removed copies of the index still open), and a SIGTERM
    left the last copy in the temporary folder."""
    index, tmp = tmp_path / "index", tmp_path / "tmp"
    tmp.mkdir()
    writer = AskDef(corpus_dir=corpus, index_dir=index)
    writer.ingest()
    port = free_port()
    folders = ["--corpus", str(corpus), "--index", str(index)]
    server = subprocess.Popen(
        [sys.executable, "-m", "askdef.cli", *folders, "serve", "--port", str(port)],
        env={**os.environ, "TMPDIR": str(tmp), "ASKDEF_AUTH": "", "ASKDEF_GENERATOR": "extractive"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(server, url)
        usage = []
        for update in range(21):
            note = corpus / NOTE
            if update % 2:
                note.write_text(f"Update {update}: a note about shipyards in Nagasaki.\n")
            else:
                note.unlink(missing_ok=True)
            if update:
                writer.ingest()
            found = httpx.post(f"{url}/api/search", json={"question": "shipyards"}, timeout=60)
            assert found.status_code == 200
            assert (found.json()["passages"][0]["doc_id"] == NOTE) == note.exists()
            usage.append(Usage.of(server.pid))
        # from the second update on: the first loads what any search loads once
        first, last = usage[2], usage[-1]
        assert last.handles - first.handles <= 10, usage
        assert last.threads - first.threads <= 5, usage
        assert last.rss_mb - first.rss_mb <= 80, usage
        assert len(_askdef_folders(tmp)) == 1  # the live generation's private copy
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output
    assert _askdef_folders(tmp) == []


def test_a_killed_readers_copy_is_removed_by_the_next_askdef_process(
    indexed: AskDef, tmp_path: Path
) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    bot = f"AskDef({str(indexed.settings.corpus_dir)!r}, {str(indexed.settings.index_dir)!r})"
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, signal; from askdef import AskDef; reader = {bot}; reader.check(); "
            "os.kill(os.getpid(), signal.SIGKILL)",
        ],
        env=env,
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(_askdef_folders(tmp_path)) == 1  # kill -9: nothing could remove it
    checked = subprocess.run(
        [sys.executable, "-c", f"from askdef import AskDef; {bot}.check()"], env=env
    )
    assert checked.returncode == 0
    assert _askdef_folders(tmp_path) == []


def _size(index: Path) -> int:
    """Bytes of the live generation: what each update and each reader copies."""
    return sum(
        f.stat().st_size for f in IndexDir(index).require_current().rglob("*") if f.is_file()
    )


def test_an_index_updated_many_times_stays_near_the_size_of_a_fresh_build(
    corpus: Path, tmp_path: Path, embedder
) -> None:
    """Each update copied the last generation whole, with every record Chroma still kept of
    what updates had deleted: 12 cycles took the bundled corpus's index from 1.5 to 5.2 MB."""
    bot = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index")
    bot.ingest()
    article = corpus / "japan-europe-defense-ties-global-security.txt"
    text = article.read_text(encoding="utf-8")
    for _ in range(12):
        article.unlink()
        bot.ingest()
        article.write_text(text, encoding="utf-8")
        assert bot.ingest().embedded > 0
    fresh = AskDef(corpus_dir=corpus, index_dir=tmp_path / "fresh")
    fresh.ingest()
    assert _size(tmp_path / "index") <= 2 * _size(tmp_path / "fresh")
    for question in ("F-X fighter program partners", "Japan's defense exports to Europe"):
        assert [p.ref for p in bot.search(question, k=5)] == [
            p.ref for p in fresh.search(question, k=5)
        ]
