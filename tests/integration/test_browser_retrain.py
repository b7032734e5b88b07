"""Retrain from the browser: answers in the queue, then `dvc repro` from the Retrain page, and
the verdicts move. A small DVC demo project (the repository's dvc.yaml and stages, ~200
followers, a cheap model) is built once: a few minutes on 2 cores."""

from __future__ import annotations

import subprocess

import pytest

from pipeline.data.scores import read_scores
from pipeline.stages import decide
from tests.integration.app_projects import BIN, dvc_demo_project, env
from tests.integration.served import serve_app
from tests.integration.test_browser_app import decisions_of, press_and_wait, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = dvc_demo_project(tmp_path_factory.mktemp("dvc-demo") / "project",
                            tmp_path_factory.mktemp("text-cache"))
    with serve_app(root) as served:
        yield root, served


def test_answer_retrain_and_see_the_verdicts_move(chromium, demo, tmp_path):
    root, served = demo
    scores_path = root / "data" / "scores.csv"
    before = read_scores(scores_path).set_index("account_id")
    lock_before = (root / "dvc.lock").read_text()
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.base + "/queue")
    # Three answers with the keyboard, against what the model says of each.
    for _ in range(3):
        says = page.locator("#queue .verdict strong").inner_text()
        press_and_wait(page, "s" if says == "follow back" else "f")
    assert len(decisions_of(root)) == 3
    # And many more the person gave elsewhere (`followback decide`), also against the model.
    path = root / "data" / "decisions" / "decisions.csv"
    against = before[~before.index.isin(set(decisions_of(root)))]
    for account_id, row in against.head(40).iterrows():
        decide.record(path, str(account_id), row["verdict"] != "follow back",
                      handle=str(row["handle"]))

    page.goto(served.base + "/retrain")
    figures = page.locator("table.figures").inner_text()
    page.locator("#retrain").click()
    page.wait_for_selector("#job[data-state=running]", timeout=30_000)
    assert page.locator("#job progress").count() == 1
    page.wait_for_selector("#job[data-state=done], #job[data-state=failed]", timeout=1_500_000)
    job = page.locator("#job")
    assert job.get_attribute("data-state") == "done", job.inner_text()
    page.screenshot(path=str(tmp_path / "retrain.png"), full_page=True)

    after = read_scores(scores_path).set_index("account_id")
    changed = int((after["verdict"] != before["verdict"].reindex(after.index)).sum())
    assert changed > 0
    assert page.locator("#n-moved").inner_text() == str(changed)
    # Before and after, the model's and the rules' ROC-AUC.
    rows = {r.get_attribute("data-figure"): r.inner_text()
            for r in page.locator("table.moved-figures tbody tr").all()}
    assert set(rows) == {"holdout_model", "holdout_rules", "cv_model", "cv_rules"}
    assert "–" not in "".join(rows.values())
    assert page.locator("table.moved-figures tbody tr").first.inner_text() != figures
    # The figures above the button moved to the new ones too.
    assert page.locator("#figures table.figures").count() == 1
    now = page.locator("#figures table.figures tbody tr").first.inner_text()
    assert rows["holdout_model"].split()[-1] in now
    # DVC ran the stages after the decisions, and recorded them: dvc.lock is true.
    ran = page.locator("#job .moved").inner_text()
    assert "train" in ran and "score" in ran and "demo" not in ran
    assert (root / "dvc.lock").read_text() != lock_before
    status = subprocess.run([str(BIN / "dvc"), "status"], cwd=root, env=env(),
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout
    # The followers table shows the new verdict of an account that moved.
    moved = after.index[after["verdict"] != before["verdict"].reindex(after.index)][0]
    page.goto(served.base + f"/followers?q={after.loc[moved, 'handle']}")
    row = page.locator(f"tr[data-account='{moved}']")
    assert row.get_attribute("data-verdict") == after.loc[moved, "verdict"]
    # The queue was made anew: nothing decided is asked again.
    page.goto(served.base + "/queue")
    assert page.locator("#queue article.card").get_attribute("data-account") not in \
        set(decisions_of(root))
    context.close()
