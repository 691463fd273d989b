"""The linked audit: what all of a project's disclosure-controlled outputs on one research
table reveal together.

One table can be safe on its own and unsafe beside others: counts per school, then the grand
total of pupils with fewer than 15 days absent, give the pupils with 15 or more by
subtraction, though no single earlier cell differs from the new one by a few persons. So the
audit works on the **common refinement** of every output (release or preview) of the project
on the table: persons who fall in exactly the same cells of every output form an *atom*.
Every published figure is a linear function of the atoms' sizes: an interior cell is the sum
of the atoms inside it, a margin counts each atom once per cell of it that the atom's persons
fall in. The audit assumes that **every shown cell publishes its number of persons**, whether
or not the spec asked for ``count_students``: a mean or a sum without its count still has a
population, and an attacker who knows a cell's total and its other cells' totals needs only
that. Previews count like releases: the cells they would show are outputs too.

The rule: no atom holding between 1 and ``min_students − 1`` persons, and no suppressed cell
of any output, may be narrowed by the published figures to an interval narrower than
``min_students`` that is also narrower than the earlier outputs, or the new output alone, leave
it (a single table is protected by its own cell rules). Each interval comes from two linear
programmes (the least and greatest value, with every published figure an equation and every
atom's size at least 0). A union of atoms pinned to a small total pins each of its atoms at
least as tightly, so differencing against a sum of earlier cells is caught as well as
differencing against one. Atoms that no published figure tells apart are merged first (they
can trade persons freely), and feasible points found on the way (``_lp``) spare most targets
a programme of their own.

Sums, means and shares are covered through their populations: a few persons' figure can only
be isolated by isolating the persons, which the rule forbids. The audit models the published
figures exactly (a rounded count is treated as if it were shown unrounded), which errs on the
side of refusing. Linear bounds can be wider than the integer bounds an attacker who solves
for whole persons gets; the threat model says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from scipy.sparse import csc_matrix, csr_matrix, vstack

from release._frames import (
    ALL,
    MARGIN_KEY,
    SEPARATOR,
    UNIT,
    Collapse,
    PrivateFrame,
    cell_id,
    person_cells,
    persons,
)
from release._lp import Solver, pushed, sample, spread

LP_TOLERANCE = 1e-6
SAMPLED_VERTICES = 4  # random weightings of the targets, each pushed up and down, per audit
PUSH_ROUNDS = 6  # rounds of points aimed at the targets not yet spread wide enough
SEED = 20261206


@dataclass(frozen=True)
class Output:
    """One output on a research table as the audit sees it: ``name`` (a release or preview
    id), the ``collapse`` that defines its cells, and the keys of every cell it showed
    (margins hold None where a key is summed out)."""

    name: str
    collapse: Collapse
    shown: tuple[tuple[object, ...], ...]
    hidden: tuple[tuple[object, ...], ...] = ()


@dataclass(frozen=True)
class History:
    """The common refinement of a sequence of outputs: which atom each person is in, how many
    persons each atom holds, and per output two matrices: ``incidence`` (its interior cells ×
    atoms: how many of an atom's persons' cells it is, 0 or 1) and ``figures`` (its published
    figures × its interior cells: 1 where a figure counts the cell, the cell itself or a
    margin above it). A figure's coefficients over atoms are ``figures @ incidence``."""

    outputs: tuple[str, ...]
    unit_atom: pl.DataFrame  # UNIT -> atom
    sizes: np.ndarray
    incidence: tuple[csr_matrix, ...] = ()
    figures: tuple[csr_matrix, ...] = ()
    hidden: tuple[csr_matrix, ...] = ()

    @classmethod
    def start(cls, frame: PrivateFrame, unit: str) -> History:
        everyone = persons(frame, unit).with_columns(pl.lit(0, dtype=pl.Int64).alias("atom"))
        return cls((), everyone, np.array([everyone.height], dtype=float))

    def extend(self, frame: PrivateFrame, output: Output) -> History:
        """The refinement with one more output: each atom splits by the new output's cells."""
        signature = person_cells(frame, output.collapse)
        joined = self.unit_atom.join(signature, on=UNIT, how="left")
        atoms = (
            joined.group_by(["atom", "cells"])
            .agg(pl.len().alias("persons"))
            .sort(["atom", "persons"])
            .with_row_index("new")
        )
        unit_atom = joined.join(
            atoms.select("atom", "cells", "new"), on=["atom", "cells"], nulls_equal=True
        ).select(UNIT, pl.col("new").cast(pl.Int64).alias("atom"))
        parent = atoms["atom"].to_numpy()
        incidence, figures, hidden = _matrices(atoms, output)
        return History(
            outputs=(*self.outputs, output.name),
            unit_atom=unit_atom,
            sizes=atoms["persons"].to_numpy().astype(float),
            incidence=(*(m.tocsc()[:, parent].tocsr() for m in self.incidence), incidence),
            figures=(*self.figures, figures),
            hidden=(*self.hidden, hidden),
        )

    def renamed(self, name: str) -> History:
        """The same history with its last output named ``name``."""
        return replace(self, outputs=(*self.outputs[:-1], name))


def _matrices(atoms: pl.DataFrame, output: Output) -> tuple[csr_matrix, csr_matrix, csr_matrix]:
    """The new output's incidence (interior cells × atoms), figures (shown cells × interior
    cells) and hidden cells (suppressed cells × interior cells)."""
    pairs = atoms.select("new", "cells").explode("cells").drop_nulls("cells")
    cells = pairs["cells"].unique().sort().to_list()
    index = {c: i for i, c in enumerate(cells)}
    rows = np.array([index[c] for c in pairs["cells"].to_list()], dtype=np.int64)
    cols = pairs["new"].to_numpy().astype(np.int64)
    incidence = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), atoms.height))
    width = len(output.collapse.by)
    margins = any(any(k is None for k in keys) for keys in (*output.shown, *output.hidden))
    return (
        incidence,
        _cover(index, output.shown, width, margins),
        _cover(index, output.hidden, width, margins),
    )


def _cover(
    index: dict[str, int], published: tuple[tuple[object, ...], ...], width: int, margins: bool
) -> csr_matrix:
    """Published cells × interior cells: 1 where the published cell counts the interior one."""
    rows_of = {cell_id(keys): i for i, keys in enumerate(published)}
    rows, cols = [], []
    for cell, i in index.items():
        for target in _targets(cell, width, margins):
            row = rows_of.get(target)
            if row is not None:
                rows.append(row)
                cols.append(i)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rows_of), len(index)))


def _targets(cell: str, width: int, margins: bool) -> list[str]:
    """The cell ids a person in ``cell`` is counted in: the cell, and with margins every
    margin above it."""
    if not margins or cell == ALL:
        return [cell]
    parts = cell.split(SEPARATOR)
    out = []
    for mask in itertools.product((False, True), repeat=width):
        out.append(SEPARATOR.join(MARGIN_KEY if m else p for m, p in zip(mask, parts, strict=True)))
    return out


@dataclass(frozen=True)
class Finding:
    """A group of persons the outputs together pin down: the outputs whose figures count it
    (never who), and ``width``: how narrow an interval (in persons) the figures leave it, for
    the DPO's review only. The audit stops at the first it finds."""

    outputs: tuple[str, ...]
    width: float = 0.0


def audit(history: History, *, min_students: int) -> Finding | None:
    """An atom of 1 to ``min_students − 1`` persons, or a suppressed cell of any output, that
    the last output together with the earlier ones narrows to an interval narrower than
    ``min_students`` and narrower than either the earlier outputs or the last output alone
    leave it; None when there is none.

    Why "narrower than either alone": a single table is protected by its own cell rules
    (thresholds, dominance, secondary suppression), as in every table builder; what only the
    combination reveals is the linked audit's business. Persons who fall in several cells of
    one table (a pupil in many subjects) form atoms of their combination of cells, and counts
    of two such cells can differ by one pupil in a single table; a later table that shows
    nothing new about that pupil is not refused for it, and one that does (splits the pupil
    off by an attribute) is."""
    blocks = [f @ m for f, m in zip(history.figures, history.incidence, strict=True)]
    if len(blocks) < 2:
        return None
    joint = _System(blocks, history.sizes)
    if joint.empty:
        return None
    small = joint.small(min_students)
    earlier = _System(blocks[:-1], history.sizes)
    alone = _System(blocks[-1:], history.sizes)
    targets = [_unit(len(history.sizes), int(joint.groups[g])) for g in small]
    for hidden, incidence in zip(history.hidden, history.incidence, strict=True):
        targets += list((hidden @ incidence).toarray())
    unique: dict[bytes, np.ndarray] = {}
    for target in targets:  # the same target as far as the figures can tell: the same width
        unique.setdefault(joint.signature(target), target)
    candidates = list(unique.values())
    joint.sample(candidates, width=float(min_students))
    compared = False
    for target in candidates:
        if joint.certainly_wide(target, min_students - LP_TOLERANCE):
            continue
        width = joint.width(target)
        if width >= min_students - LP_TOLERANCE:
            continue
        if not compared:  # only now are the earlier outputs and the new one alone needed
            earlier.sample(candidates, width=float(min_students))
            alone.sample(candidates, width=float(min_students))
            compared = True
        wider = width + LP_TOLERANCE
        if (earlier.certainly_wide(target, wider) and alone.certainly_wide(target, wider)) or (
            width < min(earlier.width(target), alone.width(target)) - LP_TOLERANCE
        ):
            return _finding(history, blocks, joint, target, max(width, 0.0))
    return None


def _finding(
    history: History, blocks: list[csr_matrix], joint: _System, target: np.ndarray, width: float
) -> Finding:
    """The outputs whose figures count the exposed target's persons."""
    row_output = [
        n for n, b in zip(history.outputs, blocks, strict=True) for _ in range(b.shape[0])
    ]
    rows = joint.a[:, np.flatnonzero(target)].nonzero()[0]
    involved = {row_output[i] for i in rows}
    return Finding(tuple(n for n in history.outputs if n in involved), round(width, 6))


class _System:
    """The published figures of some outputs as equations over atoms, merged into groups of
    atoms that no figure tells apart, with one linear-programme solver kept for every
    target (only the objective changes between them, so each solve starts from the last)."""

    def __init__(self, blocks: list[csr_matrix], sizes: np.ndarray) -> None:
        self.a = vstack(blocks).tocsc()
        self.empty = self.a.shape[0] == 0
        self.groups, self.group_of = _merge(self.a)
        self.members = np.bincount(self.group_of, minlength=len(self.groups))
        self.totals = np.bincount(self.group_of, weights=sizes, minlength=len(self.groups))
        self.columns = self.a[:, self.groups].tocsc()
        self.b = self.a @ sizes
        self.figures_of = np.diff(self.columns.indptr)  # how many figures count each group
        self._solver = None if self.empty else Solver(self.columns, self.b)
        self.points = self.totals[:, None]  # feasible sizes of the groups: the truth, so far

    def sample(
        self, targets: list[np.ndarray], width: float | None = None, random: int = SAMPLED_VERTICES
    ) -> None:
        """More feasible points: the vertices that make the targets as large and as small as
        they can be, all at once and under a few seeded weightings (``_lp.sample``), then,
        with ``width``, rounds of points that move every target not yet spread by ``width``
        that far from its true value, as many at once as can be (``_lp.pushed``). A target
        the points already spread needs no programme of its own, which is most of them."""
        if self._solver is None or not targets:
            return
        bounds = [self._bounds(t) for t in targets]
        most = np.sum([high for _, high in bounds], axis=0)
        least = np.sum([low for low, _ in bounds], axis=0)
        free = self.figures_of == 0  # unbounded above: never pushed up
        found = sample(self._solver, most, least, free, seed=SEED, random=random)
        self.points = np.hstack([self.points, *(p[:, None] for p in found)])
        if width is None:
            return
        waiting = [b for b in bounds if not np.any(free[b[1] > 0])]
        for _ in range(PUSH_ROUNDS):
            waiting = [(low, high) for low, high in waiting
                       if spread(self.points, low, high) < width]  # fmt: skip
            if not waiting:
                return
            ups = csr_matrix(np.vstack([high for _, high in waiting]))
            downs = csr_matrix(np.vstack([low for low, _ in waiting]))
            aims = ((ups, ups @ self.totals + width, True),
                    (downs, downs @ self.totals - width, False))  # fmt: skip
            for matrix, limits, up in aims:
                point = pushed(self.columns, self.b, matrix, limits, up=up)
                if point is not None:
                    self.points = np.hstack([self.points, point[:, None]])

    def certainly_wide(self, target: np.ndarray, width: float) -> bool:
        """Whether two of the known feasible points already spread the target by ``width``."""
        least, most = self._bounds(target)
        if np.any(self.figures_of[most > 0] == 0):
            return True  # a group no figure counts: unbounded
        return spread(self.points, np.where(np.isfinite(least), least, 0.0), most) >= width

    def small(self, min_students: int) -> np.ndarray:
        return np.flatnonzero((self.totals >= 1) & (self.totals < min_students))

    def _bounds(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.groups)
        least = np.full(n, np.inf)
        most = np.zeros(n)
        np.minimum.at(least, self.group_of, target)
        np.maximum.at(most, self.group_of, target)
        return least, most

    def signature(self, target: np.ndarray) -> bytes:
        least, most = self._bounds(target)
        return least.tobytes() + most.tobytes()

    def width(self, target: np.ndarray) -> float:
        """How wide the published figures leave ``target · sizes`` (a small atom's size, or a
        suppressed cell's count; inf when unbounded). Atoms of one group can trade persons, so
        the least value takes each group at its members' least coefficient, the greatest at
        their greatest."""
        if self._solver is None:
            return float(np.inf)
        least, most = self._bounds(target)
        if np.any(self.figures_of[most > 0] == 0):  # a group no figure counts: unbounded
            return float(np.inf)
        top = self._solver.vertex(-most)
        if top is None:
            return float(np.inf)
        bottom = self._solver.vertex(least) if least.any() else None
        # each vertex found is one more feasible point for the targets still to come
        self.points = np.hstack([self.points, top[:, None],
                                 *([bottom[:, None]] if bottom is not None else [])])  # fmt: skip
        return float(most @ top) - (float(least @ bottom) if bottom is not None else 0.0)


def _unit(n: int, g: int) -> np.ndarray:
    out = np.zeros(n)
    out[g] = 1.0
    return out


def _merge(a: csc_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Atoms whose columns are identical (no published figure tells them apart): the first
    atom of each group, and each atom's group."""
    a = a.tocsc()
    a.sort_indices()
    seen: dict[tuple[bytes, bytes], int] = {}
    first: list[int] = []
    group_of = np.empty(a.shape[1], dtype=np.int64)
    for j in range(a.shape[1]):
        lo, hi = a.indptr[j], a.indptr[j + 1]
        key = (a.indices[lo:hi].tobytes(), a.data[lo:hi].tobytes())
        g = seen.get(key)
        if g is None:
            g = seen[key] = len(first)
            first.append(j)
        group_of[j] = g
    return np.array(first, dtype=np.int64), group_of
