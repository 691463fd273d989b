"""Source adapters, one per format (SS 12000 v2.1 JSON, OneRoster CSV, register files) and
the synthetic municipality (``synthetic``), which plays the part of a school system."""

__all__: list[str] = []
