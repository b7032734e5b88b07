"""The local web app, ``followback app``: the queue, the followers, retraining and acting.

``followback app`` serves the project of the current folder on 127.0.0.1 (another address only
when told, with a warning), prints the URL with this run's token and opens it in the browser.
The routes (:mod:`pipeline.app.server`) are thin like the commands: the work is done by the
stages' own functions, and every page is built from the files the pipeline writes. The guard
(:mod:`pipeline.app.security`) lets only the person who started it drive it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.core.console import ParamsOption


def cli(
    port: Annotated[int, typer.Option(
        help="The port to serve on (0: any free one; taken: the next free one is used).",
        min=0, max=65535)] = 8765,
    host: Annotated[str, typer.Option(
        help="The address to listen on. Anything but 127.0.0.1 exposes the app to other "
        "machines (still behind its token): only when you mean it.")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Print the URL but do not open a browser.")] = False,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Review, retrain and act in your browser: a local web app on 127.0.0.1.

    Prints the URL with this run's token (keep it to yourself: it is the key to the app) and
    opens it. Pages: Queue (keys f, s, u, j, k, ?), Followers, Retrain, Act, Tricksters,
    Trends, Model. Stop it with Ctrl-C.
    """
    from pipeline.app.serve import serve

    serve(params, port=port, host=host, open_browser=not no_browser)
