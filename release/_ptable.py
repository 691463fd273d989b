"""The cell-key method's perturbation table for counts, built from a published rule.

The table has one row per original count ``n`` (``0 .. last``; the last row stands for every
larger count) and, in each row, the noise values ``v`` with their probabilities and the
cumulative interval of cell keys ``[lower, upper)`` that selects them. A cell whose exact
count is ``n`` and whose cell key is ``k`` is published as ``n + v`` for the ``v`` whose
interval holds ``k``.

The rule (``PTABLE_RULE``): in row ``n`` the allowed noise values are ``-D .. D`` such that
``n + v`` is 0 or larger than ``small`` (so no cell is ever published as ``1 .. small``,
and a zero cell stays zero: row 0 is ``v = 0`` with probability 1). Their probabilities are a
normal distribution of variance ``V`` discretised onto them and tilted
(``p(v) ∝ exp(-v²/2V + λv)``, ``λ`` found by bisection) so that the noise has mean zero:
the published count is unbiased. It is the maximum-entropy distribution on the allowed values
with mean zero and the normal's second-moment weight; for counts far from zero it is the
symmetric discretised normal (``λ = 0``). ``scripts/write_ptable.py`` writes the table to
``policies/ptable_counts.csv`` for publication, and a test keeps the two equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PTABLE_RULE = "discretised normal, tilted to mean zero, on the allowed values (v1)"


@dataclass(frozen=True)
class Entry:
    """One noise value of a row and the cell keys that select it: ``[lower, upper)``."""

    count: int
    noise: int
    probability: float
    lower: float
    upper: float


@dataclass(frozen=True)
class PerturbationTable:
    """Rows ``0 .. last`` of (noise, probability, key interval); ``last`` stands for more."""

    max_noise: int
    variance: float
    small: int
    rows: tuple[tuple[Entry, ...], ...]

    @property
    def last(self) -> int:
        return len(self.rows) - 1

    def noise(self, count: int, cell_key: float) -> int:
        """The noise added to a cell of exact ``count`` whose cell key is ``cell_key``."""
        if not 0.0 <= cell_key < 1.0:
            raise ValueError("a cell key lies in [0, 1); this is a bug")
        row = self.rows[min(count, self.last)]
        for entry in row:
            if cell_key < entry.upper:
                return entry.noise
        return row[-1].noise

    def entries(self) -> list[Entry]:
        return [e for row in self.rows for e in row]


def _tilted(values: list[int], variance: float) -> list[float]:
    """``p(v) ∝ exp(-v²/2V + λv)`` on ``values``, with ``λ`` chosen for mean zero."""
    if values == [0]:
        return [1.0]

    def weights(lam: float) -> list[float]:
        raw = [-v * v / (2 * variance) + lam * v for v in values]
        top = max(raw)
        w = [math.exp(r - top) for r in raw]
        total = sum(w)
        return [x / total for x in w]

    def mean(lam: float) -> float:
        return sum(p * v for p, v in zip(weights(lam), values, strict=True))

    lo, hi = -50.0, 50.0
    if not (min(values) < 0 < max(values)) and 0 not in values:
        raise ValueError("no unbiased noise on these values; this is a bug")
    for _ in range(200):
        mid = (lo + hi) / 2
        if mean(mid) > 0:
            hi = mid
        else:
            lo = mid
    return weights((lo + hi) / 2)


def build_ptable(max_noise: int, variance: float, small: int) -> PerturbationTable:
    """The perturbation table of the rule above for noise ``-max_noise .. max_noise`` of
    variance about ``variance``, publishing no count in ``1 .. small``."""
    if max_noise < small + 1:
        raise ValueError("max_noise must exceed small, so that a count of 1 can become 0")
    rows: list[tuple[Entry, ...]] = []
    last = max_noise + small + 1  # from here on every row is the symmetric one
    for count in range(last + 1):
        if count == 0:
            rows.append((Entry(0, 0, 1.0, 0.0, 1.0),))
            continue
        values = [
            v for v in range(-max_noise, max_noise + 1) if count + v == 0 or count + v > small
        ]
        probabilities = _tilted(values, variance)
        entries, lower = [], 0.0
        for i, (v, p) in enumerate(zip(values, probabilities, strict=True)):
            upper = 1.0 if i == len(values) - 1 else round(lower + p, 12)
            entries.append(Entry(count, v, round(p, 12), lower, upper))
            lower = upper
        rows.append(tuple(entries))
    return PerturbationTable(max_noise, variance, small, tuple(rows))


def ptable_csv(table: PerturbationTable) -> str:
    """The table as published: ``count,noise,probability,lower,upper`` (the last count stands
    for every larger one)."""
    lines = ["count,noise,probability,lower,upper"]
    for e in table.entries():
        lines.append(f"{e.count},{e.noise},{e.probability:.12f},{e.lower:.12f},{e.upper:.12f}")
    return "\n".join(lines) + "\n"
