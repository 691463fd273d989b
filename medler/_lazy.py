"""Packages whose public names load on first use (PEP 562).

A package that re-exports names from heavy modules (ibis, DuckDB, OpenDP, Polars) would load
them all on ``import``; the command line would then start in seconds even for commands that
need none of them. Such a package maps each public name to the submodule that defines it and
sets ``__getattr__ = lazy_exports(__name__, homes)``: a name's module is imported when the name
is first read, and the value is kept in the package, so the lookup happens once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps each public name to the
    submodule (relative, e.g. ``"_build"``) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
