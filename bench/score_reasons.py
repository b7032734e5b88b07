"""Scoring with reasons: the exact baseline against the structure method, and paging 50,000.

Called by ``bench/score.py`` after its warm run (``--compare-accounts``, ``--page-rows``), on
the same model, the same input and the same warm caches, in the same process:

1. **Attribution, same accounts, same run.** ``followback score`` (in-process, warm) on the
   first ``--compare-accounts`` accounts of the input with ``score.attribution: hybrid``
   (today's exact computation: 64 coalitions x background rows through ``predict_proba``),
   then with ``structure`` (the same Shapley values read from the trees), alternating
   ``--repeats`` times; accounts/s wall and per CPU-second, and the load average. Then the
   agreement of the two scores files: top reason, the full ranked reasons (all three
   sentences), the ranked criteria, verdicts, and max |contribution| difference, in the file
   (4 decimals) and at full precision (``attribute`` on the same feature rows, also timed
   alone).
2. **Today's code** (``--baseline-commit``, e.g. the branch point): the same warm scoring of
   the same accounts by the code of that commit (``git archive``), in a subprocess, timed in
   the subprocess after its own warm-up, so the whole speed-up (not only the attribution's)
   is measured in the same run.
3. **A queue page at 50,000 followers.** The warm scores repeated to ``--page-rows`` rows
   (new account ids) as a CSV; the first queue page the way ``review`` gets it today
   (``read_scores`` + ``review.queue``) against :func:`pipeline.data.scores.page` from the
   Parquet copy ``score`` writes, from memory (the next page), and with no copy (the first
   read writes it). Each timed ``--repeats`` times; the median is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def subset_input(folder: Path, out: Path, n: int) -> Path:
    """The first ``n`` accounts of a generic-format input folder, with their posts."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False).head(n)
    accounts.to_csv(out / "accounts.csv", index=False)
    ids = set(accounts["account_id"])
    with open(folder / "posts.jsonl", encoding="utf-8") as src, \
            open(out / "posts.jsonl", "w", encoding="utf-8") as dst:
        for line in src:
            if json.loads(line)["account_id"] in ids:
                dst.write(line)
    return out


def timed_score(cfg, out: Path, folder: Path, model, method: str) -> dict:
    from pipeline.core.config import Source
    from pipeline.stages import score as scoring

    cfg.score.attribution = method
    before = load()
    wall, cpu = time.perf_counter(), time.process_time()
    summary = scoring.score(cfg, out, [Source(path=folder)], model=model, model_id="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"method": method, "n": summary.scored, "wall": wall, "cpu": cpu,
            "rate": summary.scored / wall, "cpu_rate": summary.scored / cpu,
            "load": f"{before} -> {load()}"}


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """How far the reasons of two scores files of the same accounts agree."""
    from pipeline.data.scores import CONTRIB_COLUMNS
    from pipeline.model.reasons import criterion_of_phrase

    a = a.set_index("account_id")
    b = b.set_index("account_id").loc[a.index]
    reasons = [f"reason_{k}" for k in (1, 2, 3)]

    def crit(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[reasons].apply(lambda col: col.map(
            lambda t: None if pd.isna(t) else criterion_of_phrase(t)))

    ca, cb = crit(a), crit(b)
    same_text = (a[reasons].fillna("") == b[reasons].fillna("")).all(axis=1)
    same_crit = (ca.fillna("") == cb.fillna("")).all(axis=1)
    return {
        "n": len(a),
        "top_reason": float((ca["reason_1"].fillna("") == cb["reason_1"].fillna("")).mean()),
        "ranked_reasons_text": float(same_text.mean()),
        "ranked_criteria": float(same_crit.mean()),
        "verdict": float((a["verdict"] == b["verdict"]).mean()),
        "max_abs_contrib_file": float(np.nanmax(np.abs(a[CONTRIB_COLUMNS].to_numpy(float)
                                                       - b[CONTRIB_COLUMNS].to_numpy(float)))),
    }


def full_precision(cfg, model, folder: Path, repeats: int) -> dict:
    """``attribute`` with both methods on the same feature rows: max |difference| and the
    attribution alone, timed (best of ``repeats``)."""
    from pipeline.core.config import Source
    from pipeline.data.frame import with_groups
    from pipeline.model import attribution
    from pipeline.stages.score.spool import Spool, iter_records, spool_groups

    # The model input exactly as score builds it: through the spool, with the group counts.
    path = folder.parent / f"{folder.name}.spool.sqlite"
    path.unlink(missing_ok=True)
    spool = Spool(path)
    for item in iter_records([Source(path=folder)]):
        spool.add(item)
    n = spool.finish(10**9)["accounts"]
    spool.close()
    spool = Spool(path)
    groups_path = folder.parent / f"{folder.name}.groups.parquet"
    groups_path.unlink(missing_ok=True)
    frame = with_groups(spool.chunk_frame(0, cfg.features.max_posts),
                        spool_groups(spool, 1, cfg.features.max_posts, groups_path))
    spool.close()
    assert len(frame) == n
    pipe, background = model.pipeline, model.background
    features = attribution.feature_matrix(pipe, frame)
    out, values = {}, {}
    for method in ("hybrid", "structure"):
        best = np.inf
        for _ in range(repeats if method == "structure" else 1):
            t = time.process_time()
            values[method] = attribution.attribute(pipe, features, background, method=method)
            best = min(best, time.process_time() - t)
        out[f"attribute_{method}_per_cpu_s"] = len(frame) / best
    h, s = values["hybrid"].values, values["structure"].values
    out["max_abs_contrib"] = float(np.max(np.abs(h.to_numpy() - s.to_numpy())))
    out["max_abs_probability"] = float(np.max(np.abs(values["hybrid"].probability
                                                     - values["structure"].probability)))
    out["efficiency_gap"] = float(np.max(np.abs(s.sum(axis=1) - (values["structure"].log_odds
                                                                 - values["structure"].base))))
    out["n"] = len(frame)
    return out


BASELINE_SNIPPET = r"""
import json, sys, time
from pathlib import Path
import pipeline
assert sys.argv[0] == "-c" and "code-" in pipeline.__file__, pipeline.__file__
from pipeline.core.config import load_config, Source
from pipeline.model.tracking import load_model
from pipeline.stages import score as scoring
params, model_dir, folder, warm_folder, out = sys.argv[1:6]
cfg = load_config(params)
model, _ = load_model(cfg, model_dir)
scoring.score(cfg, Path(out + ".warmup.csv"), [Source(path=Path(warm_folder))], model=model,
              model_id="bench")
scoring.score(cfg, Path(out + ".warmup2.csv"), [Source(path=Path(folder))], model=model,
              model_id="bench")
wall, cpu = time.perf_counter(), time.process_time()
s = scoring.score(cfg, Path(out), [Source(path=Path(folder))], model=model, model_id="bench")
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"n": s.scored, "wall": wall, "cpu": cpu}))
"""


# Prints {section: [keys]} of the archived code's Config (run with its PYTHONPATH).
KNOWN_KEYS_SNIPPET = """
import json
from pipeline.core.config import Config
print(json.dumps({name: sorted(getattr(field.annotation, "model_fields", {}))
                  for name, field in Config.model_fields.items()}))
"""


def baseline_code(commit: str, work: Path, params: Path, model_dir: Path, folder: Path,
                  warm_folder: Path) -> dict:
    """Warm ``score`` of ``folder`` by the code of ``commit``, timed inside a subprocess."""
    import yaml

    code = work / f"code-{commit[:10]}"
    shutil.rmtree(code, ignore_errors=True)
    code.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, "pipeline"], cwd=REPO,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    # That commit's config may not know this one's keys (extra keys are errors there): keep
    # only the sections and keys its Config declares.
    env = {**os.environ, "PYTHONPATH": str(code)}
    known = json.loads(subprocess.run(
        [sys.executable, "-P", "-c", KNOWN_KEYS_SNIPPET], capture_output=True, text=True,
        env=env, cwd=str(REPO), check=True).stdout.strip().splitlines()[-1])
    old = {section: ({k: v for k, v in values.items() if k in known[section]}
                     if isinstance(values, dict) else values)
           for section, values in yaml.safe_load(params.read_text()).items()
           if section in known}
    old_params = work / f"params-{commit[:10]}.yaml"
    old_params.write_text(yaml.safe_dump(old, sort_keys=False))
    before = load()
    # In the repository, as this process (the model's extractors name files relative to it);
    # -P keeps the repository's own package off the path, so the archived one is imported.
    done = subprocess.run([sys.executable, "-P", "-c", BASELINE_SNIPPET, str(old_params),
                           str(model_dir), str(folder), str(warm_folder),
                           str(work / f"scores-{commit[:10]}.csv")],
                          capture_output=True, text=True, env=env, cwd=str(REPO))
    if done.returncode:
        raise RuntimeError(f"baseline code {commit} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(rate=result["n"] / result["wall"], cpu_rate=result["n"] / result["cpu"],
                  load=f"{before} -> {load()}", scores=work / f"scores-{commit[:10]}.csv")
    return result


def page_figures(scores_csv: Path, work: Path, rows: int, repeats: int) -> dict:
    """The first queue page of a ``rows``-row scores file: today's way against ``page``."""
    from pipeline.data import scores as S
    from pipeline.stages.review import queue

    base = S.read_scores(scores_csv)
    times = -(-rows // len(base))
    big = pd.concat([base.assign(account_id=base["account_id"] + f"-{k}",
                                 handle=base["handle"] + f"-{k}") for k in range(times)],
                    ignore_index=True).head(rows)
    path = work / f"scores-{rows}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        S.neutralise_frame(big).to_csv(fh, index=False, lineterminator=S.CSV_LINE_END)
    nobody = pd.DataFrame({"account_id": pd.Series([], dtype="string")})

    def clock(fn) -> list[float]:
        out = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out

    def today():
        return queue(S.read_scores(path), nobody).head(50)

    def no_copy():
        S._LOADED.clear()
        S.sidecar_path(path).unlink(missing_ok=True)
        return S.page(path, limit=50, overridden=False)

    def with_copy():
        S._LOADED.clear()
        return S.page(path, limit=50, overridden=False)

    def next_page():
        return S.page(path, offset=50, limit=50, overridden=False)

    expected = today()
    figures = {"rows": len(big), "csv_mb": path.stat().st_size / 1e6}
    for name, fn in (("read_scores + review.queue", today), ("page, no Parquet copy", no_copy),
                     ("page, Parquet copy", with_copy), ("page, from memory", next_page)):
        figures[name] = statistics.median(clock(fn))
    got = with_copy().rows
    same = got["account_id"].tolist() == expected["account_id"].tolist()
    figures["same first page as review.queue"] = bool(same)
    return figures


def run(cfg, model, model_dir: Path, params: Path, folder: Path, warm_folder: Path,
        work: Path, args) -> None:
    """Sections 1-3 of this module's docstring, printed."""
    from pipeline.data.scores import read_scores

    print(f"\nscoring with reasons, warm, {args.compare_accounts:,} accounts ({load()})",
          flush=True)
    compare = subset_input(folder, work / "input-compare", args.compare_accounts)
    timed_score(cfg, work / "compare-warmup.csv", compare, model, "structure")  # untimed
    runs: dict[str, list[dict]] = {"hybrid": [], "structure": []}
    for _ in range(args.repeats):
        for method in ("hybrid", "structure"):
            r = timed_score(cfg, work / f"compare-{method}.csv", compare, model, method)
            runs[method].append(r)
            print(f"  {method:9s}: {r['rate']:8.1f} accounts/s wall, {r['cpu_rate']:8.1f} per "
                  f"CPU-second ({r['n']} accounts, {r['wall']:.1f} s, {r['load']})", flush=True)
    cfg.score.attribution = "structure"
    best = {m: max(r["rate"] for r in rs) for m, rs in runs.items()}
    best_cpu = {m: max(r["cpu_rate"] for r in rs) for m, rs in runs.items()}
    print(f"  structure / hybrid: {best['structure'] / best['hybrid']:.1f}x wall, "
          f"{best_cpu['structure'] / best_cpu['hybrid']:.1f}x per CPU-second (best runs)")
    hybrid = read_scores(work / "compare-hybrid.csv")
    structure = read_scores(work / "compare-structure.csv")
    agree = agreement(hybrid, structure)
    print("  agreement, structure vs hybrid (the exact baseline), same accounts:")
    for k, v in agree.items():
        print(f"    {k}: {v:.6g}" if isinstance(v, float) else f"    {k}: {v}")
    precise = full_precision(cfg, model, compare, args.repeats)
    print("  full precision, attribute() on the same feature rows:")
    for k, v in precise.items():
        print(f"    {k}: {v:.6g}" if isinstance(v, float) else f"    {k}: {v}")

    if args.baseline_commit:
        old = baseline_code(args.baseline_commit, work, params, model_dir, compare, warm_folder)
        print(f"  code of {args.baseline_commit}: {old['rate']:.1f} accounts/s wall, "
              f"{old['cpu_rate']:.1f} per CPU-second ({old['n']} accounts, {old['wall']:.1f} s, "
              f"{old['load']})", flush=True)
        print(f"  this code (structure) / that code: {best['structure'] / old['rate']:.1f}x "
              f"wall, {best_cpu['structure'] / old['cpu_rate']:.1f}x per CPU-second")
        then = agreement(read_scores(old["scores"]), structure)
        print(f"  agreement with that code's scores: top reason {then['top_reason']:.4f}, "
              f"ranked reasons {then['ranked_reasons_text']:.4f}, ranked criteria "
              f"{then['ranked_criteria']:.4f}, verdict {then['verdict']:.4f}, max |contrib| "
              f"{then['max_abs_contrib_file']:.4g}")

    if args.page_rows:
        figures = page_figures(work / "compare-structure.csv", work, args.page_rows,
                               args.repeats)
        print(f"\nfirst queue page at {figures['rows']:,} accounts ({figures['csv_mb']:.0f} MB "
              f"CSV; median of {args.repeats}; {load()})")
        for k, v in figures.items():
            if k not in ("rows", "csv_mb"):
                print(f"  {k}: {v:.3f} s" if isinstance(v, float) else f"  {k}: {v}")


def main() -> None:  # pragma: no cover - run through bench/score.py
    raise SystemExit("run bench/score.py (it calls this module after its warm run)")


if __name__ == "__main__":
    main()
