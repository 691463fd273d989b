"""``preview`` and ``release``: the only way anything leaves medler.

A request is **assessed once** (``Releaser.assess``): the spec is checked against the
catalogue (``_rules``), then, in ``sdc`` mode, against the data (the population floor, the
teacher rules), its disclosure-controlled table computed (``_sdc.protect``) and audited with
the project's earlier outputs on the same table (``_linked``); in ``dp`` mode its OpenDP
measurement is planned from public keys alone. Checks return their findings as data; the
service reads them once to release, hold or refuse. In ``ckm`` mode (the cell-key method,
``_ckm``) its counts are computed and perturbed from the cells' keys.

What each mode decides on:

- ``dp``: nothing exact about pupils. There is no population floor (a refusal that depends on
  how many pupils a filter leaves would be an exact, free answer); the teacher rules are
  decided on the teachers behind each cell of the spec's *public-key* filters and grouping,
  which is the schedule's, and no pupil-level filter can move it. A preview depends on the
  spec and the public keys only.
- ``sdc``: every answer that depends on the data is an output. A preview shows which cells
  would be suppressed, so it is recorded, audited, metered (``previews_per_day``) and joins
  the project's history for the linked audit like a release; a refusal of a preview is
  recorded and audited too. A measure is filtered only between its band edges.
- ``ckm``: counts of pupils, each published with the noise its cell key selects in the
  published perturbation table. No count is exact, so there is no population floor and no
  linked audit (differencing two outputs yields noise); a preview lists the non-empty cells,
  an output like an sdc preview.

Identical specs within a project return the earlier release (no new noise, no new cost). Why
a cell was suppressed is kept for the DPO and never published.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from linkage import current_snapshot, read_manifest, table_parts
from pseudonymise import cell_key_path, load_cell_key_secret
from release import _sdc
from release._ckm import ckm_cells, record_keys_with
from release._dp import DpPlan, dp_cells, plan_release
from release._errors import Finding, QueryRefused
from release._frames import (
    BIN,
    Collapse,
    PrivateFrame,
    exact_table,
    key_dtype,
    open_table,
    population,
    run_measurement,
)
from release._keys import key_frame, key_values
from release._linked import History, Output, audit
from release._measures import kind, notes
from release._models import (
    ModelOutcome,
    ModelPlan,
    assess_sdc,
    dp_levels,
    plan_dp,
    release_dp,
)
from release._planner import AccuracyPlan, plan_accuracy
from release._policy import Policies, load_policies
from release._ptable import build_ptable
from release._results import Cell, Preview, Release
from release._rules import Approval, Resolved, known_table, resolve
from release._spec import QuerySpec, band_column, band_labels
from release._store import (
    FileStore,
    ReleaseStore,
    output_name,
    preview_id,
    record_of,
    release_from_record,
)
from release._teachers import TeacherRules
from release.governance import BudgetExhausted, Ledger, append_audit
from release.governance._ledger import scopes_of

__all__ = [
    "AccuracyPlan",
    "Assessment",
    "Cell",
    "Preview",
    "Release",
    "Releaser",
    "release_from_record",
]

RESEARCH = "research"
OUTPUTS = ("released", "previewed")  # what the linked audit counts as published


@dataclass(frozen=True)
class Assessment:
    """One request, assessed: what it failed (``findings``), and what a release of it would
    show, computed once: the protected table (``sdc``: its cells, with the reasons kept for the
    DPO) or the calibrated measurement (``dp``). ``history``: the project's outputs on the
    table with this one added, kept once this one is published."""

    resolved: Resolved
    frame: PrivateFrame
    snapshot: str
    findings: tuple[Finding, ...]
    cells: tuple[Cell, ...] = ()
    plan: DpPlan | None = None
    history: History | None = None
    model: ModelPlan | None = None  # a dp model's measurement (``_models``)
    notes: tuple[str, ...] = ()

    @property
    def spec(self) -> QuerySpec:
        return self.resolved.spec

    def unwaived(self, waive: frozenset[str]) -> list[Finding]:
        return [f for f in self.findings if f.check is None or f.check not in waive]


class Releaser:
    """Previews and releases over the current research snapshot of ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        policies: Policies | None = None,
        store: ReleaseStore | None = None,
        control: Engine | None = None,
        cell_key_secret: Path | None = None,
    ) -> None:
        """``control``: the control plane (``release.governance``). With it, every dp release
        is charged to the ledger before its noise is drawn, and every request is appended to
        the audit log; without it (tests, dummy data) nothing is charged or audited.
        ``cell_key_secret``: the file of the cell-key method's secret (created on first use;
        by default ``$MEDLER_CELL_KEY_FILE``, else beside the audit key; never in
        ``data_dir``)."""
        self.data_dir = data_dir
        self.policies = policies or load_policies()
        self.store = store or FileStore(data_dir / "release")
        self.control = control
        self.ledger = Ledger(control) if control is not None else None
        self._snapshot: Path | None = None
        self._frames: dict[str, PrivateFrame] = {}
        self._plans: dict[str, DpPlan] = {}
        self._histories: dict[tuple[str, str], History] = {}
        self.teachers = TeacherRules(self.policies, self._frame, self._current)
        self.cell_key_secret = cell_key_secret or cell_key_path()
        ckm = self.policies.release.ckm
        self.ptable = build_ptable(ckm.max_noise, ckm.variance, ckm.small)

    # --- the snapshot -----------------------------------------------------------------------

    @property
    def snapshot(self) -> Path:
        current = current_snapshot(self.data_dir / RESEARCH)
        if current != self._snapshot:
            self._snapshot, self._frames, self._plans = current, {}, {}
            self._histories = {}
            self.teachers.reset()
        return current

    def _frame(self, name: str) -> PrivateFrame:
        snapshot = self.snapshot
        if name not in self._frames:
            entry = read_manifest(snapshot)["tables"].get(name)
            if entry is None:
                raise QueryRefused(f"the research snapshot has no table {name}; rebuild it")
            table = self.policies.catalogue.tables.get(name)
            self._frames[name] = open_table(
                [snapshot / part["file"] for part in table_parts(entry)],
                name,
                unit=table.unit if table else None,
                ranked=sorted(table.max_keys_per_unit) if table else (),
            )
        return self._frames[name]

    def _current(self, frame: PrivateFrame) -> bool:
        """Whether ``frame`` was opened from the current snapshot (a request that began before
        a new snapshot was switched in holds a frame of the earlier one)."""
        self.snapshot  # noqa: B018  (a new snapshot closes the earlier one's frames)
        return any(f is frame for f in self._frames.values())

    # --- assessing a request ----------------------------------------------------------------

    def assess(
        self,
        spec: QuerySpec,
        *,
        project: str = "default",
        approval: Approval | None = None,
        waive: frozenset[str] = frozenset(),
        name: str = "this table",
    ) -> Assessment:
        """Check ``spec`` and compute what its release would show, once. Raises
        ``QueryRefused`` for a spec the catalogue refuses (no data read); every other check's
        outcome is a finding. ``name``: the output's name in the project's history."""
        known_table(spec, self.policies, approval)  # before any file is opened
        self._one_regime(spec, project, approval)
        frame = self._frame(spec.table)
        snapshot = self.snapshot.name
        resolved = resolve(spec, self.policies, frame.schema(), approval, waive)
        findings = list(resolved.findings)
        if spec.mode == "dp":
            findings += self.teachers.dp_findings(resolved, frame, waive)
            return self._assess_dp(resolved, frame, snapshot, findings)
        if spec.mode == "ckm":
            if findings:
                return Assessment(resolved, frame, snapshot, tuple(findings))
            keys_of = record_keys_with(
                load_cell_key_secret(self.cell_key_secret, data_dir=self.data_dir)
            )
            cells = ckm_cells(frame, resolved.collapse, spec, self.ptable, keys_of)
            return Assessment(resolved, frame, snapshot, tuple(findings), tuple(cells))
        sdc = self.policies.release.sdc
        people = population(frame, resolved.table.unit, resolved.collapse.filters)
        if people < sdc.min_population:
            floor = {"population": float(people), "min_population": float(sdc.min_population)}
            findings.append(
                Finding(
                    None,
                    (
                        f"the filters leave fewer than {sdc.min_population} persons; "
                        "medler releases statistics about groups, so widen the filters"
                    ),
                    floor,
                )
            )
            return Assessment(resolved, frame, snapshot, tuple(findings))
        per_teacher = self.teachers.minutes(resolved, frame)
        if "teachers" not in waive:
            findings += self.teachers.threshold(per_teacher, ())
        fitted = self._exact(resolved, frame, per_teacher)
        if fitted.findings:
            return Assessment(resolved, frame, snapshot, (*findings, *fitted.findings))
        cells, risk = list(fitted.cells), fitted.risk
        history = self._history(project, resolved, frame, snapshot)
        extended = history.extend(frame, _output(name, resolved.collapse, spec, cells))
        checked = audit(extended, min_students=sdc.min_students)
        exposed, extended = checked.finding, checked.history
        if exposed is not None and "linked" not in waive:
            earlier = [n for n in exposed.outputs if n != name]
            with_ = f"the project's output {', '.join(earlier)}" if earlier else "itself"
            narrowed = {
                "narrowest_interval": exposed.width,
                "min_students": float(sdc.min_students),
            }
            findings.append(
                Finding(
                    "linked",
                    (
                        f"together with {with_}, this table would pin down a group of 1 to "
                        f"{sdc.min_students - 1} persons, or a suppressed cell, by subtraction. "
                        "Ask for the same grouping and filters as the earlier output, or group "
                        f"and filter so that the groups differ by {sdc.min_students} persons "
                        "or more"
                    ),
                    narrowed,
                )
            )
        # each finding carries the table's risk for the DPO's review (never the researcher's)
        findings = [replace(f, detail={**risk, **f.detail}) for f in findings]
        return Assessment(
            resolved,
            frame,
            snapshot,
            tuple(findings),
            tuple(cells),
            None,
            extended,
            notes=fitted.notes,
        )

    def _assess_dp(
        self, resolved: Resolved, frame: PrivateFrame, snapshot: str, findings: list[Finding]
    ) -> Assessment:
        """A dp request's measurement, planned from public keys alone: a table's cells, or a
        model's sufficient statistics (``_models``)."""
        if resolved.spec.model is None:
            plan = self._plan(resolved, frame)
            return Assessment(resolved, frame, snapshot, tuple(findings), plan=plan)
        planned = plan_dp(resolved, self.policies, dp_levels(resolved, self.public_keys()))
        if isinstance(planned, list):
            return Assessment(resolved, frame, snapshot, (*findings, *planned))
        return Assessment(resolved, frame, snapshot, tuple(findings), model=planned)

    def _exact(
        self, resolved: Resolved, frame: PrivateFrame, per_teacher: pl.DataFrame | None
    ) -> ModelOutcome:
        """An sdc request's protected cells (a table's, ``_sdc_cells``, or a model's
        parameters, ``_models``), or the findings that refuse it."""
        if resolved.spec.model is not None:
            return assess_sdc(resolved, frame, self.policies)
        try:
            cells, risk = self._sdc_cells(resolved, frame, per_teacher)
        except QueryRefused as refusal:
            return ModelOutcome((Finding(refusal.check, str(refusal)),))
        return ModelOutcome((), tuple(cells), risk=risk)

    def _one_regime(self, spec: QuerySpec, project: str, approval: Approval | None) -> None:
        """One question, one regime: a DP guarantee means nothing once the exact answer to the
        same question has left. The project's approval names the regime of each table; a
        table it does not name takes the regime of the project's first output on it."""
        regime_of = getattr(approval, "regime", None)
        named = regime_of(spec.table) if regime_of is not None else None
        if named is not None and named != spec.mode:
            raise QueryRefused(
                f"project {project} receives {spec.table} under {named} only: its approval "
                f"names the regime, so that no {spec.mode} answer to a question answered "
                f"under {named} leaves. Ask in {named} mode"
            )
        if named is None:
            used = self.store.regimes(project, spec.table)
            if used and spec.mode not in used:
                (other,) = used
                raise QueryRefused(
                    f"project {project} has already received {spec.table} under {other}; a "
                    f"table is answered under one regime per project, so ask in {other} mode "
                    "(or have the statistics office approve a project for the other)"
                )

    def _history(
        self, project: str, resolved: Resolved, frame: PrivateFrame, snapshot: str
    ) -> History:
        """The project's earlier outputs (releases and previews) on the table, as the common
        refinement the linked audit reads; kept per project and table for the snapshot."""
        table = resolved.spec.table
        records = [
            r
            for r in self.store.earlier(project, snapshot, table)
            if r["mode"] == "sdc" and r["status"] in OUTPUTS
        ]
        names = tuple(output_name(r) for r in records)
        kept = self._histories.get((project, table))
        if kept is not None and kept.outputs == names and self._current(frame):
            return kept
        history = History.start(frame, resolved.table.unit)
        for record, name in zip(records, names, strict=True):
            spec = QuerySpec.model_validate(record["spec"])
            earlier = resolve(spec, self.policies, frame.schema(), strict=False)
            cells = record.get("release", record.get("preview", {})).get("cells", [])
            published = [
                Cell(c["keys"], c["status"], {}, margin=c.get("margin", False)) for c in cells
            ]
            history = history.extend(frame, _output(name, earlier.collapse, spec, published))
        if self._current(frame):
            self._histories[(project, table)] = history
        return history

    def _keep_history(self, project: str, assessment: Assessment, name: str) -> None:
        """The assessed history, now that its output is published under ``name``."""
        history = assessment.history
        if history is None or not self._current(assessment.frame):
            return
        self._histories[(project, assessment.spec.table)] = history.renamed(name)

    # --- the public surface -----------------------------------------------------------------

    def preview(
        self,
        spec: QuerySpec,
        approval: Approval | None = None,
        waive: frozenset[str] = frozenset(),
        *,
        project: str = "default",
        requester: str = "anonymous",
    ) -> Preview:
        """What a release would show, for free: in dp mode the 95 % half-width of each measure
        before any budget is spent (from the spec and the public keys alone); in sdc mode
        which cells would be suppressed (no values), which is an output: recorded, audited,
        metered and part of the project's history."""
        version = self.policies.version
        if spec.mode != "dp":
            self._meter_previews(project)
        assessment = self.assess(
            spec, project=project, approval=approval, waive=waive, name=preview_id(spec)
        )
        failed = assessment.unwaived(waive)
        if failed:  # a check's outcome: recorded and audited, whatever the mode
            refusal = failed[0].refusal()
            self.record_refusal(spec, requester, project, refusal, preview=True)
            raise refusal
        if spec.mode == "dp" and assessment.model is not None:
            return Preview(
                spec.model_dump(mode="json"),
                "dp",
                assessment.model.rho,
                version,
                accuracy=assessment.model.accuracy,
            )
        if spec.mode == "dp":
            plan = assessment.plan
            assert plan is not None
            table = assessment.resolved.table
            accuracy = {m.name: kind(m).preview(m, plan.noise, table) for m in spec.measures}
            return Preview(
                spec.model_dump(mode="json"),
                "dp",
                plan.rho,
                version,
                accuracy=accuracy,
                notes=notes(spec.measures),
            )
        cells = [Cell(c.keys, c.status, {}, margin=c.margin) for c in assessment.cells]
        name = assessment.history.outputs[-1] if assessment.history else preview_id(spec)
        record = record_of(project, requester, assessment.snapshot, spec, "previewed", version)
        record["preview_id"] = name
        record["preview"] = {"cells": [asdict(c) for c in cells]}
        self.store.add(record)
        self._keep_history(project, assessment, name)
        self._audit(requester, project, spec, "previewed", assessment.snapshot, preview=name)
        return Preview(spec.model_dump(mode="json"), spec.mode, 0.0, version, cells=cells)

    def plan(
        self,
        spec: QuerySpec,
        *,
        persons: int,
        half_width: float,
        measure: str | None = None,
        approval: Approval | None = None,
        project: str = "default",
        requester: str = "anonymous",
    ) -> AccuracyPlan:
        """The ρ a dp question costs for a 95 % half-width of ``half_width`` in cells of
        ``persons`` (``measure``: one of the spec's, else all), and how many such questions
        the remaining budget holds. From the spec, the public keys and the policies alone: no
        row is read, nothing is spent or recorded."""
        if spec.mode != "dp":
            raise QueryRefused("the planner prices dp questions; give a spec in dp mode")
        known_table(spec, self.policies, approval)
        frame = self._frame(spec.table)
        resolved = resolve(spec, self.policies, frame.schema(), approval)
        outside = [f for f in resolved.findings if f.check == "approval"]
        if outside:
            raise outside[0].refusal()
        planned = plan_accuracy(
            self._plan(resolved, frame),
            spec,
            resolved.table,
            persons=persons,
            half_width=half_width,
            measure=measure,
        )
        if self.ledger is None:
            return planned
        mine = set(scopes_of(project, requester))
        remaining = min(
            (t.remaining for t in self.ledger.totals() if t.scope in mine), default=None
        )
        if remaining is None:
            return planned
        return replace(
            planned, remaining_rho=remaining, questions=math.floor(remaining / planned.rho + 1e-9)
        )

    def _meter_previews(self, project: str) -> None:
        limit = self.policies.release.sdc.previews_per_day
        today = dt.datetime.now(dt.UTC).date().isoformat()
        used = sum(
            1
            for r in self.store.all()
            if r["project"] == project and r["status"] == "previewed" and r["at"][:10] == today
        )
        if used >= limit:
            raise QueryRefused(
                f"project {project} has used its {limit} sdc previews for today; each preview "
                "shows which cells the data would suppress, so previews are outputs and "
                "limited. Submit the query, preview in dp mode, or wait until tomorrow (UTC)"
            )

    def release(
        self,
        spec: QuerySpec,
        requester: str,
        *,
        project: str = "default",
        approval: Approval | None = None,
        waive: frozenset[str] = frozenset(),
        audit: dict[str, Any] | None = None,
        assessment: Assessment | None = None,
    ) -> Release:
        """Release ``spec`` for ``requester`` in ``project``. ``waive``: reviewable checks a
        reviewer approved an exception to; ``audit``: more for the audit record (the review);
        ``assessment``: this request's assessment, when the caller has it already."""
        snapshot = self.snapshot.name
        digest = spec.digest()
        more = audit or {}
        cached = self.store.find(project, snapshot, digest)
        if cached is not None:
            again = release_from_record(cached)
            self._audit(
                requester,
                project,
                spec,
                "released",
                snapshot,
                rho=0.0,
                cached=True,
                result=again.digest(),
                release_id=again.release_id,
                **more,
            )
            return again
        # time, spec and a random part: two projects asking the same in one second get two ids
        release_id = f"r-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{digest[:8]}{secrets.token_hex(3)}"
        try:
            if assessment is None or assessment.snapshot != snapshot:
                assessment = self.assess(
                    spec, project=project, approval=approval, waive=waive, name=release_id
                )
            failed = assessment.unwaived(waive)
            if failed:
                raise failed[0].refusal()
            rho, more_notes = 0.0, list(assessment.notes)
            if spec.mode == "dp":
                cells, rho, more_notes = self._dp_cells(assessment, project, requester)
            else:
                cells = list(assessment.cells)
        except (QueryRefused, BudgetExhausted) as refusal:
            self.record_refusal(spec, requester, project, refusal, **more)
            raise
        # why a cell was suppressed is kept for the DPO, never published: a published reason
        # would tell an attacker that a cell holds fewer than the threshold, and narrow it
        reasons = [
            {"keys": c.keys, "margin": c.margin, "reason": c.reason} for c in cells if c.reason
        ]
        cells = [replace(c, reason=None) for c in cells]
        release = Release(
            release_id=release_id,
            spec=spec.model_dump(mode="json"),
            mode=spec.mode,
            snapshot=snapshot,
            policy_version=self.policies.version,
            rho=rho,
            cells=cells,
            notes=[*more_notes, *(notes(spec.measures) if spec.mode == "dp" else [])],
        )
        record = record_of(
            project, requester, snapshot, spec, "released", self.policies.version, release=release
        )
        record["suppression_reasons"] = reasons
        self.store.add(record)
        if spec.mode == "sdc":
            self._keep_history(project, assessment, release_id)
        self._audit(
            requester,
            project,
            spec,
            "released",
            snapshot,
            rho=rho,
            result=release.digest(),
            release_id=release.release_id,
            waived=sorted(waive),
            **more,
        )
        return release

    def record_refusal(
        self,
        spec: QuerySpec,
        requester: str,
        project: str,
        refusal: Exception,
        *,
        preview: bool = False,
        **more: Any,
    ) -> None:
        """Keep a refusal in the release store and the audit log (a refused preview too: in
        sdc mode its reason depends on the data)."""
        snapshot = self.snapshot.name
        record = record_of(
            project,
            requester,
            snapshot,
            spec,
            "refused",
            self.policies.version,
            reason=str(refusal),
        )
        if preview:
            record["preview"] = True
            more = {**more, "preview": True}
        self.store.add(record)
        self._audit(
            requester,
            project,
            spec,
            "refused",
            snapshot,
            reason=str(refusal),
            check=getattr(refusal, "check", None),
            **more,
        )

    def _audit(
        self, actor: str, project: str, spec: QuerySpec, status: str, snapshot: str, **more: Any
    ) -> None:
        """One audit record: who, what was asked, under which policy and snapshot, at what
        cost, and the result's digest. Never a value, never anything identifying."""
        if self.control is None:
            return
        body = {
            "spec": spec.model_dump(mode="json"),
            "spec_digest": spec.digest(),
            "mode": spec.mode,
            "policy_version": self.policies.version,
            "snapshot": snapshot,
            **more,
        }
        append_audit(self.control, actor=actor, action=status, project=project, body=body)

    # --- sdc --------------------------------------------------------------------------------

    def _sdc_cells(
        self, resolved: Resolved, frame: PrivateFrame, per_teacher: pl.DataFrame | None = None
    ) -> tuple[list[Cell], dict[str, float]]:
        """The protected table of an sdc spec, every row (margins included) through every
        primary rule (``_sdc.protect``), and its risk for the DPO (``_sdc.risk``)."""
        spec, c = resolved.spec, resolved.collapse
        describes_teachers = any(
            m.kind == "count_teachers"
            or (m.column is not None and resolved.table.columns[m.column].describes == "teachers")
            for m in spec.measures
        )
        levels = [spec.keys]
        if spec.margins and spec.keys:
            levels += _sdc.margin_levels(spec.keys)
        policy = self.policies.release.sdc
        table = exact_table(
            frame,
            c,
            levels=levels,
            per_teacher=per_teacher,
            teacher_top_n=policy.teacher_dominance_n,
            own_teachers=resolved.table.teacher is not None,
            quantiles=resolved.quantiles,
        )
        if not describes_teachers and _sdc.TEACHER_TOP in table.columns:
            table = table.drop(_sdc.TEACHER_TOP)
        flags = [m.column for m in spec.measures if m.kind == "share" and m.column]
        means = [m.column for m in spec.measures if m.kind == "mean" and m.column]
        protected = _sdc.protect(
            table,
            spec.keys,
            policy,
            margins=spec.margins,
            sums=list(c.sums),
            means=means,
            flags=flags,
            quantiles=list(resolved.quantiles),
        )
        rounded = policy.rounding_base > 0
        out = []
        for row in protected.iter_rows(named=True):
            released = row[_sdc.STATUS] == _sdc.RELEASED
            keys = {k: row[k] for k in spec.keys}
            values = {m.name: (kind(m).exact(row, m) if released else None) for m in spec.measures}
            status = ("rounded" if rounded else "released") if released else "suppressed"
            out.append(
                Cell(keys, status, values, reason=row[_sdc.REASON], margin=bool(row[_sdc.MARGIN]))
            )
        return out, _sdc.risk(table, protected, policy)

    # --- dp ---------------------------------------------------------------------------------

    def _keys(self, resolved: Resolved, frame: PrivateFrame) -> pl.DataFrame | None:
        """The public cells: every combination of the group-by keys' public values, and with
        ``bands``, of the bands (from the catalogue's published edges)."""
        spec = resolved.spec
        bands = None
        if spec.bands is not None:
            edges = resolved.table.columns[spec.bands].bands
            assert edges is not None
            bands = pl.DataFrame({band_column(spec.bands): band_labels(edges)})
        if not spec.group_by:
            return bands
        research = read_manifest(self.snapshot)
        canonical = self.data_dir / "snapshots" / research["built_from"]["snapshot_id"]
        widened = {name: key_dtype(dtype) for name, dtype in frame.schema().items()}
        keys = key_frame(
            resolved.table,
            spec.group_by,
            self.policies.catalogue.keys,
            widened,
            canonical=canonical,
            manifest=read_manifest(canonical),
            period=research.get("period", {}),
        )
        return keys.join(bands, how="cross") if bands is not None else keys

    def public_keys(self) -> dict[str, list[Any]]:
        """Every public key source's values for the current snapshot (from public registers,
        ranges and the calendar; never from research rows)."""
        research = read_manifest(self.snapshot)
        canonical = self.data_dir / "snapshots" / research["built_from"]["snapshot_id"]
        manifest = read_manifest(canonical)
        return {
            name: key_values(
                source, canonical=canonical, manifest=manifest, period=research.get("period", {})
            )
            for name, source in self.policies.catalogue.keys.items()
        }

    def status(self) -> dict[str, Any]:
        """The current research snapshot: its name, what it was built from, the period and the
        rows per table (counts only)."""
        research = read_manifest(self.snapshot)
        return {
            "research_snapshot": self.snapshot.name,
            "built_from": research.get("built_from", {}).get("snapshot_id"),
            "period": research.get("period", {}),
            "tables": {n: int(t.get("rows", 0)) for n, t in research["tables"].items()},
        }

    def _plan(self, resolved: Resolved, frame: PrivateFrame) -> DpPlan:
        """The calibrated measurement of a dp spec, kept per spec for the snapshot's lifetime
        (its public keys come from the snapshot); a frame of an earlier snapshot gets a plan of
        its own, never kept. It reads the schema and the public keys, never a row."""
        digest = resolved.spec.digest()
        current = self._current(frame)
        if current and digest in self._plans:
            return self._plans[digest]
        keys = self._keys(resolved, frame)
        schema = _collapsed_schema(resolved.collapse, frame.schema())
        assert resolved.spec.rho is not None
        plan = plan_release(
            resolved.collapse,
            schema,
            keys,
            resolved.spec.rho,
            max_persons=self.policies.release.dp.max_persons,
            quantiles=resolved.quantiles,
        )
        if current and self._current(frame):
            self._plans[digest] = plan
        return plan

    def _dp_cells(
        self, assessment: Assessment, project: str, requester: str
    ) -> tuple[list[Cell], float, list[str]]:
        """The released cells, the ρ charged for them, and notes on a model's fit."""
        plan, model, resolved = assessment.plan, assessment.model, assessment.resolved
        rho = model.rho if model is not None else plan.rho if plan is not None else None
        assert rho is not None
        # the charge is reserved (and committed) before any noise is drawn, and never refunded
        entry = None
        if self.ledger is not None:
            entry = self.ledger.reserve(project, requester, rho, resolved.spec.digest())
        if model is not None:
            cells, fit_notes = release_dp(model, assessment.frame, resolved)
        else:
            assert plan is not None
            released = run_measurement(assessment.frame, resolved.collapse, plan.measurement)
            cells = dp_cells(released, resolved.spec, resolved.table, plan.noise)
            fit_notes = []
        if self.ledger is not None and entry is not None:
            self.ledger.mark_released(entry)
        return cells, rho, fit_notes


def _output(name: str, collapse: Collapse, spec: QuerySpec, cells: Sequence[Cell]) -> Output:
    def keys(c: Cell) -> tuple[object, ...]:
        return tuple(c.keys.get(k) for k in spec.keys)

    # a model's cells are its parameters: one published figure, its population (no keys)
    shown = tuple(dict.fromkeys(keys(c) for c in cells if c.status != "suppressed"))
    hidden = tuple(dict.fromkeys(keys(c) for c in cells if c.status == "suppressed"))
    return Output(name, collapse, shown, hidden)


def _collapsed_schema(c: Collapse, schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    out: dict[str, pl.DataType] = {name: key_dtype(schema.get(name, pl.String())) for name in c.by}
    out |= {m: pl.Float64() for m in c.means}
    out |= {BIN + m: pl.Int64() for m in c.bins}
    out |= {f"sum:{m}": pl.Float64() for m in c.sums}
    out |= {f: pl.Float64() for f in c.flags}
    return out
