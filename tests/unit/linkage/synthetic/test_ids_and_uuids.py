from __future__ import annotations

import datetime as dt
import uuid

import numpy as np

from linkage.sources.synthetic._ids import MINT_SHIFT_YEARS, IdAllocator
from linkage.sources.synthetic._uuids import uuid_of, uuids_of
from pseudonymise import luhn_valid


def test_test_numbers_first_then_minted_numbers_that_were_never_issued() -> None:
    ids = IdAllocator(np.random.default_rng(0))
    issued = [ids.person_number(2015) for _ in range(2000)]
    kinds = {i.kind for i in issued}
    assert kinds == {"test_pin", "minted"}
    values = [i.value for i in issued]
    assert len(set(values)) == len(values)
    for i in issued:
        assert i.value is not None and len(i.value) == 12 and luhn_valid(i.value[2:])
        if i.kind == "test_pin":
            assert i.value[:8] == f"{i.birth_date:%Y%m%d}"
        else:
            assert int(i.value[:4]) == 2015 - MINT_SHIFT_YEARS < 1840
            assert i.value[4:8] == f"{i.birth_date:%m%d}"
            assert i.birth_date.year == 2015


def test_dirt_numbers() -> None:
    ids = IdAllocator(np.random.default_rng(1))
    wrong = ids.wrong_check_digit(2014)
    assert wrong.value is not None and not luhn_valid(wrong.value[2:])
    interim = ids.interim_number(2014)
    assert interim.value is not None and interim.value[8] in "TRSUWXJKLMN"
    coordination = ids.coordination_number(2014)
    assert coordination.value is not None and int(coordination.value[6:8]) > 60
    assert isinstance(coordination.birth_date, dt.date)


def test_uuids_are_unique_valid_and_deterministic() -> None:
    many = uuids_of(5, "attendance", np.arange(200_000, dtype=np.uint64))
    assert len(set(many.tolist())) == 200_000
    parsed = uuid.UUID(str(many[123]))
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert uuid_of(5, "attendance", 123) == many[123]
    assert uuid_of(5, "pupil", 123) != many[123]
    assert uuid_of(6, "attendance", 123) != many[123]
