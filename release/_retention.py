"""Retention: what medler keeps, for how long, and its deletion (``policies/retention.toml``).

Four kinds of item expire:

- a **raw extract** (a folder or file in the extracts folder, ``--extracts`` or
  ``MEDLER_EXTRACTS_DIR``), by the age of its last change;
- a **canonical snapshot** and a **research snapshot**, by the age in its manifest; the one in
  use (``CURRENT``) never expires;
- a closed project's **released tables** (their values in the release store), counted from
  the day it closed; the log of who asked what, when, at what cost stays. From that day the
  project's downloads answer 410 Gone, whether or not the values are deleted yet.

``plan`` lists each expired item, its age and the rule that expires it. Deleting is a
two-person act: one person proposes the plan (``propose``: the items are kept in the proposal),
a second confirms it, and ``apply`` deletes what was proposed and is still expired.

No deletion leaves half a state. Each one is journalled in the control plane (``deletions``)
and the audit chain before anything is touched, then the item is renamed to a trash name
beside it (one atomic rename: it is no longer where it was), then the trash is removed, then
the deletion is recorded done. A run cut short anywhere is finished by the next ``apply``,
every step being safe to repeat. The audit records name kinds, snapshot and release ids,
project ids and rules: never anything about a person.

``MEDLER_RETENTION_STOP_AFTER=move`` ends the process right after the rename (the crash tests
use it to cut a deletion in the middle).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage._inventory import list_snapshots
from medler.errors import InputFileError, UsageError
from release._errors import Gone
from release._policy import POLICY_DIR_ENV, default_policy_dir
from release._store import ReleaseStore
from release.governance import Conflict, Governance, Principal, append_audit
from release.governance._models import Deletion, Project

EXTRACTS_ENV = "MEDLER_EXTRACTS_DIR"
STOP_ENV = "MEDLER_RETENTION_STOP_AFTER"
KINDS = ("raw extract", "canonical snapshot", "research snapshot", "released tables")
DAY = dt.timedelta(days=1)


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw_extract_days: int = Field(ge=1)
    canonical_snapshot_days: int = Field(ge=1)
    research_snapshot_days: int = Field(ge=1)
    released_tables_days: int = Field(ge=0)


class RetentionPolicy(BaseModel):
    """``policies/retention.toml``: how many days each kind of item is kept."""

    model_config = ConfigDict(extra="forbid")
    version: str
    retention: _Rules

    def days(self, kind: str) -> int:
        field = kind.replace(" ", "_") + "_days"
        return int(getattr(self.retention, field))

    def rule(self, kind: str) -> str:
        since = " after the project closed" if kind == "released tables" else ""
        return (
            f"{kind.replace(' ', '_')}_days = {self.days(kind)}{since} (retention {self.version})"
        )


def load_retention_policy(folder: Path | None = None) -> RetentionPolicy:
    path = (folder or default_policy_dir()) / "retention.toml"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputFileError(
            f"{path}: cannot read the retention policy ({error.strerror or error}); set "
            f"{POLICY_DIR_ENV} to the folder that holds retention.toml"
        ) from error
    try:
        return RetentionPolicy.model_validate(tomllib.loads(raw))
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(f"{path}: not valid TOML ({error})") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputFileError(f"{path}: {where}: {first['msg']}") from error


@dataclass(frozen=True)
class Item:
    """One expired item: ``name`` is a snapshot id, an extract's name or a project id."""

    kind: str
    name: str
    age_days: int
    rule: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def extracts_folder(extracts: Path | None) -> Path | None:
    """``--extracts``, else ``$MEDLER_EXTRACTS_DIR``, else None (no raw extracts kept)."""
    if extracts is not None:
        return extracts
    configured = os.environ.get(EXTRACTS_ENV, "").strip()
    return Path(configured) if configured else None


def release_expiry(policy: RetentionPolicy, closed_at: dt.datetime | None) -> dt.datetime | None:
    """When a project's released values expire: ``released_tables_days`` after it closed."""
    if closed_at is None:
        return None
    return _aware(closed_at) + policy.days("released tables") * DAY


def plan(
    gov: Governance,
    store: ReleaseStore,
    data_dir: Path,
    *,
    extracts: Path | None = None,
    policy: RetentionPolicy | None = None,
    now: dt.datetime | None = None,
) -> list[Item]:
    """Every item the policy expires today, oldest rule first within each kind."""
    policy = policy or load_retention_policy()
    now = now or _now()
    items: list[Item] = []
    folder = extracts_folder(extracts)
    if folder is not None:
        if not folder.is_dir():
            raise UsageError(f"--extracts: {folder} is not a folder (the folder of raw extracts)")
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            changed = dt.datetime.fromtimestamp(path.lstat().st_mtime, dt.UTC)
            _add(items, policy, "raw extract", path.name, now - changed)
    for entry in list_snapshots(data_dir):
        if not entry.current and entry.created is not None:
            _add(items, policy, entry.kind, entry.id, now - entry.created)
    with_values = {
        r["project"] for r in store.all() if r["status"] == "released" and "release" in r
    }
    with Session(gov.engine) as session:
        closed = session.scalars(select(Project).where(Project.status == "closed")).all()
        for project in closed:
            expiry = release_expiry(policy, project.closed_at)
            if project.id in with_values and expiry is not None and expiry <= now:
                _add(
                    items,
                    policy,
                    "released tables",
                    project.id,
                    now - _aware(project.closed_at),  # type: ignore[arg-type]
                    expired=True,
                )
    return items


def _add(
    items: list[Item],
    policy: RetentionPolicy,
    kind: str,
    name: str,
    age: dt.timedelta,
    *,
    expired: bool = False,
) -> None:
    if expired or age > policy.days(kind) * DAY:
        items.append(Item(kind, name, age // DAY, policy.rule(kind)))


def propose(gov: Governance, actor: Principal, items: list[Item]) -> int:
    """Propose deleting ``items`` (a second person confirms); returns the proposal's number."""
    if not items:
        raise UsageError("the retention policy expires nothing today: there is nothing to propose")
    listed = [{"kind": i.kind, "name": i.name, "rule": i.rule} for i in items]
    return gov.propose_act(actor, "delete data", {"items": listed})


@dataclass(frozen=True)
class Deleted:
    kind: str
    name: str
    rule: str
    resumed: bool  # finished after a run was cut short


@dataclass(frozen=True)
class Applied:
    deleted: list[Deleted]
    skipped: list[str]  # proposed, but no longer expired or no longer there: kept


@dataclass(frozen=True)
class Place:
    """Where a deletion's steps act."""

    gov: Governance
    store: ReleaseStore
    data_dir: Path
    extracts: Path | None


def apply(
    gov: Governance,
    actor: Principal,
    proposal: int,
    store: ReleaseStore,
    data_dir: Path,
    *,
    extracts: Path | None = None,
    policy: RetentionPolicy | None = None,
    now: dt.datetime | None = None,
) -> Applied:
    """Finish any deletion a crash cut short, then delete what confirmed ``proposal`` names and
    the policy still expires. A proposal is used once; running it again after a crash only
    finishes what it started."""
    place = Place(gov, store, data_dir, extracts_folder(extracts))
    gov.require(actor, _delete_action())
    resumed = resume(place, actor)
    info = gov.approval(proposal)
    if info.kind != "delete data":
        raise Conflict(f"proposal {proposal} is to {info.kind}, not to delete data")
    if info.status == "used":
        if resumed:
            return Applied(resumed, [])
        raise Conflict(f"proposal {proposal} was used already; plan and propose again")
    gov.use_approval(actor, proposal, "delete data")
    expired = {
        i.key: i for i in plan(gov, store, data_dir, extracts=extracts, policy=policy, now=now)
    }
    done, skipped = list(resumed), []
    for wanted in info.params["items"]:  # type: ignore[attr-defined]
        key = f"{wanted['kind']}:{wanted['name']}"
        item = expired.get(key)
        if item is None:
            skipped.append(key)
            continue
        deletion = _start(gov, actor, proposal, item.kind, item.name, item.rule)
        _delete(place, actor, deletion)
        done.append(Deleted(item.kind, item.name, item.rule, False))
    return Applied(done, skipped)


def _delete_action() -> Any:
    from release.governance import Action

    return Action.DELETE_DATA


def unfinished(gov: Governance) -> list[Deletion]:
    """Deletions started and not recorded done (a run cut short)."""
    with Session(gov.engine) as session:
        rows = list(
            session.scalars(
                select(Deletion).where(Deletion.state == "started").order_by(Deletion.id)
            )
        )
        session.expunge_all()
        return rows


def resume(place: Place, actor: Principal) -> list[Deleted]:
    """Finish every deletion left half done (key shreddings are finished by ``keys shred``)."""
    out = []
    for deletion in unfinished(place.gov):
        if deletion.kind in KINDS:
            _delete(place, actor, deletion)
            out.append(Deleted(deletion.kind, deletion.name, deletion.rule, True))
    return out


def _start(
    gov: Governance, actor: Principal, proposal: int, kind: str, name: str, rule: str, **more: Any
) -> Deletion:
    """The intent, journalled and audited in one transaction, before anything is touched."""
    with Session(gov.engine) as session, session.begin():
        row = Deletion(
            proposal=proposal,
            kind=kind,
            name=name,
            rule=rule,
            state="started",
            started_by=actor.id,
            started_at=_now(),
        )
        session.add(row)
        session.flush()
        append_audit(
            gov.engine,
            actor=actor.id,
            action="deletion started",
            project=None,
            body={
                "deletion": row.id,
                "proposal": proposal,
                "kind": kind,
                "name": name,
                "rule": rule,
                **more,
            },
            session=session,
        )
        session.expunge(row)
    return row


def finish(gov: Governance, actor: Principal, deletion: Deletion, **more: Any) -> None:
    """Record a deletion done, in the journal and the chain, in one transaction."""
    with Session(gov.engine) as session, session.begin():
        row = session.get(Deletion, deletion.id)
        assert row is not None
        if row.state == "done":
            return
        row.state, row.done_at = "done", _now()
        append_audit(
            gov.engine,
            actor=actor.id,
            action="deleted",
            project=None,
            body={
                "deletion": row.id,
                "proposal": row.proposal,
                "kind": row.kind,
                "name": row.name,
                **more,
            },
            session=session,
        )


def _delete(place: Place, actor: Principal, deletion: Deletion) -> None:
    if deletion.kind == "released tables":
        at = deletion.started_at.isoformat(timespec="seconds")
        releases = place.store.forget_values(deletion.name, at)
        _stop_here("move")
        finish(place.gov, actor, deletion, releases=releases)
        return
    path = _path_of(place, deletion.kind, deletion.name)
    trash = path.with_name(f".trash-{deletion.id}-{path.name}")
    if path.exists() or path.is_symlink():
        os.replace(path, trash)  # one atomic step: the item is no longer where it was
        _sync(path.parent)
    _stop_here("move")
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash)
    elif trash.exists() or trash.is_symlink():
        trash.unlink()
    _sync(path.parent)
    finish(place.gov, actor, deletion)


def _path_of(place: Place, kind: str, name: str) -> Path:
    if "/" in name or name in ("", ".", ".."):
        raise InputFileError(f"a deletion names {name!r}, which is not one item's name")
    if kind == "raw extract":
        if place.extracts is None:
            raise UsageError(
                f"a deletion of the raw extract {name!r} was cut short; give --extracts (or "
                f"{EXTRACTS_ENV}) so that it can be finished"
            )
        return place.extracts / name
    if kind == "canonical snapshot":
        return place.data_dir / "snapshots" / name
    return place.data_dir / "research" / "snapshots" / name


def _stop_here(step: str, exit: Callable[[int], Any] = os._exit) -> None:
    if os.environ.get(STOP_ENV) == step:
        exit(86)


def _sync(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def check_download(
    gov: Governance,
    record: dict[str, Any],
    *,
    policy: RetentionPolicy | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Raise ``Gone`` for a release whose values were deleted, or whose project closed longer
    ago than the retention period."""
    name = record.get("release_id")
    if "release" not in record:
        raise Gone(
            f"release {name} is gone: its values were deleted on "
            f"{str(record.get('values_deleted', ''))[:10]} under the retention policy, after "
            f"project {record['project']} closed"
        )
    policy = policy or load_retention_policy()
    with Session(gov.engine) as session:
        project = session.get(Project, record["project"])
        closed = None if project is None else project.closed_at
    expiry = release_expiry(policy, closed)
    if expiry is not None and expiry <= (now or _now()):
        raise Gone(
            f"release {name} is gone: project {record['project']} closed on "
            f"{_aware(closed).date()} and its releases were kept "  # type: ignore[arg-type]
            f"{policy.days('released tables')} days (retention {policy.version})"
        )
