"""The interfaces: the ``medler`` command line (``api.cli``), and later the HTTP service, the
DPO's web pages and the researcher client. api never imports polars and never touches rows."""

__all__: list[str] = []
