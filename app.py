"""Start the askdef web chat: ``python app.py`` (the Gradio convention), like ``askdef serve``.

Serves ./corpus (indexed into ./index on first start) on http://127.0.0.1:7860; see
``python app.py --help`` for the host, port, folders and generator.
"""

from askdef.serve.web import main

if __name__ == "__main__":
    raise SystemExit(main())
