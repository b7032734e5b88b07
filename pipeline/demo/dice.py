"""Random draws for the demo: scalar picks from one numpy Generator, buffered."""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------------
# Random draws


class _Dice:
    """Scalar draws from one numpy Generator, buffered.

    Texts need hundreds of thousands of small picks; a numpy call per pick costs more than the
    pick itself, so uniforms are drawn in blocks.
    """

    def __init__(self, rng: np.random.Generator, block: int = 8192) -> None:
        self.rng = rng
        self._block = block
        self._buf = rng.random(block)
        self._i = 0

    def random(self) -> float:
        if self._i == self._block:
            self._buf = self.rng.random(self._block)
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return float(value)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def index(self, n: int) -> int:
        return min(int(self.random() * n), n - 1)

    def pick(self, seq):
        return seq[self.index(len(seq))]

    def integer(self, low: int, high: int) -> int:
        """A whole number in [low, high]."""
        return low + self.index(high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def sample(self, seq, k: int) -> list:
        """``k`` distinct items of ``seq`` (all of them when ``k`` >= len)."""
        items = list(seq)
        k = min(k, len(items))
        for i in range(k):
            j = i + self.index(len(items) - i)
            items[i], items[j] = items[j], items[i]
        return items[:k]

    def weighted(self, weights) -> int:
        total = float(sum(weights))
        target = self.random() * total
        for i, w in enumerate(weights):
            target -= w
            if target < 0:
                return i
        return len(weights) - 1

    def lognormal(self, median: float, sigma: float) -> float:
        # Box-Muller from two buffered uniforms.
        u1, u2 = max(self.random(), 1e-12), self.random()
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        return median * math.exp(sigma * z)

    def exponential(self, mean: float) -> float:
        return -mean * math.log(max(1.0 - self.random(), 1e-12))
