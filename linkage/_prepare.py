"""``prepare_municipality``: the whole path from nothing to research tables, on synthetic data.

The recipe, written once: generate a synthetic municipality (``sources.synthetic``), make a
key (or reuse the one already there), ingest its SS 12000 extract, ingest its teacher and
student registers, build the research tables. ``medler demo``, the dummy service and the tests'
research snapshot all call it; each says what it wants shown as it goes through ``PrepareHooks``.

Rules. The extract (raw identity numbers) and the key are written under ``source``, never
inside the data directory: a key is refused there (``create_key_file``), and the extract is the
stand-in for a school system, which is never the data directory either. An existing key file is
reused, so a second run pseudonymises the same people to the same pseudonyms; a new one is
created only where there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from linkage._build import BuildReport, build_research_tables
from linkage._ingest import IngestReport, ingest_extract
from linkage._registers import ingest_register
from linkage.sources.registers import REGISTER_KINDS
from linkage.sources.synthetic import SynthConfig, SynthSummary, generate_municipality
from medler.errors import UsageError
from pseudonymise import KeyRef, create_key_file

__all__ = ["PrepareHooks", "PrepareStep", "PreparedMunicipality", "prepare_municipality"]

# The register files a synthetic municipality writes, by register kind.
REGISTER_FILES = {"teachers": "teacher_register.csv", "students": "student_register.csv"}


class PrepareStep(StrEnum):
    """The recipe's steps, in order."""

    SYNTH = "synth"
    KEY = "key"
    INGEST = "ingest"
    REGISTERS = "registers"
    BUILD = "build"


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class PrepareHooks:
    """What the caller is told as the recipe runs; by default, nothing.

    ``before(step)`` is called as a step starts, ``after(step, result)`` when it is done, with
    its result: the ``SynthSummary``, the ``KeyRef`` of a new key (None when an existing
    key file is reused), the extract's ``IngestReport``,
    the registers' ``IngestReport``s (a list), the ``BuildReport``. ``synth_progress(done,
    total)`` and ``ingest_progress(resource, records)`` report progress within the two long
    steps."""

    before: Callable[[PrepareStep], None] = _nothing
    after: Callable[[PrepareStep, Any], None] = _nothing
    synth_progress: Callable[[int, int], None] | None = None
    ingest_progress: Callable[[str, int], None] | None = None


@dataclass(frozen=True)
class PreparedMunicipality:
    """What ``prepare_municipality`` made: the extract, the key file (and the reference of
    the key made now, if one was), the data directory, and each step's report."""

    extract: SynthSummary
    key_file: Path
    new_key: KeyRef | None  # the key made now; None when the key file was there already
    data_dir: Path
    ingest: IngestReport
    registers: list[IngestReport]
    build: BuildReport


def prepare_municipality(
    config: SynthConfig,
    source: Path,
    data_dir: Path,
    *,
    key_file: Path | None = None,
    overwrite: bool = False,
    hooks: PrepareHooks | None = None,
) -> PreparedMunicipality:
    """The synthetic municipality of ``config`` written to ``source/extract``, pseudonymised
    under ``key_file`` (default ``source/key.json``; reused if it exists, else created), its
    extract and both registers ingested into ``data_dir``, and the research tables built there
    on the default compute backend. ``overwrite`` lets the extract replace an earlier one."""
    hooks = hooks or PrepareHooks()
    key_file = key_file or source / "key.json"
    if source.resolve().is_relative_to(data_dir.resolve()):
        raise UsageError(
            f"the synthetic extract's folder {source} is inside the data directory {data_dir}; "
            "the extract holds raw identity numbers and is kept outside it"
        )

    hooks.before(PrepareStep.SYNTH)
    extract = generate_municipality(
        config, source / "extract", overwrite=overwrite, progress=hooks.synth_progress
    )
    hooks.after(PrepareStep.SYNTH, extract)

    hooks.before(PrepareStep.KEY)
    new_key = None
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        new_key = create_key_file(key_file, data_dir=data_dir).ref
    hooks.after(PrepareStep.KEY, new_key)

    hooks.before(PrepareStep.INGEST)
    ingested = ingest_extract(
        extract.out / "ss12000", data_dir, key_file=key_file, progress=hooks.ingest_progress
    )
    hooks.after(PrepareStep.INGEST, ingested)

    hooks.before(PrepareStep.REGISTERS)
    registers = [
        ingest_register(
            kind, extract.out / "registers" / REGISTER_FILES[kind], data_dir, key_file=key_file
        )
        for kind in REGISTER_KINDS
    ]
    hooks.after(PrepareStep.REGISTERS, registers)

    hooks.before(PrepareStep.BUILD)
    built = build_research_tables(data_dir)
    hooks.after(PrepareStep.BUILD, built)
    return PreparedMunicipality(extract, key_file, new_key, data_dir, ingested, registers, built)
