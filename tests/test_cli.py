"""The ``askdef`` command as a user runs it: real processes, real exit codes and output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from askdef import AskDef
from test_web import extractive, running

ASKDEF = [sys.executable, "-m", "askdef.cli"]


def _run(
    *args: str | Path, cwd: Path | None = None, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASKDEF, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def _run_on(bot: AskDef, *args: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """``askdef`` on the folders of an already indexed ``bot``."""
    folders = ("--corpus", bot.settings.corpus_dir, "--index", bot.settings.index_dir)
    return _run(*folders, *args, **options)


def test_help_lists_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "index" in result.stdout and "search" in result.stdout


def test_search_prints_refs_and_snippets(indexed: AskDef) -> None:
    result = _run_on(
        indexed,
        "search",
        "Which firms are involved in the F-X program?",
        "-k",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "european-defense-industry-japan-potential.txt ¶10" in result.stdout
    assert "BAE Systems" in result.stdout


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = _run("--corpus", tmp_path / "none", "--index", tmp_path / "index", "search", "Japan")
    assert result.returncode == 1
    assert result.stderr.startswith("askdef: No index in")
    assert "Traceback" not in result.stderr
    result = _run("--corpus", tmp_path / "none", "--index", tmp_path / "index", "index")
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_index_reports_skipped_files_with_partial_exit(tmp_path: Path, corpus: Path) -> None:
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00junk")
    first = _run("--corpus", corpus, "--index", tmp_path / "index", "index")
    assert first.returncode == 3
    assert "skipped bad.txt:" in first.stderr and "binary" in first.stderr
    assert "added 2" in first.stdout
    (corpus / "bad.txt").unlink()
    second = _run("--corpus", corpus, "--index", tmp_path / "index", "index")
    assert second.returncode == 0
    assert "unchanged 2" in second.stdout and "(0 embedded)" in second.stdout


def test_index_defaults_to_corpus_and_index_in_the_working_folder(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    result = _run("index", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index" / "CURRENT").is_file()


def test_ask_prints_the_answer_and_its_sources(indexed: AskDef) -> None:
    result = _run_on(
        indexed,
        "ask",
        "--generator",
        "extractive",
        "By when will Japan's defense budget reach 2% of GDP?",
    )
    assert result.returncode == 0, result.stderr
    assert "2% of GDP by 2027" in result.stdout and "forces [1]." in result.stdout
    assert "[1] european-defense-industry-japan-potential.txt ¶11:" in result.stdout
    assert "answered by extractive" in result.stdout


def test_ask_prints_the_short_answer_first(indexed: AskDef) -> None:
    question = "By which year does Japan plan to spend 2% of GDP on defense?"
    result = _run_on(indexed, "ask", "--generator", "extractive", question)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Short answer: 2027\n")


def test_ask_refuses_an_oversized_question(indexed: AskDef) -> None:
    result = _run_on(indexed, "ask", "x" * 100_000)
    assert result.returncode == 1
    assert "100,000 characters" in result.stderr and "Traceback" not in result.stderr


def test_eval_writes_reports_and_reports_bad_lines(indexed: AskDef, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "fx", "question": "Which European firms are involved in the F-X program?", '
        '"answers": ["Rolls-Royce"], "answerable": true, '
        '"doc": "european-defense-industry-japan-potential.txt", "quote": "The F-X program"}\n'
        "this is not json\n"
        '{"id": "wc", "question": "Who won the 2018 FIFA World Cup?", "answers": [], '
        '"answerable": false}\n'
    )
    out = tmp_path / "report"
    result = _run_on(
        indexed,
        "eval",
        questions,
        "--generator",
        "extractive",
        "--judge",
        "none",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "Citation precision: not measured" in result.stdout
    assert "skipped line 2:" in result.stderr
    assert "| refusal_accuracy | 1.000 |" in result.stdout
    assert "| citation_recall | 1.000 |" in result.stdout
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "report.html"}
    compared = _run("eval", "--compare", out / "report.json", out / "report.json")
    assert compared.returncode == 0 and "citation_recall" in compared.stdout


FX_QUESTION = "Which European companies are involved in Japan's F-X fighter program?"


def test_chat_answers_question_after_question_with_follow_ups(indexed: AskDef) -> None:
    lines = [FX_QUESTION, "What does the program replace?", "/new", "", "x" * 3000, "Hi?"]
    result = _run_on(indexed, "chat", "--generator", "extractive", stdin="\n".join(lines))
    assert result.returncode == 0, result.stderr
    answers = result.stdout.split("(answered by extractive")
    assert len(answers) == 4  # three answers; the oversized question got a message instead
    assert "Rolls-Royce" in answers[0] and "F-2" in answers[1]  # the follow-up: the F-X's
    assert "(a new conversation)" in answers[2] and "3,000 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_answers_through_a_running_server(indexed: AskDef, tmp_path: Path) -> None:
    question = "By when will Japan's defense budget reach 2% of GDP?"
    here = _run_on(indexed, "ask", "--generator", "extractive", question)
    with running(extractive(indexed)) as url:
        named = _run_on(indexed, "ask", "--server", url, question)
        found = _run_on(indexed, "ask", question, env={"ASKDEF_PORT": str(urlsplit(url).port)})
        other = tmp_path / "other"
        shutil.copytree(indexed.settings.corpus_dir, other / "corpus")
        _run("--corpus", other / "corpus", "--index", other / "index", "index")
        elsewhere = _run(
            *("--corpus", other / "corpus", "--index", other / "index", "ask", question),
            env={"ASKDEF_PORT": str(urlsplit(url).port), "ASKDEF_GENERATOR": "extractive"},
        )
    body = here.stdout.rsplit("(answered by", 1)[0]
    assert named.returncode == found.returncode == 0, named.stderr + found.stderr
    assert named.stdout.startswith(body) and found.stdout.startswith(body)
    assert f"(answering through the askdef server at {url})" in found.stderr
    assert "answering through" not in elsewhere.stderr  # that server serves another index
    assert elsewhere.stdout.startswith(body)


def test_serve_listens_where_the_environment_says(monkeypatch: Any) -> None:
    from askdef.cli import _parser

    monkeypatch.setenv("ASKDEF_PORT", "7999")
    monkeypatch.setenv("ASKDEF_HOST", "0.0.0.0")
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port) == ("0.0.0.0", 7999)
    assert _parser().parse_args(["serve", "--port", "8001"]).port == 8001  # the flag wins
