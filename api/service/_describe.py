"""What the DPO's pages say about a spec, a release, a held request's risk and the privacy
cost: plain sentences built from metadata. Nothing here reads a released value or a pseudonym:
a release is described from its spec, its log entry and, for its suppressed cells, their
number per rule; a held request's risk from the numbers its checks recorded for the DPO
(``Finding.detail``), which the researcher never sees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from release import LogEntry, RequestInfo
from release.governance import epsilon

# --- a spec -------------------------------------------------------------------------------------


def describe_filter(spec: Mapping[str, Any]) -> str:
    """One filter: ``grade in [8, 9]``, ``days_absent between 0 and 15``, ``sen is true``."""
    column, op = spec.get("column"), spec.get("op")
    values = [str(v) for v in spec.get("values") or []]
    if op == "in":
        return f"{column} in [{', '.join(values)}]"
    if op == "between" and len(values) == 2:
        return f"{column} between {values[0]} and {values[1]}"
    if op in ("is_true", "is_false"):
        return f"{column} is {op[3:]}"
    return f"{column} {op} {', '.join(values)}"


def describe_measure(spec: Mapping[str, Any]) -> str:
    """One measure: ``count of pupils``, ``mean of absence_rate_reported``, …"""
    kind, column = spec.get("kind"), spec.get("column")
    described = {
        "count_students": "count of pupils",
        "count_teachers": "count of teachers",
        "share": f"share of rows where {column} is true",
        "sum": f"sum of {column}",
        "mean": f"mean of {column}",
        "quantile": f"{spec.get('q')} quantile of {column}",
    }
    return described.get(str(kind), f"{kind} of {column}")


def filters_of(spec: Mapping[str, Any]) -> list[str]:
    return [describe_filter(f) for f in spec.get("filters") or []]


def measures_of(spec: Mapping[str, Any]) -> list[str]:
    return [describe_measure(m) for m in spec.get("measures") or []]


# --- a held request's risk ----------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _cells(n: float) -> str:
    return f"{_n(n)} {'cell' if n == 1 else 'cells'}"


def risk_lines(detail: Mapping[str, float]) -> list[str]:
    """The numbers a request's checks recorded, as sentences for the DPO: how many cells fall
    under which threshold, the smallest population, the narrowest interval the linked audit
    found, the teacher-dominance share."""
    d = dict(detail)
    out = []
    if "population" in d:
        out.append(
            f"the filters leave {_n(d['population'])} persons, under min_population "
            f"{_n(d.get('min_population', 0))}"
        )
    if "cells_under_min_teachers" in d:
        of = f" of {_n(d['cells_checked'])}" if "cells_checked" in d else ""
        out.append(
            f"{_cells(d['cells_under_min_teachers'])}{of} under min_teachers "
            f"{_n(d.get('min_teachers', 0))} (the filtered population's teachers), the "
            f"fewest {_n(d.get('fewest_teachers', 0))}"
        )
    if "narrowest_interval" in d:
        out.append(
            f"the linked audit pins a group down to within {d['narrowest_interval']:.3g} "
            f"persons by subtraction, under min_students "
            f"{_n(d.get('min_students', 0))}"
        )
    if "table_cells" in d:
        out.append(
            f"{_n(d.get('suppressed_cells', 0))} of {_cells(d['table_cells'])} would be suppressed"
        )
    rules = (
        ("suppressed_under_min_students", f"under min_students {_n(d.get('min_students', 0))}"),
        ("suppressed_under_min_teachers", f"under min_teachers {_n(d.get('min_teachers', 0))}"),
        ("suppressed_teacher_dominance", "failing teacher dominance"),
        ("suppressed_dominance", "failing the dominance rule"),
        ("suppressed_p_percent", "failing the p % rule"),
        ("suppressed_quantile_edge", "with a quantile too close to an edge"),
        ("suppressed_zero", "that are zero"),
        ("suppressed_complementary", "suppressed to protect other cells"),
        ("suppressed_other", "suppressed for another reason"),
    )
    for key, text in rules:
        if d.get(key):
            out.append(f"{_cells(d[key])} {text}")
    if "largest_teacher_share" in d:
        out.append(
            f"teacher dominance: one cell's top teachers give "
            f"{d['largest_teacher_share']:.0%} of its teacher minutes (limit "
            f"{d.get('teacher_dominance_k', 0):.0%})"
        )
    if "smallest_population" in d:
        out.append(f"smallest population of a cell: {_n(d['smallest_population'])} pupils")
    if "rho" in d:
        out.append(f"ρ {_n(d['rho'])} asked, {_n(d.get('max_rho_per_query', 0))} allowed per query")
    return out


@dataclass(frozen=True)
class CheckRow:
    """A failed check as the pages show it: its name, its reason and its numbers."""

    check: str
    reason: str
    risk: list[str]


def check_rows(checks: Sequence[Mapping[str, Any]]) -> list[CheckRow]:
    return [
        CheckRow(
            str(c.get("check", "")), str(c.get("reason", "")), risk_lines(c.get("detail") or {})
        )
        for c in checks
    ]


def merged_risk(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every number the checks recorded, each said once (the table's risk rides on every
    finding of an sdc request)."""
    detail: dict[str, float] = {}
    for c in checks:
        for key, value in (c.get("detail") or {}).items():
            detail.setdefault(key, float(value))
    return risk_lines(detail)


# --- a release ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseView:
    """One release as its page shows it; never a value."""

    release_id: str
    at: str
    project: str
    requester: str
    snapshot: str
    policy_version: str
    table: str
    mode: str
    group_by: list[str]
    filters: list[str]
    measures: list[str]
    margins: bool
    cost: str
    rules: list[str]
    checks_run: list[str]
    cells: int
    suppressed: list[str]
    request_id: int | None
    findings: list[CheckRow]
    risk: list[str]
    justification: str | None
    reviewer: str | None
    review_reason: str | None


def sdc_rules(policy: Any) -> list[str]:
    """The disclosure-control rules an exact (sdc) table goes through, with the policy's
    figures (``release.toml [sdc]``)."""
    zeros = "released" if policy.zeros == "release" else "suppressed"
    rounding = (
        f"released counts rounded to base {policy.rounding_base}"
        if policy.rounding_base
        else "counts not rounded"
    )
    return [
        f"population floor: the filters leave at least {policy.min_population} pupils",
        f"threshold: every cell at least {policy.min_students} pupils and, where it describes "
        f"teachers, {policy.min_teachers} teachers",
        f"dominance ({policy.dominance_n}, {policy.dominance_k:g}) and the p % rule "
        f"(p = {policy.p_percent:g}) on sums",
        f"teacher dominance ({policy.teacher_dominance_n}, {policy.teacher_dominance_k:g})",
        f"quantiles at least {policy.quantile_min_side} pupils from either edge",
        f"zero cells {zeros}; {rounding}",
        "secondary suppression with an interval audit when margins are asked",
        "the linked audit against the project's earlier outputs on the table",
    ]


def release_view(
    entry: LogEntry,
    record: Mapping[str, Any] | None,
    request: RequestInfo | None,
    sdc_policy: Any,
    delta: float,
) -> ReleaseView:
    """A release's page: ``record`` is its release-store record (only its cells' statuses and
    the suppression reasons are read), ``request`` the held request it came from, if any."""
    spec = entry.spec
    if entry.mode == "dp":
        cost = (
            f"ρ {entry.rho:.6g} (zero-concentrated DP), ε {epsilon(entry.rho, delta):.6g} "
            f"at δ = {delta:g}"
        )
        if entry.rho == 0:
            cost += ": an identical earlier query's release returned again, at no new cost"
        rules: list[str] = []
        checks = [
            "the catalogue and the project's approval",
            "ρ per query",
            "the teacher threshold on the schedule's (public-key) cells",
        ]
    else:
        cost = "exact (sdc): no ρ; it counts toward the project's linked audit"
        rules = sdc_rules(sdc_policy)
        checks = [
            "the catalogue and the project's approval",
            "the population floor",
            "the teacher threshold",
            "the cell rules, then secondary suppression",
            "the linked audit",
        ]
    release = (record or {}).get("release") or {}
    statuses = [str(c.get("status")) for c in release.get("cells") or []]
    reasons: dict[str, int] = {}
    for kept in (record or {}).get("suppression_reasons") or []:
        reason = str(kept.get("reason"))
        reasons[reason] = reasons.get(reason, 0) + 1
    suppressed = [f"{_cells(n)}: {reason}" for reason, n in sorted(reasons.items())]
    return ReleaseView(
        release_id=entry.release_id or "",
        at=entry.at[:19].replace("T", " "),
        project=entry.project,
        requester=entry.requester,
        snapshot=entry.snapshot,
        policy_version=entry.policy_version,
        table=entry.table,
        mode=entry.mode,
        group_by=[str(c) for c in spec.get("group_by") or []],
        filters=filters_of(spec),
        measures=measures_of(spec),
        margins=bool(spec.get("margins")),
        cost=cost,
        rules=rules,
        checks_run=checks,
        cells=len(statuses),
        suppressed=suppressed,
        request_id=request.id if request else None,
        findings=check_rows(request.checks) if request else [],
        risk=merged_risk(request.checks) if request else [],
        justification=request.justification if request else None,
        reviewer=request.reviewer if request else None,
        review_reason=request.review_reason if request else None,
    )
