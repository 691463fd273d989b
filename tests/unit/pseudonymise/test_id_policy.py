"""pseudonymise_people applies the ID policy: linked, local (negative) or quarantined."""

from __future__ import annotations

import polars as pl
import pytest

from medler.errors import UsageError
from pseudonymise import (
    STATUS_DTYPE,
    Country,
    IdPolicy,
    IdStatus,
    Pseudonymiser,
    Unlinkable,
)
from pseudonymise.national_ids import REASON_DTYPE
from tests.unit.pseudonymise.conftest import AS_OF

IDS = pl.Series(["194608239986", "194608239987", None, "20000101T220", "19460823-9986"])
LOCAL = pl.Series(["p1", "p2", "p3", None, "p5"])


def test_local_policy(pseudonymiser: Pseudonymiser) -> None:
    result = pseudonymiser.pseudonymise_people(
        "student", IDS, local_ids=LOCAL, source="org-1", as_of=AS_OF
    )
    assert result.columns == ["student_pid", "id_status", "id_reason"]
    assert result.schema["id_status"] == STATUS_DTYPE
    assert result.schema["id_reason"] == REASON_DTYPE
    assert result["id_status"].to_list() == ["linked", "local", "local", "quarantined", "linked"]
    assert result["id_reason"].to_list() == [
        None,
        "check-digit",
        "missing",
        "interim-not-allowed",
        None,
    ]
    pids = result["student_pid"]
    assert pids[0] == pids[4] == pseudonymiser.pseudonymise_one("student", "194608239986")
    assert pids[0] >= 0
    assert pids[1] < 0 and pids[2] < 0  # local pseudonyms cannot match a register's
    assert pids[1] == pseudonymiser.pseudonymise_one("student-local", "p2", scope="org-1")
    assert pids[3] is None


def test_quarantine_policy(pseudonymiser: Pseudonymiser) -> None:
    policy = IdPolicy(on_unlinkable=Unlinkable.QUARANTINE)
    result = pseudonymiser.pseudonymise_people("teacher", IDS, policy=policy, as_of=AS_OF)
    assert result.columns == ["teacher_pid", "id_status", "id_reason"]
    assert result["id_status"].to_list() == [
        "linked",
        "quarantined",
        "quarantined",
        "quarantined",
        "linked",
    ]
    assert result["teacher_pid"].is_null().to_list() == [False, True, True, True, False]


def test_interim_numbers_link_when_the_policy_allows_them(pseudonymiser: Pseudonymiser) -> None:
    policy = IdPolicy(on_unlinkable="quarantine", allow_interim=True)  # type: ignore[arg-type]
    result = pseudonymiser.pseudonymise_people("student", IDS, policy=policy, as_of=AS_OF)
    assert result["id_status"][3] == IdStatus.LINKED.value
    assert result["student_pid"][3] >= 0


def test_local_policy_needs_local_ids_and_source(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(UsageError) as refused:
        pseudonymiser.pseudonymise_people("student", IDS, local_ids=LOCAL)
    assert str(refused.value) == (
        "the ID policy gives people without a linkable ID a local pseudonym, which needs "
        "local_ids (the source's own person identifiers) and source (its name); pass both, or "
        "use a policy with on_unlinkable='quarantine'"
    )
    with pytest.raises(UsageError, match="one value per national ID"):
        pseudonymiser.pseudonymise_people("student", IDS, local_ids=LOCAL[:2], source="s")


def test_people_only(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(UsageError) as refused:
        pseudonymiser.pseudonymise_people("group", IDS, local_ids=LOCAL, source="s")
    assert str(refused.value) == (
        "pseudonymise_people needs a person domain (student or teacher), not 'group'"
    )


def test_other_countries(pseudonymiser: Pseudonymiser) -> None:
    norway = IdPolicy(country=Country.NO, on_unlinkable=Unlinkable.QUARANTINE)
    result = pseudonymiser.pseudonymise_people(
        "student", pl.Series(["13097248022", "130972 48022"]), policy=norway
    )
    assert result["student_pid"].n_unique() == 1
    # The country is the scope: the same digits in two countries are two people.
    denmark = IdPolicy(country="DK", on_unlinkable="quarantine")  # type: ignore[arg-type]
    danish = pseudonymiser.pseudonymise_people("student", pl.Series(["2110625629"]), policy=denmark)
    assert danish["id_status"][0] == "linked"


def test_policy_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="'FI' is not a valid Country"):
        IdPolicy(country="FI")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'drop' is not a valid Unlinkable"):
        IdPolicy(on_unlinkable="drop")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "policy",
    [
        IdPolicy(),
        IdPolicy(
            country="NO", on_unlinkable="quarantine", allow_interim=True, allow_coordination=False
        ),
    ],
)
def test_a_policy_survives_its_manifest_record(policy: IdPolicy) -> None:
    record = policy.as_record()
    assert all(isinstance(v, str) for v in record.values())
    assert IdPolicy.from_record(record) == policy
    assert IdPolicy.from_record({}) == IdPolicy()  # a manifest from before the record


def test_a_record_that_cannot_be_read_is_refused() -> None:
    with pytest.raises(ValueError, match="allow_interim is 'yes', not True/False"):
        IdPolicy.from_record({**IdPolicy().as_record(), "allow_interim": "yes"})
    with pytest.raises(ValueError):
        IdPolicy.from_record({**IdPolicy().as_record(), "on_unlinkable": "drop"})
