"""The packages' public names load on first use (``medler._lazy``): importing ``linkage``,
``linkage.research``, ``release`` or the command line loads none of the heavy libraries, and
every public name still resolves. (A build that runs its compiled plan loads no Ibis either:
``tests/unit/linkage/test_plans.py``.)"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

from medler._lazy import lazy_exports

HEAVY = ("ibis", "duckdb", "opendp", "polars", "pyspark", "sqlalchemy", "alembic", "pyarrow")


def test_importing_the_packages_loads_no_heavy_library() -> None:
    code = textwrap.dedent(f"""
        import sys
        import linkage, linkage.research, release, release.governance, api.cli
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "package", ["linkage", "linkage.research", "release", "release.governance"]
)
def test_every_public_name_resolves_to_its_home_module(package: str) -> None:
    module = importlib.import_module(package)
    homes = module._HOME
    assert sorted(homes) == sorted(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        home = importlib.import_module(f"{package}.{homes[name]}")
        assert value is getattr(home, name)
        assert vars(module)[name] is value  # kept: the next read is a plain lookup
    with pytest.raises(AttributeError, match=rf"module {package!r} has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_a_name_whose_home_lacks_it_fails_loudly() -> None:
    lookup = lazy_exports("medler", {"missing": "errors"})
    with pytest.raises(AttributeError, match="missing"):
        lookup("missing")
    with pytest.raises(AttributeError, match="module 'medler' has no attribute 'other'"):
        lookup("other")
