"""The review page in a real browser: headless Chromium driven over the DevTools protocol.

Chromium is Debian's package; the session fixture installs it with apt-get when it is missing
(CI machines start fresh) and skips only where apt itself is unavailable. The DevTools protocol
runs over a pipe (``--remote-debugging-pipe``: NUL-separated JSON on file descriptors 3 and 4),
so no driver binary, network port or extra Python package is needed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.config import Source
from pipeline.data.scores import read_scores
from pipeline.stages import report
from pipeline.stages import score as scoring
from tests.unit.test_score import (  # noqa: F401  (demo_project: a session fixture)
    demo_project,
    demo_scores,
    fitted_toy_model,
    toy_config,
    toy_tables,
    write_inputs,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
PLANTED_SCRIPT = "<script>document.title='pwned';window.__pwned=1</script>"
PLANTED_IMG = '<img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed here when missing (the test setup of a fresh machine)."""
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env, capture_output=True,
                   timeout=600)
    done = subprocess.run([apt, "install", "-y", "-qq", "chromium"], env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0 and CHROMIUM.exists(), f"apt-get install chromium failed:\n" \
        f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return CHROMIUM


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe."""

    def __init__(self, binary: Path, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds() -> None:  # in the child: the protocol's fixed descriptors 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [str(binary), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "--window-size=1200,2000", "about:blank"],
            preexec_fn=wire_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str) -> str:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        self.send("Runtime.enable", session=session)
        self.send("Log.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + 30
        while self.eval(session, "document.readyState") != "complete":
            assert time.monotonic() < deadline, "page did not load"
            time.sleep(0.05)
        return session

    def eval(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def toy_page(tmp_path_factory):
    """A review page of 40 scored toy accounts, with markup planted in a bio and a name."""
    root = tmp_path_factory.mktemp("toy-report")
    accounts, posts, _ = toy_tables(40)
    accounts.loc[2, "bio"] = f"{PLANTED_SCRIPT} I bake too"
    accounts.loc[3, "display_name"] = PLANTED_IMG
    folder = write_inputs(root / "in", accounts, posts)
    cfg = toy_config(root)
    cfg.user.allow_list = ["user5"]
    scoring.score(cfg, cfg.score.out, [Source(path=folder)], model=fitted_toy_model(),
                  model_id="toy")
    from pipeline.stages import decide

    decide.record(cfg.report.decisions_out, "1004", True, handle="user4")
    return report.report(cfg), read_scores(cfg.score.out)


VISIBLE = "Array.from(document.querySelectorAll('#account-list > li')).filter(e => !e.hidden)"


def test_planted_markup_is_shown_as_text_and_never_runs(browser, toy_page):
    path, _ = toy_page
    page = browser.open(path.as_uri())
    assert browser.eval(page, "document.title") == "followback review for @maya.bakes"
    assert browser.eval(page, "typeof window.__pwned") == "undefined"
    assert browser.eval(page, "document.scripts.length") == 1  # the page's own, nothing else
    assert browser.eval(page, "document.querySelectorAll('#account-list img').length") == 0
    bio = browser.eval(page, "document.querySelector('#account-list li[data-search^=\"user2 \"]"
                             " .bio').textContent")
    assert bio == f"{PLANTED_SCRIPT} I bake too"
    name = browser.eval(page, "document.querySelector('#account-list li[data-search^=\"user3 \"]"
                              " .name').textContent")
    assert name == PLANTED_IMG


def test_content_sorted_by_uncertainty_with_reasons_and_overrides(browser, toy_page, tmp_path):
    path, scores = toy_page
    page = browser.open(path.as_uri())
    browser.screenshot(page, tmp_path / "review.png")
    cards = browser.eval(page, """Array.from(document.querySelectorAll('#account-list > li'))
        .map(e => ({verdict: e.dataset.verdict, handle: e.querySelector('.handle').textContent,
                    p: parseFloat(e.querySelector('.prob').textContent.split('=')[1]),
                    reasons: Array.from(e.querySelectorAll('.reasons li')).map(r => r.textContent),
                    override: (e.querySelector('.override') || {}).textContent || '',
                    decided: (e.querySelector('.decided') || {}).textContent || ''}))""")
    assert len(cards) == len(scores) == 40
    threshold = float(scores["threshold"].iloc[0])
    p = np.clip([c["p"] for c in cards], 1e-6, 1 - 1e-6)
    distance = np.abs(np.log(p / (1 - p)) - np.log(threshold / (1 - threshold)))
    assert np.all(np.diff(distance) >= -0.02), "most uncertain first (2-decimal display)"
    by_handle = {c["handle"]: c for c in cards}
    assert by_handle["@user1"]["verdict"] == "skip"
    assert by_handle["@user1"]["reasons"][0] == "your posts look offensive — toxic_share 0.75"
    assert by_handle["@user5"]["override"] == "override: on your allow list"
    assert by_handle["@user5"]["verdict"] == "follow back"
    assert by_handle["@user4"]["decided"] == "you decided: follow back"
    text = browser.eval(page, "document.body.innerText")
    assert "Importance by criterion" in text and "Latest model" in text


def test_filters_change_what_is_visible(browser, toy_page):
    path, scores = toy_page
    page = browser.open(path.as_uri())
    total = len(scores)
    assert browser.eval(page, f"{VISIBLE}.length") == total
    assert browser.eval(page, "document.getElementById('shown').textContent") == str(total)

    # Untick "skip": no skip card stays visible, and the counter follows.
    browser.eval(page, "document.querySelector('input[name=verdict][value=skip]').click()")
    n_skip = int((scores["verdict"] == "skip").sum())
    assert 0 < n_skip < total
    assert browser.eval(page, f"{VISIBLE}.length") == total - n_skip
    assert browser.eval(page, f"{VISIBLE}.every(e => e.dataset.verdict !== 'skip')")
    assert browser.eval(page, "document.getElementById('shown').textContent") == \
        str(total - n_skip)
    browser.eval(page, "document.querySelector('input[name=verdict][value=skip]').click()")

    # One criterion: only accounts where it counts against following back.
    browser.eval(page, """const s = document.getElementById('criterion-filter');
        s.value = 'toxicity'; s.dispatchEvent(new Event('change', {bubbles: true}));""")
    against = int((scores["contrib_toxicity"] <= -0.05).sum())
    assert 0 < against < total
    assert browser.eval(page, f"{VISIBLE}.length") == against
    assert browser.eval(page, f"{VISIBLE}.every(e => e.dataset.against.split(' ')"
                              ".includes('toxicity'))")
    browser.eval(page, """const s2 = document.getElementById('criterion-filter');
        s2.value = ''; s2.dispatchEvent(new Event('change', {bubbles: true}));""")

    # Overrides only, then a name search.
    browser.eval(page, "document.getElementById('overrides-only').click()")
    assert browser.eval(page, f"{VISIBLE}.map(e => e.querySelector('.handle').textContent)") \
        == ["@user5"]
    browser.eval(page, "document.getElementById('overrides-only').click()")
    browser.eval(page, """const q = document.getElementById('search'); q.value = 'USER1';
        q.dispatchEvent(new Event('input', {bubbles: true}));""")
    handles = browser.eval(page, f"{VISIBLE}.map(e => e.querySelector('.handle').textContent)")
    assert sorted(handles) == sorted(f"@user{i}" for i in [1, *range(10, 20)])


@pytest.mark.slow
def test_demo_report_shows_metrics_plots_and_every_account(  # noqa: F811 (fixtures)
        browser, demo_project, demo_scores, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "review.html"
    result = CliRunner().invoke(app, ["report", "--params", str(demo_project.params),
                                      "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = browser.open(out.as_uri())
    browser.screenshot(page, tmp_path / "demo-review.png")
    n_scored = len(read_scores(demo_scores))
    assert browser.eval(page, "document.querySelectorAll('#account-list > li').length") \
        == n_scored
    assert browser.eval(page, "document.querySelectorAll('#metrics img').length") >= 1
    assert browser.eval(page, "document.querySelector('#metrics img').naturalWidth") > 100
    rows = browser.eval(page, "Array.from(document.querySelectorAll('.metrics tbody tr'))"
                              ".map(r => r.cells[1].textContent)")
    assert {"model", "rules", "majority"} <= set(rows)
    crits = browser.eval(page, "Array.from(document.querySelectorAll('.importance tbody tr'))"
                               ".map(r => r.dataset.criterion)")
    assert sorted(crits) == sorted(["bot", "language", "bio", "ratio", "toxicity", "topic"])
