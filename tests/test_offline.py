"""Offline means offline: ``askdef index``, ``ask``, ``serve`` and ``eval``, run as a user runs
them, attempt no DNS look-up and no connection beyond loopback, start no other program, and
write nothing into the home folder's ``intel/`` (OpenVINO's telemetry identity).

Each command runs with ``tests/offline_guard`` on its ``PYTHONPATH``: its ``sitecustomize``
records those attempts (in forked children too) in a file this test reads. The environment is
the user's without the defaults ``askdef._offline`` sets, so that askdef must set them itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from local_servers import free_port

from askdef import _offline
from askdef.settings import default_cache_dir

GUARD = Path(__file__).resolve().parent / "offline_guard"
ASKDEF = [sys.executable, "-m", "askdef.cli"]
QUESTION = "What is the 2024 travel budget?"


class Guarded:
    """Runs askdef commands on one small corpus and index, each with its own record."""

    def __init__(self, root: Path) -> None:
        self.root, self.home = root, root / "home"
        self.home.mkdir()
        corpus = root / "corpus"
        corpus.mkdir()
        (corpus / "budget.md").write_text(
            "# Travel\n\nThe 2024 travel budget is 12,000 euros, approved in March.\n\n"
            "Trips abroad need the approval of the head of unit.\n"
        )
        self.folders = ["--corpus", str(corpus), "--index", str(root / "index")]
        self.records = 0

    def env(self, record: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _offline._DEFAULTS}
        path = [str(GUARD), *filter(None, [env.get("PYTHONPATH")])]
        return {
            **env,
            "PYTHONPATH": os.pathsep.join(path),
            "ASKDEF_TEST_NETWORK_LOG": str(record),
            "HOME": str(self.home),
            # the ONNX export made once already: not made again for the new home
            "ASKDEF_CACHE_DIR": str(default_cache_dir()),
            "ASKDEF_GENERATOR": "extractive",
            "ASKDEF_JUDGE": "none",
            "ASKDEF_PORT": str(free_port()),  # no other askdef server answers for `ask`
        }

    def record(self) -> Path:
        self.records += 1
        return self.root / f"attempts-{self.records}.log"

    def run(self, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
        record = self.record()
        result = subprocess.run(
            [*ASKDEF, *self.folders, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env(record),
        )
        return result, attempts(record)

    def serve_and_ask(self) -> tuple[dict[str, object], list[str]]:
        """Start ``askdef serve``, ask it one question over HTTP, stop it with Ctrl-C."""
        record, port = self.record(), free_port()
        log = (self.root / "serve.log").open("w")
        server = subprocess.Popen(
            [*ASKDEF, *self.folders, "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(record),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                assert server.poll() is None, (self.root / "serve.log").read_text()
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=5):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.5)
            request = urllib.request.Request(
                f"{base}/api/ask",
                data=json.dumps({"question": QUESTION}).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
        return answer, attempts(record)


def attempts(record: Path) -> list[str]:
    """What the guard recorded: one line per look-up, connection or program."""
    return record.read_text().splitlines() if record.exists() else []


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Guarded:
    return Guarded(tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def indexed(guarded: Guarded) -> list[str]:
    result, seen = guarded.run("index")
    assert result.returncode == 0, result.stderr
    return seen


def test_index_stays_on_the_machine(guarded: Guarded, indexed: list[str]) -> None:
    assert indexed == []
    assert not (guarded.home / "intel").exists()


def test_ask_stays_on_the_machine(guarded: Guarded, indexed: list[str]) -> None:
    result, seen = guarded.run("ask", QUESTION)
    assert result.returncode == 0, result.stderr
    assert "12,000 euros" in result.stdout
    assert seen == []
    assert not (guarded.home / "intel").exists()


def test_eval_stays_on_the_machine(guarded: Guarded, indexed: list[str]) -> None:
    questions = guarded.root / "questions.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "budget",
                "question": QUESTION,
                "answers": ["12,000 euros"],
                "answerable": True,
                "doc": "budget.md",
                "quote": "12,000 euros",
            }
        )
        + "\n"
    )
    out = guarded.root / "report"
    result, seen = guarded.run("eval", str(questions), "--judge", "none", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").is_file()
    assert seen == []
    assert not (guarded.home / "intel").exists()


def test_serve_stays_on_the_machine(guarded: Guarded, indexed: list[str]) -> None:
    answer, seen = guarded.serve_and_ask()
    assert "12,000 euros" in str(answer["text"])
    assert seen == []
    assert not (guarded.home / "intel").exists()
