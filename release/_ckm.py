"""The cell-key method: counts of pupils, each perturbed by noise the cell's key selects.

Every person has a fixed secret record key (``pseudonymise.record_keys``: a keyed hash of
their pseudonym, a whole number in ``[0, 2**32)``). A cell's key is the sum of its members'
record keys modulo ``2**32``, read as a fraction in ``[0, 1)``; the published count is the
exact count plus the noise that the published perturbation table (``release._ptable``) gives
for that count and key. The same cell (the same persons) always gets the same noise, in any
query, process or snapshot, so asking again or asking the same cell another way reveals
nothing new; and two cells that differ by one person have unrelated keys, so the difference
of their published counts is the true difference plus noise (differencing yields noise).
Margins are cells like any other: each has its own members and so its own key.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from pseudonymise import RECORD_KEY_RANGE, record_keys
from release import _sdc
from release._frames import UNIT, Collapse, PrivateFrame, cell_members
from release._ptable import PerturbationTable
from release._results import Cell
from release._spec import QuerySpec

PERTURBED = "perturbed"
_KEY = "__record_key"


def ckm_cells(
    frame: PrivateFrame,
    c: Collapse,
    spec: QuerySpec,
    ptable: PerturbationTable,
    keys_of: Callable[[pl.Series], pl.Series],
) -> list[Cell]:
    """The perturbed counts of ``spec``'s cells (and its margins): only non-empty cells are
    listed, as in an sdc table. ``keys_of``: the record keys of a column of pseudonyms."""
    members = cell_members(frame, c)
    units = members.select(UNIT).unique()
    units = units.with_columns(keys_of(units[UNIT]).alias(_KEY))
    members = members.join(units, on=UNIT, how="left")
    levels = [spec.keys]
    if spec.margins and spec.keys:
        levels += _sdc.margin_levels(spec.keys)
    out = []
    for level in levels:
        by = list(level)
        aggregates = (pl.len().alias("count"), pl.col(_KEY).cast(pl.Int64).sum().alias("key_sum"))
        distinct = members.unique([UNIT, *by])
        if by:
            counts = distinct.group_by(by).agg(*aggregates).sort(by, nulls_last=True)
        else:
            counts = distinct.select(*aggregates)
        for row in counts.iter_rows(named=True):
            cell_key = (row["key_sum"] % RECORD_KEY_RANGE) / RECORD_KEY_RANGE
            count = int(row["count"])
            value = count + ptable.noise(count, cell_key)
            cell_keys = {k: (row[k] if k in level else None) for k in spec.keys}
            out.append(
                Cell(cell_keys, PERTURBED, {"count_students": value}, margin=level != spec.keys)
            )
    return out


def record_keys_with(secret: bytes) -> Callable[[pl.Series], pl.Series]:
    """The record keys under ``secret`` (read once by the release service)."""
    return lambda pseudonyms: record_keys(pseudonyms, secret)
