"""The review page in a real browser: Playwright drives Debian's headless chromium.

Chromium is Debian's package (`make test` installs it with apt-get when missing, as it does
java); Playwright is told its path, so no browser is ever downloaded (the fixtures are in
conftest.py).
"""

from __future__ import annotations

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

PLANTED_SCRIPT = "<script>document.title='pwned';window.__pwned=1</script>"
PLANTED_IMG = '<img src=x onerror="window.__pwned=2">'


class Page:
    """A page of the shared browser, with the few calls these tests make."""

    def __init__(self, context) -> None:
        self.context = context
        self.page = context.new_page()

    def eval(self, expression: str):
        # A string is evaluated as a script, statements too (as Runtime.evaluate did).
        return self.page.evaluate(expression)


@pytest.fixture
def browser(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 2000})
    pages: list[Page] = []

    class Opener:
        def open(self, url: str) -> Page:
            page = Page(context)
            page.page.goto(url)
            pages.append(page)
            return page

        def eval(self, page: Page, expression: str):
            return page.eval(expression)

        def screenshot(self, page: Page, path) -> None:
            page.page.screenshot(path=str(path))

    yield Opener()
    context.close()


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
