"""The Gradio chat: a chat beside a sources panel, with a status line, mounted at ``/``.

``build_ui`` wires the Blocks to ``askdef.serve.chat.answer_turn``; ``mount_chat`` puts them on the
API app with askdef's styling and the same login. Gradio is imported only here, and only
when a chat is built.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from askdef.errors import AskdefError
from askdef.safe_output import plain
from askdef.serve.chat import Messages, answer_turn, submitted, unindexed_count
from askdef.serve.render import model_suffix, unindexed_note, welcome_html

if TYPE_CHECKING:
    from fastapi import FastAPI

    from askdef.api import AskDef
    from askdef.serve.auth import Auth

PLACEHOLDER = (
    "**Ask a question about the documents.**\n\n"
    "Every claim in an answer is cited to the paragraph it comes from; the sources appear on "
    "the right with the quoted words highlighted."
)

CSS = """
#askdef-header { padding: 0 4px; }
#askdef-header { align-items: center; }
#askdef-header h3 { margin: 4px 0; }
.askdef-links { text-align: right; font-size: 0.9em; }
#askdef-status { min-height: 1.6em; font-size: 0.92em; color: var(--body-text-color-subdued); }
#askdef-chat .placeholder { padding: 0 28px; }
#askdef-chat a { color: var(--color-accent); text-decoration: none; font-weight: 600; }
#askdef-status-row { align-items: center; }
#askdef-new-chat { max-width: 110px; }
.askdef-sources { font-size: 0.95em; line-height: 1.5; max-height: 78vh; overflow-y: auto;
  padding-right: 4px; }
.askdef-sources h4 { margin: 2px 0 10px; font-size: 1.02em; }
.askdef-note { color: var(--body-text-color-subdued); margin: 0 0 10px; }
.askdef-src { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 10px 12px; margin-bottom: 10px; background: var(--background-fill-primary); }
.askdef-src header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.askdef-n { background: var(--color-accent); color: white; border-radius: 6px;
  padding: 0 7px; font-weight: 700; font-size: 0.9em; }
.askdef-doc { font-weight: 600; word-break: break-all; }
.askdef-par { color: var(--body-text-color-subdued); white-space: nowrap; }
.askdef-section { font-style: italic; color: var(--body-text-color-subdued); font-size: 0.92em;
  margin-top: 2px; }
.askdef-text { margin: 6px 0; }
.askdef-text mark { background: #ffe58a; color: #1f2328; padding: 1px 2px; border-radius: 3px; }
.askdef-snippet { color: var(--body-text-color-subdued); }
.askdef-open { font-size: 0.9em; }
"""


def build_ui(
    bot: AskDef,
    *,
    generator: str,
    model: str,
    concurrency: int,
    queue_size: int,
    problem: str | None = None,
) -> Any:
    """The Gradio Blocks: chat (left), sources panel (right), status line.

    ``problem`` (the generator failed to load) is shown in the status line from the start.
    """
    import gradio as gr

    examples = example_questions(bot)
    who = generator + model_suffix(generator, model)
    ready = f"⚠ {plain(problem)}" if problem else f"Ready · answers by **{who}**"
    ready += unindexed_note(unindexed_count(bot))

    def submit(question: str, chat: list[Any]) -> tuple[str, list[Any], str]:
        return submitted(bot, question, chat)

    def respond(
        question: str, chat: list[Any], history: Messages
    ) -> Iterator[tuple[Any, str, str, Messages]]:
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), history
            return
        for turn in answer_turn(bot, question, chat, history):
            yield turn.chat, turn.sources, turn.status, turn.history

    def pick(chat: list[Any], choice: gr.SelectData) -> tuple[str, list[Any], str]:
        value = choice.value
        return submit(str(value.get("text", "") if isinstance(value, dict) else value), chat)

    pick.__annotations__["choice"] = gr.SelectData  # resolved for Gradio (gradio is lazy here)

    def clear() -> tuple[list[Any], str, str, Messages, str]:
        return [], welcome_html(), ready, [], ""

    with gr.Blocks(title="askdef", fill_width=True, analytics_enabled=False) as demo:
        history = gr.State([])
        pending = gr.State("")
        with gr.Row(elem_id="askdef-header"):
            gr.Markdown(
                "### askdef — answers from your documents, every claim cited",
                elem_id="askdef-title",
            )
            gr.HTML(
                '<div class="askdef-links"><a href="api" target="_blank">HTTP API</a></div>',
                elem_id="askdef-links",
            )
        with gr.Row(equal_height=False, elem_id="askdef-main"):
            with gr.Column(scale=6, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="askdef-chat",
                    show_label=False,
                    height="62vh",
                    placeholder=PLACEHOLDER,
                    sanitize_html=True,
                    latex_delimiters=[],  # answers are prose; KaTeX would parse their "$"
                    allow_tags=False,
                    feedback_options=None,
                    buttons=["copy"],
                    layout="bubble",
                    examples=[{"text": q} for q in examples],
                )
                box = gr.Textbox(
                    placeholder="Ask a question about the documents…",
                    show_label=False,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="askdef-question",
                )
                with gr.Row(elem_id="askdef-status-row"):
                    status = gr.Markdown(ready, elem_id="askdef-status")
                    new_chat = gr.Button(
                        "New chat",
                        size="sm",
                        variant="secondary",
                        scale=0,
                        min_width=100,
                        elem_id="askdef-new-chat",
                    )
            with gr.Column(scale=5, min_width=360):
                sources = gr.HTML(welcome_html(), elem_id="askdef-sources", padding=False)
        # the question shows at once; the answer follows in the queue (``respond``)
        instant: dict[str, Any] = {
            "queue": False,
            "show_progress": "hidden",
            "api_visibility": "private",
        }
        asked = [
            box.submit(submit, [box, chatbot], [box, chatbot, pending], **instant),
            chatbot.example_select(pick, [chatbot], [box, chatbot, pending], **instant),
        ]
        for event in asked:
            event.then(
                respond,
                [pending, chatbot, history],
                [chatbot, sources, status, history],
                api_visibility="private",  # tools use /api/ask; the UI calls this by index
                concurrency_limit=concurrency,
                concurrency_id="answer",
                show_progress="minimal",
                show_progress_on=[status],
            )
        new_chat.click(
            clear,
            None,
            [chatbot, sources, status, history, pending],
            queue=False,
            api_visibility="private",
        )
        chatbot.clear(
            clear, None, [chatbot, sources, status, history, pending], api_visibility="private"
        )
    demo.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    return demo


def example_questions(bot: AskDef, count: int = 3) -> list[str]:
    """``ASKDEF_EXAMPLES``, else questions on the corpus's most developed sections."""
    if bot.settings.examples:
        return list(bot.settings.examples)
    try:
        sections = Counter(
            re.sub(r"^[\d.\s]+", "", p.section)
            for doc_id in bot.documents()
            for p in bot.document(doc_id)
            if p.section
        )
    except AskdefError:
        return []
    return [f"What do the documents say about “{s}”?" for s, _ in sections.most_common(count)]


def mount_chat(app: FastAPI, demo: Any, *, auth: Auth | None, hidden: list[str]) -> FastAPI:
    """``demo`` at ``/`` of ``app``, behind the login when ``auth`` is set; ``hidden`` folders
    (the corpus and index) are never served as files, nor anything else from disk.
    """
    import gradio as gr

    mounted = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=auth,
        auth_message="askdef: sign in with the user and password set in ASKDEF_AUTH.",
        blocked_paths=hidden,
        allowed_paths=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        footer_links=[],
        enable_monitoring=False,
        max_file_size="1mb",
        show_error=True,
        css=CSS,
        theme=gr.themes.Default(
            primary_hue="blue",
            font=["ui-sans-serif", "system-ui", "sans-serif"],
            font_mono=["ui-monospace", "monospace"],
        ),
    )
    from gradio.routes import App

    from askdef.serve.http_api import install_error_handlers

    for route in mounted.routes:  # the chat's own routes answer errors in askdef's shape too
        if isinstance(getattr(route, "app", None), App):
            install_error_handlers(route.app)  # type: ignore[attr-defined]
    return mounted
