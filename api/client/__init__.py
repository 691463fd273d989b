"""The researcher's Python client: medler's HTTP API from a researcher's own machine.

::

    from api.client import Client, Spec

    with Client("https://medler.example.org", token, project="absence-2027") as medler:
        spec = Spec("student_terms").by("grade").count_students().dp(rho=0.05)
        medler.preview(spec).accuracy        # free: how wide the intervals would be
        medler.submit(spec).table            # a DataFrame, with <measure>_lower and _upper

Modules
- ``_client``: ``Client``: projects, catalogue, budget, preview, submit, releases, downloads and
  requests over httpx; ``DummyDataWarning`` when the service runs over synthetic data.
- ``_spec``: ``Spec``, the immutable query spec builder (docs/reference/query-spec.md), with
  its ``Measure``, ``Filter`` and ``Model`` (a regression).
- ``_results``: what comes back: ``Result`` (a released table as a pandas DataFrame, one row per
  cell, or a held request), ``Preview``, ``Plan``, ``Catalogue`` and ``Check``.
- ``_plot``: ``Result.plot()``: a released table as a matplotlib chart, each value with its
  interval, suppressed cells as marked gaps.
- ``_errors``: the service's error answers as exceptions, under ``MedlerApiError``.

The client speaks only HTTP: it never imports the release, linkage or pseudonymise layers, and
runs with httpx and pandas alone; charts need matplotlib (``pip install 'medler[plot]'``),
imported only when one is drawn. Tutorial: docs/tutorials/first-release.md.
"""

from api.client._client import Client, DummyDataWarning
from api.client._errors import (
    BudgetExhausted,
    Conflict,
    Invalid,
    MedlerApiError,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    RateLimited,
    Refused,
    RequestTooLarge,
)
from api.client._results import Catalogue, Check, Plan, Preview, Result
from api.client._spec import Filter, Measure, Model, Spec

__all__ = [
    "BudgetExhausted",
    "Catalogue",
    "Check",
    "Client",
    "Conflict",
    "DummyDataWarning",
    "Filter",
    "Invalid",
    "Measure",
    "MedlerApiError",
    "Model",
    "NotAllowed",
    "NotAuthenticated",
    "NotFound",
    "Plan",
    "Preview",
    "RateLimited",
    "Refused",
    "RequestTooLarge",
    "Result",
    "Spec",
]
