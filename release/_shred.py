"""Crypto-shredding a pseudonymisation key version as an act of the office: said first, decided
by two people, journalled and audited, and finished after a crash.

- ``plan_shred`` says what shredding key ``key_id`` does: every snapshot made with it
  (canonical, and research snapshots built from those) becomes unlinkable, for good: no new
  delivery can ever be pseudonymised to meet its pseudonyms. It also says whether the snapshot
  in use (``CURRENT``) is one of them. The snapshots themselves stay (releases from them go on);
  the retention policy deletes them in its time.
- ``propose_shred``: one person (an admin or a statistician) proposes it, with the plan in the
  proposal; a second (an admin, a statistician or the DPO) confirms it (``medler proposal
  confirm``).
- ``apply_shred`` spends the confirmed proposal and shreds: the key file's key is replaced by a
  new version if it is the one shredded, and the key's id and version are recorded as shredded
  for the data directory (``pseudonymise._shred``), so a copy restored from a backup is refused.

The key the snapshot in use was made with is refused unless the proposal says ``force``: the
next delivery would then be pseudonymised under a new key and meet none of the current
snapshot's pseudonyms, so the office normally rotates the key and rebuilds first, and shreds
the old version once the new snapshot is in use.

No step leaves half a state: the intent is journalled (``deletions``, kind ``key version``) and
audited before the key is touched; each step after it is safe to repeat, and the next
``apply_shred`` finishes a shredding cut short before anything else. A proposal that was spent
but cut short before its journal entry is taken up again by the same proposal.
``MEDLER_RETENTION_STOP_AFTER`` = ``start`` (journalled, nothing touched), ``rotate`` (the key
file rotated, the record not yet written) or ``shred`` (shredded, not yet recorded done) ends
the process there, for the crash tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage._inventory import SnapshotEntry, list_snapshots
from medler.errors import UsageError
from pseudonymise import load_key_file, shred_key_version, shredded_keys
from release._retention import _start, _stop_here, finish, unfinished
from release.governance import Action, Conflict, Governance, NotAllowed, Principal
from release.governance._models import Deletion

KIND = "key version"
ACT = "shred key"


@dataclass(frozen=True)
class ShredPlan:
    """What shredding ``key_id`` (version ``version``) makes unlinkable."""

    key_id: str
    version: int
    snapshots: tuple[SnapshotEntry, ...]  # made with the key: canonical first, oldest first
    in_use: bool  # the snapshot in use (canonical or research) is one of them
    in_key_file: bool  # the key file holds it: shredding replaces it with a new version

    @property
    def names(self) -> list[str]:
        return [f"{s.kind} {s.id}{' (in use)' if s.current else ''}" for s in self.snapshots]


def plan_shred(
    data_dir: Path, key_id: str, *, key_file: Path | None = None, version: int | None = None
) -> ShredPlan:
    """What shredding ``key_id`` does to the data in ``data_dir``; refuses a key shredded
    already, and one nothing knows the version of (unless ``version`` is given)."""
    for gone in shredded_keys(data_dir):
        if gone.key_id == key_id:
            raise Conflict(
                f"key {key_id} (version {gone.version}) was shredded on {gone.at[:10]} already"
            )
    made = tuple(s for s in list_snapshots(data_dir) if s.key_id == key_id)
    known = {s.key_version for s in made if s.key_version is not None}
    held = load_key_file(key_file, data_dir=data_dir)
    in_key_file = held.key_id == key_id
    if in_key_file:
        known.add(held.version)
    if version is not None:
        if known and version not in known:
            raise UsageError(f"--version: key {key_id} is version {min(known)}, not {version}")
        known = {version}
    if len(known) != 1:
        raise UsageError(
            f"no snapshot and not the key file know key {key_id}"
            + (" (they disagree on its version)" if known else "")
            + "; check the id ('medler keys show', a snapshot's manifest), or give --version"
        )
    return ShredPlan(key_id, known.pop(), made, any(s.current for s in made), in_key_file)


def propose_shred(gov: Governance, actor: Principal, plan: ShredPlan, *, force: bool) -> int:
    """Propose shredding ``plan``'s key (a second person confirms); returns the number."""
    if plan.in_use and not force:
        raise NotAllowed(_in_use(plan))
    params: dict[str, object] = {
        "key_id": plan.key_id,
        "version": plan.version,
        "snapshots": plan.names,
        "force": force,
    }
    return gov.propose_act(actor, ACT, params)


def _in_use(plan: ShredPlan) -> str:
    using = ", ".join(n for n, s in zip(plan.names, plan.snapshots, strict=True) if s.current)
    return (
        f"key {plan.key_id} (version {plan.version}) made the snapshot in use ({using}): "
        "shredded, no new delivery could be linked to it. Rotate the key ('medler keys "
        "rotate'), ingest and build under the new one first; or, to shred it anyway, propose "
        "with --force"
    )


@dataclass(frozen=True)
class Shredded:
    key_id: str
    version: int
    snapshots: list[str]
    new_key: str | None  # the key file's new key id, when the shredded key was in it
    resumed: bool


def apply_shred(
    gov: Governance,
    actor: Principal,
    proposal: int,
    data_dir: Path,
    *,
    key_file: Path | None = None,
    now: dt.datetime | None = None,
) -> list[Shredded]:
    """Finish any shredding a crash cut short, then shred what confirmed ``proposal`` names.
    Returns what was shredded (the resumed ones first)."""
    gov.require(actor, Action.ROTATE_KEY)
    done = [
        _shred(gov, actor, d, data_dir, key_file, now, resumed=True)
        for d in unfinished(gov)
        if d.kind == KIND
    ]
    info = gov.approval(proposal)
    if info.kind != ACT:
        raise Conflict(f"proposal {proposal} is to {info.kind}, not to shred a key")
    if info.status == "used" and _journalled(gov, proposal):
        if done:
            return done
        raise Conflict(f"proposal {proposal} was used already; plan and propose again")
    if info.status != "used":  # used without a journal entry: a run cut short before it
        info = gov.use_approval(actor, proposal, ACT)
    params: dict[str, Any] = dict(info.params)
    plan = plan_shred(
        data_dir, str(params["key_id"]), key_file=key_file, version=int(params["version"])
    )
    if plan.in_use and not params.get("force"):
        raise NotAllowed(_in_use(plan))
    rule = f"crypto-shredding under proposal {proposal}"
    deletion = _start(
        gov, actor, proposal, KIND, plan.key_id, rule, version=plan.version, snapshots=plan.names
    )
    _stop_here("start")
    done.append(_shred(gov, actor, deletion, data_dir, key_file, now, resumed=False))
    return done


def _journalled(gov: Governance, proposal: int) -> bool:
    with Session(gov.engine) as session:
        found = session.scalars(select(Deletion.id).where(Deletion.proposal == proposal))
        return found.first() is not None


def _shred(
    gov: Governance,
    actor: Principal,
    deletion: Deletion,
    data_dir: Path,
    key_file: Path | None,
    now: dt.datetime | None,
    *,
    resumed: bool,
) -> Shredded:
    params = gov.approval(deletion.proposal).params
    version = int(params["version"])  # type: ignore[call-overload]
    new = shred_key_version(
        key_file,
        deletion.name,
        version,
        data_dir=data_dir,
        now=now,
        after_rotation=lambda: _stop_here("rotate"),
    )
    _stop_here("shred")
    finish(gov, actor, deletion, version=version)
    snapshots = [str(s) for s in params.get("snapshots") or []]  # type: ignore[attr-defined]
    return Shredded(deletion.name, version, snapshots, None if new is None else new.key_id, resumed)
