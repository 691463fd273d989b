"""Query specs from Hypothesis against the live app: whatever a researcher sends to preview or
submit (any JSON type, NaN, ±infinity, numbers too large for a float or for the column, huge
lists, any Unicode text, lone surrogates, wrong types, missing and unknown fields, unknown
tables, columns and ops, int and float bounds together, true for a number), the answer is
never a 5xx; every 4xx says what was wrong in a message of its own; and no answer holds a
pseudonym the request did not hold itself.

Specs are built near the real catalogue (real tables, columns, ops and kinds, with some parts
replaced by junk) so that most of them reach the release layer's rules, and a few are
arbitrary JSON. The examples are derandomised, so a run is the same in CI every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from release.governance import DATASET, BudgetScope
from tests.api.test_service import APPROVER, OFFICE, PSEUDONYM, World, _world
from tests.research_data import research_dir

__all__ = ["research_dir"]

ROUTES = ("preview", "releases")
CODES = {
    "refused",
    "invalid",
    "not_allowed",
    "not_found",
    "budget_exhausted",
    "conflict",
    "request_too_large",
}
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# the two tables the project is approved for, by column kind (policies/catalogue.toml)
CATALOGUE = {
    "student_terms": {
        "key": ("term", "school_code", "grade"),
        "measure": ("days_absent", "merit_value", "absent_minutes", "absence_rate_reported"),
        "flag": ("persistent_absence", "severe_absence", "many_days_absent"),
        "count": ("count_students",),
    },
    "exposure": {
        "key": ("term", "subject_code", "school_code", "grade", "grade_band"),
        "measure": ("certified_share", "mean_experience", "minutes", "teachers"),
        "flag": (),
        "count": ("count_students", "count_teachers"),
    },
}
# the ops each kind of column takes (release/_rules.py)
OPS = {"key": ("in", "between"), "measure": ("between",), "flag": ("in", "is_true", "is_false")}
OTHER_TABLES = ("student_months", "teacher_terms", "student_teachers", "student_term", "")
OTHER_COLUMNS = ("student_pid", "teacher_pid", "month", "nope", "")
OTHER_OPS = ("IN", "like", "", "in", "between", "is_true", "is_false")

# any text: every Unicode category, lone surrogates (Cs) included
TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
NUMBER = st.one_of(
    st.integers(-10, 120),
    st.floats(),  # NaN, ±infinity and numbers below the least ρ included
    st.sampled_from(
        [0.5, -0.0, -5e-324, 1e308, 2**63, 2**64 + 1, -(2**70), 10**400, 123456789012345678]
    ),
    st.integers(),
)
TINY = st.sampled_from([1e-300, 5e-324, 1e-12])
SCALAR = st.one_of(NUMBER, st.booleans(), st.sampled_from(["2026HT", "2026VT", "7-9"]), TEXT)
JSON = st.recursive(
    st.one_of(st.none(), SCALAR),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
BOUNDS = st.one_of(
    st.lists(st.one_of(NUMBER, TINY), min_size=2, max_size=2),  # int and float, NaN, 10**400
    st.tuples(st.integers(0, 100), st.floats(0, 100)).map(list),
    st.lists(SCALAR, min_size=2, max_size=2),
)
VALUES = st.one_of(
    st.lists(SCALAR, min_size=1, max_size=3),
    st.lists(st.one_of(st.integers(0, 9), st.floats(0, 9), st.booleans()), min_size=1, max_size=3),
    st.lists(st.sampled_from(["2026HT", "2026VT"]), min_size=1, max_size=2),
    st.integers(0, 8_000).map(lambda n: list(range(n))),  # a huge list
    st.integers(0, 2_000).map(lambda n: [f"{i:05}" for i in range(n)]),
)


@st.composite
def _filter(draw: st.DrawFn, columns: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """A filter on a real column with an op its kind takes; its values anything."""
    kind = draw(st.sampled_from([k for k in ("key", "measure", "flag") if columns[k]]))
    column, op = draw(st.sampled_from(columns[kind])), draw(st.sampled_from(OPS[kind]))
    if op in ("is_true", "is_false"):
        return {"column": column, "op": op}
    return {"column": column, "op": op, "values": draw(BOUNDS if op == "between" else VALUES)}


@st.composite
def _measure(draw: st.DrawFn, columns: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """A measure a table can give."""
    shares = ("share",) if columns["flag"] else ()
    kind = draw(st.sampled_from((*columns["count"], "mean", "sum", "quantile", *shares)))
    if kind.startswith("count_"):
        return {"kind": kind}
    column = draw(st.sampled_from(columns["flag" if kind == "share" else "measure"]))
    if kind == "quantile":
        return {"kind": kind, "column": column, "q": draw(st.sampled_from([0.5, 0.9]))}
    return {"kind": kind, "column": column}


def _one_of_each(measures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``measures`` without repeats (a repeat is refused before anything else is checked)."""
    kept: list[dict[str, Any]] = []
    for m in measures:
        if m not in kept:
            kept.append(m)
    return kept


@st.composite
def well_formed(draw: st.DrawFn) -> dict[str, Any]:
    """A spec the catalogue could take, but for its filters' values, which are anything (and
    its ρ, now and then)."""
    table = draw(st.sampled_from(sorted(CATALOGUE)))
    columns = CATALOGUE[table]
    filters = draw(st.lists(_filter(columns), min_size=1, max_size=2))
    # a measure is filtered in dp mode (in sdc mode only between published band edges)
    dp = draw(st.booleans()) or any(f["column"] in columns["measure"] for f in filters)
    spec = {
        "table": table,
        "filters": filters,
        "measures": _one_of_each(draw(st.lists(_measure(columns), min_size=1, max_size=2))),
        "group_by": draw(st.lists(st.sampled_from(columns["key"]), max_size=2, unique=True)),
        "mode": "dp" if dp else "sdc",
    }
    if dp:
        spec["rho"] = draw(st.one_of(st.sampled_from([0.01, 0.05]), NUMBER, st.booleans()))
    else:
        spec["margins"] = draw(st.booleans())
    return spec


@st.composite
def broken(draw: st.DrawFn) -> Any:
    """A well-formed spec broken in one to three ways: a field left out or given any JSON, a
    field too many, another table, a column or op the catalogue does not have, a measure or
    filter that is any JSON, an unknown mode or kind, a quantile's q anything."""
    spec: dict[str, Any] = draw(well_formed())
    ways = ("drop", "junk", "extra", "table", "column", "op", "kind", "q", "measure", "filter")
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from((*ways, "mode")))
        field = draw(st.sampled_from(sorted(spec)))
        filters, measures = spec.get("filters"), spec.get("measures")
        if how == "drop":
            spec.pop(field)
        elif how == "junk":
            spec[field] = draw(JSON)
        elif how == "extra":
            spec[draw(TEXT)] = draw(JSON)
        elif how == "table":
            spec["table"] = draw(st.one_of(st.sampled_from(OTHER_TABLES), TEXT))
        elif how in ("column", "op") and isinstance(filters, list) and filters:
            choices = OTHER_COLUMNS if how == "column" else OTHER_OPS
            first = filters[0] if isinstance(filters[0], dict) else {}
            filters[0] = {**first, how: draw(st.one_of(st.sampled_from(choices), TEXT))}
        elif how in ("kind", "q") and isinstance(measures, list) and measures:
            kinds = st.sampled_from(["median", "count", "share", "sum"])
            qs = st.one_of(st.floats(), st.booleans(), st.sampled_from([0, 1, 0.999999]))
            quantile = {"kind": "quantile", "column": "days_absent", "q": 0.5}
            measures[0] = {**quantile, how: draw(kinds if how == "kind" else qs)}
        elif how in ("measure", "filter"):
            some = spec.get(f"{how}s")
            spec[f"{how}s"] = [*(some if isinstance(some, list) else []), draw(JSON)]
        else:
            spec["mode"] = draw(st.one_of(st.sampled_from(["dp", "sdc", "exact"]), JSON))
    return spec


@pytest.fixture(scope="module")
def worlds(
    research_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, World]]:
    """The app, with a project per mode (a project answers a table under one regime) whose
    budgets and rate limit the fuzzing cannot exhaust."""
    made = {}
    for mode in ("sdc", "dp"):
        folder = tmp_path_factory.mktemp(f"spec-fuzz-{mode}")
        w = made[mode] = _world(research_dir, folder, rate_limit_per_minute=10**6)
        for scope in (
            DATASET,
            BudgetScope.of_project(w.project),
            BudgetScope.of_researcher(w.project, "ann"),
        ):
            raised = w.gov.set_budget(OFFICE, scope, 10_000.0)
            assert raised is not None  # a raise: confirmed by a second statistician
            w.gov.decide(APPROVER, raised, confirm=True)
    yield made
    for w in made.values():
        w.client.close()


def _send(worlds: dict[str, World], route: str, spec: Any) -> None:
    """``spec`` previewed or submitted (as a careless or hostile client might: Python's JSON
    writer keeps NaN, infinities and lone surrogates, escaped) by the project of its mode,
    and its answer checked: never a 5xx; a 4xx with a message of its own; no pseudonym but the
    asker's own digits."""
    dp = isinstance(spec, dict) and spec.get("mode") == "dp"
    world = worlds["dp" if dp else "sdc"]
    sent = json.dumps(spec if route == "preview" else {"spec": spec})
    answer = world.client.post(
        f"/v1/projects/{world.project}/{route}",
        content=sent,
        headers={**world.as_("ann"), "Content-Type": "application/json"},
    )
    assert answer.status_code < 500, (sent[:500], answer.text[:500])
    body = answer.json()
    assert body["data"] == "real"
    if answer.status_code >= 400:
        error = body["error"]
        assert error["code"] in CODES, (sent[:500], error)
        assert isinstance(error["message"], str) and error["message"].strip(), error
        assert "internal error" not in error["message"] and "Traceback" not in error["message"]
    else:
        assert answer.status_code == 200, answer.text[:500]
    for number in PSEUDONYM.findall(answer.text):
        assert number.lstrip("-") in sent, (sent[:500], answer.text[:500])


@given(spec=well_formed(), route=st.sampled_from(ROUTES))
@FUZZ
def test_no_filter_value_gets_a_5xx_or_a_pseudonym(
    worlds: dict[str, World], spec: Any, route: str
) -> None:
    _send(worlds, route, spec)


@given(spec=broken(), route=st.sampled_from(ROUTES))
@FUZZ
def test_no_broken_spec_gets_a_5xx_or_a_pseudonym(
    worlds: dict[str, World], spec: Any, route: str
) -> None:
    _send(worlds, route, spec)


@given(body=JSON, route=st.sampled_from(ROUTES))
@settings(FUZZ, max_examples=30)
def test_no_json_body_of_any_shape_gets_a_5xx(
    worlds: dict[str, World], body: Any, route: str
) -> None:
    _send(worlds, route, body)
