"""What leaves the release layer: released cells, releases and previews (values only, never a
row or a pseudonym)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One released cell: its keys (None = all, in a margin), status (released, suppressed,
    rounded; perturbed, by the cell-key method), the measures' values (None when suppressed)
    and, in dp mode, the half-width of each value's 95 % interval and the interval itself
    (``lower``, ``upper``), clipped to what the measure can be: a count or a sum of
    non-negative values is never below 0, a share lies in [0, 1], a mean within its column's
    bounds."""

    keys: dict[str, Any]
    status: str
    values: dict[str, float | None]
    half_width: dict[str, float | None] = field(default_factory=dict)
    reason: str | None = None
    margin: bool = False
    lower: dict[str, float | None] = field(default_factory=dict)
    upper: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Release:
    release_id: str
    spec: dict[str, Any]
    mode: str
    snapshot: str
    policy_version: str
    rho: float
    cells: list[Cell]
    cached: bool = False
    notes: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """A digest of the released values (the audit log keeps this, never the values);
        computed once (a release is never changed)."""
        return _digest(self)


def _digest(release: Release) -> str:
    kept = release.__dict__.get("_digest")
    if kept is None:
        body = json.dumps([asdict(c) for c in release.cells], sort_keys=True, default=str)
        kept = hashlib.sha256(body.encode()).hexdigest()
        object.__setattr__(release, "_digest", kept)
    return str(kept)


@dataclass(frozen=True)
class Preview:
    spec: dict[str, Any]
    mode: str
    rho: float
    policy_version: str
    accuracy: dict[str, dict[str, float | None]] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
