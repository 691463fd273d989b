"""``Client``: the researcher's side of medler's HTTP API (``/v1``), over httpx.

::

    with Client("https://medler.example.org", token, project="absence-2027") as medler:
        result = medler.submit(Spec("student_terms").by("grade").count_students())
        result.table

It speaks only HTTP: nothing here reads data or keys. Error answers become the exceptions of
``api.client._errors``; answers about a synthetic snapshot (``"data": "dummy"``) set
``data_label`` on what is returned and give one ``DummyDataWarning`` per client.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast, overload
from urllib.parse import quote

import httpx
import pandas as pd

from api.client._errors import error_from
from api.client._results import (
    Catalogue,
    DataLabel,
    Plan,
    Preview,
    Result,
    frame,
    held_result,
    preview_result,
    release_result,
)
from api.client._spec import Spec

SpecLike = Spec | Mapping[str, Any]
Format = Literal["csv", "json", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "json", "parquet")
DEFAULT_DELTA = 1e-9
_PAGE = 500  # the service's largest page of the release log

PROJECT_COLUMNS = (
    "id",
    "purpose",
    "legal_basis",
    "organisation",
    "status",
    "valid_from",
    "valid_to",
    "tables",
    "members",
)
BUDGET_COLUMNS = (
    "scope",
    "level",
    "cap_rho",
    "spent_rho",
    "reserved_rho",
    "remaining_rho",
    "spent_epsilon",
    "cap_epsilon",
)
LOG_COLUMNS = (
    "at",
    "release_id",
    "project",
    "requester",
    "status",
    "mode",
    "table",
    "rho",
    "snapshot",
    "policy_version",
    "spec_digest",
    "result_digest",
    "reason",
    "spec",
)
REQUEST_COLUMNS = (
    "id",
    "at",
    "project",
    "requester",
    "status",
    "checks",
    "justification",
    "reviewer",
    "review_reason",
    "release_id",
    "snapshot",
    "spec",
)


class DummyDataWarning(UserWarning):
    """The service answered about its dummy (synthetic) snapshot, not about real pupils."""


def _outside_caller() -> int:
    """The ``stacklevel`` of the first frame outside this package: the researcher's code."""
    level, frame_ = 1, sys._getframe(1)
    while frame_ is not None and frame_.f_globals.get("__name__", "").startswith("api.client"):
        level += 1
        frame_ = frame_.f_back  # type: ignore[assignment]
    return level


def _spec_json(spec: SpecLike) -> dict[str, Any]:
    if isinstance(spec, Spec):
        return spec.to_dict()
    if isinstance(spec, Mapping):
        return dict(spec)
    raise TypeError(f"a spec is a Spec or a JSON object (dict), not {type(spec).__name__}")


class Client:
    """A researcher's connection to medler.

    ``url`` is the service's address (``https://medler.example.org``; ``/v1`` is added), and
    ``token`` the API token the statistics office gave you. ``project`` is the default project
    of the methods that take one; without it, your only project is used. ``http`` lets you
    pass an ``httpx.Client`` of your own (proxies, certificates, tests): its own timeout and
    settings apply, and ``close()`` leaves it open. ``timeout`` is in seconds; a large release
    may take a while to compute. Use the client as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        project: str | None = None,
        timeout: float = 60,
        http: httpx.Client | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(
                f"the service's address starts with https:// (or http://), not {url!r}"
            )
        if not isinstance(token, str) or not token.strip():
            raise ValueError("a token is needed: the statistics office issues one")
        root = url.rstrip("/")
        self.url = root.removesuffix("/v1")
        self.project = project
        self._auth = {"Authorization": f"Bearer {token.strip()}"}
        self._own = http is None
        self._timeout = timeout
        self._http = http if http is not None else self._connect()
        self._label: DataLabel | None = None
        self._warned = False
        self._only_project: str | None = None

    def _connect(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self._auth, timeout=self._timeout)

    def __repr__(self) -> str:  # never the token
        return f"Client({self.url!r}, project={self.project!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (not one passed in as ``http``)."""
        if self._own:
            self._http.close()

    @property
    def data_label(self) -> DataLabel | None:
        """``real`` or ``dummy``: what the service said in its last answer (None before one)."""
        return self._label

    # --- the catalogue, projects and budgets ------------------------------------------------

    def projects(self) -> pd.DataFrame:
        """Your projects: one row each, with their approved ``tables`` and ``members``."""
        body = self._json("GET", "/projects")
        return frame(body["projects"], PROJECT_COLUMNS)

    def catalogue(self, project: str | None = None) -> Catalogue:
        """The research tables, columns and public key values ``project`` may query."""
        name = self._project(project)
        body = self._json("GET", f"/projects/{_quote(name)}/catalogue")
        rows, tables = [], {}
        for table in body["tables"]:
            tables[table["name"]] = table["description"]
            approved = set(table["approved_columns"])
            for c in table["columns"]:
                bounds = c.get("bounds") or (None, None)
                rows.append(
                    {
                        "table": table["name"],
                        "column": c["name"],
                        "kind": c["kind"],
                        "approved": "*" in approved or c["name"] in approved,
                        "keys": c.get("keys"),
                        "lower": bounds[0],
                        "upper": bounds[1],
                    }
                )
        columns = frame(rows, ("table", "column", "kind", "approved", "keys", "lower", "upper"))
        return Catalogue(
            project=body["project"],
            policy_version=body["policy_version"],
            tables=tables,
            columns=columns,
            data_label=body["data"],
        )

    def budget(self, project: str | None = None, delta: float = DEFAULT_DELTA) -> pd.DataFrame:
        """Privacy budget per level (dataset, project, you in the project): the cap, spent,
        reserved and remaining as zCDP ρ, and spent and cap as ε of (ε, δ)-DP at ``delta``."""
        name = self._project(project)
        body = self._json("GET", f"/projects/{_quote(name)}/budget", params={"delta": delta})
        out = frame(body["levels"], BUDGET_COLUMNS)
        out["delta"] = float(body["delta"])
        return out

    # --- queries ----------------------------------------------------------------------------

    def preview(self, spec: SpecLike, project: str | None = None) -> Preview:
        """What a spec would give, free and without values: in dp mode its accuracy and cost,
        in sdc mode which cells would be suppressed."""
        name = self._project(project)
        wire = _spec_json(spec)
        body = self._json("POST", f"/projects/{_quote(name)}/preview", json=wire)
        return preview_result(wire, body, body["data"])

    def plan(
        self,
        spec: SpecLike,
        *,
        persons: int,
        half_width: float,
        measure: str | None = None,
        project: str | None = None,
    ) -> Plan:
        """Price a dp question before spending: the ρ at which ``measure`` (every measure,
        without one) has a 95 % half-width of ``half_width`` in cells of ``persons``, and how
        many such questions your remaining budget holds. Free, and the same whatever the data."""
        name = self._project(project)
        payload = {
            "spec": _spec_json(spec),
            "persons": persons,
            "half_width": half_width,
            "measure": measure,
        }
        body = self._json("POST", f"/projects/{_quote(name)}/plan", json=payload)
        widths = {k: math.nan if v is None else float(v) for k, v in body["half_widths"].items()}
        return Plan(
            rho=float(body["rho"]),
            persons=int(body["persons"]),
            half_width=float(body["half_width"]),
            measure=body["measure"],
            half_widths=widths,
            remaining_rho=body["remaining_rho"],
            questions=body["questions"],
            data_label=body["data"],
        )

    def submit(
        self, spec: SpecLike, project: str | None = None, justification: str | None = None
    ) -> Result:
        """Release a spec. A dp spec is charged to the budget. The result is ``released``
        (with its ``table``) or ``held`` for the data protection officer's review (with its
        ``request_id``): a spec that fails a reviewable check is held, and so is every spec
        sent with a ``justification`` (a request for an exception)."""
        name = self._project(project)
        payload = {"spec": _spec_json(spec), "justification": justification}
        body = self._json("POST", f"/projects/{_quote(name)}/releases", json=payload)
        if body["status"] == "released":
            return release_result(body["release"], body["data"])
        return held_result(body["request"], body["data"])

    # --- releases and requests --------------------------------------------------------------

    def releases(self) -> pd.DataFrame:
        """Your release log, newest first: what was released or refused, when, at what cost;
        never a value (``release(id)`` fetches a table)."""
        entries: list[dict[str, Any]] = []
        while True:
            body = self._json("GET", "/releases", params={"offset": len(entries), "limit": _PAGE})
            entries.extend(body["entries"])
            if not body["entries"] or len(entries) >= body["total"]:
                break
        return frame(entries, LOG_COLUMNS, times=("at",))

    def release(self, release_id: str) -> Result:
        """One of your releases."""
        body = self._json("GET", f"/releases/{_quote(release_id)}")
        return release_result(body, body["data"])

    @overload
    def download(self, release_id: str, format: Format = "csv", path: None = None) -> bytes: ...

    @overload
    def download(self, release_id: str, format: Format = "csv", *, path: str | Path) -> Path: ...

    @overload
    def download(self, release_id: str, format: Format, path: str | Path) -> Path: ...

    def download(
        self, release_id: str, format: Format = "csv", path: str | Path | None = None
    ) -> bytes | Path:
        """One of your releases as a file: CSV, JSON or Parquet, one row per cell. Without
        ``path``, the bytes; with one, the file written (into a folder: ``<id>.<format>``)."""
        if format not in FORMATS:
            raise ValueError(f"format is one of {', '.join(FORMATS)}, not {format!r}")
        response = self._send(
            "GET", f"/releases/{_quote(release_id)}/download", params={"format": format}
        )
        if path is None:
            return response.content
        target = Path(path)
        if target.is_dir():
            target = target / f"{release_id}.{format}"
        target.write_bytes(response.content)
        return target

    def requests(self) -> pd.DataFrame:
        """Your held and reviewed requests: ``status`` is held, approved, released, rejected or
        refused; ``checks`` the checks each failed; a released one names its ``release_id``."""
        body = self._json("GET", "/requests")
        rows = [
            {**r, "checks": [f"{c['check']}: {c['reason']}" for c in r["checks"]]}
            for r in body["requests"]
        ]
        return frame(rows, REQUEST_COLUMNS, times=("at",))

    # --- HTTP -------------------------------------------------------------------------------

    def _project(self, project: str | None) -> str:
        if project is not None:
            return project
        if self.project is not None:
            return self.project
        if self._only_project is None:
            ids = [p["id"] for p in self._json("GET", "/projects")["projects"]]
            if len(ids) != 1:
                listed = ", ".join(ids) if ids else "none"
                raise ValueError(
                    f"name the project (Client(..., project=...) or project=...); yours: {listed}"
                )
            self._only_project = ids[0]
        return self._only_project

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise ValueError(f"{method} {path}: the service did not answer JSON") from None
        return cast(dict[str, Any], body)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {} if self._own else self._auth
        response = self._http.request(method, f"{self.url}/v1{path}", headers=headers, **kwargs)
        self._note_label(response)
        if response.status_code >= 500 and self._own:
            # a server that failed may close the connection after its answer: the next request
            # goes on a new one rather than fail on the old (httpx.ReadError)
            self._http.close()
            self._http = self._connect()
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def _note_label(self, response: httpx.Response) -> None:
        label = response.headers.get("X-Medler-Data")
        if label is None and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            try:
                body = response.json()
            except ValueError:
                body = None
            label = body.get("data") if isinstance(body, dict) else None
        if label not in ("real", "dummy"):
            return
        self._label = cast(DataLabel, label)
        if label == "dummy" and not self._warned:
            self._warned = True
            warnings.warn(
                "results are from dummy data: a synthetic snapshot for writing and testing "
                "queries; they say nothing about real pupils",
                DummyDataWarning,
                stacklevel=_outside_caller(),
            )


def _quote(part: str) -> str:
    """One path segment, escaped: an id never changes the route."""
    return quote(part, safe="")
