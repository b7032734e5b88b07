"""How fast the app's pages answer at 50,000 followers, against the static review page.

A generated scores file of N accounts (the columns ``followback score`` writes); the app is
called in this process through Starlette's TestClient (no network), signed in like a browser.
Measured: the start-up read ``followback app`` does in a thread while the browser opens
(``Project.warm``: the scores file, a feature table of 80 columns, the followers grouped on it,
the first 500 to ask in order), the first queue page after it, the first request of an app that
has read nothing yet (it does all that itself), then each page warm,
the median of ``--repeat`` runs. Baselines in the same run: reading the scores file alone
(``read_scores``, the floor of a cold page) and building the static review page
``followback report`` writes for the same accounts (``report.max_accounts`` of them).

    python bench/app.py --followers 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from pipeline.app.security import Secrets
    from pipeline.app.server import create_app
    from pipeline.app.store import Project
    from pipeline.core.config import load_config
    from pipeline.data.scores import read_scores
    from pipeline.stages import report
    from tests.integration.app_projects import scores_project, synthetic_scores

    with tempfile.TemporaryDirectory() as tmp:
        scores = synthetic_scores(args.followers)
        root = scores_project(Path(tmp) / "project", scores)
        # A feature table as featurize writes it (80 columns): the queue groups on it.
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(0)
        features = pd.DataFrame(rng.normal(size=(args.followers, 80)),
                                columns=[f"f{i}" for i in range(80)])
        features.insert(0, "account_id", scores["account_id"].to_numpy())
        features.to_parquet(root / "data" / "features.parquet")
        os.chdir(root)
        cfg = load_config(root / "params.yaml")
        size = (root / "data" / "scores.csv").stat().st_size
        print(f"{args.followers:,} scored accounts ({size / 1e6:.1f} MB scores.csv), "
              f"median of {args.repeat}")

        read_s, scores = timed(lambda: read_scores(cfg.score.out), args.repeat)
        print(f"baseline  read_scores                         {read_s * 1000:8.0f} ms")
        build_s, html = timed(lambda: report.build(cfg, scores), 1)
        print(f"baseline  static review page (report.build)   {build_s * 1000:8.0f} ms  "
              f"{len(html) / 1e6:.1f} MB, {cfg.report.max_accounts:,} accounts on it")

        # As `followback app` starts: Project.warm runs in a thread while the browser opens
        # (pipeline.app.serve), so the person's first page finds the queue made.
        keys = Secrets()
        project = Project(cfg, root / "params.yaml")
        app = create_app(project, keys, 8765)
        with TestClient(app, base_url="http://127.0.0.1:8765") as client:
            client.get(f"/?token={keys.token}")
            start = time.perf_counter()
            project.warm()
            warm = time.perf_counter() - start
            print(f"app       start-up read (Project.warm, while the browser opens)"
                  f" {warm * 1000:8.0f} ms")
            start = time.perf_counter()
            first = client.get("/queue")
            after_warm = time.perf_counter() - start
            assert first.status_code == 200
            print(f"app       first queue page after start-up     {after_warm * 1000:8.0f} ms")
        # Without the start-up read: the first request reads and orders everything itself.
        keys = Secrets()
        app = create_app(Project(cfg, root / "params.yaml"), keys, 8765)
        with TestClient(app, base_url="http://127.0.0.1:8765") as client:
            client.get(f"/?token={keys.token}")
            start = time.perf_counter()
            first = client.get("/queue")
            cold = time.perf_counter() - start
            assert first.status_code == 200
            print(f"app       first queue page, nothing read yet  {cold * 1000:8.0f} ms")
            pages = {
                "queue page": "/queue",
                "queue, 100th account": "/queue?at=100",
                "followers, first page": "/followers",
                "followers, page 900": "/followers?page=900",
                "followers, search 'user4'": "/followers?q=user4",
                "followers, skip by probability": "/followers?verdict=skip&sort=probability"
                                                  "&desc=1",
                "followers, 200 a page": "/followers?per_page=200",
            }
            for name, url in pages.items():
                seconds, answer = timed(lambda u=url: client.get(u), args.repeat)
                assert answer.status_code == 200, (url, answer.status_code)
                print(f"app       {name:<36}{seconds * 1000:8.0f} ms  "
                      f"{len(answer.content) / 1e3:6.0f} kB")


if __name__ == "__main__":
    main()
