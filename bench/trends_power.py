"""How often `followback trends` finds the demo's planted topic effect, and how often it flags
something when nothing is planted, over several demo seeds.

For each seed the demo generator writes a persona whose follower gains respond to her cycling
posts and losses to her gardening posts (``demo.topic_effect: true``), and the same persona with
no effect (the baseline, ``false``); each is ingested and analysed as `dvc repro` would. Printed:
per seed what was flagged, then how often the planted topics were found and how often anything
was flagged without an effect. Each seed takes a few seconds (the encoder's cache is shared).

    .venv/bin/python bench/trends_power.py --seeds 7
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CYCLING = {"bike", "ride", "rode", "cycling", "touring", "saddle", "gravel", "cyclingtour",
           "bikepacking", "panniers"}
GARDENING = {"garden", "gardening", "allotment", "compost", "tomatoes", "seed", "seedlings",
             "plot", "balcony", "beds"}


def flagged(seed: int, effect: bool, work: Path) -> list[tuple[set[str], str, float, bool]]:
    """(topic terms, outcome, slope, marked as a mirror image) of every detected association
    for one demo."""
    from pipeline import demo
    from pipeline.core.config import Config, Source
    from pipeline.data.ingest import ingest
    from pipeline.stages import trends

    root = Path(tempfile.mkdtemp(dir=work))
    cfg = Config()
    cfg = cfg.model_copy(update={
        "base": cfg.base.model_copy(update={"cache_dir": work / "cache", "seed": seed}),
        "user": cfg.user.model_copy(update={"handle": "maya.bakes", "languages": ["en", "de"]}),
        "demo": cfg.demo.model_copy(update={"out_dir": root / "raw",
                                            "truth_out": root / "truth.json",
                                            "topic_effect": effect}),
        "ingest": cfg.ingest.model_copy(update={"out_dir": root / "ingested"}),
        "trends": cfg.trends.model_copy(update={"out": root / "trends.json",
                                                "plot": root / "followers.png"}),
    })
    demo.generate(cfg)
    ingest([Source(path=root / "raw")], root / "ingested")
    result = trends.run(cfg)
    return [(set(t["terms"]), outcome, test["slope"], test.get("mirror_of") is not None)
            for t in result.topics for outcome, test in t["tests"].items()
            if test.get("detected")]


def cycling(terms: set[str], outcome: str, slope: float) -> bool:
    """The planted cycling effect: more cycling posts, more new followers (and net)."""
    return bool(terms & CYCLING) and outcome in ("gains", "net") and slope > 0


def gardening(terms: set[str], outcome: str, slope: float) -> bool:
    """The planted gardening effect: more gardening posts, more followers lost (net down)."""
    return bool(terms & GARDENING) and ((outcome == "losses" and slope > 0)
                                        or (outcome == "net" and slope < 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=7, help="demo seeds 1..N")
    args = parser.parse_args()

    found = {"cycling with gains": 0, "gardening with losses": 0,
             "something else (marked as a mirror image)": 0, "something else (unmarked)": 0,
             "a planted effect also marked as a possible mirror image": 0}
    false_alarms = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for seed in range(1, args.seeds + 1):
            started = time.perf_counter()
            planted = flagged(seed, True, work)
            baseline = flagged(seed, False, work)
            cyc = [cycling(t, o, s) for t, o, s, _ in planted]
            gar = [gardening(t, o, s) for t, o, s, _ in planted]
            others = [(f"{'/'.join(sorted(t))} {o} {'+' if s > 0 else '-'}"
                       f"{' (mirror)' if m else ''}", m)
                      for (t, o, s, m), c, g in zip(planted, cyc, gar, strict=True)
                      if not (c or g)]
            other = [text for text, _ in others]
            found["a planted effect also marked as a possible mirror image"] += any(
                m for (_, _, _, m), c, g in zip(planted, cyc, gar, strict=True) if c or g)
            cyc_hits, gar_hits = cyc, gar
            cyc, gar = any(cyc), any(gar)
            found["cycling with gains"] += cyc
            found["gardening with losses"] += gar
            found["something else (marked as a mirror image)"] += any(m for _, m in others)
            found["something else (unmarked)"] += any(not m for _, m in others)
            false_alarms += bool(baseline)
            marked = [f"{'/'.join(sorted(t))} {o}" for (t, o, _, m), c, g
                      in zip(planted, cyc_hits, gar_hits, strict=True) if m and (c or g)]
            print(f"seed {seed}: planted -> cycling/gains {'yes' if cyc else 'NO'}, "
                  f"gardening/losses {'yes' if gar else 'NO'}"
                  f"{' (marked as possible mirror: ' + '; '.join(marked) + ')' if marked else ''}"
                  f", also {'; '.join(other) or 'nothing'}; "
                  f"no effect -> {len(baseline)} flagged  ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    n = args.seeds
    print(f"\nwith the effect planted, found in {n} seeds: "
          + ", ".join(f"{k} {v}/{n}" for k, v in found.items()))
    print(f"baseline without an effect: anything flagged in {false_alarms}/{n} seeds")


if __name__ == "__main__":
    main()
