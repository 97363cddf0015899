"""The chat in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

``ASKDEF_UPDATE_SCREENSHOT=1`` asks the default generator (the local model when installed)
and copies the screenshot to docs/screenshot.png for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from askdef import AskDef, Settings
from test_web import AUTH, FX_QUESTION, HostileGenerator, extractive, running

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"
UPDATE = os.environ.get("ASKDEF_UPDATE_SCREENSHOT") == "1"
ANSWER_TIMEOUT = 240_000  # ms: the local model on 2 cores takes ~30 s, more on a busy machine

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


# Each finished answer ends with its model line, "— extractive, 0.4 s".
FINISHED = re.compile(r"^— .+, \d+\.\d s$")


def expect(locator: Any) -> Any:
    """Playwright's auto-waiting assertions (imported lazily: the tests skip without it)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _ask(page: Any, question: str, turn: int = 1) -> None:
    """Ask ``question`` and wait for answer number ``turn`` (each ends with its model line)."""
    page.fill("#askdef-question textarea", question)
    page.keyboard.press("Enter")
    # a locator, not wait_for_function: the page's CSP forbids the eval that one needs
    answers = page.locator("#askdef-chat em").filter(has_text=FINISHED)
    expect(answers).to_have_count(turn, timeout=ANSWER_TIMEOUT)
    # the status line, drawn from the same last update, says the answer is done
    expect(page.locator("#askdef-status")).to_contain_text("Answered by")


def test_chat_answers_with_highlighted_sources(
    browser: Any, indexed: AskDef, tmp_path: Path
) -> None:
    s = indexed.settings
    bot = (
        AskDef(settings=Settings(corpus_dir=s.corpus_dir, index_dir=s.index_dir))
        if UPDATE
        else extractive(indexed)
    )
    with running(bot) as url:
        page = browser.new_page(viewport={"width": 1360, "height": 800})
        outside: list[str] = []
        page.on("request", lambda r: r.url.startswith(url) or outside.append(r.url))
        page.goto(url)
        page.wait_for_selector("#askdef-question textarea")
        _ask(page, FX_QUESTION)

        chat = page.inner_text("#askdef-chat")
        assert "Rolls-Royce" in chat
        expect(page.locator("#askdef-sources mark").first).to_be_visible()
        assert "Rolls-Royce" in page.inner_text("#askdef-sources")
        assert "european-defense-industry-japan-potential.txt" in page.inner_text("#askdef-sources")
        assert page.locator("#askdef-chat a[href*='documents/']").count() >= 1  # the [n] marker
        status = page.inner_text("#askdef-status")
        assert "Answered by" in status and ("extractive" in status or UPDATE)

        _ask(page, "What does the program replace?", turn=2)  # a follow-up: the F-X program
        quotes = " ".join(page.locator("#askdef-sources mark").all_inner_texts())
        assert "F-2" in quotes  # the follow-up was read as a question about the F-X program
        shot = tmp_path / "chat.png"
        page.screenshot(path=str(shot))
        if UPDATE:
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)

        with page.context.expect_page() as opened:
            page.locator("#askdef-sources a.askdef-open").first.click()
        document = opened.value
        document.wait_for_load_state()
        target = document.evaluate("location.hash")
        assert re.fullmatch(r"#p\d+", target)
        expect(document.locator(f"{target} mark").first).to_be_visible()
        page.close()
        document.close()
    assert outside == [], f"the page fetched from elsewhere: {outside}"


def test_hostile_model_output_is_inert_in_the_page(browser: Any, indexed: AskDef) -> None:
    bot = AskDef(settings=indexed.settings.model_copy(), generator=HostileGenerator())
    with running(bot) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        dialogs: list[str] = []
        evil: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: "evil" in r.url and evil.append(r.url))
        page.goto(url)
        page.wait_for_selector("#askdef-question textarea")
        _ask(page, FX_QUESTION)
        markup = page.inner_html("#askdef-chat") + page.inner_html("#askdef-sources")
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("#askdef-chat img, #askdef-sources img").count() == 0
        assert "<script" not in markup and "evil" not in markup
        assert page.locator("#askdef-chat a[href*='documents/']").count() >= 1
        page.close()
    assert dialogs == [] and evil == []


def test_login_page_guards_the_chat(browser: Any, indexed: AskDef) -> None:
    with running(extractive(indexed), auth=AUTH) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("input[type=password]")
        assert page.locator("#askdef-question").count() == 0
        page.locator("input[type=text]").first.fill(AUTH[0])
        page.fill("input[type=password]", AUTH[1])
        page.keyboard.press("Enter")
        page.wait_for_selector("#askdef-question textarea")
        _ask(page, FX_QUESTION)
        assert "Rolls-Royce" in page.inner_text("#askdef-chat")
        page.close()


LINKED = (
    "The Aurora programme posts its results at http://evil.example/auto and at "
    "www.evil.example, and answers mail sent to press@evil.example."
)


class QuotingGenerator:
    """A scripted model that quotes the retrieved paragraph's sentence with its addresses."""

    name = "quoting"
    model = "quoting-1"

    def answer(self, question: str, passages: list[Any]) -> Iterator[str]:
        yield f"{LINKED[:-1]} [1]."

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def test_addresses_in_an_answer_are_text_not_links(
    browser: Any, tmp_path: Path, embedder: Any
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "aurora.md").write_text(f"# Aurora\n\n{LINKED}\n", encoding="utf-8")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", judge="none")
    bot = AskDef(settings=settings, generator=QuotingGenerator())
    bot.ingest()
    with running(bot) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.wait_for_selector("#askdef-question textarea")
        _ask(page, "Where does the Aurora programme post its results?")
        chat = page.inner_text("#askdef-chat")
        assert "http://evil.example/auto" in chat and "www.evil.example" in chat  # as text
        assert "press@evil.example" in chat
        hrefs = page.locator("#askdef-chat a").evaluate_all("links => links.map(a => a.href)")
        assert hrefs and all("/documents/aurora.md" in h for h in hrefs), hrefs  # askdef's own
        page.close()


def test_two_turn_conversation_in_the_chat(browser: Any, handbook: AskDef) -> None:
    with running(handbook) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.wait_for_selector("#askdef-question textarea")
        _ask(page, "How many days of annual leave do full-time staff get?")
        assert "25 days" in page.inner_text("#askdef-chat")
        _ask(page, "And part-time employees?", turn=2)
        last = page.locator("#askdef-chat .message-row").last.inner_text()
        assert "pro rata" in last
        assert "Full-time employees receive 25 days" not in last  # not the first answer again
        assert "Searched for:" in last and "annual leave" in last  # the query the chat searched
        page.close()
