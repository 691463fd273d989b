"""What the release layer refuses, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from medler.errors import MedlerInternalError, MedlerUserError

# The automatic checks that a policy may mark as reviewable: a request that fails one of them
# can be held for the data protection officer instead of refused. Every other refusal (an
# identifier, too small a population, a table that cannot be protected, a catalogue error) is
# final.
REVIEWABLE_CHECKS = {
    "approval": "the spec uses a table or column outside the project's approval",
    "rho_per_query": "the spec asks for more ρ than one query may spend",
    "teachers": "the population or a cell holds fewer teachers than the threshold",
    "linked": "with the project's earlier outputs, a few persons could be worked out by "
    "subtraction",
}


class QueryRefused(MedlerUserError):
    """The query breaks the statistical-use rule or the catalogue. The message says why and
    what to do instead; it never quotes data. ``check`` names the automatic check that
    failed when it is one a policy may mark as reviewable (``REVIEWABLE_CHECKS``)."""

    def __init__(self, message: str, *, check: str | None = None) -> None:
        super().__init__(message)
        assert check is None or check in REVIEWABLE_CHECKS, check
        self.check = check


class Gone(MedlerUserError):
    """A release that was, and is no longer, kept: its project closed longer ago than the
    retention policy keeps released tables (HTTP 410). The message says when and why."""


class UnknownName(QueryRefused):
    """The spec names a table or column that does not exist (a typo, most often): a mistake in
    the request, not a refusal of it. The message names what exists."""


@dataclass(frozen=True)
class Finding:
    """What one automatic check found wrong with a request: ``check`` names it when a policy
    may mark it reviewable (``REVIEWABLE_CHECKS``), else None (final). Checks return findings
    rather than raise, so that a request is assessed once and its findings read by the
    service, the audit and the DPO alike.

    ``detail``: the numbers behind the finding (how many cells fall under which threshold, the
    smallest population, the narrowest interval the linked audit found, ...), for the DPO's
    review only. They depend on the data, so they never reach the researcher: the reason and
    the refusal say what failed and what to do, never how far."""

    check: str | None
    reason: str
    detail: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)

    def refusal(self) -> QueryRefused:
        return QueryRefused(self.reason, check=self.check)

    def for_review(self) -> dict[str, object]:
        """The finding as a held request keeps it (``Request.checks``): check, reason and,
        when there is any, the detail for the DPO."""
        kept: dict[str, object] = {"check": self.check, "reason": self.reason}
        if self.detail:
            kept["detail"] = {k: float(v) for k, v in sorted(self.detail.items())}
        return kept


class PrivacyInvariantBroken(MedlerInternalError):
    """A privacy check failed inside the release path. This is a bug in medler: nothing was
    released."""


class RowAccessRefused(MedlerInternalError):
    """Rows were about to be collected outside the release path. This is a bug in medler."""
