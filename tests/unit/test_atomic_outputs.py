"""Issue 13 section 4: a stage killed with kill -9 at any point leaves the whole old output or
the whole new one, never a mix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import io, schema


def _export(folder: Path, n: int, tag: str) -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame({"platform": "mastodon", "account_id": [f"{tag}{i}" for i in range(n)],
                  "handle": [f"{tag}_{i}" for i in range(n)]}).to_csv(folder / "accounts.csv",
                                                                       index=False)
    pd.DataFrame({"account_id": [f"{tag}{i}" for i in range(n)],
                  "post_id": [f"p{i}" for i in range(n)],
                  "text": [f"{tag} post {i}" for i in range(n)]}).to_csv(folder / "posts.csv",
                                                                         index=False)
    pd.DataFrame({"account_id": [f"{tag}{i}" for i in range(n)],
                  "follow_back": [i % 2 == 0 for i in range(n)]}).to_csv(
        folder / "decisions.csv", index=False)
    return folder


def _ingest(src: Path, out: Path, kill_after: int | None = None) -> int:
    env = dict(os.environ)
    env.pop("FOLLOWBACK_KILL_AFTER", None)
    if kill_after is not None:
        env["FOLLOWBACK_KILL_AFTER"] = str(kill_after)
    code = ("import sys; from pipeline.config import Source; from pipeline.ingest import ingest;"
            "ingest([Source(path=sys.argv[1], format='generic')], sys.argv[2])")
    return subprocess.run([sys.executable, "-c", code, str(src), str(out)], env=env,
                          capture_output=True, text=True).returncode


def _state(out: Path) -> dict[str, pd.DataFrame]:
    return {t: io.read_table(out, t) for t in ("accounts", "posts", "decisions")}


def _same(a: dict, b: dict) -> bool:
    return all(a[t].equals(b[t]) for t in a)


@pytest.mark.parametrize("kill_after", [1, 5, 8, 9])
def test_ingest_killed_at_any_step_leaves_old_or_new(tmp_path, kill_after):
    old_src, new_src = _export(tmp_path / "old", 3, "o"), _export(tmp_path / "new", 5, "n")
    ref_old, ref_new = tmp_path / "ref_old", tmp_path / "ref_new"
    assert _ingest(old_src, ref_old) == 0 and _ingest(new_src, ref_new) == 0
    old, new = _state(ref_old), _state(ref_new)

    out = tmp_path / "ingested"
    assert _ingest(old_src, out) == 0
    code = _ingest(new_src, out, kill_after=kill_after)
    state = _state(out)  # what the next stage reads (a half-done swap is undone first)
    summary = (out / "summary.json").read_text()
    if code == 0:  # fewer visible steps than kill_after: the run finished
        assert _same(state, new)
    else:
        assert code == -9
        assert _same(state, old) or _same(state, new), f"mixed output after step {kill_after}"
        expected = ref_old if _same(state, old) else ref_new
        assert summary == (expected / "summary.json").read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".ingested")]
    assert len(leftovers) <= 1  # at most the killed run's temporary folder
    # And a later run cleans up and writes the new output whole.
    assert _ingest(new_src, out) == 0
    assert _same(_state(out), new)
    assert not (tmp_path / ".ingested.old").exists()


def test_a_swap_killed_between_its_two_renames_is_undone(tmp_path):
    out = tmp_path / "ingested"
    out.mkdir()
    io.write_table(schema.empty_frame("accounts"), out / "accounts.parquet")
    os.replace(out, tmp_path / ".ingested.old")  # killed right after moving the old aside
    io.recover_dir(out)
    assert (out / "accounts.parquet").is_file()
    assert not (tmp_path / ".ingested.old").exists()
