"""The HTTP service (``medler serve``): FastAPI under ``/v1``.

Modules
- ``_app``: ``create_app``: the application, its middleware (request-size limit, data label).
- ``_settings``: ``Settings`` from ``MEDLER_*`` environment variables (pydantic-settings).
- ``_deps``: the service's parts, bearer-token authentication, role dependencies, rate limits.
- ``_errors``: exceptions to HTTP status codes, in one place.
- ``_schemas``: the wire schemas, one per purpose, each with a description and examples.
- ``_convert``: release-layer objects to wire schemas.
- ``_researchers``: the researcher's routes; ``_overseers``: the DPO's and the office's.
- ``_dummy``: a synthetic snapshot to serve in dummy mode.
- ``_register``: the public register, without login: a page (``/register``) and its JSON feed
  (``/v1/register``).
- ``_pages``: the DPO's web pages (Jinja2 templates in ``templates/``, no JavaScript).
- ``_openapi``: the OpenAPI document, made without data (the committed snapshot's source).

api never imports polars and never touches rows: everything goes through ``release``.
"""

from api.service._app import create_app, make_services
from api.service._settings import Settings

__all__ = ["Settings", "create_app", "make_services"]
