"""Long work the app runs in the background, one job at a time, with progress for the page.

- :func:`retrain`: ``dvc repro`` in the project's folder, the DVC way (``dvc.lock`` stays
  true: DVC itself decides which stages the new decisions make stale, and records what ran).
  Progress is read from DVC's own lines, one per stage ("Running stage ...", "Stage ... didn't
  change, skipping"). Before and after, the evaluation (model against the follower-app rules)
  and the verdicts are read, so the page can say how the model moved.
- :func:`carry_out`: a confirmed ``apply`` plan (or the undo of a run) through
  :func:`pipeline.stages.apply.carry_out`, its action log counting progress.

A job's lines are the tools' own output; they never hold a token or password (the commands do
not print them, and the app's environment passes them to ``apply`` only through the process
environment it already has).
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGE_LINE = re.compile(r"^(?:Running stage|Stage) '([^']+)'")


@dataclass
class Job:
    """One piece of background work and what the page shows of it."""

    kind: str
    total: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = "running"          # running | done | failed
    done: int = 0
    current: str = ""
    lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=400))
    started: float = field(default_factory=time.time)
    ended: float | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return 100 if self.state == "done" else int(100 * self.done / max(self.total, 1))

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started


class Jobs:
    """At most one job runs at a time; the latest of each kind stays for its page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: dict[str, Job] = {}

    def running(self) -> Job | None:
        with self._lock:
            return next((j for j in self.latest.values() if j.state == "running"), None)

    def start(self, job: Job, work: Callable[[Job], None]) -> Job | None:
        """Run ``work(job)`` in a thread; None when another job is still running."""
        with self._lock:
            if any(j.state == "running" for j in self.latest.values()):
                return None
            self.latest[job.kind] = job

        def run() -> None:
            try:
                work(job)
                job.state = "done"
            except Exception as exc:  # noqa: BLE001 - shown on the page, the server goes on
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"
            finally:
                job.ended = time.time()

        threading.Thread(target=run, name=f"followback-{job.kind}", daemon=True).start()
        return job


# --------------------------------------------------------------------------- retrain


def dvc_stages(root: Path) -> list[str]:
    """The stage names of ``dvc.yaml`` in ``root``, in file order."""
    import yaml

    path = Path(root) / "dvc.yaml"
    if not path.is_file():
        return []
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stages") or {})


def dvc_command() -> list[str]:
    """``dvc`` beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("dvc")
    if found:
        return [found]
    return [sys.executable, "-m", "dvc"]


def model_figures(cfg) -> dict[str, float | None]:
    """ROC-AUC of the model and of the rules (holdout, and CV), from the evaluation."""
    from pipeline.stages.evaluate import details_path
    from pipeline.stages.report import _json

    details = _json(details_path(cfg)) or {}
    out: dict[str, float | None] = {}
    for split in ("holdout", "cv"):
        for who in ("model", "rules"):
            value = ((details.get(split) or {}).get(who) or {}).get("roc_auc")
            out[f"{split}_{who}"] = None if value is None else float(value)
    return out


def verdicts(cfg) -> dict[str, str]:
    from pipeline.data.scores import read_scores

    if not Path(cfg.score.out).is_file():
        return {}
    scores = read_scores(cfg.score.out)
    return dict(zip(scores["account_id"].astype(str), scores["verdict"].astype(str),
                    strict=True))


def moved(before: dict[str, str], after: dict[str, str]) -> dict[str, int]:
    """How many accounts' verdicts changed, by (old -> new)."""
    counts: dict[str, int] = {}
    for account_id, new in after.items():
        old = before.get(account_id)
        if old is not None and old != new:
            key = f"{old} \u2192 {new}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def retrain(cfg, root: Path, on_done: Callable[[], None] | None = None) -> tuple[Job, Callable]:
    """The retrain job and its work: ``dvc repro`` in ``root``."""
    stages = dvc_stages(root)
    job = Job("retrain", total=len(stages))

    def work(job: Job) -> None:
        if not stages:
            raise RuntimeError(f"no dvc.yaml in {root}: retraining runs the pipeline's DVC "
                               "stages (`dvc repro`)")
        job.result["before"] = model_figures(cfg)
        before = verdicts(cfg)
        env = {**os.environ, "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
        env.setdefault("PYTHONUNBUFFERED", "1")
        seen: list[str] = []  # every stage DVC named, run or skipped
        ran: list[str] = []   # the stages it ran
        with subprocess.Popen([*dvc_command(), "repro"], cwd=root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, bufsize=1) as proc:
            for line in proc.stdout:  # type: ignore[union-attr]
                line = line.rstrip()
                if line:
                    job.lines.append(line)
                hit = STAGE_LINE.match(line)
                if hit and hit.group(1) not in seen:
                    if seen:
                        job.done = len(seen)
                    seen.append(hit.group(1))
                    job.current = hit.group(1)
                    if line.startswith("Running stage"):
                        ran.append(hit.group(1))
            code = proc.wait()
        job.done = len(seen) if code == 0 else max(len(seen) - 1, 0)
        job.result["ran"] = ran
        if code != 0:
            raise RuntimeError(f"dvc repro stopped with exit status {code}"
                               + (f" in stage {job.current!r}" if job.current else ""))
        job.result["after"] = model_figures(cfg)
        job.result["moved"] = moved(before, verdicts(cfg))
        job.result["n_scored"] = len(verdicts(cfg))
        if on_done is not None:
            on_done()

    return job, work


# --------------------------------------------------------------------------- apply


def carry_out(cfg, plan, instance: str | None = None, service: str | None = None
              ) -> tuple[Job, Callable]:
    """The job that carries out a confirmed plan, logging as ``apply --yes`` does."""
    from datetime import UTC, datetime

    from pipeline.stages import apply

    job = Job("act", total=len(plan.actions))

    class CountingLog(apply.ActionLog):
        def append(self, entry: dict[str, Any]) -> None:
            super().append(entry)
            job.done += 1
            who = f"@{entry['handle']}" if entry.get("handle") else entry["account_id"]
            job.current = f"{entry['action']} {who}: {entry['result']}"
            job.lines.append(job.current)

    def work(job: Job) -> None:
        from pipeline.data.fetch._run import completed

        fetches = completed(Path(cfg.fetch.out_dir) / plan.platform)
        manifest = fetches[-1][1] if fetches else None
        api = apply.actions_client(cfg, plan.platform, manifest, instance, service)
        writes = apply.writes_of(plan.platform)
        now = datetime.now(UTC)
        name = (f"{plan.platform}-{now.strftime('%Y-%m-%dT%H%M%SZ')}"
                f"{'-undo' if plan.undo_of else ''}.jsonl")
        log = CountingLog(Path(cfg.apply.actions_dir) / name)
        pace = writes.pace_seconds if cfg.apply.pace_seconds is None else cfg.apply.pace_seconds
        counts = apply.carry_out(cfg, plan, api, pace, log)
        job.result = {"counts": counts, "log": log.path.name}
        if counts.get("error"):
            raise RuntimeError(f"{counts['error']} action(s) failed: see {log.path.name}")

    return job, work
