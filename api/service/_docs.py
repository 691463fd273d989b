"""The API's interactive documentation at ``/v1/docs``: Swagger UI, served from this service's
own files so that it works with no internet, under a content policy that allows this service
only (no inline script, no other origin).

Swagger UI's files (Apache-2.0) come from the ``fastapi-offline`` package (MIT), pinned in the
project's dependencies; they are served at ``/v1/docs/assets``. The page and the few lines
that start Swagger UI (``/v1/docs/start.js``) are this module's own.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS = "/v1/docs"
ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
# Swagger UI's stylesheet draws its icons from data: URLs; nothing else is allowed
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
START = """\
// Starts Swagger UI on the element #swagger-ui, with the schema its data-openapi names.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""
PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css">
<link rel="icon" href="{docs}/assets/favicon.png">
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script src="{docs}/start.js"></script>
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve the docs page, its start script and Swagger UI's files on ``app``."""
    page = PAGE.format(
        title=escape(f"{app.title} - Swagger UI"), docs=DOCS, openapi=escape(app.openapi_url or "")
    )

    @app.get(DOCS, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP})

    @app.get(f"{DOCS}/start.js", include_in_schema=False)
    def start() -> Response:
        return Response(START, media_type="text/javascript")

    app.mount(f"{DOCS}/assets", StaticFiles(directory=ASSETS), name="docs-assets")
