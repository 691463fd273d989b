"""The marks of a test that builds on Apache Spark (local mode): slow, skipped with the reason
where PySpark or Java is missing (``scripts/test.sh`` installs both), and quiet about py4j's
gateway sockets, which stay open for the life of the process and which pytest reports as
unraisable when they are collected."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., object])

MARKS = (
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
        reason="Spark needs the spark extra and a Java runtime (scripts/test.sh installs both)",
    ),
)


def on_spark(test: F) -> F:
    """``test`` with every mark of ``MARKS``."""
    for mark in MARKS:
        test = mark(test)
    return test
