"""Start the app: bind the socket, print the URL with the token, open the browser, serve."""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser
from pathlib import Path

from pipeline.core.config import load_config
from pipeline.core.console import FollowbackError, console

LOOPBACK = "127.0.0.1"


def bind(host: str, port: int, tries: int = 20) -> socket.socket:
    """A listening socket on ``host``: ``port``, or the next free one when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last: OSError | None = None
    for candidate in ([port] if port == 0 else range(port, port + tries)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            last = exc
            if exc.errno == errno.EADDRINUSE:
                continue
            raise FollowbackError(f"cannot listen on {host}:{candidate}: {exc.strerror}") \
                from exc
        sock.listen(128)
        return sock
    raise FollowbackError(f"ports {port}-{port + tries - 1} on {host} are all taken "
                          f"({last}); choose another with --port")


def _quietly(work) -> None:
    try:
        work()
    except Exception:  # noqa: BLE001 - the page that reads the file says what is wrong
        pass


def allowed_hosts(host: str) -> tuple[str, ...]:
    """The names the Host header may carry: the loopback names, and ``host`` when told one."""
    names = ["127.0.0.1", "localhost"]
    if host not in names:
        names.append(f"[{host}]" if ":" in host else host)
    return tuple(names)


def serve(params: Path, port: int = 8765, host: str = LOOPBACK, open_browser: bool = True,
          ready=None) -> None:
    """Serve the project of ``params`` until Ctrl-C; ``ready(url)`` is called once listening."""
    import uvicorn

    from pipeline.app.security import Secrets
    from pipeline.app.server import create_app
    from pipeline.app.store import Project

    cfg = load_config(params)
    if host != LOOPBACK:
        console.print(f"[bold yellow]warning:[/] listening on {host}, not {LOOPBACK}: other "
                      "machines that reach this address can connect (the token still guards "
                      "the app, but it travels unencrypted over plain HTTP)", highlight=False)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    keys = Secrets()
    project = Project(cfg, Path(params))
    shown = LOOPBACK if host in (LOOPBACK, "0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{actual}/?token={keys.token}"
    opener = redirect_file(url) if open_browser else None

    def signed_in() -> None:  # the browser has been there: the file has done its work
        if opener is not None:
            opener.unlink(missing_ok=True)

    app = create_app(project, keys, actual, allowed_hosts(host), on_sign_in=signed_in)
    # Read the scores while the browser opens, so the first page does not wait for them
    # (an error here shows on the page that needs the file instead).
    threading.Thread(target=_quietly, args=(project.warm,), daemon=True).start()
    # The one place the token is shown: the terminal of the person who started the app.
    console.print(f"followback app for @{cfg.user.handle}: {url}", highlight=False,
                  markup=False, soft_wrap=True)
    console.print("open that link (it holds this run's token); Ctrl-C stops the app",
                  highlight=False)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    if opener is not None:
        threading.Timer(0.5, webbrowser.open, args=(opener.as_uri(),)).start()
    if ready is not None:
        threading.Timer(0.1, ready, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        if opener is not None:
            opener.unlink(missing_ok=True)


def redirect_file(url: str) -> Path:
    """A page only this user can read that sends the browser on to ``url``, as Jupyter opens
    its own: the browser is started with this file's path, not with the token, which would
    otherwise stand in its command line for every local user's ``ps`` to read."""
    import html
    import os
    import tempfile

    fd, name = tempfile.mkstemp(prefix="followback-app-", suffix=".html")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" '
                 f'content="0;url={html.escape(url)}"><title>followback app</title>'
                 f'<p><a href="{html.escape(url)}">open followback app</a></p>')
    return Path(name)
