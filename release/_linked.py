"""The audit across releases: what a project's disclosure-controlled tables reveal together.

One table can be safe on its own and unsafe beside another: a count of pupils per school,
released after a crosstab of school × severe absence that suppressed a small cell, gives the
suppressed cell away by subtraction. So before a table is released, it is audited together
with the project's earlier releases of the same research table: persons who fall in exactly
the same cells of every release form an *atom* (``_frames.atoms``); every cell of every release
is a sum over atoms; the released counts are equations; and for every suppressed cell two
linear programmes find the smallest and largest count it can have. A cell pinned to an interval
narrower than ``min_students`` is exposed, and the new table is refused.

The audit reads published counts only (``count_students``): a table that shows no counts adds
no equations. It models counts; a sum or mean suppressed together with its count is protected
by the same interval on the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from medler.errors import MedlerInternalError
from release._frames import MARGIN_KEY, SEPARATOR, cell_id

LP_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PublishedCell:
    keys: tuple[object, ...]  # in group-by order; None where summed out (a margin)
    suppressed: bool
    count: float | None  # the published count of pupils, when the release shows one


@dataclass(frozen=True)
class PublishedTable:
    name: str  # the release's id, for messages
    cells: tuple[PublishedCell, ...]


def _coefficients(cell: PublishedCell, memberships: list[list[str]]) -> np.ndarray:
    """How many times each atom's persons are counted in ``cell`` (1 for an interior cell
    they are in; for a margin, the number of their cells it sums)."""
    if not cell.keys:
        target = cell_id(())
        return np.array([float(target in cells) for cells in memberships])
    if all(k is not None for k in cell.keys):
        target = cell_id(cell.keys)
        return np.array([float(target in cells) for cells in memberships])
    pattern = cell_id(cell.keys).split(SEPARATOR)

    def matches(cell_text: str) -> bool:
        parts = cell_text.split(SEPARATOR)
        return all(p in (MARGIN_KEY, q) for p, q in zip(pattern, parts, strict=True))

    return np.array([float(sum(matches(c) for c in cells)) for cells in memberships])


def exposed_cells(
    tables: Sequence[PublishedTable],
    atom_cells: list[list[list[str]]],
    atom_persons: list[int],
    *,
    min_students: int,
    rounding_base: int = 0,
) -> list[tuple[str, tuple[object, ...]]]:
    """The suppressed cells (release name, keys) that the published counts of all ``tables``
    together pin to an interval narrower than ``min_students``."""
    rows, lower, upper, targets = [], [], [], []
    for i, table in enumerate(tables):
        memberships = [cells[i] for cells in atom_cells]
        for cell in table.cells:
            coefficients = _coefficients(cell, memberships)
            if cell.suppressed:
                targets.append((table.name, cell.keys, coefficients))
            elif cell.count is not None:
                slack = rounding_base / 2
                rows.append(coefficients)
                lower.append(cell.count - slack - LP_TOLERANCE)
                upper.append(cell.count + slack + LP_TOLERANCE)
    if not targets:
        return []
    truth = np.array(atom_persons, dtype=float)
    n = len(atom_persons)
    a = csr_matrix(np.vstack(rows)) if rows else csr_matrix((0, n))
    if rows:
        values = a @ truth
        if np.any(values < np.array(lower) - 0.5) or np.any(values > np.array(upper) + 0.5):
            raise MedlerInternalError(
                "the published counts do not match the persons they describe; this is a bug "
                "in medler, and nothing was released"
            )
    a_ub = csr_matrix(np.vstack([a.toarray(), -a.toarray()])) if rows else None
    b_ub = np.concatenate([np.array(upper), -np.array(lower)]) if rows else None
    exposed = []
    for name, keys, coefficients in targets:
        low = _optimum(coefficients, a_ub, b_ub)
        high = -_optimum(-coefficients, a_ub, b_ub)
        if high - low < min_students - LP_TOLERANCE:
            exposed.append((name, keys))
    return exposed


def _optimum(objective: np.ndarray, a_ub: csr_matrix | None, b_ub: np.ndarray | None) -> float:
    """The minimum of ``objective · x`` over x >= 0 within the published counts (-inf when
    unbounded below, which for a maximisation means the cell has no upper bound)."""
    result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if result.status == 3:
        return -np.inf
    if result.status != 0:
        raise MedlerInternalError(
            f"the cross-release audit could not be solved ({result.message}); this is a bug in "
            "medler, and nothing was released"
        )
    return float(result.fun)


def smallest_difference(
    tables: Sequence[PublishedTable],
    atom_cells: list[list[list[str]]],
    atom_persons: list[int],
) -> tuple[int, str] | None:
    """Of every pair of released cells, one in the last table and one in an earlier table,
    the smallest positive number of persons in one and not the other (with the earlier
    release's name), or None. Two released cells whose populations differ by a handful of
    persons give those persons away by subtraction, whatever the groupings that made them."""
    persons = np.array(atom_persons, dtype=float)

    def released(i: int) -> np.ndarray:
        memberships = [cells[i] for cells in atom_cells]
        rows = [_coefficients(c, memberships) for c in tables[i].cells
                if not c.suppressed and all(k is not None for k in c.keys)]  # fmt: skip
        return np.vstack(rows) if rows else np.zeros((0, len(atom_persons)))

    last = released(len(tables) - 1)
    if last.shape[0] == 0:
        return None
    sizes_last = last @ persons
    best: tuple[int, str] | None = None
    for i in range(len(tables) - 1):
        earlier = released(i)
        if earlier.shape[0] == 0:
            continue
        shared = (last * persons) @ earlier.T
        differ = sizes_last[:, None] + (earlier @ persons)[None, :] - 2 * shared
        positive = differ[differ > 0.5]
        if positive.size and (best is None or positive.min() < best[0]):
            best = (round(float(positive.min())), tables[i].name)
    return best
