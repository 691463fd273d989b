"""Collisions: two different inputs with one pseudonym are refused, never merged.

A pseudonym keeps 63 bits of an HMAC. Among two million people the chance that any two share
one is about 2 in 10 million (docs/explanation/pseudonyms.md), small but not zero. Should it
happen, merging the two would silently make one person of two, so ingestion stops instead, and
the fix is a new key.

Two ways to detect one:

- ``check_collisions(inputs, pseudonyms)``: given the normalised inputs and their pseudonyms,
  raise when two different inputs share a pseudonym.
- ``CollisionGuard``: for inputs that are no longer at hand. The engine keeps a second,
  independent 64 bits of each input's HMAC (its *tag*); equal inputs have equal tags, and two
  different inputs with one pseudonym have different tags except with probability 2^-64.
  The guard remembers (pseudonym, tag) pairs per domain across calls, without keeping any
  input.
"""

from __future__ import annotations

import polars as pl

from pseudonymise._domains import Domain
from pseudonymise._errors import CollisionError

_FIX = (
    "ingestion is refused so that different people or records are never merged; create a new "
    "key with 'medler keys rotate' and ingest again from the source extracts"
)


def _refuse(domain: Domain, shared: int) -> CollisionError:
    noun = "pseudonym is" if shared == 1 else "pseudonyms are"
    return CollisionError(
        f"{shared} {noun} shared by different inputs in domain '{domain.value}'; {_FIX}"
    )


def _count_shared(pairs: pl.DataFrame) -> int:
    """Pseudonyms that occur with more than one distinct partner in ``pairs`` (pid, other)."""
    distinct = pairs.drop_nulls().unique()
    if distinct["pid"].n_unique() == distinct.height:
        return 0
    return int(distinct.group_by("pid").len().filter(pl.col("len") > 1).height)


def check_collisions(inputs: pl.Series, pseudonyms: pl.Series, *, domain: Domain | str) -> None:
    """Raise ``CollisionError`` when two different ``inputs`` share one of ``pseudonyms``.

    ``inputs`` are the normalised values that were hashed, aligned with ``pseudonyms``; rows
    where either is null are ignored.
    """
    if len(inputs) != len(pseudonyms):
        raise ValueError("inputs and pseudonyms must be the same length")
    pairs = pl.DataFrame({"pid": pseudonyms, "other": inputs})
    shared = _count_shared(pairs)
    if shared:
        raise _refuse(Domain.parse(domain), shared)


class CollisionGuard:
    """Remembers (pseudonym, tag) pairs per domain and refuses a pseudonym with two tags."""

    def __init__(self) -> None:
        self._seen: dict[Domain, pl.DataFrame] = {}

    def __repr__(self) -> str:
        counts = ", ".join(f"{d.value}: {f.height}" for d, f in self._seen.items())
        return f"CollisionGuard({counts})"

    def record(self, domain: Domain, pids: pl.Series, tags: pl.Series) -> None:
        """Add the (pid, tag) pairs of distinct inputs of one domain; refuse a pid with two tags."""
        new = pl.DataFrame({"pid": pids, "other": tags})
        seen = self._seen.get(domain)
        combined = new if seen is None else pl.concat([seen, new]).unique()
        if combined["pid"].n_unique() != combined.height:
            shared = _count_shared(combined)
            if shared:
                raise _refuse(domain, shared)
            combined = combined.unique()  # the same input recorded twice in one batch
        self._seen[domain] = combined

    def size(self, domain: Domain) -> int:
        """Distinct pseudonyms recorded for ``domain``."""
        seen = self._seen.get(domain)
        return 0 if seen is None else seen.height
