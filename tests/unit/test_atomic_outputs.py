"""Issue 13 section 4: a stage killed with kill -9 at any point leaves the whole old output or
the whole new one, never a mix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data import io, schema


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
    code = ("import sys; from pipeline.core.config import Source; "
            "from pipeline.data.ingest import ingest;"
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


# --------------------------------------------------------------------------- output sets
# io.OutputSet commits files in different folders together. Killed at every one of its steps,
# a set of two files and a folder must read (after io.recover, as every reader does) wholly old
# before the commit point and wholly new from it on.

def _write_set(root: Path, tag: str, kill_after: int | None = None,
               log: Path | None = None) -> int:
    """Write the set in a forked process (it does file I/O only); its exit code or -signal."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for key in ("FOLLOWBACK_KILL_AFTER", "FOLLOWBACK_KILL_LOG"):
                os.environ.pop(key, None)
            if kill_after is not None:
                os.environ["FOLLOWBACK_KILL_AFTER"] = str(kill_after)
            if log is not None:
                os.environ["FOLLOWBACK_KILL_LOG"] = str(log)
            io._steps = 0
            with io.OutputSet() as out:
                io.write_text(out.file(root / "metrics" / "one.json"), tag)
                io.write_text(out.file(root / "data" / "two.csv"), tag)
                folder = out.dir(root / "models" / "model")
                io.write_text(folder / "a.txt", tag)
                io.write_text(folder / "b.txt", tag)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


SET_FILES = ("metrics/one.json", "data/two.csv", "models/model/a.txt", "models/model/b.txt")


def _read_set(root: Path) -> list[str]:
    for target in ("metrics/one.json", "data/two.csv", "models/model"):
        io.recover(root / target)
    return [(root / f).read_text() for f in SET_FILES]


@pytest.mark.parametrize("linked", [False, True], ids=["plain", "data-folder-symlinked"])
def test_an_output_set_killed_at_every_step_reads_old_before_its_commit_and_new_after(
        tmp_path, linked):
    """``linked``: data/ is a symlink to a folder elsewhere (a data disk), so a journal in it
    must not find metrics/ through ``data/..``."""
    log = tmp_path / "kinds.log"
    assert _write_set(tmp_path / "probe", "old") == 0
    assert _write_set(tmp_path / "probe", "new", log=log) == 0
    kinds = log.read_text().split()
    # 4 writes, then per target a journal, the moves (a folder: aside, then in), the removals.
    assert kinds == ["write"] * 4 + ["journal"] * 3 + ["move"] * 4 + ["unjournal"] * 3
    commit = 7
    for n in range(1, len(kinds) + 1):
        root = tmp_path / f"kill-{n}"
        if linked:
            (tmp_path / "disk" / f"data-{n}").mkdir(parents=True)
            root.mkdir()
            (root / "data").symlink_to(tmp_path / "disk" / f"data-{n}")
        assert _write_set(root, "old") == 0
        assert _write_set(root, "new", kill_after=n) == -9
        expected = "new" if n >= commit else "old"
        assert _read_set(root) == [expected] * 4, f"killed at step {n} ({kinds[n - 1]})"
        # Whatever the reader found, the next run writes the whole new set and cleans up.
        assert _write_set(root, "next") == 0
        assert _read_set(root) == ["next"] * 4
        hidden = [p.name for p in root.rglob(".*")]
        assert hidden == [], f"left behind after a kill at step {n}: {hidden}"


def test_a_failed_block_commits_nothing_and_leaves_no_temporary(tmp_path):
    io.write_text(tmp_path / "a.json", "old")
    with pytest.raises(RuntimeError), io.OutputSet() as out:
        io.write_text(out.file(tmp_path / "a.json"), "new")
        io.write_text(out.file(tmp_path / "sub" / "b.json"), "new")
        raise RuntimeError("the stage failed")
    assert (tmp_path / "a.json").read_text() == "old"
    assert not (tmp_path / "sub" / "b.json").exists()
    assert [p.name for p in tmp_path.rglob(".*")] == []


def test_a_target_never_written_is_an_error_and_commits_nothing(tmp_path):
    io.write_text(tmp_path / "a.json", "old")
    with pytest.raises(FileNotFoundError, match="nothing was written"), \
            io.OutputSet() as out:
        io.write_text(out.file(tmp_path / "a.json"), "new")
        out.file(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_text() == "old"


def test_recover_waits_for_a_live_writer_instead_of_racing_it(tmp_path):
    """A reader finding journals while the writer is still moving files in waits for the
    folder lock rather than finishing the commit alongside it."""
    import fcntl
    import threading

    (tmp_path / "data").mkdir()
    io.write_text(tmp_path / "data" / "x.csv", "old")
    fd = os.open(tmp_path / "data", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as OutputSet.commit holds it
    io._journal(tmp_path / "data" / "x.csv").write_text(json.dumps(
        {"id": "1", "moves": [["missing.csv", str(tmp_path / "data" / "x.csv"), False]]}))
    done = threading.Event()
    reader = threading.Thread(target=lambda: (io.recover(tmp_path / "data" / "x.csv"),
                                              done.set()))
    reader.start()
    assert not done.wait(0.5), "recover did not wait for the lock"
    io._journal(tmp_path / "data" / "x.csv").unlink()  # the writer finishes its commit
    os.close(fd)
    reader.join(5)
    assert done.is_set() and (tmp_path / "data" / "x.csv").read_text() == "old"
