"""``followback app`` started as a person starts it, in a project's folder, for the browser
tests: the URL with the token is read from what it prints."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.app_projects import BIN, env

URL = re.compile(r"(http://127\.0\.0\.1:(\d+))/\?token=([A-Za-z0-9_-]+)")


@dataclass
class Served:
    url: str       # with the token, as printed
    base: str      # http://127.0.0.1:PORT
    port: int
    token: str
    output: list[str] = field(default_factory=list)


@contextmanager
def serve_app(root: Path, extra_env: dict[str, str] | None = None, timeout: float = 120,
              browser: bool = False) -> Iterator[Served]:
    """``followback app`` in ``root``; ``browser``: let it open one (the ``BROWSER`` of
    ``extra_env``), else ``--no-browser``."""
    flags = [] if browser else ["--no-browser"]
    proc = subprocess.Popen([str(BIN / "followback"), "app", *flags, "--port", "0"],
                            cwd=root, env={**env(), **(extra_env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    output: list[str] = []
    found = threading.Event()
    hit: list[re.Match] = []

    def drain() -> None:  # read everything, so a full pipe never blocks the app
        for line in proc.stdout:  # type: ignore[union-attr]
            output.append(line)
            match = URL.search(line)
            if match and not hit:
                hit.append(match)
                found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("followback app did not start:\n" + "".join(output))
    match = hit[0]
    served = Served(match.group(0), match.group(1), int(match.group(2)), match.group(3),
                    output)
    try:
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
