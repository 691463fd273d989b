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
  The guard remembers (pseudonym, tag) pairs per domain across calls, as two sorted arrays,
  without keeping any input.
"""

from __future__ import annotations

import numpy as np
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


def check_collisions(inputs: pl.Series, pseudonyms: pl.Series, *, domain: Domain | str) -> None:
    """Raise ``CollisionError`` when two different ``inputs`` share one of ``pseudonyms``.

    ``inputs`` are the normalised values that were hashed, aligned with ``pseudonyms``; rows
    where either is null are ignored.
    """
    if len(inputs) != len(pseudonyms):
        raise ValueError("inputs and pseudonyms must be the same length")
    distinct = pl.DataFrame({"pid": pseudonyms, "input": inputs}).drop_nulls().unique()
    if distinct["pid"].n_unique() != distinct.height:
        shared = distinct.group_by("pid").len().filter(pl.col("len") > 1).height
        raise _refuse(Domain.parse(domain), shared)


def distinct_pairs(domain: Domain, pids: np.ndarray, tags: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct (pid, tag) pairs sorted by pid; refuse a pid that comes with two tags."""
    if len(pids) == 0:
        return pids, tags
    order = np.argsort(pids)
    pids, tags = pids[order], tags[order]
    repeated = pids[1:] == pids[:-1]
    clash = repeated & (tags[1:] != tags[:-1])
    if clash.any():
        raise _refuse(domain, len(np.unique(pids[1:][clash])))
    first = np.concatenate([[True], ~repeated])
    return pids[first], tags[first]


class CollisionGuard:
    """Remembers (pseudonym, tag) pairs per domain and refuses a pseudonym with two tags."""

    def __init__(self) -> None:
        self._seen: dict[Domain, tuple[np.ndarray, np.ndarray]] = {}

    def __repr__(self) -> str:
        counts = ", ".join(f"{d.value}: {len(p)}" for d, (p, _) in self._seen.items())
        return f"CollisionGuard({counts})"

    def record(self, domain: Domain, pids: np.ndarray, tags: np.ndarray) -> None:
        """Add (pid, tag) pairs of one domain (int64 arrays); refuse a pid with two tags."""
        new_pids, new_tags = distinct_pairs(domain, pids, tags)
        if domain not in self._seen or len(self._seen[domain][0]) == 0:
            self._seen[domain] = (new_pids, new_tags)
            return
        seen_pids, seen_tags = self._seen[domain]
        at = np.searchsorted(seen_pids, new_pids)
        inside = np.minimum(at, len(seen_pids) - 1)
        found = seen_pids[inside] == new_pids
        clash = found & (seen_tags[inside] != new_tags)
        if clash.any():
            raise _refuse(domain, int(clash.sum()))
        # Both are sorted, so each new pair goes in where searchsorted found its place.
        fresh = ~found
        self._seen[domain] = (
            np.insert(seen_pids, at[fresh], new_pids[fresh]),
            np.insert(seen_tags, at[fresh], new_tags[fresh]),
        )

    def size(self, domain: Domain) -> int:
        """Distinct pseudonyms recorded for ``domain``."""
        return len(self._seen[domain][0]) if domain in self._seen else 0
