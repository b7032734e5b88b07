"""How fast the review loop refits: the classifier on cached features against the whole Pipeline.

``followback review`` refits after every few answers (``pipeline.model.queue.refit``): the personal
model's calibrated classifier on the feature table ``featurize`` wrote, or the prior when the
labels are too few. The baseline, in the same run, is what ``train`` fits: the whole Pipeline,
the six extractors included (their texts come from the content cache, so this is the cost
without any new embedding). On one real person of the shared data (the harness
``bench/real_people.py``; timings only), for 30, 100, 300 and 1,000 labels:

    PYTHONPATH=. OMP_NUM_THREADS=1 python bench/refit.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import real_people as rp  # noqa: E402


def main() -> None:
    from pipeline.model.queue import refit

    ids = rp.person_ids(min_followers=1000)
    person = rp.featured_person(ids[-1])  # the smallest of the persons with 1,000+ followers
    cfg = rp.config_for(person)
    rng = np.random.default_rng(0)
    order = rng.permutation(person.n)
    print(f"one person, {person.n} followers; seconds per fit")
    print(f"{'labels':>7} {'refit (cached features)':>25} {'kind':>9} {'whole Pipeline':>16}")
    for k in (30, 100, 300, 1000):
        idx = np.sort(order[:k])
        labels = pd.Series(person.y[idx], index=person.frame["account_id"].astype(str).iloc[idx])
        started = time.perf_counter()
        _, kind = refit(cfg, person.features, labels)
        fast = time.perf_counter() - started
        started = time.perf_counter()
        if len(np.unique(person.y[idx])) == 2:
            rp.fit_pipeline(person, cfg, idx)
            whole = f"{time.perf_counter() - started:16.1f}"
        else:
            whole = f"{'-':>16}"
        print(f"{k:>7} {fast:>25.2f} {kind:>9} {whole}")


if __name__ == "__main__":
    main()
