"""Linear programmes for the disclosure audits (``_sdc``: a table and its margins; ``_linked``:
a project's outputs together): many objectives over one feasible set, and the feasible points
that let most targets skip a programme of their own."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from medler.errors import MedlerInternalError


class Solver:
    """min c·y over y >= 0 with A y = b, for many c: HiGHS with the model passed once, so
    that a new objective starts from the last basis (a warm start: a few pivots, not a solve
    from scratch).

    It is the HiGHS build that SciPy's ``linprog`` runs (SciPy is already a dependency), used
    through its model interface; ``linprog`` itself builds the model anew for every call."""

    def __init__(
        self,
        a: csc_matrix,
        b: np.ndarray,
        *,
        row_lower: np.ndarray | None = None,
        col_lower: np.ndarray | None = None,
        col_upper: np.ndarray | None = None,
    ) -> None:
        """``a y = b``; with ``row_lower``, ``row_lower <= a y <= b`` instead; ``col_lower``
        and ``col_upper`` bound the variables (default: from 0 up, unbounded)."""
        from scipy.optimize._highspy import _core as highs

        self._highs = highs
        self.h = highs._Highs()
        self.h.setOptionValue("output_flag", False)
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
        lp.col_cost_ = np.zeros(a.shape[1])
        lp.col_lower_ = np.zeros(a.shape[1]) if col_lower is None else col_lower.astype(float)
        lp.col_upper_ = (
            np.full(a.shape[1], highs.kHighsInf) if col_upper is None else col_upper.astype(float)
        )
        lp.row_upper_ = np.asarray(b, dtype=float)
        lp.row_lower_ = lp.row_upper_ if row_lower is None else np.asarray(row_lower, dtype=float)
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        self.h.passModel(lp)
        self.columns = np.arange(a.shape[1], dtype=np.int32)

    def minimum(self, objective: np.ndarray) -> float:
        """The least value of ``objective · y`` (−inf when unbounded below)."""
        if not self._solve(objective):
            return -np.inf
        return float(self.h.getInfo().objective_function_value)

    def vertex(self, objective: np.ndarray) -> np.ndarray | None:
        """A point where ``objective · y`` is least (None when unbounded below)."""
        if not self._solve(objective):
            return None
        return np.maximum(np.asarray(self.h.getSolution().col_value, dtype=float), 0.0)

    def _solve(self, objective: np.ndarray) -> bool:
        self.h.changeColsCost(len(self.columns), self.columns, objective.astype(float))
        self.h.run()
        status = self.h.getModelStatus()
        statuses = self._highs.HighsModelStatus
        if status == statuses.kOptimal:
            return True
        if status in (statuses.kUnbounded, statuses.kUnboundedOrInfeasible):
            return False  # the true values are feasible, so this is unbounded
        raise MedlerInternalError(
            f"a disclosure audit could not be solved ({self.h.modelStatusToString(status)}); "
            "this is a bug in medler, and nothing was released"
        )


def spread(points: np.ndarray, least: np.ndarray, most: np.ndarray) -> float:
    """How far apart known feasible ``points`` (one per column) already put a target whose
    value lies between ``least · y`` and ``most · y``: a lower bound of its interval's
    width, so a target spread enough needs no programme."""
    return float((most @ points).max() - (least @ points).min())


def sample(
    solver: Solver, most: np.ndarray, least: np.ndarray, free: np.ndarray, *, seed: int, random: int
) -> list[np.ndarray]:
    """Vertices that push ``most`` up and ``least`` down, all at once and under ``random``
    seeded weightings (the same every time). ``free``: variables nothing bounds above, never
    pushed up."""
    rng = np.random.default_rng(seed)
    weights = [np.ones(len(most)), *(rng.uniform(0.0, 1.0, len(most)) for _ in range(random))]
    out = []
    for w in weights:
        for aim in (-w * most, w * least):
            point = solver.vertex(np.where(free, np.abs(aim), aim))
            if point is not None:
                out.append(point)
    return out


def pushed(
    a: csc_matrix, b: np.ndarray, targets: csr_matrix, limits: np.ndarray, *, up: bool
) -> np.ndarray | None:
    """A feasible point (of ``a y = b``, ``y >= 0``) that moves as many targets (rows of
    ``targets``) as it can to their ``limits`` at once: up, the most of
    ``sum min(t·y, limit)``; down, the least of ``sum max(t·y, limit)``. As a programme, one
    helper variable per target, capped (or floored) at its limit and tied to ``t·y``.
    Pushing a plain sum instead piles everything on a few targets; the limits spread it."""
    from scipy.sparse import bmat, identity

    n, m = a.shape[1], targets.shape[0]
    sign = 1.0 if up else -1.0  # up: z - t·y <= 0; down: t·y - z <= 0
    system = bmat([[a, None], [-sign * targets, sign * identity(m, format="csc")]], format="csc")
    inf = np.inf
    lower = np.concatenate([b, np.full(m, -inf)])
    upper = np.concatenate([b, np.zeros(m)])
    if up:
        col_lower, col_upper = np.zeros(n + m), np.concatenate([np.full(n, inf), limits])
    else:
        col_lower = np.concatenate([np.zeros(n), np.maximum(limits, 0.0)])
        col_upper = np.full(n + m, inf)
    solver = Solver(system, upper, row_lower=lower, col_lower=col_lower, col_upper=col_upper)
    point = solver.vertex(np.concatenate([np.zeros(n), np.full(m, -sign)]))
    return None if point is None else point[:n]


__all__: list[Any] = ["Solver", "pushed", "sample", "spread"]
