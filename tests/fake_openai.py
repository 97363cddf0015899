"""A real HTTP server speaking the OpenAI chat API, with scripted replies, for tests.

Each request takes the next script step (the last one repeats):
- ``("cite", quote)``: stream ``quote [n].`` where ``[n]`` is the source block holding ``quote``
- ``("say", sentence, anchor)``: stream ``sentence [n]`` (its final stop after the marker),
  ``[n]`` the source block holding ``anchor``
- ``("text", text)``: stream ``text`` as is
- ``("status", code[, message])``: an OpenAI-style JSON error with that HTTP status
- ``("hang", seconds)``: say nothing for that long
- ``("empty_choices",)``: a 200 stream whose chunks have ``choices: []``
- ``("html",)``: a 200 HTML page, as a misconfigured proxy sends
- ``("cut",)``: half an answer, then the connection closes
- ``("no_finish",)``: a whole answer and ``[DONE]`` but no ``finish_reason``
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = tuple[Any, ...]


class FakeOpenAI:
    """Start with ``with FakeOpenAI([...]) as server:``; ``server.url`` is the base URL."""

    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def next_step(self, body: dict[str, Any]) -> Step:
        self.requests.append(body)
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _chunk(content: str | None, finish: str | None) -> bytes:
    delta = {"content": content} if content is not None else {}
    data = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def _cite(quote: str, body: dict[str, Any], anchor: str | None = None) -> str:
    prompt = body["messages"][-1]["content"]
    for block in re.split(r"\n(?=\[\d+\] )", prompt):
        if (anchor or quote) in block:
            n = re.match(r"\[(\d+)\]", block.strip())
            if n:
                return f"{quote.removesuffix('.')} [{n.group(1)}]."
    return f"{quote}."


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            kind, *args = fake.next_step(body)
            if kind == "status":
                message = args[1] if len(args) > 1 else "scripted failure"
                error = {"error": {"message": message, "type": "x"}}
                self._send(args[0], json.dumps(error).encode())
            elif kind == "hang":
                time.sleep(args[0])
                self._send(500, b"{}")
            elif kind == "html":
                self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")
            else:
                self._stream(kind, args, body)

        def _send(self, status: int, data: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, kind: str, args: list[Any], body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            if kind == "empty_choices":
                self.wfile.write(
                    b'data: {"id": "x", "object": "chat.completion.chunk", '
                    b'"created": 0, "model": "fake", "choices": []}\n\n'
                )
                self.wfile.write(b"data: [DONE]\n\n")
                return
            if kind in ("cite", "say"):
                text = _cite(args[0], body, *args[1:])
            else:
                text = args[0] if args else "Partial"
            words = text.split(" ")
            pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            if kind == "cut":
                for piece in pieces[: max(1, len(pieces) // 2)]:
                    self.wfile.write(_chunk(piece, None))
                self.wfile.flush()
                self.close_connection = True
                return
            for piece in pieces:
                self.wfile.write(_chunk(piece, None))
            finish = None if kind == "no_finish" else "stop"
            self.wfile.write(_chunk(None, finish))
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler
