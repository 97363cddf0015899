"""What a long-running reader holds, and what the index weighs, as updates go live.

One process reads the bundled corpus's index (``AskDef.search``, as ``serve`` does) while the
same process updates it ``--cycles`` times (one of its two articles removed, then put back:
two updates each). After each update the reader searches, which opens the new generation.
Printed per update:
open file handles, threads, RSS, handles on deleted files, askdef folders in the temporary
folder and the live generation's size on disk; at the end the size of a fresh build of the
same corpus, and what is left in the temporary folder once the reader is gone.

    .venv/bin/python benchmarks/generations.py [--cycles 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = "japan-europe-defense-ties-global-security.txt"


def _handles() -> tuple[int, int]:
    """Open file handles of this process, and how many point at deleted files."""
    fds = os.listdir("/proc/self/fd")
    deleted = 0
    for fd in fds:
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            deleted += os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)")
    return len(fds), deleted


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def _askdef_temps(tmp: Path) -> int:
    return sum(1 for p in tmp.iterdir() if p.name.startswith(("askdef", ".askdef")))


def reader(work: Path, cycles: int) -> None:
    """The measured process: update, search, print a row, ``cycles`` times each way."""
    from askdef import AskDef
    from askdef.index.store import IndexDir

    corpus, index = work / "corpus", work / "index"
    bot = AskDef(corpus_dir=corpus, index_dir=index)
    bot.ingest()
    bot.search("Japan")
    tmp = Path(tempfile.gettempdir())
    print("update  handles  deleted  threads  rss_MB  tmp_folders  generation_MB")

    def row(label: str) -> None:
        handles, deleted = _handles()
        gen = IndexDir(index).require_current()
        print(
            f"{label:>6}  {handles:7d}  {deleted:7d}  {len(os.listdir('/proc/self/task')):7d}"
            f"  {_rss_mb():6.0f}  {_askdef_temps(tmp):11d}  {_megabytes(gen):13.2f}",
            flush=True,
        )

    row("start")
    article = corpus / ARTICLE
    text = article.read_text(encoding="utf-8")
    for n in range(1, 2 * cycles + 1):
        if n % 2:
            article.unlink()
        else:
            article.write_text(text, encoding="utf-8")
        bot.ingest()
        bot.search("Japan")
        row(str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10, help="add+remove pairs (default 10)")
    parser.add_argument("--reader", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        reader(args.reader, args.cycles)
        return
    with tempfile.TemporaryDirectory(prefix="generations-") as scratch:
        work, tmp = Path(scratch), Path(scratch) / "tmp"
        tmp.mkdir()
        shutil.copytree(ROOT / "corpus", work / "corpus")
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT / "src")}
        command = [sys.executable, __file__, "--reader", str(work), "--cycles", str(args.cycles)]
        subprocess.run(command, env=env, check=True)
        print(
            f"askdef folders left in the temporary folder after the reader exited: "
            f"{_askdef_temps(tmp)}"
        )
        fresh = work / "fresh"
        code = (
            "import sys; from askdef import AskDef; "
            "AskDef(corpus_dir=sys.argv[1], index_dir=sys.argv[2]).ingest()"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(work / "corpus"), str(fresh)], env=env, check=True
        )
        from askdef.index.store import IndexDir

        updated = _megabytes(IndexDir(work / "index").require_current())
        built = _megabytes(IndexDir(fresh).require_current())
        print(
            f"live generation after the updates: {updated:.2f} MB; a fresh build of the "
            f"same corpus: {built:.2f} MB ({updated / built:.1f}x)"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
