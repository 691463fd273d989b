"""Write the HTTP API's route list (docs/reference/http-api.md) from the OpenAPI document.

    python scripts/api_reference.py > docs/reference/http-api.md

Every route of docs/reference/openapi.json (the committed OpenAPI document, which a test keeps
equal to the service's), with its method, path and summary, and the role that may call it. The
role is read from the service itself: the role check among the route's dependencies
(``api/service/_deps.py``). A test (``tests/docs/test_docs.py``) fails when the committed page
differs from what this script writes.
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from fastapi.dependencies.models import Dependant  # noqa: E402  (after the path is set)
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts  # noqa: E402

from api.service._app import create_app, make_services  # noqa: E402
from api.service._deps import current_principal  # noqa: E402
from api.service._settings import Settings  # noqa: E402

OPENAPI = REPO / "docs" / "reference" / "openapi.json"
REFRESH = "python scripts/api_reference.py > docs/reference/http-api.md"
METHODS = ("get", "post", "put", "patch", "delete")
ROLE_NAMES = {
    "researcher": "researcher",
    "dpo": "DPO",
    "statistician": "statistician",
    "admin": "admin",
}
# the OpenAPI tags, in the order the page shows them, with their headings
TAGS = {
    "researcher": "Researchers",
    "dpo": "The data protection officer",
    "office": "The statistics office",
    "service": "The service",
}

HEADER = f"""\
# HTTP API: every route

The routes of medler's HTTP service, from its OpenAPI document
([openapi.json](openapi.json), also served at `/v1/openapi.json`, and browsable at `/v1/docs`
on a running service), with the role that may call each. This page is generated; do not edit
it by hand. This writes it again, and a test fails when it is out of date:

```bash
{REFRESH}
```

Every route but `/v1/health` needs `Authorization: Bearer <token>`, a token the statistics
office issues (`medler token issue`); a token of another role gets 403. Behind a route, the
rules of [governance](../explanation/governance.md) still hold: only an administrator
registers people of other roles than researcher, and nobody approves a project they
registered. Request and answer bodies, errors and examples: the OpenAPI document. Researchers
call these routes through the Python client ([first-release.md](../tutorials/first-release.md)).
The data protection officer's web pages under `/dpo` are HTML, outside this API:
[the DPO's tutorial](../tutorials/dpo.md).
"""


def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def _role(route: RouteContext) -> str:
    """Who may call ``route``: the roles its role check lets through, anyone with a valid
    token, or anyone."""
    calls = list(_dependencies(route.dependant))
    for call in calls:
        roles = inspect.getclosurevars(call).nonlocals.get("roles")
        if roles:
            return " or ".join(ROLE_NAMES.get(r, r) for r in roles)
    if current_principal in calls:
        return "any signed-in person"
    return "anyone (no token)"


def roles() -> dict[tuple[str, str], str]:
    """(method, path) → who may call it, from a service over a throwaway data directory."""
    with tempfile.TemporaryDirectory(prefix="medler-api-reference-") as folder:
        services = make_services(Settings(data_dir=Path(folder), control_url=None))
        app = create_app(services=services)
        found = {
            (method.lower(), str(route.path_format)): _role(route)
            for route in iter_route_contexts(app.routes)
            if isinstance(route.original_route, APIRoute) and route.include_in_schema
            for method in route.methods or ()
        }
        services.governance.engine.dispose()
    return found


def render(document: dict[str, Any] | None = None) -> str:
    """The whole page, for ``document`` (default: docs/reference/openapi.json)."""
    document = document or json.loads(OPENAPI.read_text(encoding="utf-8"))
    who = roles()
    tags = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    rows: dict[str, list[tuple[str, str, str, str]]] = {}
    for path, operations in sorted(document["paths"].items()):
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            role = who.get((method, path))
            if role is None:
                raise SystemExit(
                    f"{method.upper()} {path} is in {OPENAPI.name} but not in the "
                    "service: refresh the OpenAPI document first"
                )
            tag = (operation.get("tags") or ["other"])[0]
            rows.setdefault(tag, []).append(
                (method.upper(), path, operation.get("summary", ""), role)
            )
    out = [HEADER]
    order = list(TAGS)
    for tag in sorted(rows, key=lambda t: (order.index(t) if t in order else len(order), t)):
        out.append(f"## {TAGS.get(tag, tag)}\n")
        if tags.get(tag):
            out.append(f"{tags[tag]}\n")
        out.append("| method | path | what it does | role |")
        out.append("|---|---|---|---|")
        for method, path, summary, role in rows[tag]:
            text = summary.replace("|", "\\|")
            out.append(f"| {method} | `{path}` | {text} | {role} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
