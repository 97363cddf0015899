"""Bad text is refused before any model runs; the length limit is on what the user typed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from askdef import Answer, AskDef, Settings
from askdef.embedding import Embedder
from askdef.errors import InputError, InvalidTextError, QuestionTooLongError
from askdef.web import build_app

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
    with TestClient(build_app(bot)) as http:
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
