"""``preview`` and ``release``: the only way anything leaves medler.

A release is computed on the current research snapshot: the spec is checked against the
catalogue (``_rules``), then against the data (a population or a teacher count too small is
refused), then computed exactly and disclosure-controlled (``sdc``) or computed by an OpenDP
measurement (``dp``). Identical specs within a project return the earlier release (no new
noise, no new cost). A disclosure-controlled table is audited together with the project's
earlier ones (``_linked``): it is refused when one of its cells and an earlier released cell
cover populations that differ by fewer than ``differencing_min`` persons, or when the tables
together pin a suppressed cell to too narrow an interval. Why a cell was suppressed is kept for
the DPO and never published.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from linkage import current_snapshot, read_manifest
from release import _sdc
from release._dp import DpPlan, mean_interval, plan_release
from release._errors import QueryRefused
from release._frames import (
    Collapse,
    PrivateFrame,
    atoms,
    exact_cells,
    key_dtype,
    open_table,
    population,
    run_measurement,
)
from release._keys import key_frame, key_values
from release._linked import PublishedCell, PublishedTable, exposed_cells, smallest_difference
from release._policy import Policies, load_policies
from release._rules import Approval, Resolved, resolve
from release._spec import QuerySpec
from release._store import FileStore, ReleaseStore
from release.governance import BudgetExhausted, Ledger, append_audit

RESEARCH = "research"
AGGREGATE_CACHE = 64


@dataclass(frozen=True)
class Cell:
    """One released cell: its keys (None = all, in a margin), status (released, suppressed,
    rounded), the measures' values (None when suppressed) and, in dp mode, the half-width of
    each value's 95 % interval and the interval itself (``lower``, ``upper``), clipped to what
    the measure can be: a count or a sum of non-negative values is never below 0, a share lies
    in [0, 1], a mean within its column's bounds."""

    keys: dict[str, Any]
    status: str
    values: dict[str, float | None]
    half_width: dict[str, float | None] = field(default_factory=dict)
    reason: str | None = None
    margin: bool = False
    lower: dict[str, float | None] = field(default_factory=dict)
    upper: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Release:
    release_id: str
    spec: dict[str, Any]
    mode: str
    snapshot: str
    policy_version: str
    rho: float
    cells: list[Cell]
    cached: bool = False
    notes: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """A digest of the released values (the audit log keeps this, never the values)."""
        body = json.dumps([asdict(c) for c in self.cells], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Preview:
    spec: dict[str, Any]
    mode: str
    rho: float
    policy_version: str
    accuracy: dict[str, dict[str, float | None]] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ReleaseEngine:
    """Previews and releases over the current research snapshot of ``data_dir``."""

    def __init__(
        self, data_dir: Path, *, policies: Policies | None = None,
        store: ReleaseStore | None = None, control: Engine | None = None,
    ) -> None:  # fmt: skip
        """``control``: the control plane (``release.governance``). With it, every dp release
        is charged to the ledger before its noise is drawn, and every request is appended to
        the audit log; without it (tests, dummy data) nothing is charged or audited."""
        self.data_dir = data_dir
        self.policies = policies or load_policies()
        self.store = store or FileStore(data_dir / "release")
        self.control = control
        self.ledger = Ledger(control) if control is not None else None
        self._snapshot: Path | None = None
        self._frames: dict[str, PrivateFrame] = {}
        self._plans: dict[str, DpPlan] = {}
        self._aggregates: dict[tuple[Any, ...], Any] = {}
        self._last_sdc: tuple[str, PrivateFrame, list[Cell]] | None = None

    # --- the snapshot -----------------------------------------------------------------------

    @property
    def snapshot(self) -> Path:
        current = current_snapshot(self.data_dir / RESEARCH)
        if current != self._snapshot:
            self._snapshot, self._frames, self._plans = current, {}, {}
            self._aggregates, self._last_sdc = {}, None
        return current

    def _frame(self, name: str) -> PrivateFrame:
        snapshot = self.snapshot
        if name not in self._frames:
            entry = read_manifest(snapshot)["tables"].get(name)
            if entry is None:
                raise QueryRefused(f"the research snapshot has no table {name}; rebuild it")
            table = self.policies.catalogue.tables.get(name)
            self._frames[name] = open_table(
                snapshot / entry["file"], name, unit=table.unit if table else None,
                ranked=sorted(table.max_keys_per_unit) if table else (),
            )  # fmt: skip
        return self._frames[name]

    # --- the public surface -----------------------------------------------------------------

    def preview(
        self, spec: QuerySpec, approval: Approval | None = None,
        waive: frozenset[str] = frozenset(),
    ) -> Preview:  # fmt: skip
        """What a release would show, for free: in dp mode the 95 % half-width of each measure
        before any budget is spent; in sdc mode which cells would be suppressed (no values)."""
        resolved, frame = self._checked(spec, approval, waive)
        version = self.policies.version
        if spec.mode == "dp":
            plan = self._plan(resolved, frame)
            return Preview(spec.model_dump(mode="json"), "dp", plan.rho, version,
                           accuracy=_accuracy(resolved, plan),
                           notes=[_MEAN_NOTE] if _has_ratio(spec) else [])  # fmt: skip
        table = self._sdc_cells(resolved, frame)
        cells = [Cell(c.keys, c.status, {}, margin=c.margin) for c in table]
        return Preview(spec.model_dump(mode="json"), "sdc", 0.0, version, cells=cells)

    def check(
        self, spec: QuerySpec, *, project: str, approval: Approval | None = None,
        waive: frozenset[str] = frozenset(),
    ) -> None:  # fmt: skip
        """Run every automatic check a release of ``spec`` would run, and raise the first
        ``QueryRefused``; compute nothing that is released and charge nothing."""
        resolved, frame = self._checked(spec, approval, waive)
        if spec.mode == "dp":
            self._dp_checks(resolved, frame, waive)
            self._plan(resolved, frame)
        else:
            cells = self._sdc_cells(resolved, frame)
            self._check_linked(resolved, frame, cells, project, self.snapshot.name, waive)

    def release(
        self, spec: QuerySpec, requester: str, *, project: str = "default",
        approval: Approval | None = None, waive: frozenset[str] = frozenset(),
        audit: dict[str, Any] | None = None,
    ) -> Release:  # fmt: skip
        """Release ``spec`` for ``requester`` in ``project``. ``waive``: reviewable checks a
        reviewer approved an exception to; ``audit``: more for the audit record (the review)."""
        snapshot = self.snapshot.name
        digest = spec.digest()
        more = audit or {}
        cached = self.store.find(project, snapshot, digest)
        if cached is not None:
            again = release_from_record(cached)
            self._audit(requester, project, spec, "released", snapshot, rho=0.0, cached=True,
                        result=again.digest(), release_id=again.release_id, **more)  # fmt: skip
            return again
        try:
            resolved, frame = self._checked(spec, approval, waive)
            rho = 0.0
            if spec.mode == "dp":
                cells, rho = self._dp_cells(resolved, frame, project, requester, waive)
            else:
                cells = self._sdc_cells(resolved, frame)
                self._check_linked(resolved, frame, cells, project, snapshot, waive)
        except (QueryRefused, BudgetExhausted) as refusal:
            self.record_refusal(spec, requester, project, refusal, **more)
            raise
        notes = [_MEAN_NOTE] if spec.mode == "dp" and _has_ratio(spec) else []
        # why a cell was suppressed is kept for the DPO, never published: a published reason
        # would tell an attacker that a cell holds fewer than the threshold, and narrow it
        reasons = [{"keys": c.keys, "margin": c.margin, "reason": c.reason}
                   for c in cells if c.reason]  # fmt: skip
        cells = [replace(c, reason=None) for c in cells]
        release = Release(
            release_id=f"r-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{digest[:8]}",
            spec=spec.model_dump(mode="json"), mode=spec.mode, snapshot=snapshot,
            policy_version=self.policies.version, rho=rho, cells=cells, notes=notes,
        )  # fmt: skip
        record = _record(project, requester, snapshot, spec, "released", self.policies.version,
                         release=release)  # fmt: skip
        record["suppression_reasons"] = reasons
        self.store.add(record)
        self._audit(requester, project, spec, "released", snapshot, rho=rho,
                    result=release.digest(), release_id=release.release_id,
                    waived=sorted(waive), **more)  # fmt: skip
        return release

    def record_refusal(
        self, spec: QuerySpec, requester: str, project: str, refusal: Exception, **more: Any
    ) -> None:
        """Keep a refusal in the release store and the audit log."""
        snapshot = self.snapshot.name
        self.store.add(_record(project, requester, snapshot, spec, "refused",
                               self.policies.version, reason=str(refusal)))  # fmt: skip
        self._audit(requester, project, spec, "refused", snapshot, reason=str(refusal),
                    check=getattr(refusal, "check", None), **more)  # fmt: skip

    def _audit(
        self, actor: str, project: str, spec: QuerySpec, status: str, snapshot: str,
        **more: Any,
    ) -> None:  # fmt: skip
        """One audit record: who, what was asked, under which policy and snapshot, at what
        cost, and the result's digest. Never a value, never anything identifying."""
        if self.control is None:
            return
        body = {"spec": spec.model_dump(mode="json"), "spec_digest": spec.digest(),
                "mode": spec.mode, "policy_version": self.policies.version,
                "snapshot": snapshot, **more}  # fmt: skip
        append_audit(self.control, actor=actor, action=status, project=project, body=body)

    # --- checks that need the data ----------------------------------------------------------

    def _checked(
        self, spec: QuerySpec, approval: Approval | None, waive: frozenset[str] = frozenset()
    ) -> tuple[Resolved, PrivateFrame]:
        frame = self._frame(spec.table)
        resolved = resolve(spec, self.policies, frame.schema(), approval, waive)
        sdc = self.policies.release.sdc
        people = self._cached(("population", spec.table, _filters_key(spec)), frame,
                              lambda: population(frame, resolved.table.unit,
                                                 resolved.collapse.filters))  # fmt: skip
        if people < sdc.min_population:
            raise QueryRefused(
                f"the filters leave fewer than {sdc.min_population} persons; medler releases "
                "statistics about groups, so widen the filters"
            )
        if self._teacher_source(resolved) is not None and "teachers" not in waive:
            teachers = self._teacher_counts(resolved, frame, Collapse(
                by=(), unit=resolved.collapse.unit, filters=resolved.collapse.filters,
                means={}, sums={}, flags=(), max_rows=resolved.collapse.max_rows,
            ))  # fmt: skip
            if teachers["teachers"].fill_null(0).min() < sdc.min_teachers:  # type: ignore[operator]
                raise QueryRefused(
                    f"the filters leave fewer than {sdc.min_teachers} teachers, so the result "
                    "would describe identifiable teachers; widen the filters",
                    check="teachers",
                )
        return resolved, frame

    def _teacher_source(self, resolved: Resolved) -> tuple[str | None, Any] | None:
        table = resolved.table
        if table.teacher is not None:
            return None, table.teacher
        if table.teachers_from is not None:
            return table.teachers_from.table, table.teachers_from
        return None

    def _teacher_counts(self, resolved: Resolved, frame: PrivateFrame, c: Collapse) -> pl.DataFrame:
        table = resolved.table
        key = ("teachers", resolved.spec.table, _filters_key(resolved.spec), c.by)
        if table.teachers_from is not None:
            source = table.teachers_from
            return self._cached(key, frame, lambda: exact_cells(
                frame, c, self._frame(source.table), source.on, source.column))  # fmt: skip
        return self._cached(key, frame, lambda: exact_cells(frame, c, None, (), table.teacher))

    def _current(self, frame: PrivateFrame) -> bool:
        """Whether ``frame`` was opened from the current snapshot (a request that began before
        a new snapshot was switched in holds a frame of the earlier one)."""
        self.snapshot  # noqa: B018  (a new snapshot closes the earlier one's frames)
        return any(f is frame for f in self._frames.values())

    def _cached(self, key: tuple[Any, ...], frame: PrivateFrame, compute: Any) -> Any:
        """Aggregates that depend only on the snapshot and the spec's filters and grouping
        (populations, teacher counts), computed from ``frame`` and kept for the snapshot's
        lifetime; never released. A frame of an earlier snapshot is computed from, never
        kept from or served from the cache."""
        if not self._current(frame):
            return compute()
        if key not in self._aggregates:
            if len(self._aggregates) >= AGGREGATE_CACHE:
                self._aggregates.pop(next(iter(self._aggregates)))
            self._aggregates[key] = compute()
        return self._aggregates[key]

    def _check_linked(
        self, resolved: Resolved, frame: PrivateFrame, cells: list[Cell], project: str,
        snapshot: str, waive: frozenset[str] = frozenset(),
    ) -> None:  # fmt: skip
        """Refuse a table that, together with the project's earlier disclosure-controlled
        tables of the same research table, would reveal a few persons by subtraction
        (differencing) or pin down a suppressed cell (``_linked``)."""
        earlier = [r for r in self.store.earlier(project, snapshot, resolved.spec.table)
                   if r["mode"] == "sdc"]  # fmt: skip
        if not earlier or {"differencing", "linked"} <= waive:
            return
        collapses, tables = [], []
        for record in earlier:
            spec = QuerySpec.model_validate(record["spec"])
            collapses.append(resolve(spec, self.policies, frame.schema()).collapse)
            tables.append(_published(record["release_id"], spec.group_by,
                                     [Cell(**c) for c in record["release"]["cells"]]))  # fmt: skip
        collapses.append(resolved.collapse)
        tables.append(_published("this table", resolved.spec.group_by, cells))
        atom_cells, persons = atoms(frame, collapses)
        sdc = self.policies.release.sdc
        closest = smallest_difference(tables, atom_cells, persons)
        if (closest is not None and closest[0] < sdc.differencing_min
                and "differencing" not in waive):  # fmt: skip
            raise QueryRefused(
                f"a cell of this table and one of the project's release {closest[1]} cover "
                f"populations that differ by fewer than {sdc.differencing_min} persons; "
                "releasing both would reveal those persons by subtraction. Change the filters "
                "or grouping so that the populations differ by more, or not at all",
                check="differencing",
            )
        exposed = exposed_cells(tables, atom_cells, persons, min_students=sdc.min_students,
                                rounding_base=sdc.rounding_base)  # fmt: skip
        if exposed and "linked" not in waive:
            names = sorted({name for name, _ in exposed if name != "this table"})
            with_ = f"the project's release {', '.join(names)}" if names else "itself"
            raise QueryRefused(
                f"together with {with_}, this table would let {len(exposed)} suppressed "
                "cell(s) be worked out by subtraction. Ask for the same grouping and filters "
                "as the earlier release, or group so that its suppressed cells stay inside "
                "one cell of this table",
                check="linked",
            )

    # --- sdc --------------------------------------------------------------------------------

    def _sdc_cells(self, resolved: Resolved, frame: PrivateFrame) -> list[Cell]:
        """The protected table of an sdc spec. A submit checks it (the linked-tables audit
        needs its suppression pattern) and then releases the same table, so the last one
        computed is kept, for its spec and the frame (snapshot) it came from: one table, so
        the memory it holds is bounded. Each caller gets a deep copy."""
        key = resolved.spec.digest()
        kept = self._last_sdc
        if kept is not None and kept[0] == key and kept[1] is frame and self._current(frame):
            return copy.deepcopy(kept[2])
        table = self._sdc_table(resolved, frame)
        if self._current(frame):
            self._last_sdc = (key, frame, table)
        return copy.deepcopy(table)

    def _sdc_table(self, resolved: Resolved, frame: PrivateFrame) -> list[Cell]:
        spec, c = resolved.spec, resolved.collapse
        policy = self.policies.release.sdc
        teacher = self._teacher_source(resolved)
        if teacher is not None and resolved.table.teachers_from is not None:
            source = resolved.table.teachers_from
            cells = exact_cells(frame, c, self._frame(source.table), source.on, source.column,
                                quantiles=resolved.quantiles)  # fmt: skip
        elif teacher is not None:
            cells = exact_cells(frame, c, None, (), resolved.table.teacher,
                                quantiles=resolved.quantiles)  # fmt: skip
        else:
            cells = exact_cells(frame, c, quantiles=resolved.quantiles)
        by = list(spec.group_by)
        sums = [f"sum:{m}" for m in c.sums]
        if not by:
            cells = cells.with_columns(pl.lit("all").alias("__all"))
            by = ["__all"]
        cells = cells.sort(by)
        additive = ["students", *sums]
        if spec.margins and len(spec.group_by) >= 1:
            cells = _sdc.add_margins(cells, by, additive)
        else:
            cells = cells.with_columns(pl.lit(False).alias(_sdc.MARGIN))
        cells = _sdc.primary_suppression(cells, by, policy, sums=sums)
        if spec.margins and len(spec.group_by) >= 1:
            for column in additive:
                cells = _sdc.secondary_suppression(cells, by, column, policy)
            for column in additive:
                if _sdc.audit_intervals(cells, by, column, policy):
                    raise QueryRefused("the table cannot be protected; group more coarsely")
        counts = [col for col in ("students", "teachers") if col in cells.columns]
        rounded = policy.rounding_base > 0
        if rounded:
            cells = _sdc.round_counts(cells, counts, policy.rounding_base)
        out = []
        for row in cells.iter_rows(named=True):
            released = row[_sdc.STATUS] == _sdc.RELEASED
            keys = {k: row[k] for k in spec.group_by}
            values = {m.name: (_value(row, m.kind, m.column, m.name) if released else None)
                      for m in spec.measures}  # fmt: skip
            status = ("rounded" if rounded else "released") if released else "suppressed"
            out.append(Cell(keys, status, values, reason=row[_sdc.REASON],
                            margin=bool(row[_sdc.MARGIN])))  # fmt: skip
        return out

    # --- dp ---------------------------------------------------------------------------------

    def _keys(self, resolved: Resolved, frame: PrivateFrame) -> pl.DataFrame | None:
        if not resolved.spec.group_by:
            return None
        research = read_manifest(self.snapshot)
        canonical = self.data_dir / "snapshots" / research["built_from"]["snapshot_id"]
        widened = {name: key_dtype(dtype) for name, dtype in frame.schema().items()}
        return key_frame(
            resolved.table, resolved.spec.group_by, self.policies.catalogue.keys,
            widened, canonical=canonical, manifest=read_manifest(canonical),
            period=research.get("period", {}),
        )  # fmt: skip

    def public_keys(self) -> dict[str, list[Any]]:
        """Every public key source's values for the current snapshot (from public registers,
        ranges and the calendar; never from research rows)."""
        research = read_manifest(self.snapshot)
        canonical = self.data_dir / "snapshots" / research["built_from"]["snapshot_id"]
        manifest = read_manifest(canonical)
        return {name: key_values(source, canonical=canonical, manifest=manifest,
                                 period=research.get("period", {}))
                for name, source in self.policies.catalogue.keys.items()}  # fmt: skip

    def status(self) -> dict[str, Any]:
        """The current research snapshot: its name, what it was built from, the period and the
        rows per table (counts only)."""
        research = read_manifest(self.snapshot)
        return {"research_snapshot": self.snapshot.name,
                "built_from": research.get("built_from", {}).get("snapshot_id"),
                "period": research.get("period", {}),
                "tables": {n: int(t.get("rows", 0))
                           for n, t in research["tables"].items()}}  # fmt: skip

    def _plan(self, resolved: Resolved, frame: PrivateFrame) -> DpPlan:
        """The calibrated measurement of a dp spec, kept per spec for the snapshot's lifetime
        (its public keys come from the snapshot); a frame of an earlier snapshot gets a plan of
        its own, never kept."""
        digest = resolved.spec.digest()
        current = self._current(frame)
        if current and digest in self._plans:
            return self._plans[digest]
        keys = self._keys(resolved, frame)
        schema = _collapsed_schema(resolved.collapse, frame.schema())
        assert resolved.spec.rho is not None
        plan = plan_release(
            resolved.collapse, schema, keys, resolved.spec.rho,
            max_persons=self.policies.release.dp.max_persons, quantiles=resolved.quantiles,
        )  # fmt: skip
        if current and self._current(frame):
            self._plans[digest] = plan
        return plan

    def _dp_checks(self, resolved: Resolved, frame: PrivateFrame, waive: frozenset[str]) -> None:
        spec = resolved.spec
        if resolved.table.teachers_from is not None and spec.group_by and "teachers" not in waive:
            counts = self._teacher_counts(resolved, frame, resolved.collapse)
            if counts["teachers"].fill_null(0).min() < self.policies.release.sdc.min_teachers:  # type: ignore[operator]
                raise QueryRefused(
                    "some cells of this grouping would describe fewer than "
                    f"{self.policies.release.sdc.min_teachers} teachers; group more coarsely",
                    check="teachers",
                )

    def _dp_cells(
        self, resolved: Resolved, frame: PrivateFrame, project: str, requester: str,
        waive: frozenset[str],
    ) -> tuple[list[Cell], float]:  # fmt: skip
        """The released cells, and the ρ charged for them."""
        spec = resolved.spec
        self._dp_checks(resolved, frame, waive)
        plan = self._plan(resolved, frame)
        # the charge is reserved (and committed) before any noise is drawn, and never refunded
        entry = None
        if self.ledger is not None:
            entry = self.ledger.reserve(project, requester, plan.rho, spec.digest())
        released = run_measurement(frame, resolved.collapse, plan.measurement)
        if self.ledger is not None and entry is not None:
            self.ledger.mark_released(entry)
        accuracy = plan.accuracy
        out = []
        ordered = released.sort(list(spec.group_by), nulls_last=True) if spec.group_by else released
        for row in ordered.iter_rows(named=True):
            keys = {k: row[k] for k in spec.group_by}
            values: dict[str, float | None] = {}
            widths: dict[str, float | None] = {}
            lower: dict[str, float | None] = {}
            upper: dict[str, float | None] = {}
            n = float(row["n"] or 0)
            for m in spec.measures:
                values[m.name], widths[m.name] = _dp_value(row, m.kind, m.column, m.name, n,
                                                           accuracy, resolved)  # fmt: skip
                # clipping a noisy value to what the measure can be is post-processing: free
                bounds = _measure_range(m.kind, m.column, resolved)
                values[m.name] = _clip(values[m.name], bounds)
                lower[m.name], upper[m.name] = _interval(values[m.name], widths[m.name], bounds)
            out.append(Cell(keys, "released", values, widths, lower=lower, upper=upper))
        return out, plan.rho


_MEAN_NOTE = (
    "means and shares are a noisy sum divided by a noisy count; their interval is the widest "
    "ratio the two 95 % intervals allow"
)


def _filters_key(spec: QuerySpec) -> str:
    return json.dumps([f.model_dump(mode="json") for f in spec.filters], sort_keys=True)


def _has_ratio(spec: QuerySpec) -> bool:
    return any(m.kind in ("mean", "share") for m in spec.measures)


def _value(row: dict[str, Any], kind: str, column: str | None, name: str) -> float | None:
    key = {"count_students": "students", "count_teachers": "teachers",
           "share": f"share:{column}", "mean": f"mean:{column}", "sum": f"sum:{column}",
           "quantile": name}[kind]  # fmt: skip
    value = row.get(key)
    return None if value is None else float(value)


def _dp_value(
    row: dict[str, Any], kind: str, column: str | None, name: str, n: float,
    accuracy: dict[str, float | None], resolved: Resolved,
) -> tuple[float | None, float | None]:  # fmt: skip
    if kind in ("count_students", "count_teachers"):
        return max(n, 0.0), accuracy.get("n")
    if kind == "sum":
        return row[f"sum:{column}"], accuracy.get(f"sum:{column}")
    if kind == "quantile":
        return row[name], None
    assert column is not None
    if kind == "share":
        total, a_total = row[f"sum:{column}"], accuracy.get(f"sum:{column}") or 0.0
        return mean_interval(total, n, a_total, accuracy.get("n") or 0.0, (0.0, 1.0))
    count = float(row[f"count:{column}"] or 0)
    bounds = resolved.collapse.means[column]
    return mean_interval(row[f"sum:{column}"], count, accuracy.get(f"sum:{column}") or 0.0,
                         accuracy.get(f"count:{column}") or 0.0, bounds)  # fmt: skip


def _measure_range(kind: str, column: str | None, resolved: Resolved) -> tuple[float, float]:
    """What a measure's value can be, whatever the data."""
    if kind in ("count_students", "count_teachers"):
        return 0.0, math.inf
    if kind == "share":
        return 0.0, 1.0
    assert column is not None
    bounds = resolved.table.columns[column].bounds
    lo, hi = bounds if bounds is not None else (-math.inf, math.inf)
    if kind == "sum":
        return (0.0 if lo >= 0 else -math.inf), (0.0 if hi <= 0 else math.inf)
    return lo, hi


def _clip(value: float | None, bounds: tuple[float, float]) -> float | None:
    return None if value is None else min(max(value, bounds[0]), bounds[1])


def _interval(
    value: float | None, width: float | None, bounds: tuple[float, float]
) -> tuple[float | None, float | None]:
    if value is None or width is None:
        return None, None
    lo, hi = bounds
    return max(value - width, lo), min(value + width, hi)


def _accuracy(resolved: Resolved, plan: DpPlan) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    a = plan.accuracy
    for m in resolved.spec.measures:
        if m.kind in ("count_students", "count_teachers"):
            out[m.name] = {"half_width": a.get("n")}
        elif m.kind == "sum":
            out[m.name] = {"half_width": a.get(f"sum:{m.column}")}
        elif m.kind == "share":
            out[m.name] = {"numerator_half_width": a.get(f"sum:{m.column}"),
                           "count_half_width": a.get("n")}  # fmt: skip
        elif m.kind == "mean":
            out[m.name] = {"numerator_half_width": a.get(f"sum:{m.column}"),
                           "count_half_width": a.get(f"count:{m.column}")}  # fmt: skip
        else:
            out[m.name] = {"half_width": None}
    return out


def _collapsed_schema(c: Collapse, schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    out: dict[str, pl.DataType] = {name: key_dtype(schema[name]) for name in c.by}
    out |= {m: pl.Float64() for m in c.means}
    out |= {f"sum:{m}": pl.Float64() for m in c.sums}
    out |= {f: pl.Float64() for f in c.flags}
    return out


def _record(
    project: str, requester: str, snapshot: str, spec: QuerySpec, status: str, policy: str,
    *, release: Release | None = None, reason: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": project, "requester": requester, "snapshot": snapshot,
        "digest": spec.digest(), "spec": spec.model_dump(mode="json"), "mode": spec.mode,
        "status": status, "policy_version": policy,
    }  # fmt: skip
    if reason is not None:
        record["reason"] = reason
    if release is not None:
        record |= {"release_id": release.release_id, "rho": release.rho,
                   "result_digest": release.digest(),
                   "release": asdict(release)}  # fmt: skip
    return record


def _published(name: str, group_by: tuple[str, ...], cells: list[Cell]) -> PublishedTable:
    return PublishedTable(name, tuple(
        PublishedCell(
            keys=tuple(c.keys.get(k) for k in group_by),
            suppressed=c.status == "suppressed",
            count=c.values.get("count_students"),
        )
        for c in cells
    ))  # fmt: skip


def release_from_record(record: dict[str, Any], *, cached: bool = True) -> Release:
    """A stored release; ``cached``: returned again for an identical query."""
    body = dict(record["release"])
    body["cells"] = [Cell(**c) for c in body["cells"]]
    body["cached"] = cached
    return Release(**body)


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
