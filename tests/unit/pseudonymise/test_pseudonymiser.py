"""The Pseudonymiser: the pseudonym is exactly the documented HMAC, per domain and scope."""

from __future__ import annotations

import hmac

import polars as pl
import pytest

from medler.errors import UsageError
from pseudonymise import (
    Domain,
    KeyFile,
    Pseudonymiser,
    ScopeError,
    UnknownDomainError,
    UnlinkableIdError,
    _workers,
)
from tests.unit.pseudonymise.conftest import AS_OF, make_key

PIN = "194608239986"  # a test personnummer (Skatteverket)
LOW_63_BITS = (1 << 63) - 1


def definition(key: KeyFile, domain: str, scope: str, value: str) -> int:
    """The pseudonym by its definition, with the standard library."""
    message = f"{domain}\x1f{scope}\x1f{value}".encode()
    first = int.from_bytes(hmac.digest(key.secret, message, "sha256")[:8], "big")
    if domain.endswith("-local"):
        return (first | (1 << 63)) - (1 << 64)
    return first & LOW_63_BITS


def test_person_pseudonym_is_the_hmac_of_the_canonical_id(
    pseudonymiser: Pseudonymiser, key: KeyFile
) -> None:
    for written in (PIN, "19460823-9986", "460823-9986", "4608239986", f" {PIN}\t"):
        assert pseudonymiser.pseudonymise_one("student", written, as_of=AS_OF) == definition(
            key, "student", "SE", PIN
        )


def test_object_pseudonyms_follow_the_definition(
    pseudonymiser: Pseudonymiser, key: KeyFile
) -> None:
    assert pseudonymiser.pseudonymise_one(Domain.LESSON, "L-17") == definition(
        key, "lesson", "", "L-17"
    )
    assert pseudonymiser.pseudonymise_one(Domain.GROUP, " 7A ", scope="org-1") == definition(
        key, "group", "org-1", "7A"
    )
    local = pseudonymiser.pseudonymise_one(Domain.STUDENT_LOCAL, "p-9", scope="org-1")
    assert local == definition(key, "student-local", "org-1", "p-9")
    assert local is not None and local < 0


def test_column_name_and_type(pseudonymiser: Pseudonymiser) -> None:
    column = pseudonymiser.pseudonymise("teacher", pl.Series([PIN]), as_of=AS_OF)
    assert (column.name, column.dtype) == ("teacher_pid", pl.Int64)
    groups = pseudonymiser.pseudonymise("group", pl.Series(["a"]))
    assert groups.name == "group_pid"
    local = pseudonymiser.pseudonymise("teacher-local", pl.Series(["a"]), scope="s")
    assert local.name == "teacher_pid"


def test_domains_and_scopes_separate(pseudonymiser: Pseudonymiser) -> None:
    value = "0b1e7a52-3c8d-4f0e-9a41-6d2c5b8e7f10"
    pids = {
        pseudonymiser.pseudonymise_one(domain, value, scope="org-1")
        for domain in (Domain.GROUP, Domain.ACTIVITY, Domain.LESSON, Domain.DUTY)
    }
    pids.add(pseudonymiser.pseudonymise_one(Domain.GROUP, value))
    pids.add(pseudonymiser.pseudonymise_one(Domain.GROUP, value, scope="org-2"))
    pids.add(pseudonymiser.pseudonymise_one(Domain.SCHOOL_LOCAL_ID, value, scope="org-1"))
    assert len(pids) == 7
    assert pseudonymiser.pseudonymise_one("student", PIN) != pseudonymiser.pseudonymise_one(
        "teacher", PIN
    )


def test_different_keys_give_different_pseudonyms() -> None:
    with (
        Pseudonymiser(make_key(bytes(32)), workers=1) as first,
        Pseudonymiser(make_key(bytes([1]) * 32), workers=1) as second,
    ):
        assert first.pseudonymise_one("student", PIN) != second.pseudonymise_one("student", PIN)


def test_object_identifiers_are_normalised(pseudonymiser: Pseudonymiser) -> None:
    uuid = "0b1e7a52-3c8d-4f0e-9a41-6d2c5b8e7f10"
    forms = [uuid, uuid.upper(), "{" + uuid + "}", uuid.replace("-", ""), f"  {uuid} "]
    assert pseudonymiser.pseudonymise("group", pl.Series(forms)).n_unique() == 1
    # Other identifiers keep their case: only surrounding spaces go.
    assert pseudonymiser.pseudonymise("group", pl.Series(["Ab", "ab", " Ab"])).n_unique() == 2


def test_missing_values_stay_missing(pseudonymiser: Pseudonymiser) -> None:
    column = pseudonymiser.pseudonymise("group", pl.Series(["a", None, "", "  ", "a"]))
    assert column.is_null().to_list() == [False, True, True, True, False]
    assert column[0] == column[4]
    people = pseudonymiser.pseudonymise("student", pl.Series([None, PIN, ""]), as_of=AS_OF)
    assert people.is_null().to_list() == [True, False, True]
    assert pseudonymiser.pseudonymise_one("student", None) is None


def test_integer_identifiers_are_accepted(pseudonymiser: Pseudonymiser) -> None:
    as_int = pseudonymiser.pseudonymise("lesson", pl.Series([17, 17, None]))
    as_text = pseudonymiser.pseudonymise("lesson", pl.Series(["17"]))
    assert as_int.to_list() == [as_text[0], as_text[0], None]
    with pytest.raises(TypeError, match="String or integer column"):
        pseudonymiser.pseudonymise("lesson", pl.Series([1.5]))


def test_each_distinct_value_is_hashed_once(
    pseudonymiser: Pseudonymiser, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    original = _workers.hmac_kept_bytes

    def counting(secret: bytes, prefix: bytes, values: list[bytes]) -> bytes:
        seen.append(len(values))
        return original(secret, prefix, values)

    monkeypatch.setattr(_workers, "hmac_kept_bytes", counting)
    written = [PIN, "19460823-9986", "460823-9986", None, PIN, "4608239986"] * 100
    pseudonymiser.pseudonymise("student", pl.Series(written), as_of=AS_OF)
    pseudonymiser.pseudonymise("group", pl.Series(["a", "b", "a", None] * 50))
    assert seen == [1, 2]


def test_unlinkable_ids_refuse_the_column(pseudonymiser: Pseudonymiser) -> None:
    values = pl.Series([PIN, "194608239987", "20000101T220", "x", None, "19460823-9987"])
    with pytest.raises(UnlinkableIdError) as refused:
        pseudonymiser.pseudonymise("student", values, as_of=AS_OF)
    assert str(refused.value) == (
        "4 of 6 values for domain 'student' are not SE national IDs that can be linked "
        "(2 check-digit, 1 interim-not-allowed, 1 malformed); pseudonymise such a column with "
        "pseudonymise_people, which gives those rows a local pseudonym or quarantines them, "
        "as the ID policy says"
    )


def test_unknown_domain_is_refused_by_name() -> None:
    with pytest.raises(UnknownDomainError) as refused:
        Domain.parse("studnet")
    assert str(refused.value) == (
        "unknown pseudonym domain 'studnet'; use one of: student, teacher, student-local, "
        "teacher-local, group, activity, lesson, duty, school-local-id, source-reference"
    )
    with pytest.raises(UnknownDomainError, match=r"domain \(not a domain name\);"):
        Domain.parse(PIN)


@pytest.mark.parametrize(
    ("domain", "scope", "message"),
    [
        (
            "student",
            "SE",
            "domain 'student' takes no scope: national IDs are scoped by their country, "
            "which the ID policy sets",
        ),
        (
            "school-local-id",
            None,
            "domain 'school-local-id' needs a scope: its identifiers are unique only inside "
            "one source, so name the source (for example its organisation id)",
        ),
        (
            "group",
            " org",
            "a scope must be a non-empty name of at most 200 characters, without surrounding "
            "spaces or control character 0x1F",
        ),
        ("group", "a\x1fb", "a scope must be a non-empty name"),
        ("group", "", "a scope must be a non-empty name"),
        ("group", "x" * 201, "a scope must be a non-empty name"),
    ],
)
def test_scope_rules(
    pseudonymiser: Pseudonymiser, domain: str, scope: str | None, message: str
) -> None:
    with pytest.raises(ScopeError) as refused:
        pseudonymiser.pseudonymise(domain, pl.Series(["1"]), scope=scope)
    assert str(refused.value).startswith(message)


def test_policy_applies_to_national_ids_only(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(UsageError) as refused:
        pseudonymiser.pseudonymise("group", pl.Series(["1"]), as_of=AS_OF)
    assert str(refused.value) == (
        "policy and as_of apply to national IDs only, not to domain 'group'"
    )


def test_repr_shows_the_key_id_only(pseudonymiser: Pseudonymiser, key: KeyFile) -> None:
    assert repr(pseudonymiser) == f"Pseudonymiser(key_id='{key.key_id}', version=1, workers=1)"
    assert pseudonymiser.key_ref.key_id == key.key_id


def test_empty_columns(pseudonymiser: Pseudonymiser) -> None:
    empty = pl.Series([], dtype=pl.String)
    for domain in ("student", "group"):
        column = pseudonymiser.pseudonymise(domain, empty)
        assert (len(column), column.dtype) == (0, pl.Int64)
    people = pseudonymiser.pseudonymise_people("teacher", empty, local_ids=empty, source="s")
    assert people.height == 0
    assert people.columns == ["teacher_pid", "id_status", "id_reason"]


def test_reference_keys_hash_source_ids_exactly_as_written(
    pseudonymiser: Pseudonymiser, key: KeyFile
) -> None:
    uuid = "0A1B2C3D-0000-4000-8000-00000000000F"
    ids = pl.Series([uuid, uuid.lower(), " 7A ", None, uuid])
    keys = pseudonymiser.reference_keys("school-x:student", ids)
    assert (keys.name, keys.dtype) == ("reference", pl.Int64)
    expected = [
        definition(key, "source-reference", "school-x:student", v)
        for v in (uuid, uuid.lower(), " 7A ")
    ]
    assert keys.to_list() == [*expected, None, expected[0]]
    # not normalised: the upper-case id is not its lower-case form, as a full read compares ids
    assert keys[0] != keys[1]
    # scoped by source and kind, and apart from every pseudonym domain
    assert pseudonymiser.reference_keys("school-x:activity", ids)[0] != keys[0]
    assert pseudonymiser.pseudonymise_one(Domain.ACTIVITY, uuid.lower()) not in keys.to_list()
    with pytest.raises(UsageError, match="use reference_keys"):
        pseudonymiser.pseudonymise(Domain.SOURCE_REFERENCE, ids, scope="school-x:student")
    with pytest.raises(ScopeError):
        pseudonymiser.reference_keys("", ids)
