"""``followback init``: the project on your account without editing params.yaml, and back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.core.config import load_config
from tests.servers import FakeMastodon, World

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-init-7d1e0c55a3f94b2a"


def run(*args: str, expect: int = 0):
    from pipeline.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_mastodon_writes_the_account_settings_and_keeps_comments(project):
    result = run("init", "mastodon", "--instance", "mastodon.example", "--account", "@maya")
    cfg = load_config("params.yaml")
    assert cfg.fetch.mastodon.instance == "https://mastodon.example"
    assert cfg.fetch.mastodon.account == "@maya" and cfg.user.handle == "maya"
    assert [(str(s.path), s.format) for s in cfg.ingest.sources] == [
        ("data/raw/mastodon", "mastodon"), ("data/decisions", "generic")]
    assert cfg.user.from_fetch
    text = Path("params.yaml").read_text()
    assert "# One section per stage plus a shared `base`." in text  # comments kept
    said = " ".join(result.output.split())
    assert "ingest.sources: data/raw/demo (auto), data/decisions (generic) -> " \
           "data/raw/mastodon (mastodon), data/decisions (generic)" in said
    assert "followback fetch mastodon" in said
    # again: nothing to change
    assert "nothing changed" in run("init", "mastodon", "--instance", "mastodon.example",
                                    "--account", "@maya").output


def test_init_bluesky_then_demo_puts_the_demo_back(project):
    original = load_config("params.yaml")
    run("init", "bluesky", "--handle", "maya.bsky.social")
    cfg = load_config("params.yaml")
    assert cfg.fetch.bluesky.handle == "maya.bsky.social" and cfg.user.handle == \
        "maya.bsky.social"
    assert str(cfg.ingest.sources[0].path) == "data/raw/bluesky"
    run("init", "demo")
    back = load_config("params.yaml")
    assert back.ingest == original.ingest and back.user == original.user
    assert back.fetch == original.fetch


def test_init_needs_the_account(project):
    assert "--instance" in run("init", "mastodon", expect=2).output
    assert "--handle" in run("init", "bluesky", expect=2).output


def test_the_demo_stage_does_nothing_on_an_account(project):
    run("init", "mastodon", "--instance", "https://mastodon.example")
    result = run("demo")
    assert "the demo is not built" in result.output
    assert [p.name for p in Path("data/raw/demo").iterdir()] == ["README.txt"]
    assert json.loads(Path("data/raw/demo_truth.json").read_text()) == {}


def test_first_fetch_fills_in_handle_and_proposes_languages(project, monkeypatch):
    world = World.make(12, 4)
    with FakeMastodon(world, token=TOKEN) as server:
        run("init", "mastodon", "--instance", server.url)
        monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
        result = run("fetch", "mastodon")
    cfg = load_config("params.yaml")
    assert cfg.user.handle == "maya" and not cfg.user.from_fetch
    # The fake's own statuses (9, reblogs left out) are tagged English; the bio is left to
    # lingua, which is not sure of it.
    assert cfg.user.languages == ["en"]
    assert "user.languages proposed from 10 own text(s) (9 tagged by the platform" in \
        " ".join(result.output.split())
    assert TOKEN not in result.output and TOKEN not in Path("params.yaml").read_text()
    os.environ.pop("MASTODON_ACCESS_TOKEN", None)
