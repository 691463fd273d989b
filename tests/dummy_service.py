"""The dummy service (``medler serve --dummy``'s snapshot and tokens), served on a free local
port for the tests of what researchers run against it: the R client, the tutorial notebook and
the Stata example. One per test session: import the ``dummy_service`` fixture into the test
module. Those tests ask the dummy project's tables under the regimes of the researcher's
tutorial (``student_terms``, ``exposure`` and ``student_profiles`` under dp,
``student_months`` under sdc), so that they can share it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from api.service import Settings, create_app
from api.service._dummy import prepare_dummy
from tests.api.test_client import serving


@dataclass(frozen=True)
class DummyService:
    url: str
    researcher_token: str
    dpo_token: str


@pytest.fixture(scope="session")
def dummy_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DummyService]:
    setup = prepare_dummy(tmp_path_factory.mktemp("dummy-service") / "dummy", students=300, weeks=2)
    app = create_app(Settings(data_dir=setup.data_dir, mode="dummy", secure_cookies=False))
    with serving(app) as url:
        yield DummyService(url, setup.researcher_token, setup.dpo_token)
