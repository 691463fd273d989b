"""Domains are a closed set with fixed properties."""

from __future__ import annotations

import pytest

from pseudonymise import Domain, UnknownDomainError


def test_kinds() -> None:
    assert {d for d in Domain if d.is_person} == {Domain.STUDENT, Domain.TEACHER}
    assert {d for d in Domain if d.is_local_person} == {
        Domain.STUDENT_LOCAL,
        Domain.TEACHER_LOCAL,
    }
    assert {d for d in Domain if d.requires_scope} == {
        Domain.STUDENT_LOCAL,
        Domain.TEACHER_LOCAL,
        Domain.SCHOOL_LOCAL_ID,
        Domain.SOURCE_REFERENCE,
    }


def test_columns_end_in_pid() -> None:
    assert Domain.STUDENT.column == Domain.STUDENT_LOCAL.column == "student_pid"
    assert Domain.SCHOOL_LOCAL_ID.column == "school_local_id_pid"
    assert all(d.column.endswith("_pid") for d in Domain)


def test_local_domain_of_people_only() -> None:
    assert Domain.TEACHER.local is Domain.TEACHER_LOCAL
    with pytest.raises(UnknownDomainError, match="only person domains do"):
        _ = Domain.GROUP.local


def test_names_never_contain_the_separator() -> None:
    assert all("\x1f" not in d.value for d in Domain)
    assert Domain.parse("lesson") is Domain.LESSON
    assert Domain.parse(Domain.LESSON) is Domain.LESSON
