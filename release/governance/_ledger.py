"""The privacy-budget ledger (zero-concentrated DP, ρ).

Three levels of cap: the data set across all its snapshots (every project queries the same
pupils, and each rebuild holds mostly the same pupils again, so losses add up over snapshots),
the project, and the researcher within the project. A charge is *reserved* in one database
transaction that locks the three budgets, checks all of them and adds to all of them, before
any noise is drawn; it is then marked released. It is never refunded: a crash between reserving
and releasing leaves it charged, since noise may already have been drawn.

Every cap set and every charge is also an audit record, written in the same transaction as
the row it accounts for, so verification can recompute the tables from the authenticated chain
(``_reconcile``). A scope is a ``BudgetScope``; its text form (``dataset``, ``project:<id>``,
``researcher:<project>:<id>``) is made and read here only.

ρ-zCDP implies (ε, δ)-DP for every δ > 0 with ε = ρ + 2·sqrt(ρ·ln(1/δ)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release.governance._audit import append_audit
from release.governance._models import Budget, LedgerEntry
from release.governance._reconcile import BUDGET_CHARGED, BUDGET_SET, CHARGE_RELEASED

TOLERANCE = 1e-12  # float sums: a charge that meets a cap exactly is allowed
LEVELS = ("dataset", "project", "researcher")


class BudgetExhausted(MedlerUserError):
    """The charge would exceed a cap. The message names the level and what remains."""


@dataclass(frozen=True)
class BudgetScope:
    """What a budget caps: the data set (across its snapshots), a project, or a researcher
    within a project."""

    project: str | None = None
    researcher: str | None = None

    @staticmethod
    def dataset() -> BudgetScope:
        return BudgetScope()

    @staticmethod
    def of_project(project: str) -> BudgetScope:
        return BudgetScope(project)

    @staticmethod
    def of_researcher(project: str, researcher: str) -> BudgetScope:
        return BudgetScope(project, researcher)

    @staticmethod
    def parse(text: str) -> BudgetScope:
        """``dataset``, ``project:<id>`` or ``researcher:<project>:<id>``."""
        parts = text.split(":")
        if text == "dataset":
            return BudgetScope()
        if len(parts) == 2 and parts[0] == "project" and parts[1]:
            return BudgetScope(parts[1])
        if len(parts) == 3 and parts[0] == "researcher" and all(parts[1:]):
            return BudgetScope(parts[1], parts[2])
        raise MedlerUserError(
            f"a budget is 'dataset', 'project:<id>' or 'researcher:<project>:<id>', not {text!r}"
        )

    @property
    def level(self) -> str:
        """``dataset``, ``project`` or ``researcher``."""
        return (
            "dataset"
            if self.project is None
            else "project"
            if self.researcher is None
            else "researcher"
        )

    @property
    def key(self) -> str:
        """The text form, as stored."""
        if self.project is None:
            return "dataset"
        if self.researcher is None:
            return f"project:{self.project}"
        return f"researcher:{self.project}:{self.researcher}"

    @property
    def parent(self) -> BudgetScope | None:
        """The scope this one lies within (a researcher's project, a project's data set)."""
        if self.project is None:
            return None
        return BudgetScope(self.project) if self.researcher is not None else BudgetScope()

    def __str__(self) -> str:
        return self.key


DATASET = BudgetScope.dataset()


def scopes_of(project: str, researcher: str) -> tuple[BudgetScope, ...]:
    """The budgets a researcher's charge in ``project`` counts against, widest first."""
    return (DATASET, BudgetScope(project), BudgetScope(project, researcher))


def epsilon(rho: float, delta: float) -> float:
    """The ε of (ε, δ)-DP that ρ-zCDP implies at ``delta``."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta)) if rho > 0 else 0.0


@dataclass(frozen=True)
class LedgerTotals:
    scope: BudgetScope
    cap: float
    spent: float
    reserved: float

    @property
    def remaining(self) -> float:
        return max(self.cap - self.spent, 0.0)


def check_cap(cap: float) -> None:
    if not math.isfinite(cap) or cap < 0:
        raise MedlerUserError(f"a budget cap must be a finite ρ ≥ 0, not {cap}")


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def cap(self, scope: BudgetScope) -> float | None:
        """The cap of ``scope``, or None when none is set."""
        with Session(self.engine) as session:
            row = session.get(Budget, scope.key)
            return None if row is None else row.cap

    def set_cap(
        self, scope: BudgetScope, cap: float, *, actor: str, confirmed_by: str | None = None
    ) -> None:
        """Set a cap, with its audit record in the same transaction (naming the second
        person who confirmed it, when one did)."""
        check_cap(cap)
        with Session(self.engine) as session, session.begin():
            row = session.get(Budget, scope.key)
            if row is None:
                session.add(Budget(scope=scope.key, cap=cap, spent=0.0))
            else:
                row.cap = cap
            append_audit(
                self.engine,
                actor=actor,
                action=BUDGET_SET,
                project=scope.project,
                body={
                    "scope": scope.key,
                    "rho": cap,
                    **({"confirmed_by": confirmed_by} if confirmed_by else {}),
                },
                session=session,
            )

    def reserve(self, project: str, researcher: str, rho: float, spec_digest: str) -> int:
        """Charge ``rho`` at every level, or raise ``BudgetExhausted`` and charge nothing.
        Returns the ledger entry's id. The charge's audit record commits with it."""
        if not rho > 0 or not math.isfinite(rho):
            raise MedlerUserError(f"a charge must be a finite ρ > 0, not {rho}")
        scopes = sorted(s.key for s in scopes_of(project, researcher))
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(
                select(Budget)
                .where(Budget.scope.in_(scopes))
                .order_by(Budget.scope)
                .with_for_update()
            ).all()
            found = {row.scope: row for row in rows}
            for scope in scopes:
                row = found.get(scope)
                if row is None:
                    raise BudgetExhausted(
                        f"no budget is set for {scope}; the statistics office sets it"
                    )
                if row.spent + rho > row.cap + TOLERANCE:
                    level, left = BudgetScope.parse(scope).level, max(row.cap - row.spent, 0)
                    raise BudgetExhausted(
                        f"the {level} budget has ρ {left:.6g} left, and this "
                        f"query costs ρ {rho:.6g}"
                    )
            session.execute(
                update(Budget).where(Budget.scope.in_(scopes)).values(spent=Budget.spent + rho)
            )
            entry = LedgerEntry(
                project=project,
                researcher=researcher,
                rho=rho,
                state="reserved",
                spec_digest=spec_digest,
            )
            session.add(entry)
            session.flush()
            append_audit(
                self.engine,
                actor=researcher,
                action=BUDGET_CHARGED,
                project=project,
                body={
                    "entry": entry.id,
                    "researcher": researcher,
                    "rho": rho,
                    "scopes": scopes,
                    "spec_digest": spec_digest,
                },
                session=session,
            )
            return int(entry.id)

    def mark_released(self, entry_id: int) -> None:
        with Session(self.engine) as session, session.begin():
            entry = session.get(LedgerEntry, entry_id)
            if entry is None:
                raise MedlerUserError(f"no ledger entry {entry_id}")
            entry.state = "released"
            append_audit(
                self.engine,
                actor=entry.researcher,
                action=CHARGE_RELEASED,
                project=entry.project,
                body={"entry": entry_id},
                session=session,
            )

    def totals(self) -> list[LedgerTotals]:
        with Session(self.engine) as session:
            budgets = session.scalars(select(Budget).order_by(Budget.scope)).all()
            entries = session.scalars(select(LedgerEntry)).all()
            out = []
            for b in budgets:
                scope = BudgetScope.parse(b.scope)
                reserved = sum(
                    e.rho
                    for e in entries
                    if e.state == "reserved" and scope in scopes_of(e.project, e.researcher)
                )
                out.append(LedgerTotals(scope, b.cap, b.spent, reserved))
            return out
