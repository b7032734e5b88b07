"""``followback app`` without a browser: the guard's refusals, the queue's writes, the
followers table. Starlette's TestClient calls the ASGI app in this process."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from pipeline.app.security import CSP, Secrets
from pipeline.app.server import create_app
from pipeline.app.store import Project
from pipeline.core.config import load_config
from pipeline.stages import decide
from tests.integration.app_projects import scores_project, synthetic_scores

PORT = 8765
ORIGIN = f"http://127.0.0.1:{PORT}"
PLANTED = "<script>window.__pwned=1</script>"


@pytest.fixture
def project(tmp_path, monkeypatch):
    scores = synthetic_scores(300, planted={
        0: {"bio": f"{PLANTED} I bake", "display_name": '<img src=x onerror="alert(1)">',
            "probability": 0.4, "verdict": "review"}})
    root = scores_project(tmp_path / "p", scores)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def keys() -> Secrets:
    return Secrets()


@pytest.fixture
def client(project, keys):
    cfg = load_config(project / "params.yaml")
    app = create_app(Project(cfg, project / "params.yaml"), keys, PORT)
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as c:
        yield c


def signed_in(client, keys):
    answer = client.get(f"/?token={keys.token}")
    assert answer.status_code == 200
    assert '<meta http-equiv="refresh" content="0;url=/">' in answer.text  # without token
    assert keys.token not in answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return client


def decisions(root):
    return decide.read_decisions(root / "data" / "decisions" / "decisions.csv")


def test_no_token_is_refused_and_shows_nothing(client):
    for path in ("/", "/queue", "/followers", "/model", "/static/app.js"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "user" not in answer.text and "maya" not in answer.text


def test_a_wrong_token_is_refused(client, keys):
    answer = client.get("/queue?token=" + keys.token[:-2] + "xx")
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert client.get("/queue").status_code == 403


def test_the_token_becomes_a_cookie_and_pages_answer(client, keys):
    signed_in(client, keys)
    for path in ("/queue", "/followers", "/retrain", "/act", "/tricksters", "/trends",
                 "/model", "/static/app.js", "/static/htmx.min.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert keys.token not in answer.text  # the token is in no page


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.2:8765",
                                  "localhost.evil.example:8765", ""])
def test_a_foreign_host_header_is_refused_even_with_the_cookie(client, keys, host):
    signed_in(client, keys)
    answer = client.get("/queue", headers={"host": host})
    assert answer.status_code == 400
    assert "user" not in answer.text


def test_localhost_is_served_too(client, keys):
    signed_in(client, keys)
    assert client.get("/queue", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_a_change_without_the_csrf_token_is_refused(client, keys, project):
    signed_in(client, keys)
    first = client.get("/queue")
    account = re.search(r'data-account="(\d+)"', first.text).group(1)
    for headers in ({}, {"x-csrf-token": "wrong"}):
        answer = client.post("/queue/answer", data={"account_id": account, "answer": "follow"},
                             headers=headers)
        assert answer.status_code == 403
    answer = client.post("/queue/answer", data={"account_id": account, "answer": "follow",
                                                "csrf_token": "wrong"})
    assert answer.status_code == 403
    for path in ("/queue/undo", "/retrain/run", "/act/confirm", "/act/run"):
        assert client.post(path).status_code == 403, path
    assert len(decisions(project)) == 0


def test_a_change_from_another_origin_is_refused(client, keys, project):
    signed_in(client, keys)
    account = re.search(r'data-account="(\d+)"', client.get("/queue").text).group(1)
    answer = client.post("/queue/answer", data={"account_id": account, "answer": "skip",
                                                "csrf_token": keys.csrf},
                         headers={"origin": "http://evil.example"})
    assert answer.status_code == 403
    assert len(decisions(project)) == 0


def test_an_answer_is_written_at_once_and_undo_puts_back_the_earlier_one(client, keys,
                                                                          project):
    signed_in(client, keys)
    page = client.get("/queue").text
    account = re.search(r'data-account="(\d+)"', page).group(1)
    path = project / "data" / "decisions" / "decisions.csv"
    decide.record(path, account, True, note="mine", handle="x")
    # A plain form post (no htmx): the field carries the CSRF token, then a redirect.
    answer = client.post("/queue/answer", data={"account_id": account, "answer": "skip",
                                                "csrf_token": keys.csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/queue?at=1"
    row = decisions(project).set_index("account_id").loc[account]
    assert row["follow_back"] == "false"
    # htmx: the header carries it, and the answer is the next card.
    answer = client.post("/queue/undo", headers={"x-csrf-token": keys.csrf,
                                                 "hx-request": "true"})
    assert answer.status_code == 200 and f'data-account="{account}"' in answer.text
    assert "<html" not in answer.text  # a fragment
    row = decisions(project).set_index("account_id").loc[account]
    assert row["follow_back"] == "true" and row["note"] == "mine"
    # Undo of an answer where there was none removes the row.
    answer = client.post("/queue/answer", data={"account_id": "100001", "answer": "follow"},
                         headers={"x-csrf-token": keys.csrf})
    assert answer.status_code == 303
    assert "100001" in set(decisions(project)["account_id"])
    client.post("/queue/undo", headers={"x-csrf-token": keys.csrf})
    assert "100001" not in set(decisions(project)["account_id"])


def test_text_a_stranger_wrote_is_escaped(client, keys):
    signed_in(client, keys)
    for page in (client.get("/queue?at=0").text, client.get("/followers?q=bake").text):
        assert PLANTED not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "<script>" not in client.get("/followers").text.split("</head>")[1]


def test_queue_asks_the_most_uncertain_first_and_leaves_decided_out(client, keys, project):
    from pipeline.data.scores import read_scores
    from pipeline.stages.review import queue

    scores = read_scores(project / "data" / "scores.csv")
    decide.record(project / "data" / "decisions" / "decisions.csv", "100000", True)
    expected = queue(scores, decide.known_decisions(load_config(project / "params.yaml")))
    signed_in(client, keys)
    shown = [re.search(r'data-account="(\d+)"', client.get(f"/queue?at={i}").text).group(1)
             for i in range(5)]
    assert shown == expected["account_id"].head(5).tolist()
    assert "100000" not in shown


def test_followers_are_filtered_searched_sorted_and_paged_on_the_server(client, keys):
    signed_in(client, keys)
    page = client.get("/followers?verdict=skip&sort=probability&desc=1&per_page=25&page=2")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-account="(\d+)" data-verdict="([a-z ]+)">', page.text)
    assert len(rows) == 25 and {v for _, v in rows} == {"skip"}
    probs = [float(p) for p in re.findall(r'<td class="prob">([0-9.]+)</td>', page.text)]
    assert probs == sorted(probs, reverse=True)
    total = int(re.search(r'<span id="matching">(\d+)</span>', page.text).group(1))
    assert 25 < total < 300
    found = client.get("/followers?q=USER29", headers={"hx-request": "true"})
    assert "<html" not in found.text  # htmx gets the table alone
    handles = re.findall(r"@(user\d+)", found.text)
    assert sorted(set(handles)) == sorted(["user29", *(f"user29{i}" for i in range(10))])


@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", "null", "https://127.0.0.1:8765",
                                    "http://evil.example:8765", "not a url"])
def test_only_the_apps_own_origin_may_post(client, keys, origin):
    signed_in(client, keys)
    answer = client.post("/queue/undo", headers={"x-csrf-token": keys.csrf, "origin": origin})
    assert answer.status_code == 403
    assert client.post("/queue/undo", headers={"x-csrf-token": keys.csrf,
                                               "origin": ORIGIN}).status_code == 303


def test_retrain_without_dvc_yaml_fails_on_the_page_and_says_why(client, keys):
    import time

    signed_in(client, keys)
    started = client.post("/retrain/run", headers={"x-csrf-token": keys.csrf,
                                                   "hx-request": "true"})
    assert started.status_code == 200
    for _ in range(100):
        status = client.get("/retrain/status").text
        if 'data-state="failed"' in status:
            break
        time.sleep(0.05)
    assert 'data-state="failed"' in status and "no dvc.yaml" in status


def test_a_taken_port_moves_to_the_next_and_other_hosts_are_named():
    import socket

    from pipeline.app.serve import allowed_hosts, bind

    first = bind("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        second = bind("127.0.0.1", port)
        assert second.getsockname()[1] > port
        second.close()
    finally:
        first.close()
    assert allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost")
    assert allowed_hosts("192.0.2.7") == ("127.0.0.1", "localhost", "192.0.2.7")
    assert allowed_hosts("::1") == ("127.0.0.1", "localhost", "[::1]")
    assert isinstance(first, socket.socket)


def test_the_browser_is_sent_a_private_file_not_the_token(tmp_path):
    import stat

    from pipeline.app.serve import redirect_file

    url = "http://127.0.0.1:8765/?token=abc-DEF_123"
    path = redirect_file(url)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f'content="0;url={url}"' in path.read_text()
        assert "token" not in str(path)
    finally:
        path.unlink()


def test_nothing_is_carried_out_without_the_confirmed_plan(client, keys):
    signed_in(client, keys)
    for data in ({"plan_id": "made-up", "confirm": "yes"}, {"confirm": "yes"}, {}):
        answer = client.post("/act/run", data=data, headers={"x-csrf-token": keys.csrf})
        assert answer.status_code == 400 and "Not confirmed" in answer.text
    assert "nothing has run" in client.get("/act").text
