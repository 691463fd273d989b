"""Zone 2: the only egress. Query specs, policies, disclosure control, differential privacy,
the budget ledger and the audit chain. Nothing but aggregates leaves through here.

Modules
- ``_spec``: the query spec (``QuerySpec``, ``Filter``, ``Measure``): typed, data-free, JSON.
- ``_policy``: ``policies/catalogue.toml`` and ``policies/release.toml``, validated.
- ``_rules``: statistical use only: a spec checked against the catalogue before data is read.
- ``_frames``: the one module that opens research rows (``PrivateFrame``); it returns only
  aggregates, or runs an OpenDP measurement.
- ``_measures``: one home per measure kind (its exact value, DP estimate, range, preview).
- ``_sdc``: disclosure control: primary and secondary suppression, the interval (LP) audit,
  rounding; ``protect`` assembles a protected table.
- ``_teachers``: the teacher rules (threshold, minutes behind each cell).
- ``_linked``: the linked audit over a project's outputs on one table.
- ``_lp``: the linear programmes both audits solve.
- ``_dp``: OpenDP measurements (zero-concentrated DP), calibrated directly; DP cells.
- ``_keys``: public key values, from public sources.
- ``_results``: released cells, releases and previews.
- ``_store``: release records (cache of identical queries, the history the linked audit reads).
- ``_models``: models (a spec's ``model``): linear and logistic regression, exact with output
  checks (``sdc``) or from noisy sufficient statistics (``dp``).
- ``_regression``: the regressions' maths (least squares, logistic likelihood, bootstrap).
- ``_intervals``: intervals from known noise (discrete Gaussian quantiles, Fieller's interval,
  quantiles from a noisy histogram): pure maths.
- ``_planner``: the ρ a dp question costs for the accuracy wanted (``AccuracyPlan``).
- ``_releaser``: ``Releaser``: a request assessed once (``assess``), ``preview``, ``release``,
  ``plan``.
- ``_export``: a release as CSV, JSON or Parquet, with each value's interval.
- ``_register``: the public register (approved projects and their releases, never a value),
  made from the audit chain up to an anchor it publishes, and its comparison with the chain.
- ``_retention``: the retention policy, its plan, and deletion that no crash leaves half
  done.
- ``_service``: ``ReleaseService``: the releaser behind projects, roles and the review workflow
  (held -> approved -> released, or rejected).
- ``_publish``: the official tables: the indicator set (``policies/official_indicators.toml``)
  released table by table through the service (``publish``).
- ``governance``: the control plane: people, projects, tokens, the budget ledger, the audit log.
"""

from typing import TYPE_CHECKING

from medler._lazy import lazy_exports

if TYPE_CHECKING:
    from release._errors import (
        REVIEWABLE_CHECKS,
        Gone,
        PrivacyInvariantBroken,
        QueryRefused,
        RowAccessRefused,
        UnknownName,
    )
    from release._export import FORMATS, export_release, release_rows
    from release._policy import Policies, approvable_tables, load_policies
    from release._publish import IndicatorSet, Published, load_indicators, publish
    from release._register import Register, compare_register, register_of
    from release._releaser import AccuracyPlan, Cell, Preview, Release, Releaser
    from release._service import LogEntry, Outcome, ReleaseService, RequestInfo
    from release._spec import Filter, Measure, QuerySpec
    from release._store import FileStore, MemoryStore, exact_outputs

# Where each public name lives. The package loads its modules on first use (PEP 562), so that
# ``release.governance`` and the command line start without loading OpenDP and Polars.
_HOME = {
    "AccuracyPlan": "_releaser",
    "Cell": "_releaser",
    "Preview": "_releaser",
    "Release": "_releaser",
    "Releaser": "_releaser",
    "REVIEWABLE_CHECKS": "_errors",
    "PrivacyInvariantBroken": "_errors",
    "Gone": "_errors",
    "QueryRefused": "_errors",
    "RowAccessRefused": "_errors",
    "FORMATS": "_export",
    "export_release": "_export",
    "release_rows": "_export",
    "Policies": "_policy",
    "approvable_tables": "_policy",
    "load_policies": "_policy",
    "IndicatorSet": "_publish",
    "Published": "_publish",
    "load_indicators": "_publish",
    "publish": "_publish",
    "Register": "_register",
    "compare_register": "_register",
    "register_of": "_register",
    "LogEntry": "_service",
    "Outcome": "_service",
    "ReleaseService": "_service",
    "RequestInfo": "_service",
    "UnknownName": "_errors",
    "Filter": "_spec",
    "Measure": "_spec",
    "QuerySpec": "_spec",
    "FileStore": "_store",
    "MemoryStore": "_store",
    "exact_outputs": "_store",
}


__getattr__ = lazy_exports(__name__, _HOME)

__all__ = [
    "FORMATS",
    "REVIEWABLE_CHECKS",
    "AccuracyPlan",
    "Cell",
    "FileStore",
    "Filter",
    "Gone",
    "IndicatorSet",
    "LogEntry",
    "Measure",
    "MemoryStore",
    "Outcome",
    "Policies",
    "Preview",
    "PrivacyInvariantBroken",
    "Published",
    "QueryRefused",
    "QuerySpec",
    "Register",
    "Release",
    "ReleaseService",
    "Releaser",
    "RequestInfo",
    "RowAccessRefused",
    "UnknownName",
    "approvable_tables",
    "compare_register",
    "exact_outputs",
    "export_release",
    "load_indicators",
    "load_policies",
    "publish",
    "register_of",
    "release_rows",
]
