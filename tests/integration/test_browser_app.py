"""``followback app`` in a real browser: Playwright drives Debian's headless chromium.

The app runs as a person runs it (``followback app --no-browser`` in the project's folder, the
URL read from what it prints). Three projects: 5,000 scored followers (the queue, the followers
table, every refusal of the guard), a Mastodon account fetched from a local Mastodon API (the
Act page), and a small DVC demo project (Retrain, in test_browser_retrain.py).
"""

from __future__ import annotations

import http.server
import json
import stat
import threading
import time
from pathlib import Path

import pytest
import yaml

from pipeline.data.fetch import mastodon
from pipeline.data.fetch._run import Transport, run
from pipeline.stages import decide
from tests.integration.app_projects import scores_project, synthetic_scores
from tests.integration.conftest import launch_chromium
from tests.integration.served import serve_app
from tests.servers import FakeMastodon, Sleeps, World
from tests.unit.test_apply import write_scores

pytestmark = pytest.mark.browser

N_FOLLOWERS = 5000
PLANTED_SCRIPT = "<script>window.__pwned=1</script>"
PLANTED_IMG = '<img src=x onerror="window.__pwned=2">'
TOKEN = "tok-app-5b1e0c77d2"  # the fake Mastodon server's access token


# --------------------------------------------------------------------------- 5,000 followers


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """5,000 scored followers; the first in the queue (probability at the threshold) holds
    markup in its bio and name, and a javascript: link where its profile would be."""
    scores = synthetic_scores(N_FOLLOWERS, planted={
        7: {"bio": f"{PLANTED_SCRIPT} I bake too", "display_name": PLANTED_IMG,
            "probability": 0.4, "verdict": "review"}})
    root = scores_project(tmp_path_factory.mktemp("big") / "project", scores)
    with serve_app(root) as served:
        yield root, served


@pytest.fixture
def page(chromium, big):
    _, served = big
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, served)
    page.errors = errors
    yield page
    context.close()


def sign_in(page, served) -> None:
    """Open the printed link: the token becomes a cookie and leaves the address bar."""
    answer = page.goto(served.url)
    assert answer.ok
    page.wait_for_url(served.base + "/queue")


def decisions_of(root: Path) -> dict[str, str]:
    frame = decide.read_decisions(root / "data" / "decisions" / "decisions.csv")
    return dict(zip(frame["account_id"], frame["follow_back"], strict=True))


def card_id(page) -> str:
    return page.locator("#queue article.card").get_attribute("data-account")


def press_and_wait(page, key: str) -> str:
    """Press a key on the queue and wait until the card shown is another one."""
    before = page.locator("#queue").get_attribute("data-position")
    before_id = card_id(page)
    page.keyboard.press(key)
    page.wait_for_function(
        "([p, a]) => { const q = document.querySelector('#queue');"
        " const c = q && q.querySelector('article.card');"
        " return q && (q.dataset.position !== p || (c && c.dataset.account !== a)); }",
        arg=[before, before_id])
    settled(page)
    return card_id(page)


def settled(page) -> None:
    """Wait until no request is out: app.js drops keys pressed while one is (never an answer
    to a card not yet on screen), so the next key must wait for the swap to settle."""
    page.wait_for_function("() => !document.documentElement.dataset.busy")


def test_answer_three_followers_with_the_keyboard(page, big):
    root, served = big
    page.goto(served.base + "/queue")
    assert decisions_of(root) == {}
    first = card_id(page)
    assert page.locator("#queue").get_attribute("data-position") == "0"
    answered = []
    for key in ("f", "s", "f"):
        shown = card_id(page)
        answered.append((shown, "true" if key == "f" else "false"))
        after = press_and_wait(page, key)
        assert after != shown
        # Written at once: the file holds the answer before the next key.
        assert decisions_of(root).get(shown) == answered[-1][1]
    assert decisions_of(root) == dict(answered)
    assert answered[0][0] == first
    assert "saved: @" in page.locator("#queue .note").inner_text()

    # u takes back the last answer: the file as before it, and that account is shown again.
    assert press_and_wait(page, "u") == answered[-1][0]
    assert decisions_of(root) == dict(answered[:2])
    # j and k move without writing anything.
    nxt = press_and_wait(page, "j")
    assert nxt != answered[-1][0]
    assert press_and_wait(page, "k") == answered[-1][0]
    assert decisions_of(root) == dict(answered[:2])
    # ? opens the help, Escape closes it.
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert "follow back" in page.locator("#help").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    # The same file `followback decide` writes, in its columns.
    header = (root / "data" / "decisions" / "decisions.csv").read_text().splitlines()[0]
    assert header == "account_id,follow_back,decided_at,note,handle"
    assert page.errors == []


def test_page_through_5000_followers(page, big, tmp_path):
    _, served = big
    page.goto(served.base + "/followers")
    assert page.locator("#matching").inner_text() == str(N_FOLLOWERS)
    assert page.locator("#page-count").inner_text() == str(N_FOLLOWERS // 50)
    seen: set[str] = set()
    for number in range(1, 5):
        assert page.locator("#page-number").inner_text() == str(number)
        ids = page.locator("table.followers tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.account)")
        assert len(ids) == 50 and not seen & set(ids)
        seen |= set(ids)
        page.locator(".pager a[rel=next]").click()
        page.wait_for_function("n => document.querySelector('#page-number').textContent"
                               " === String(n)", arg=number + 1)
        settled(page)
    assert "page=5" in page.url  # the address follows, so reload and back work
    page.keyboard.press("j")  # the pager's keys too
    page.wait_for_function("() => document.querySelector('#page-number').textContent === '6'")
    page.locator(".pager a", has_text="last").click()
    page.wait_for_function("() => document.querySelector('#page-number').textContent === "
                           "'100'")
    assert page.locator("table.followers tbody tr").count() == 50
    # Filter and search on the server: a verdict, then a handle.
    page.locator("select[name=verdict]").select_option("skip")
    page.wait_for_function("() => document.querySelector('#page-number').textContent === '1'"
                           " && Number(document.querySelector('#matching').textContent) < 5000")
    verdicts = page.locator("table.followers tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.verdict)")
    assert set(verdicts) == {"skip"}
    page.locator("select[name=verdict]").select_option("")
    page.locator("input[name=q]").fill("user4999")
    page.wait_for_function("() => document.querySelector('#matching').textContent === '1'")
    assert page.locator("table.followers tbody tr .handle").inner_text() == "@user4999"
    page.reload()
    assert page.locator("#matching").inner_text() == "1"
    page.screenshot(path=str(tmp_path / "followers.png"))


def test_a_bio_holding_script_is_shown_as_text_and_never_runs(page, big):
    _, served = big
    page.goto(served.base + "/queue?at=0")
    card = page.locator("#queue article.card")
    assert card.locator(".bio").inner_text() == f"{PLANTED_SCRIPT} I bake too"
    assert card.locator(".name").inner_text() == PLANTED_IMG
    assert card.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # Only the app's own two scripts are on the page.
    sources = page.evaluate("Array.from(document.scripts).map(s => s.src.split('/').pop())")
    assert sorted(sources) == ["app.js", "htmx.min.js"]
    # And were markup to get in, the policy would not run an inline script.
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__pwned = 3'; document.body.appendChild(s); }""")
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_no_token_no_app(chromium, big):
    _, served = big
    context = chromium.new_context()
    page = context.new_page()
    for url in (served.base + "/", served.base + "/queue", served.base + "/followers"):
        answer = page.goto(url)
        assert answer.status == 403
        assert "user" not in page.content() and "followback app" in page.inner_text("body")
    answer = page.goto(served.base + "/?token=" + "x" * len(served.token))
    assert answer.status == 403
    assert context.cookies() == []
    context.close()


def test_a_rebound_name_is_refused(playwright, big):
    """DNS rebinding: a site's name made to resolve to 127.0.0.1 reaches the port, with the
    site's name in the Host header; even with the token the app refuses it."""
    _, served = big
    browser = launch_chromium(playwright, "--host-resolver-rules=MAP rebind.example 127.0.0.1")
    try:
        page = browser.new_page()
        answer = page.goto(f"http://rebind.example:{served.port}/?token={served.token}")
        assert answer.status == 400
        assert "Host" in page.inner_text("body") and "user" not in page.content()
    finally:
        browser.close()


def test_the_browser_is_opened_on_a_private_file_not_on_the_token(chromium, big, tmp_path):
    """The token never stands in the browser's command line (every local user's ``ps``
    shows it): the app hands the browser a file only this user can read, which goes on to
    the app, signed in."""
    root, _ = big
    said = tmp_path / "browser-was-given.txt"
    recorder = tmp_path / "browser.sh"
    recorder.write_text(f'#!/bin/sh\nprintf %s "$1" > {said}\n')
    recorder.chmod(0o700)
    with serve_app(root, {"BROWSER": str(recorder)}, browser=True) as served:
        for _ in range(100):
            if said.is_file() and said.read_text():
                break
            time.sleep(0.1)
        given = said.read_text()
        assert given.startswith("file://") and served.token not in given
        path = Path(given.removeprefix("file://"))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        context = chromium.new_context()
        page = context.new_page()
        page.goto(given)
        page.wait_for_url(served.base + "/queue")
        assert page.locator("#queue article.card").count() == 1
        assert not path.exists()  # removed once the browser has signed in
        context.close()


def test_a_change_without_the_csrf_token_is_refused(page, big):
    root, served = big
    page.goto(served.base + "/queue?at=5")
    account = card_id(page)
    before = decisions_of(root)
    status = page.evaluate("""a => fetch('/queue/answer', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: 'account_id=' + a + '&answer=follow'}).then(r => r.status)""", account)
    assert status == 403
    assert decisions_of(root) == before


def test_a_form_on_another_local_page_cannot_answer(chromium, big, tmp_path):
    """Another origin on the same machine (another port of 127.0.0.1: the same site, so the
    SameSite cookie goes along) posts a form to the app: refused, nothing written."""
    root, served = big
    account = synthetic_scores(1)["account_id"].iloc[0]
    attack = (f'<form id="f" method="post" action="{served.base}/queue/answer">'
              f'<input name="account_id" value="{account}"><input name="answer" '
              'value="skip"></form><script>document.getElementById("f").submit()</script>')
    (tmp_path / "index.html").write_text(attack)
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path))
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    context = chromium.new_context()
    try:
        page = context.new_page()
        sign_in(page, served)
        before = decisions_of(root)
        with page.expect_navigation(url=f"{served.base}/queue/answer"):
            page.goto(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
        assert "wrong Origin" in page.inner_text("body")
        assert decisions_of(root) == before
    finally:
        context.close()
        evil.shutdown()


# --------------------------------------------------------------------------- act


@pytest.fixture(scope="module")
def masto(tmp_path_factory):
    """A Mastodon account of 20 followers (4 followed back) fetched from a local Mastodon
    API, scored: followers 104-109 are "follow back" and not yet followed."""
    root = tmp_path_factory.mktemp("masto") / "project"
    (root / "data").mkdir(parents=True)
    world = World.make(20, 8)
    with FakeMastodon(world, token=TOKEN) as server:
        api = mastodon.MastodonFetch(server.url, TOKEN, None,
                                     Transport(mastodon.transient, 2, 0.001, Sleeps()))
        run(api, root / "data" / "raw" / "mastodon", 30, 20, show_progress=False)
        write_scores(root / "data" / "scores.csv", [str(n) for n in world.followers],
                     [f"user{n}" for n in world.followers])
        (root / "params.yaml").write_text(yaml.safe_dump({
            "user": {"handle": "maya", "never_list": ["@user105"]},
            "apply": {"pace_seconds": 0},
            "mlflow": {"tracking_uri": f"sqlite:///{root / 'mlflow.db'}"}}))
        with serve_app(root, {"MASTODON_ACCESS_TOKEN": TOKEN}) as served:
            yield root, world, server, served


def test_plan_confirm_and_see_the_follows_arrive_then_undo(chromium, masto):
    root, world, server, served = masto
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, served)
    # The queue links each follower's avatar from the fetch (the fake server gives every
    # fourth account the instance's placeholder, which is no avatar).
    page.goto(served.base + "/queue")
    number = int(page.locator("#queue article.card").get_attribute("data-account"))
    avatar = page.locator("#queue article.card a.avatar")
    if number % 4:
        assert avatar.get_attribute("href") == \
            f"{server.url}/system/accounts/avatars/{number}.png"
        assert avatar.get_attribute("rel") == "noopener noreferrer"
    else:
        assert avatar.count() == 0
    page.goto(served.base + "/act")
    original = list(world.following)
    page.locator("#make-plan").click()
    page.wait_for_load_state()
    # The dry run: who, which action, the top reason; the never list holds; nothing sent.
    assert page.locator("#n-actions").inner_text() == "5"
    rows = page.locator("table.plan tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert [r[0] for r in rows] == [f"@user{n}" for n in (104, 106, 107, 108, 109)]
    assert {r[1] for r in rows} == {"follow"} and rows[0][2] == "posts about what you post"
    assert "400 points left" in page.locator(".limits").inner_text()
    assert not [m for m, _ in server.log if m == "POST"]
    # Carried out only after the confirmation.
    page.locator("#review-plan").click()
    page.wait_for_load_state()
    assert "5 write(s) on mastodon" in page.inner_text("body")
    assert not [m for m, _ in server.log if m == "POST"] and world.following == original
    page.locator("#confirm").click()
    page.wait_for_selector("#job[data-state=done]", timeout=60_000)
    assert sorted(n for n in world.following if n not in original) == [104, 106, 107, 108,
                                                                       109]
    assert [p for m, p in server.log if m == "POST"] == [
        f"/api/v1/accounts/{n}/follow" for n in (104, 106, 107, 108, 109)]
    assert "5 ok" in page.locator("#job").inner_text()
    # The action log, and each action recorded as a decision.
    page.goto(served.base + "/act")
    [log] = page.locator("table.logs tbody tr").all()
    assert "5 ok" in log.inner_text()
    assert set(decisions_of(root)) == {"104", "106", "107", "108", "109"}
    # Undo the run, again after a confirmation.
    log.locator("button.undo-run").click()
    page.wait_for_load_state()
    assert "Undo the run" in page.inner_text("body")
    page.locator("#confirm").click()
    page.wait_for_selector("#job[data-state=done]", timeout=60_000)
    assert world.following == original
    assert decisions_of(root) == {}
    # The access token never reached a page or the app's output.
    for url in ("/act", "/queue", "/followers", "/model"):
        page.goto(served.base + url)
        assert TOKEN not in page.content()
    logs = "".join(p.read_text() for p in (root / "data" / "actions").glob("*.jsonl"))
    assert TOKEN not in logs and TOKEN not in "".join(served.output)
    assert json.loads(logs.splitlines()[0])["result"] == "ok"
    context.close()
