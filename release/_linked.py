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
FEW_TARGETS = 8  # fewer targets left than this: solve each, without sampling first
POOL = 256  # feasible points kept from one audit for the next
POINT_TOLERANCE = 1e-7  # relative: a kept point still reproduces a figure


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
class Evidence:
    """What one audit learnt, for the audit of the next output: feasible points (``shares``:
    atoms × points, each atom's size at the point as a share of its true size, so that an
    atom split by the next output passes its share on to its parts) and the exact widths the
    audit solved or inherited, by ``_key`` (a group named by its first atom)."""

    shares: np.ndarray
    widths: dict[bytes, float]


@dataclass(frozen=True, eq=False)
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
    parent: np.ndarray | None = None  # each atom's atom in the history this one extends
    prior: Evidence | None = None  # what the audit of that history learnt
    evidence: Evidence | None = None  # what the audit of this one learnt (``audit``)

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
            parent=parent,
            prior=self.evidence,
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


@dataclass(frozen=True)
class Audit:
    """An audit's outcome: the ``finding`` (None when the outputs pin nobody down), the
    ``history`` with what the audit learnt kept for the next one (``Evidence``; partial when
    the audit stopped at a finding, and still true), and how each
    target was settled: by the known feasible points, by a width remembered from the last
    audit, or by linear programmes (``programmes`` counts them)."""

    finding: Finding | None
    history: History
    targets: int = 0
    by_points: int = 0
    by_memory: int = 0
    programmes: int = 0


def audit(history: History, *, min_students: int) -> Audit:
    """An atom of 1 to ``min_students − 1`` persons, or a suppressed cell of any output, that
    the last output together with the earlier ones narrows to an interval narrower than
    ``min_students`` and narrower than either the earlier outputs or the last output alone
    leave it; its ``finding`` is None when there is none.

    Why "narrower than either alone": a single table is protected by its own cell rules
    (thresholds, dominance, secondary suppression), as in every table builder; what only the
    combination reveals is the linked audit's business. Persons who fall in several cells of
    one table (a pupil in many subjects) form atoms of their combination of cells, and counts
    of two such cells can differ by one pupil in a single table; a later table that shows
    nothing new about that pupil is not refused for it, and one that does (splits the pupil
    off by an attribute) is.

    The audit of a long history is incremental. The last audit's feasible points that
    reproduce the new output's figures too are feasible points of the new system, and they
    alone show most targets wide enough. A target the earlier outputs left narrow has a
    width remembered from the last audit; when the known points spread it that far, the new
    output did not narrow it (the joint width can only be smaller than the earlier one, and
    it is at least the spread), so it is not refused and no programme is solved. Only what
    is left goes through the programmes, exactly as without a history."""
    blocks = [f @ m for f, m in zip(history.figures, history.incidence, strict=True)]
    if not blocks:
        return Audit(None, history)
    joint = _System(blocks, history.sizes)
    joint.seed(_rescued(_pool(history), history.sizes, blocks[-1]))
    if len(blocks) < 2 or joint.empty:
        return Audit(None, replace(history, evidence=joint.evidence({})))
    tolerance = LP_TOLERANCE
    small = joint.groups[joint.small(min_students)]
    units = csr_matrix(
        (np.ones(len(small)), (np.arange(len(small)), small)),
        shape=(len(small), len(history.sizes)),
    )
    hidden = [h @ m for h, m in zip(history.hidden, history.incidence, strict=True)]
    every = vstack([units, *hidden]).tocsr()
    every.sum_duplicates()
    every.eliminate_zeros()
    least, most = joint.bounds(every)
    # the same target as far as the figures can tell: the same width
    first: dict[bytes, int] = {}
    for row in range(every.shape[0]):
        first.setdefault(_key(least, most, row, joint.groups), row)
    rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    targets = every[rows]
    least, most = joint.bounds(targets)
    wide = joint.spreads(least, most) >= min_students - tolerance
    pending = np.flatnonzero(~wide)
    by_points = len(rows) - len(pending)
    widths: dict[bytes, float] = {}
    remembered = np.full(len(rows), np.nan)
    earlier: _System | None = None
    if len(pending) and history.prior is not None and history.parent is not None:
        earlier = _System(blocks[:-1], history.sizes)
        e_least, e_most = earlier.bounds(targets[pending])
        names = history.parent[earlier.groups]  # a group of the last audit: its first atom
        for i in range(len(pending)):
            known = history.prior.widths.get(_key(e_least, e_most, i, names))
            if known is not None:
                remembered[pending[i]] = known
        spreads = joint.spreads(least[pending], most[pending])
        settled = spreads >= remembered[pending] - tolerance  # nan compares False
        for row in pending[settled]:
            widths[_key(least, most, int(row), joint.groups)] = float(remembered[row])
        pending = pending[~settled]
    by_memory = len(rows) - by_points - len(pending)
    outcome = _Programmes(joint, blocks, history, float(min_students), earlier)
    finding = outcome.run(targets, least, most, pending, remembered, widths)
    counts = {
        "targets": len(rows),
        "by_points": by_points,
        "by_memory": by_memory,
        "programmes": sum(s.solved for s in outcome.systems),
    }
    # with a finding, the evidence is partial (the audit stopped there) but true: a DPO who
    # approves the output keeps it for the next audit
    return Audit(finding, replace(history, evidence=joint.evidence(widths)), **counts)


class _Programmes:
    """The targets that neither the known points nor a remembered width settle: each one's
    width under the joint system, solved, and where that is narrow, under the earlier
    outputs and the last output alone."""

    def __init__(
        self,
        joint: _System,
        blocks: list[csr_matrix],
        history: History,
        min_students: float,
        earlier: _System | None = None,
    ) -> None:
        """``earlier``: the earlier outputs' system, when the audit has built it already."""
        self.joint, self.blocks, self.history = joint, blocks, history
        self.min_students = min_students
        self.systems: list[_System] = [joint]
        self._earlier = earlier
        self._alone: _System | None = None

    def _exposes(self, target: np.ndarray, width: float, before: float, others: csr_matrix) -> bool:
        """Whether a target the joint system leaves ``width`` wide (narrow) is narrower than
        the earlier outputs (``before``, their width when remembered, else nan) and the last
        output alone leave it. ``others``: every pending target, for sampling the two."""
        if self._alone is None:
            if self._earlier is None:
                self._earlier = _System(self.blocks[:-1], self.history.sizes)
            self._alone = _System(self.blocks[-1:], self.history.sizes)
            self.systems += [self._earlier, self._alone]
            for system in (self._earlier, self._alone):
                system.sample(*system.bounds(others), width=self.min_students)
        earlier, alone = self._earlier, self._alone
        assert earlier is not None
        wider = width + LP_TOLERANCE
        if not np.isnan(before):
            if before <= wider:
                return False  # the earlier outputs left it as narrow: not this output's doing
        else:
            bounds = earlier.target_bounds(target)
            if not earlier.certainly_wide(*bounds, wider) and earlier.width(*bounds) <= wider:
                return False
        bounds = alone.target_bounds(target)
        return alone.certainly_wide(*bounds, wider) or alone.width(*bounds) > wider

    def run(
        self,
        targets: csr_matrix,
        least: csr_matrix,
        most: csr_matrix,
        pending: np.ndarray,
        remembered: np.ndarray,
        widths: dict[bytes, float],
    ) -> Finding | None:
        """The first pending target the last output exposes; every width solved goes into
        ``widths``."""
        if not len(pending):
            return None
        joint, tolerance = self.joint, LP_TOLERANCE
        least, most = least[pending], most[pending]
        if len(pending) > FEW_TARGETS:
            joint.sample(least, most, width=self.min_students)
        spreads, known = joint.spreads(least, most), joint.points.shape[1]
        for i, row in enumerate(pending):
            if joint.points.shape[1] > known:  # the last width's vertices: more points
                spreads[i:] = joint.spreads(least[i:], most[i:])
                known = joint.points.shape[1]
            if spreads[i] >= self.min_students - tolerance:
                continue
            low, high = least[i].toarray().ravel(), most[i].toarray().ravel()
            width = joint.width(low, high)
            widths[_key(least, most, i, joint.groups)] = width
            if width >= self.min_students - tolerance:
                continue
            target = targets[row].toarray().ravel()
            if self._exposes(target, width, remembered[row], targets[pending]):
                return _finding(self.history, self.blocks, joint, target, max(width, 0.0))
        return None


def _pool(history: History) -> np.ndarray | None:
    """The last audit's feasible points, carried over to this history's atoms (an atom split
    by the new output shares its parent's size in proportion): each reproduces every earlier
    figure; whether also the new output's, ``_System.seed`` checks."""
    if history.prior is None or history.parent is None:
        return None
    return history.prior.shares[history.parent] * history.sizes[:, None]


def _rescued(points: np.ndarray | None, sizes: np.ndarray, new: csr_matrix) -> np.ndarray | None:
    """The kept points moved, as little as the new output's figures ``new`` demand, onto
    its solutions. Each point is the truth plus a move that every earlier figure is blind
    to; any combination of the moves is blind to them too, and the combinations that the
    new figures are also blind to form a subspace. Each move they see is replaced by its
    projection onto that subspace, shortened where it would leave an atom with fewer than 0
    persons; a point that reproduces the new figures already is kept as it is."""
    if points is None or points.shape[1] < 2:
        return points
    moves = points - sizes[:, None]
    seen = np.asarray(new @ moves)
    figures = np.abs(np.asarray(new @ sizes))
    misses = np.any(np.abs(seen) > POINT_TOLERANCE * (1.0 + figures)[:, None], axis=0)
    if not misses.any():
        return points
    _, singular, rows = np.linalg.svd(seen, full_matrices=True)
    rank = int(np.sum(singular > POINT_TOLERANCE * (1.0 + figures.max())))
    blind = rows[rank:]  # an orthonormal basis of the moves' combinations the figures miss
    if not len(blind):
        return points[:, ~misses]
    moved = moves @ (blind.T @ blind[:, misses])
    below = np.where(moved < 0, sizes[:, None] / np.where(moved < 0, -moved, 1.0), np.inf)
    scale = np.minimum(1.0, below.min(axis=0))
    return np.hstack([points[:, ~misses], sizes[:, None] + moved * scale])


def _key(least: csr_matrix, most: csr_matrix, row: int, names: np.ndarray) -> bytes:
    """A target as the figures see it: each group it touches (by the name given, the group's
    first atom), with its least and greatest coefficient there. Two targets with one key have
    one width. (``least`` holds an entry, maybe 0, wherever ``most`` does: ``bounds``.)"""
    lo, hi = most.indptr[row], most.indptr[row + 1]
    return (
        names[most.indices[lo:hi]].astype(np.int64).tobytes()
        + most.data[lo:hi].astype(float).tobytes()
        + least.data[lo:hi].astype(float).tobytes()
    )


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
        self.unbounded = (self.figures_of == 0).astype(float)
        self._model: Solver | None = None  # made when a programme is first solved
        self.points = self.totals[:, None]  # feasible sizes of the groups: the truth, so far
        self.solved = 0  # programmes solved
        self._gather = csr_matrix(
            (np.ones(len(self.group_of)), (self.group_of, np.arange(len(self.group_of)))),
            shape=(len(self.groups), len(self.group_of)),
        )

    def seed(self, points: np.ndarray | None) -> None:
        """Add the atom-level ``points`` that reproduce every figure of this system."""
        if points is None or not points.shape[1]:
            return
        off = np.abs(self.a @ points - self.b[:, None])
        fits = np.all(off <= POINT_TOLERANCE * (1.0 + np.abs(self.b))[:, None], axis=0)
        if fits.any():
            self.points = np.hstack([self.points, self._gather @ points[:, fits]])

    @property
    def _solver(self) -> Solver | None:
        """The system's solver (None when it has no figure), made on first use: a system
        read only for its groups never passes a model."""
        if self._model is None and not self.empty:
            self._model = Solver(self.columns, self.b)
        return self._model

    def evidence(self, widths: dict[bytes, float]) -> Evidence:
        """The points known so far, as shares of each atom's size, and the widths solved."""
        kept = (
            self.points
            if self.points.shape[1] <= POOL
            else np.hstack([self.points[:, :1], self.points[:, -(POOL - 1) :]])
        )
        return Evidence((kept / self.totals[:, None])[self.group_of], widths)

    def bounds(self, targets: csr_matrix) -> tuple[csr_matrix, csr_matrix]:
        """Each target's least and greatest coefficient in each group (targets × groups):
        atoms of one group can trade persons, so a target counts a group's persons at least
        at its members' least coefficient and at most at their greatest."""
        coo = targets.tocoo()
        n = len(self.groups)
        cell = coo.row.astype(np.int64) * n + self.group_of[coo.col]
        order = np.argsort(cell, kind="stable")
        cell, values = cell[order], coo.data[order]
        shape = (targets.shape[0], n)
        if not len(cell):
            return csr_matrix(shape), csr_matrix(shape)
        starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        unique = cell[starts]
        rows, groups = unique // n, unique % n
        greatest = np.maximum.reduceat(values, starts)
        counted = np.diff(np.r_[starts, len(cell)])
        least = np.where(counted == self.members[groups], np.minimum.reduceat(values, starts), 0)
        # both on one pattern (a least of 0 is kept as an entry), which ``_key`` relies on
        return (
            csr_matrix((least, (rows, groups)), shape=shape),
            csr_matrix((greatest, (rows, groups)), shape=shape),
        )

    def target_bounds(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``bounds`` of one dense target, dense."""
        least, most = self.bounds(csr_matrix(target[None, :]))
        return least.toarray().ravel(), most.toarray().ravel()

    def spreads(self, least: csr_matrix, most: csr_matrix) -> np.ndarray:
        """How far the known points spread each target (inf where a group no figure counts
        leaves it unbounded): a lower bound of each one's width."""
        spread_ = (most @ self.points).max(axis=1) - (least @ self.points).min(axis=1)
        return np.where(most @ self.unbounded > 0, np.inf, spread_)

    def sample(
        self,
        least: csr_matrix,
        most: csr_matrix,
        width: float | None = None,
        random: int = SAMPLED_VERTICES,
    ) -> None:
        """More feasible points for the targets whose ``bounds`` are ``least`` and ``most``:
        the vertices that make the targets as large and as small as they can be, all at once
        and under a few seeded weightings (``_lp.sample``), then, with ``width``, rounds of
        points that move every target not yet spread by ``width`` that far from its true
        value, as many at once as can be (``_lp.pushed``). A target the points already spread
        needs no programme of its own, which is most of them."""
        if self._solver is None or not most.shape[0]:
            return
        free = self.figures_of == 0  # unbounded above: never pushed up
        found = sample(
            self._solver,
            np.asarray(most.sum(axis=0)).ravel(),
            np.asarray(least.sum(axis=0)).ravel(),
            free,
            seed=SEED,
            random=random,
        )
        self.solved += 2 * (random + 1)
        self.points = np.hstack([self.points, *(p[:, None] for p in found)])
        if width is None:
            return
        waiting = np.flatnonzero(most @ free.astype(float) == 0)
        for _ in range(PUSH_ROUNDS):
            waiting = waiting[self.spreads(least[waiting], most[waiting]) < width]
            if not len(waiting):
                return
            ups, downs = most[waiting], least[waiting]
            aims = (
                (ups, ups @ self.totals + width, True),
                (downs, downs @ self.totals - width, False),
            )
            for matrix, limits, up in aims:
                point = pushed(self.columns, self.b, matrix, limits, up=up)
                self.solved += 1
                if point is not None:
                    self.points = np.hstack([self.points, point[:, None]])

    def certainly_wide(self, least: np.ndarray, most: np.ndarray, width: float) -> bool:
        """Whether two of the known feasible points already spread the target by ``width``."""
        if np.any(self.figures_of[most > 0] == 0):
            return True  # a group no figure counts: unbounded
        return spread(self.points, least, most) >= width

    def small(self, min_students: int) -> np.ndarray:
        return np.flatnonzero((self.totals >= 1) & (self.totals < min_students))

    def width(self, least: np.ndarray, most: np.ndarray) -> float:
        """How wide the published figures leave a target whose value lies between
        ``least · y`` and ``most · y`` (a small atom's size, or a suppressed cell's count;
        inf when unbounded)."""
        if self._solver is None:
            return float(np.inf)
        if np.any(self.figures_of[most > 0] == 0):  # a group no figure counts: unbounded
            return float(np.inf)
        self.solved += 1 + bool(least.any())
        top = self._solver.vertex(-most)
        if top is None:
            return float(np.inf)
        bottom = self._solver.vertex(least) if least.any() else None
        # each vertex found is one more feasible point for the targets still to come
        self.points = np.hstack(
            [self.points, top[:, None], *([bottom[:, None]] if bottom is not None else [])]
        )
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
