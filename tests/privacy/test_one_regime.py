"""One question, one regime. A project that got the certified share by grade exactly (sdc)
and then asks for it under differential privacy would hold both answers; the DP guarantee
would then mean nothing. The attacks: ask for a table's exact answer and then its DP answer
(or the other way round), with and without a regime named by the project's approval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from release import QueryRefused, QuerySpec, UnknownName
from release.governance._access import ProjectApproval
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

CERTIFIED_BY_GRADE: dict[str, Any] = {
    "table": "exposure",
    "group_by": ["grade"],
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
EXACT = QuerySpec.model_validate(CERTIFIED_BY_GRADE)
NOISY = QuerySpec.model_validate({**CERTIFIED_BY_GRADE, "mode": "dp", "rho": 0.1})
APPROVAL = ProjectApproval("p", {"exposure": ("*",), "student_terms": ("*",)}, {"exposure": "dp"})


@pytest.mark.parametrize("first,then", [(EXACT, NOISY), (NOISY, EXACT)], ids=["sdc", "dp"])
def test_a_table_answered_under_one_regime_is_refused_under_the_other(
    research_dir: Path, first: QuerySpec, then: QuerySpec
) -> None:
    e = engine(research_dir)
    e.release(first, "mallory", project="p")
    with pytest.raises(QueryRefused, match=f"already received exposure under {first.mode}"):
        e.release(then, "mallory", project="p")
    with pytest.raises(QueryRefused, match=f"already received exposure under {first.mode}"):
        e.preview(then, project="p", requester="mallory")
    # another project, another question: its first output decides for it
    assert e.release(then, "mallory", project="q").cells


def test_the_regime_named_by_the_approval_is_the_only_one(research_dir: Path) -> None:
    e = engine(research_dir)
    with pytest.raises(QueryRefused, match="receives exposure under dp only"):
        e.release(EXACT, "mallory", project="p", approval=APPROVAL)
    with pytest.raises(QueryRefused, match="receives exposure under dp only"):
        e.preview(EXACT, APPROVAL, project="p", requester="mallory")
    assert e.release(NOISY, "mallory", project="p", approval=APPROVAL).rho > 0
    # a refused request leaves nothing that counts as an output of the other regime
    assert [r["status"] for r in e.store.records] == ["refused", "released"]  # type: ignore[attr-defined]


def test_a_mistyped_table_names_the_tables_the_project_may_use(research_dir: Path) -> None:
    e = engine(research_dir)
    typo = QuerySpec.model_validate({**CERTIFIED_BY_GRADE, "table": "student_term"})
    with pytest.raises(UnknownName) as refused:
        e.preview(typo, APPROVAL, project="p")
    assert str(refused.value) == (
        "there is no releasable research table 'student_term'; this project may use exposure, "
        "student_terms"
    )
    with pytest.raises(UnknownName, match="choose one of exposure, student_months"):
        e.preview(typo)
