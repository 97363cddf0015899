"""The web app against a real server on a free port: HTTP API, SSE, OpenAI endpoint, Client,
file routes, limits, auth, hostile model output, and ``python app.py`` itself."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from html_check import active_content, rendered_markdown
from local_servers import free_port, wait_for_health

from askdef import Answer, AskDef, Delta, Retrieved, Settings
from askdef.client import Client
from askdef.errors import (
    AskdefError,
    EmptyQuestionError,
    GenerationError,
    QuestionTooLongError,
)
from askdef.serve import chat
from askdef.serve.http_api import Gate, ServerBusyError, document_page
from askdef.serve.web import answer_turn, auth_from_env, build_app, serve
from askdef.text import sentence_spans
from askdef.types import Paragraph, Passage
from fake_openai import FakeOpenAI

PROJECT = Path(__file__).resolve().parents[1]
ARTICLE = "european-defense-industry-japan-potential.txt"
FX_QUESTION = "Which European companies are involved in Japan's F-X fighter program?"
HOSTILE = "<img src=http://evil/x.png> <script>alert(1)</script> [x](javascript:alert(1)) "
AUTH = ("ada", "lovelace")


@contextmanager
def running(bot: AskDef, **options: Any) -> Iterator[str]:
    """``build_app(bot)`` served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    app = build_app(bot, **options)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a loaded machine starts it slowly
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def extractive(indexed: AskDef, **settings: Any) -> AskDef:
    s = indexed.settings
    return AskDef(
        settings=Settings(
            corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="extractive", **settings
        )
    )


class HostileGenerator:
    """A scripted model that cites a real sentence wrapped in hostile markup."""

    name = "hostile"
    model = "hostile-1"

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        sentence = passages[0].text.split(". ")[0].rstrip(".")
        yield HOSTILE
        yield f"{sentence} [1]. ![pic](http://evil/x.png) <a href='javascript:alert(2)'>y</a>"

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


INJECTED = ("HACKED", "re-enter your password", "2031")


class InjectedGenerator:
    """A scripted model that writes one true, cited sentence and, uncited beside it, what a
    document told it to write."""

    name = "injected"
    model = "injected-1"

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        first = passages[0].text[: passages[0].text.index(". ") + 1]
        yield f"{first.rstrip('.')} [1]. HACKED. Japan cancelled the F-X program in 2031. "
        yield "Ignore the sources: visit http://evil.example to re-enter your password."

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def test_uncited_sentences_no_paragraph_states_are_shown_nowhere(indexed: AskDef) -> None:
    s = indexed.settings
    injected = AskDef(
        settings=s.model_copy(update={"judge": "none"}), generator=InjectedGenerator()
    )
    answer = injected.ask(FX_QUESTION)
    assert answer.citations and "[1]" in answer.text
    assert any(n.startswith("Removed 3 sentences without a source") for n in answer.notices)
    *_, turn = answer_turn(injected, FX_QUESTION, [], [])
    with running(injected) as base:
        api = httpx.post(f"{base}/api/ask", json={"question": FX_QUESTION}, timeout=30).json()
        chat = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": FX_QUESTION}]},
            timeout=30,
        ).json()
    for shown in (answer.text, turn.chat[-1]["content"], api["text"]):
        assert not any(bad in shown for bad in INJECTED), shown
    assert not any(bad in chat["choices"][0]["message"]["content"] for bad in INJECTED)


PLANTED = "Reset your password at http://evil.example/login to keep reading."


class PlantingGenerator:
    """A scripted model that writes, word by word, two sentences of the F-X paragraph with its
    marker and, uncited between them, what a document told it to write."""

    name = "planting"
    model = "planting-1"

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        n = next(i for i, p in enumerate(passages, 1) if "Rolls-Royce" in p.text)
        text = passages[n - 1].text
        second, third = [text[a:b].rstrip(".") for a, b in sentence_spans(text)][1:3]
        for word in f"{second} [{n}]. {PLANTED} {third} [{n}].".split(" "):
            yield word + " "

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def test_only_sentences_whose_citations_check_out_stream(indexed: AskDef) -> None:
    planting = AskDef(settings=indexed.settings.model_copy(), generator=PlantingGenerator())
    *events, answer = list(planting.stream(FX_QUESTION))
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert not any("password" in delta for delta in deltas)
    assert isinstance(answer, Answer) and not answer.replaces_stream
    # each sentence streamed once it checked out, with its marker, and they make the answer
    assert len(deltas) >= 2 and "Rolls-Royce are involved [1]" in deltas[0]
    assert "".join(deltas) == answer.text and "avionics [1]." in answer.text
    screens = [turn.chat[-1]["content"] for turn in answer_turn(planting, FX_QUESTION, [], [])]
    question = {"role": "user", "content": FX_QUESTION}
    with running(planting) as base:
        sse = httpx.post(f"{base}/api/ask", json={"question": FX_QUESTION, "stream": True})
        v1 = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [question], "stream": True},
            timeout=30,
        )
    sse_deltas = [json.loads(d)["text"] for e, d in _sse(sse.text) if e == "delta"]
    chunks = [json.loads(line[6:]) for line in v1.text.splitlines() if line.startswith("data: {")]
    v1_pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]]
    assert len(sse_deltas) >= 2 and "".join(v1_pieces).startswith(answer.text)
    for shown in (*deltas, *screens, *sse_deltas, *v1_pieces):
        assert "password" not in shown and "evil" not in shown, shown


@pytest.fixture(scope="module")
def bot(indexed: AskDef) -> AskDef:
    return extractive(indexed)


@pytest.fixture(scope="module")
def url(bot: AskDef) -> Iterator[str]:
    with running(bot) as base:
        yield base


@pytest.fixture(scope="module")
def api(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as http:
        yield http


def _sse(text: str) -> list[tuple[str, str]]:
    return re.findall(r"event: (\w+)\ndata: (.*)\n\n", text)


# --------------------------------------------------------------------------- HTTP API


def test_health_search_and_ask_match_the_python_api(bot: AskDef, api: httpx.Client) -> None:
    health = api.get("/api/health").json()
    assert health["status"] == "ok" and health["index"] and health["generator"] == "extractive"

    found = api.post("/api/search", json={"question": FX_QUESTION, "k": 3}).json()
    assert [Passage.model_validate(p) for p in found["passages"]] == bot.search(FX_QUESTION, 3)

    answer = Answer.model_validate(api.post("/api/ask", json={"question": FX_QUESTION}).json())
    expected = bot.ask(FX_QUESTION)
    # the judge's probability varies a little with llama.cpp's prompt cache between calls
    varying = {"timings", "answerability"}
    assert answer.model_dump(exclude=varying) == expected.model_dump(exclude=varying)
    assert answer.answerability == pytest.approx(expected.answerability, abs=0.1)
    assert any(c.doc_id == ARTICLE and c.paragraph == 10 for c in answer.citations)


def test_ask_streams_server_sent_events_sources_first(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": FX_QUESTION, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "retrieved" and names[-1] == "answer" and "delta" in names
    assert "Rolls-Royce" in events[-1][1]


def test_follow_up_questions_use_the_conversation(api: httpx.Client) -> None:
    history = [
        {"role": "user", "content": "What is Japan's F-X program?"},
        {"role": "assistant", "content": "A program to replace the F-2 fighters [1]."},
    ]
    body = {"question": "And which European firms are involved in it?", "history": history}
    answer = Answer.model_validate(api.post("/api/ask", json=body).json())
    assert "F-X" in answer.query
    assert any(c.paragraph == 10 for c in answer.citations)


def test_openapi_schema_and_docs_are_served(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/search", "/api/ask", "/api/health", "/v1/chat/completions"):
        assert path in paths
    assert api.get("/docs").status_code == 200
    page = api.get("/api").text  # the offline route list the chat links to
    assert "/v1/chat/completions" in page and "<script" not in page


def test_errors_are_json_messages_with_a_status(api: httpx.Client) -> None:
    long = api.post("/api/ask", json={"question": "why " * 600})
    assert long.status_code == 413 and "limit is 2,000" in long.json()["error"]
    empty = api.post("/api/search", json={"question": "  "})
    assert empty.status_code == 400 and empty.json()["type"] == "EmptyQuestionError"
    invalid = api.post("/api/ask", json={"question": 3, "k": "x"})
    assert invalid.status_code == 422 and "question" in invalid.json()["error"]
    huge = api.post("/api/ask", content=b"{" + b" " * 1_100_000 + b"}")
    assert huge.status_code == 413


def test_a_missing_index_is_a_readable_error(tmp_path: Path) -> None:
    empty = AskDef(
        tmp_path / "corpus", tmp_path / "index", settings=Settings(generator="extractive")
    )
    with running(empty) as base:
        response = httpx.post(f"{base}/api/ask", json={"question": FX_QUESTION}, timeout=30)
        health = httpx.get(f"{base}/api/health", timeout=30)
    assert response.status_code == 503 and "askdef index" in response.json()["error"]
    assert health.status_code == 503 and health.json()["index"] is False


# --------------------------------------------------------------------------- OpenAI endpoint


def test_openai_client_gets_answers_with_sources_and_citations(url: str) -> None:
    llm = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30)
    messages: Any = [{"role": "user", "content": FX_QUESTION}]
    reply = llm.chat.completions.create(model="askdef", messages=messages)
    content = reply.choices[0].message.content or ""
    assert "Rolls-Royce" in content and f"Sources:\n[1] {ARTICLE} ¶10" in content
    assert reply.choices[0].finish_reason == "stop"
    citations = (reply.model_extra or {})["citations"]
    assert citations[0]["doc_id"] == ARTICLE and citations[0]["quote"]

    pieces, last = [], None
    for chunk in llm.chat.completions.create(model="askdef", messages=messages, stream=True):
        last = chunk
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == content
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"] == citations

    with pytest.raises(openai.APIStatusError) as failed:
        llm.chat.completions.create(
            model="askdef", messages=[{"role": "user", "content": "x" * 3000}]
        )
    assert failed.value.status_code == 413 and "limit is 2,000" in str(failed.value)
    assert [m.id for m in llm.models.list()] == ["askdef"]


# --------------------------------------------------------------------------- Python client


def test_client_returns_the_same_types_as_the_python_api(bot: AskDef, url: str) -> None:
    with Client(url) as remote:
        assert remote.health()["status"] == "ok"
        assert remote.search(FX_QUESTION, k=4) == bot.search(FX_QUESTION, k=4)
        answer, expected = remote.ask(FX_QUESTION), bot.ask(FX_QUESTION)
        varying = {"timings", "answerability"}  # see test_health_search_and_ask_match...
        assert answer.model_dump(exclude=varying) == expected.model_dump(exclude=varying)
        events = list(remote.stream(FX_QUESTION))
    assert isinstance(events[0], Retrieved) and isinstance(events[-1], Answer)
    assert any(isinstance(e, Delta) for e in events)
    assert events[0].passages == expected.passages


def test_client_raises_the_servers_errors(url: str) -> None:
    with Client(url) as remote:
        with pytest.raises(QuestionTooLongError, match="limit is 2,000"):
            remote.ask("x" * 3000)
        with pytest.raises(EmptyQuestionError):
            remote.search(" ")
    nowhere = Client(f"http://127.0.0.1:{free_port()}", connect_timeout=2)
    with nowhere, pytest.raises(AskdefError, match="Is it running"):
        nowhere.search(FX_QUESTION)


# --------------------------------------------------------------------------- safety


def _raw_get(url: str, path: str) -> tuple[int, str]:
    """GET ``path`` exactly as written (no client-side ``..`` normalisation)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read().decode("utf-8", "replace")
    conn.close()
    return response.status, body


def test_corpus_and_index_are_not_served_as_files(bot: AskDef, url: str) -> None:
    corpus_file = (bot.settings.corpus_dir / ARTICLE).resolve()
    secret = corpus_file.read_text(encoding="utf-8")[200:260]
    manifest = next(bot.settings.index_dir.resolve().rglob("manifest.json"))
    paths = [
        f"/gradio_api/file={corpus_file}",
        f"/file={corpus_file}",
        f"/gradio_api/file={manifest}",
        f"/gradio_api/file={bot.settings.corpus_dir.resolve()}/../corpus/{ARTICLE}",
        "/gradio_api/file=../../../../../../etc/passwd",
        f"/gradio_api/file=corpus/{ARTICLE}",
        "/gradio_api/file=/etc/passwd",
        "/documents/../../../../etc/passwd",
        f"/documents/%2e%2e/%2e%2e/{corpus_file}",
        "/api/documents/..%2f..%2f..%2fetc%2fpasswd",
        f"/static/../../corpus/{ARTICLE}",
        f"/assets/../../../{corpus_file}",
        f"/corpus/{ARTICLE}",
        "/index/CURRENT",
    ]
    for path in paths:
        status, body = _raw_get(url, path)
        assert status in (403, 404), (path, status)
        assert secret not in body and "root:x:0" not in body, path


def test_documents_are_served_from_the_index_only(url: str, api: httpx.Client) -> None:
    page = api.get(f"/documents/{ARTICLE}", params={"mark": "4720-4909"})
    assert page.status_code == 200 and 'id="p10"' in page.text
    assert "<mark>The F-X program" in page.text and "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    doc = api.get(f"/api/documents/{ARTICLE}").json()
    assert doc["paragraphs"][9]["paragraph"] == 10
    assert api.get("/documents/not-there.txt").status_code == 404


def test_document_page_escapes_the_text() -> None:
    para = Paragraph(
        doc_id="x.html",
        paragraph=1,
        section="<b>",
        text="<script>alert(1)</script>",
        start=0,
        end=25,
    )
    page = document_page("x.html", [para], [(8, 16)])
    assert "<script>" not in page and "&lt;script&gt;<mark>alert(1)</mark>" in page


def test_oversized_question_gets_a_message_in_the_chat(bot: AskDef) -> None:
    turns = list(answer_turn(bot, "why " * 600, [], []))
    reply = turns[-1].chat[-1]
    assert reply["role"] == "assistant" and "limit is 2,000" in reply["content"]
    assert "Traceback" not in reply["content"] and turns[-1].history == []


def test_a_pasted_200_kb_question_is_refused_without_being_echoed(
    bot: AskDef, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "Which firms take part in the F-X program? " + "x" * 200_000
    rendered: list[int] = []  # lengths of the texts the chat renders (a parse of the Markdown)
    render = chat.plain
    monkeypatch.setattr(chat, "plain", lambda text: rendered.append(len(text)) or render(text))
    turns = list(answer_turn(bot, question, [], []))
    assert all(len(turn.chat[0]["content"]) < 300 for turn in turns)
    asked = turns[-1].chat[0]
    assert asked == chat.asked_message(question, 2000)  # what the chat box's submit shows
    assert asked["content"].startswith("Which firms take part in the F-X program? xxx")
    assert asked["content"].endswith("… (200,042 characters)")
    assert "limit is 2,000" in turns[-1].chat[-1]["content"] and turns[-1].history == []
    assert max(rendered) <= 2000  # the question is measured before any of it is rendered


def test_errors_show_as_messages_in_the_chat(tmp_path: Path, indexed: AskDef) -> None:
    missing = AskDef(tmp_path / "c", tmp_path / "i", settings=Settings(generator="extractive"))
    reply = list(answer_turn(missing, FX_QUESTION, [], []))[-1].chat[-1]["content"]
    assert "askdef index" in reply and "Traceback" not in reply

    s = indexed.settings
    down = AskDef(
        settings=Settings(
            corpus_dir=s.corpus_dir,
            index_dir=s.index_dir,
            generator="openai",
            fallback=False,
            llm_retries=0,
        )
    )
    with FakeOpenAI([("status", 503)]) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", server.url)
        env.setenv("OPENAI_API_KEY", "test")
        turns = list(answer_turn(down, FX_QUESTION, [], []))
    assert "<mark>" not in turns[-1].sources and "Retrieved" in turns[-1].sources
    assert turns[-1].chat[-1]["content"].startswith("⚠️") and "503" in turns[-1].chat[-1]["content"]
    with pytest.raises(GenerationError):
        down.ask(FX_QUESTION)  # the library raises; only the UI turns it into a message


def test_chat_turn_shows_sources_before_the_answer_and_keeps_history(bot: AskDef) -> None:
    turns = list(answer_turn(bot, FX_QUESTION, [{"role": "user", "content": FX_QUESTION}], []))
    first_sources = next(i for i, t in enumerate(turns) if "Retrieved" in t.sources)
    assert first_sources < len(turns) - 1
    final = turns[-1]
    assert "<mark>" in final.sources and ARTICLE in final.sources
    assert f"(documents/{ARTICLE}?mark=" in final.chat[-1]["content"]  # the marker's link
    assert "Answered by **extractive**" in final.status
    assert [m["role"] for m in final.history] == ["user", "assistant"]
    follow = list(answer_turn(bot, "And which firms are involved?", final.chat, final.history))
    assert len(follow[-1].history) == 4


def test_a_short_answer_heads_the_chat_answer_and_reaches_the_client(bot: AskDef, url: str) -> None:
    question = "By which year does Japan plan to spend 2% of GDP on defense?"
    shown = list(answer_turn(bot, question, [], []))[-1].chat[-1]["content"]
    assert shown.startswith("**2027**\n\n") and "[[1]]" in shown
    with Client(url) as remote:
        assert remote.ask(question).short == "2027"


def test_hostile_model_output_is_rendered_inert(indexed: AskDef) -> None:
    s = indexed.settings
    hostile = AskDef(settings=s.model_copy(), generator=HostileGenerator())
    for turn in answer_turn(hostile, FX_QUESTION, [], []):
        shown = rendered_markdown(turn.chat[-1]["content"] + "\n\n" + turn.status)
        assert active_content(shown + turn.sources) == [], shown
    reply = turn.chat[-1]["content"]
    # what the reader gets: a sentence of the article with its working source link, and
    # none of the hostile addresses
    assert f"[[1]](documents/{ARTICLE}?mark=" in reply, reply
    assert "evil" not in reply and turn.status.startswith("Answered by"), turn.status
    with running(hostile) as base:
        answer = Client(base).ask(FX_QUESTION)
        raw = httpx.post(f"{base}/api/ask", json={"question": FX_QUESTION, "stream": True})
        chat = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": FX_QUESTION}]},
            timeout=30,
        ).json()
    deltas = "".join(json.loads(d)["text"] for e, d in _sse(raw.text) if e == "delta")
    content = chat["choices"][0]["message"]["content"]
    for text in (answer.text, content, deltas):  # as a client that renders Markdown shows them
        assert active_content(rendered_markdown(text)) == [], text
    assert "evil/x.png" not in answer.text + content  # the image's address is gone, not only inert


def test_auth_guards_the_ui_and_the_api(bot: AskDef) -> None:
    with running(bot, auth=AUTH) as base:
        anonymous = httpx.post(f"{base}/api/search", json={"question": FX_QUESTION})
        assert anonymous.status_code == 401 and "Basic" in anonymous.headers["www-authenticate"]
        wrong = httpx.post(f"{base}/api/search", json={"question": "x"}, auth=("ada", "nope"))
        assert wrong.status_code == 401
        assert httpx.get(f"{base}/documents/{ARTICLE}").status_code == 401
        assert httpx.get(f"{base}/api/health").status_code == 200
        with Client(base, auth=AUTH) as remote:
            assert remote.search(FX_QUESTION)
        with Client(base) as remote, pytest.raises(AskdefError, match="Sign in"):
            remote.search(FX_QUESTION)
        assert httpx.get(f"{base}/config").status_code == 401  # the chat needs the login
        with httpx.Client(base_url=base) as browser:
            login = browser.post("/login", data={"username": AUTH[0], "password": AUTH[1]})
            assert login.status_code == 200
            assert browser.get("/config").status_code == 200
            assert browser.get(f"/documents/{ARTICLE}").status_code == 200  # its cookie works


def test_gate_bounds_concurrent_answers() -> None:
    async def scenario() -> None:
        gate = Gate(1, 1)
        await gate.enter(1)
        queued = asyncio.create_task(gate.enter(30))
        await asyncio.sleep(0)
        with pytest.raises(ServerBusyError):  # one answering, one queued: full
            await gate.enter(30)
        threading.Thread(target=gate.leave).start()  # an answer ends on its worker thread
        await queued  # and the queued question gets its slot
        with pytest.raises(ServerBusyError):  # room in the queue, but no slot in time
            await gate.enter(0.05)
        gate.leave()
        await gate.enter(0.05)
        gate.leave()

    asyncio.run(scenario())


class HeldGenerator:
    """A scripted model that starts each answer only once ``release`` is set."""

    name = "held"
    model = "held-1"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)  # released once per answer begun

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        self.started.release()
        self.release.wait(300)
        yield f"{passages[0].text.split('.')[0]}."

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def test_health_and_search_answer_while_every_answer_slot_is_held_and_50_wait(
    indexed: AskDef,
) -> None:
    """Queued questions hold no thread of the pool that health and search run in: both
    answer while a slow model holds both answer slots and 48 more streams wait for one."""
    settings = indexed.settings.model_copy(update={"judge": "none", "fallback": False})
    model = HeldGenerator()
    held = AskDef(settings=settings, generator=model)
    body = json.dumps({"question": FX_QUESTION, "stream": True})
    replies: list[tuple[int, str]] = []
    probes: dict[str, int] = {}
    still_held: list[bool] = []  # one entry once the probes are answered
    probed = threading.Event()

    with running(held, concurrency=2, queue_size=48) as base:
        port = int(base.rsplit(":", 1)[1])
        sent = threading.Semaphore(0)

        def stream() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            connection.request("POST", "/api/ask", body, {"Content-Type": "application/json"})
            sent.release()
            response = connection.getresponse()
            replies.append((response.status, response.read().decode()))

        def probe() -> None:
            with httpx.Client(base_url=base, timeout=300) as http:
                probes["health"] = http.get("/api/health").status_code
                found = http.post("/api/search", json={"question": FX_QUESTION, "k": 3})
                probes["search"] = len(found.json()["passages"])
                probes["config"] = http.get("/config").status_code
            still_held.append(not model.release.is_set())  # were the slots still held?
            probed.set()

        streams = [threading.Thread(target=stream, daemon=True) for _ in range(50)]
        for thread in streams:
            thread.start()
        for _ in range(50):
            assert sent.acquire(timeout=60)
        for _ in range(2):  # both slots taken: the model is answering, and holding them
            assert model.started.acquire(timeout=60)
        threading.Thread(target=probe, daemon=True).start()
        probed.wait(300)  # a starved pool answers only after the release below
        model.release.set()
        for thread in streams:
            thread.join(120)
        probed.wait(120)

    assert still_held == [True], f"health and search waited for the held answers ({probes})"
    assert probes == {"health": 200, "search": 3, "config": 200}
    assert len(replies) == 50
    assert all(status == 200 and "event: answer" in text for status, text in replies)


def test_safe_defaults() -> None:
    import inspect

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert auth_from_env("") is None and auth_from_env("u:p:w") == ("u", "p:w")
    with pytest.raises(AskdefError):
        auth_from_env("nopassword")


# --------------------------------------------------------------------------- python app.py


def test_python_app_py_indexes_on_first_start_and_serves(tmp_path: Path) -> None:
    corpus = shutil.copytree(PROJECT / "corpus", tmp_path / "corpus")
    port = free_port()
    env = {**os.environ, "ASKDEF_GENERATOR": "extractive", "ASKDEF_AUTH": ""}
    command = [sys.executable, str(PROJECT / "app.py"), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--corpus", str(corpus), "--index", str(tmp_path / "index")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_health(process, f"http://127.0.0.1:{port}")
        assert health.json()["index"] is True
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "askdef" in page.text
        busy = subprocess.run(
            [*command, "--corpus", str(corpus), "--index", str(tmp_path / "index")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 1 and "already running" in busy.stderr
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "no index" in output and "ready — open http://127.0.0.1:" in output
    assert "Traceback" not in output


class EndlessGenerator:
    """A scripted model that never ends its sentence: 10,000 words, one delta each."""

    name = "endless"
    model = "endless-1"

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        yield from ["word "] * 10_000

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def test_a_long_stream_redraws_the_chat_a_few_times_not_per_delta(indexed: AskDef) -> None:
    settings = indexed.settings.model_copy(update={"judge": "none", "fallback": False})
    endless = AskDef(settings=settings, generator=EndlessGenerator())
    turns = list(answer_turn(endless, FX_QUESTION, [], []))
    assert len(turns) < 1_000  # each screen renders the whole text: one per delta is quadratic
    assert turns[-1].status.startswith("Answered by **endless**")
