"""``term_key`` numbers a day's term so that the pupils × lessons table need not hold the term
as text; ``term_of_key`` must give back exactly the term ``term`` writes, at every edge of the
school year and across the years."""

from __future__ import annotations

import datetime as dt

import ibis

from linkage.research._calendar import term, term_key, term_of_key

DAYS = [
    dt.date(2026, 1, 1),
    dt.date(2026, 6, 30),
    dt.date(2026, 7, 1),
    dt.date(2026, 12, 31),
    dt.date(2027, 1, 1),
    dt.date(1999, 8, 20),
    dt.date(2000, 2, 29),
    dt.date(2100, 7, 1),
]


def test_term_of_key_gives_back_the_term() -> None:
    con = ibis.duckdb.connect()
    days = ibis.memtable({"day": DAYS})
    out = days.select(
        "day", term=term(days.day), key=term_key(days.day), back=term_of_key(term_key(days.day))
    )
    rows = con.to_pyarrow(out.order_by("day")).to_pylist()
    assert [r["back"] for r in rows] == [r["term"] for r in rows]
    assert [r["term"] for r in rows] == [
        "1999HT",
        "2000VT",
        "2026VT",
        "2026VT",
        "2026HT",
        "2026HT",
        "2027VT",
        "2100HT",
    ]
    # the keys follow time: a later day's term has a key no smaller
    keys = [r["key"] for r in rows]
    assert keys == sorted(keys)
