"""Take docs/guide/app-queue.png: the app's queue on a demo project, in Debian's chromium.

Run in a project folder where `dvc repro` has run (the demo), from the repository's venv:

    cd <project> && python <repo>/docs/guide/app_screenshot.py <repo>/docs/guide/app-queue.png
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(out: Path) -> None:
    app = subprocess.Popen([str(Path(sys.executable).with_name("followback")), "app",
                            "--no-browser", "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        for line in app.stderr:  # type: ignore[union-attr]
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
            if found:
                break
        else:
            raise SystemExit("followback app did not start")
        time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 640})
            page.goto(found.group(0))
            page.goto(found.group(0).split("/?")[0] + "/queue")
            page.wait_for_selector("#queue article.card")
            page.screenshot(path=str(out))
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=15)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
