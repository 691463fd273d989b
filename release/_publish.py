"""The official tables: a fixed, versioned set of indicators (``policies/
official_indicators.toml``), each a query spec with a title and a file name, released one by
one through the release service, exactly as any release is.

Nothing here opens a row. Each table goes through ``ReleaseService.submit`` as the person
publishing, in the project they publish for: the project's approval decides which tables and
regimes are allowed, each table is checked, protected, audited and (in dp mode) charged, and
the linked audit reads it together with the project's earlier outputs. A table that is held for
the data protection officer or refused is an outcome of its own, never an error that stops the
others.

Publishing again on the same research snapshot spends nothing twice: an identical spec in the
same project returns the earlier release (the release service's cache: the same release id, no
new noise, no new charge; the audit log records the repeat), and a table that is held or was
rejected is reported from its request, not asked for again. A new research snapshot is a new
publication.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medler.errors import InputFileError, MedlerUserError
from release._policy import default_policy_dir
from release._results import Release
from release._service import ReleaseService
from release._spec import QuerySpec
from release.governance import BudgetExhausted
from release.governance._access import Action, Principal

INDICATORS_FILE = "official_indicators.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

RELEASED, HELD, REJECTED, REFUSED = "released", "held", "rejected", "refused"


class Indicator(BaseModel):
    """One official table: its file name (``name``.csv and .parquet), its title, what it
    shows, the measures to plot (default: every measure but the counts) and its query spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The tables' file name, without extension.")
    title: str = Field(min_length=1)
    description: str = ""
    plot: tuple[str, ...] = ()
    spec: QuerySpec

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError(
                "a name is 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter "
                f"or digit (it names the files); {name!r} is not"
            )
        return name

    def plotted(self) -> list[str]:
        """The measures drawn in the report."""
        if self.plot:
            return list(self.plot)
        counts = ("count_students", "count_teachers")
        chosen = [m.name for m in self.spec.measures if m.kind not in counts]
        return chosen or [m.name for m in self.spec.measures]


class IndicatorSet(BaseModel):
    """The indicator set: its version (written into every publication) and its tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @field_validator("indicators")
    @classmethod
    def _unique(cls, indicators: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        names = [i.name for i in indicators]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two indicators are named {', '.join(twice)}; names name files")
        for indicator in indicators:
            measures = {m.name for m in indicator.spec.measures}
            unknown = [m for m in indicator.plot if m not in measures]
            if unknown:
                raise ValueError(
                    f"{indicator.name}: plot names {', '.join(unknown)}, which is "
                    f"not a measure of its spec ({', '.join(sorted(measures))})"
                )
        return indicators


def load_indicators(path: Path | None = None) -> IndicatorSet:
    """The indicator set at ``path`` (default: ``official_indicators.toml`` in the policy
    folder), validated; an error names the file, the indicator and the field."""
    path = path or default_policy_dir() / INDICATORS_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputFileError(
            f"{path}: cannot read the indicator set ({error.strerror or error})"
        ) from error
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(f"{path}: not valid TOML ({error})") from error
    try:
        return IndicatorSet.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = list(first["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "indicators" and isinstance(loc[1], int):
            entries = data.get("indicators") or []
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            name = entry.get("name") if isinstance(entry, dict) else None
            rest = ".".join(str(p) for p in loc[2:]) or "entry"
            where = f"indicator {loc[1] + 1}" + (f" ({name})" if name else "") + f": {rest}"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputFileError(f"{path}: {where}: {message}") from error


@dataclass(frozen=True)
class Published:
    """What became of one indicator: ``released`` (with the release; ``cached`` when it is
    the earlier release of the same spec on this snapshot), ``held`` (for the DPO, with the
    request and the checks it failed), ``rejected`` (by the DPO, earlier) or ``refused`` (with
    the reason). Never a row, never a pseudonym."""

    indicator: Indicator
    status: str
    release: Release | None = None
    request_id: int | None = None
    reason: str | None = None

    @property
    def released(self) -> bool:
        return self.status == RELEASED


def publish(
    service: ReleaseService, actor: Principal, project: str, indicators: IndicatorSet
) -> list[Published]:
    """Release every indicator of the set for ``project`` as ``actor`` (a member of the
    project), in the set's order. Raises only when the actor may not release in the project
    at all; each table's refusal, hold or budget shortfall is its outcome."""
    service.governance.project_access(actor, project, Action.SUBMIT)
    return [_one(service, actor, project, indicator) for indicator in indicators.indicators]


def _one(
    service: ReleaseService, actor: Principal, project: str, indicator: Indicator
) -> Published:
    spec = indicator.spec
    earlier = _earlier_request(service, actor, project, spec)
    if earlier is not None:
        return earlier_outcome(service, actor, indicator, *earlier)
    try:
        outcome = service.submit(actor, project, spec)
    except (BudgetExhausted, MedlerUserError) as refusal:
        return Published(indicator, REFUSED, reason=str(refusal))
    if outcome.release is not None:
        return Published(indicator, RELEASED, release=outcome.release)
    reasons = "; ".join(f"{c['check']}: {c['reason']}" for c in outcome.checks)
    return Published(indicator, HELD, request_id=outcome.request_id, reason=reasons or None)


def _earlier_request(
    service: ReleaseService, actor: Principal, project: str, spec: QuerySpec
) -> tuple[int, str, str | None, str | None] | None:
    """The actor's latest request for ``spec`` in ``project`` on the current snapshot (its
    id, status, release and the review's reason), if any."""
    snapshot = service.releaser.snapshot.name
    digest = spec.digest()
    found = [
        r
        for r in service.requests(actor, project=project)
        if r.snapshot == snapshot and QuerySpec.model_validate(r.spec).digest() == digest
    ]
    if not found:
        return None
    last = found[-1]
    return last.id, last.status, last.release_id, last.review_reason


def earlier_outcome(
    service: ReleaseService,
    actor: Principal,
    indicator: Indicator,
    request_id: int,
    status: str,
    release_id: str | None,
    review_reason: str | None,
) -> Published:
    """An indicator whose spec was asked for before on this snapshot and held: what became
    of its request."""
    if status == HELD:
        return Published(
            indicator,
            HELD,
            request_id=request_id,
            reason="held for the data protection officer since an earlier "
            "publication; not asked for again",
        )
    if status == "released" and release_id is not None:
        return Published(
            indicator, RELEASED, release=service.release(actor, release_id), request_id=request_id
        )
    why = f": {review_reason}" if review_reason else ""
    if status == REJECTED:
        return Published(
            indicator,
            REJECTED,
            request_id=request_id,
            reason=f"the data protection officer rejected request {request_id}{why}",
        )
    return Published(
        indicator,
        REFUSED,
        request_id=request_id,
        reason=f"request {request_id} was approved but not released{why}",
    )
