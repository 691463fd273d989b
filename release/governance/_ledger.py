"""The privacy-budget ledger (zero-concentrated DP, ρ).

Three levels of cap: the data set across all its snapshots (every project queries the same
pupils, and each rebuild holds mostly the same pupils again, so losses add up over snapshots),
the project, and the researcher within the project. A charge is *reserved* in one database
transaction that locks the three budgets, checks all of them and adds to all of them, before
any noise is drawn; it is then marked released. It is never refunded: a crash between reserving
and releasing leaves it charged, since noise may already have been drawn.

ρ-zCDP implies (ε, δ)-DP for every δ > 0 with ε = ρ + 2·sqrt(ρ·ln(1/δ)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release.governance._models import Budget, LedgerEntry

DATASET = "dataset"
TOLERANCE = 1e-12  # float sums: a charge that meets a cap exactly is allowed


class BudgetExhausted(MedlerUserError):
    """The charge would exceed a cap. The message names the level and what remains."""


def project_scope(project: str) -> str:
    return f"project:{project}"


def researcher_scope(project: str, researcher: str) -> str:
    return f"researcher:{project}:{researcher}"


def epsilon(rho: float, delta: float) -> float:
    """The ε of (ε, δ)-DP that ρ-zCDP implies at ``delta``."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta)) if rho > 0 else 0.0


@dataclass(frozen=True)
class LedgerTotals:
    scope: str
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

    def set_cap(self, scope: str, cap: float) -> None:
        check_cap(cap)
        with Session(self.engine) as session, session.begin():
            row = session.get(Budget, scope)
            if row is None:
                session.add(Budget(scope=scope, cap=cap, spent=0.0))
            else:
                row.cap = cap

    def reserve(self, project: str, researcher: str, rho: float, spec_digest: str) -> int:
        """Charge ``rho`` at every level, or raise ``BudgetExhausted`` and charge nothing.
        Returns the ledger entry's id."""
        if not rho > 0 or not math.isfinite(rho):
            raise MedlerUserError(f"a charge must be a finite ρ > 0, not {rho}")
        scopes = sorted({DATASET, project_scope(project), researcher_scope(project, researcher)})
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(
                select(Budget).where(Budget.scope.in_(scopes)).order_by(Budget.scope)
                .with_for_update()
            ).all()  # fmt: skip
            found = {row.scope: row for row in rows}
            for scope in scopes:
                row = found.get(scope)
                if row is None:
                    raise BudgetExhausted(f"no budget is set for {scope}; the statistics office "
                                          "sets it")  # fmt: skip
                if row.spent + rho > row.cap + TOLERANCE:
                    raise BudgetExhausted(
                        f"the {scope.split(':')[0]} budget has ρ {max(row.cap - row.spent, 0):.6g}"
                        f" left, and this query costs ρ {rho:.6g}"
                    )
            session.execute(
                update(Budget).where(Budget.scope.in_(scopes)).values(spent=Budget.spent + rho)
            )
            entry = LedgerEntry(project=project, researcher=researcher, rho=rho,
                                state="reserved", spec_digest=spec_digest)  # fmt: skip
            session.add(entry)
            session.flush()
            return int(entry.id)

    def mark_released(self, entry_id: int) -> None:
        with Session(self.engine) as session, session.begin():
            entry = session.get(LedgerEntry, entry_id)
            if entry is None:
                raise MedlerUserError(f"no ledger entry {entry_id}")
            entry.state = "released"

    def totals(self) -> list[LedgerTotals]:
        with Session(self.engine) as session:
            budgets = session.scalars(select(Budget).order_by(Budget.scope)).all()
            entries = session.scalars(select(LedgerEntry)).all()
            out = []
            for b in budgets:
                reserved = sum(
                    e.rho for e in entries if e.state == "reserved" and _covers(b.scope, e)
                )
                out.append(LedgerTotals(b.scope, b.cap, b.spent, reserved))
            return out


def _covers(scope: str, entry: LedgerEntry) -> bool:
    return scope in (DATASET, project_scope(entry.project),
                     researcher_scope(entry.project, entry.researcher))  # fmt: skip
