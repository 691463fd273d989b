"""Dummy mode: the same API over a synthetic snapshot, so that researchers can write and test
their queries before they touch real data. Every answer is labelled ``dummy``.

``prepare_dummy(folder)`` generates a small synthetic municipality, ingests it with a key kept
beside the data (the synthetic identity numbers are not real people's), builds the research
tables (``linkage.prepare_municipality``), and registers a project ``dummy`` approved for every
research table, with a researcher (``dummy-researcher``) and a DPO (``dummy-dpo``) and a token
for each. The people of the office are registered through the same two-person rules as anywhere."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from linkage import prepare_municipality
from linkage.sources.synthetic import SynthConfig
from release import load_policies
from release.governance import (
    DATASET,
    Governance,
    anchor_path,
    connect_control_plane,
    default_url,
    raise_cap,
    set_up_office,
)

PROJECT, RESEARCHER, DPO = "dummy", "dummy-researcher", "dummy-dpo"
DUMMY_RHO = 1000.0  # synthetic pupils: the budget only shows how spending works


@dataclass(frozen=True)
class DummySetup:
    data_dir: Path
    researcher_token: str
    dpo_token: str


def prepare_dummy(
    folder: Path, *, students: int = 400, weeks: int = 3, seed: int = 11
) -> DummySetup:
    """A synthetic snapshot and control plane in ``folder/data`` (made afresh)."""
    if folder.exists():
        shutil.rmtree(folder)
    source, data = folder / "source", folder / "data"
    prepare_municipality(
        SynthConfig(students=students, seed=seed, weeks=weeks),
        source,
        data,
        key_file=source / "dummy-key.json",
    )
    shutil.rmtree(source)  # the raw synthetic extract and its key are not needed any more

    control = connect_control_plane(default_url(data))
    # the control plane was made afresh on purpose: its old anchors describe a log that is gone
    anchor_path(control).unlink(missing_ok=True)
    gov = Governance(control)
    office = set_up_office(gov, "dummy", "medler")
    raise_cap(gov, office, DATASET.key, DUMMY_RHO)
    today = dt.datetime.now(dt.UTC).date()
    tables = {name: ["*"] for name, t in load_policies().catalogue.tables.items() if t.releasable}
    gov.create_project(
        office.registrar,
        PROJECT,
        purpose="Query development on synthetic data",
        legal_basis="None needed: synthetic data",
        organisation="medler",
        valid_from=today,
        valid_to=today + dt.timedelta(days=366),
        tables=tables,
    )
    gov.approve_project(office.approver, PROJECT, rho=DUMMY_RHO)
    gov.add_person(
        office.registrar,
        RESEARCHER,
        role="researcher",
        name="Dummy Researcher",
        organisation="medler",
    )
    gov.add_member(office.registrar, PROJECT, RESEARCHER, rho=DUMMY_RHO)
    researcher = gov.issue_token(office.registrar, RESEARCHER, days=366).token
    dpo = gov.issue_token(office.admin, office.dpo.id, days=366).token
    return DummySetup(data, researcher, dpo)
