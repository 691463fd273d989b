"""The release policies: ``policies/catalogue.toml`` (what every research column is) and
``policies/release.toml`` (thresholds and budgets), loaded and validated once at start-up.

Unknown keys anywhere are refused, so a misspelt threshold can never silently fall back to a
default. Every release records both files' versions and a digest of their content.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medler.errors import InputFileError, MedlerUserError

POLICY_DIR_ENV = "MEDLER_POLICY_DIR"

ColumnKind = Literal["identifier", "public_key", "category", "flag", "measure"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeySource(_Strict):
    """Where a public key's values come from: a public register in the canonical snapshot,
    a fixed range or list, or the calendar of the snapshot's lessons."""

    source: Literal["canonical", "range", "list", "calendar"]
    table: str | None = None
    column: str | None = None
    first: int | None = None
    last: int | None = None
    values: list[str] | None = None
    unit: Literal["term", "month"] | None = None

    @model_validator(mode="after")
    def _complete(self) -> KeySource:
        needed = {
            "canonical": ("table", "column"),
            "range": ("first", "last"),
            "list": ("values",),
            "calendar": ("unit",),
        }[self.source]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.source} key source needs {', '.join(missing)}")
        return self


class Column(_Strict):
    """One research column. ``bands``: for a measure, the edges of its published bands; in
    ``sdc`` mode a measure is filtered only between two of them, so that no threshold can be
    moved one unit at a time. ``describes``: ``teachers`` for a measure of a pupil table whose
    value is an attribute of the pupil's teachers (a cell showing it passes the teacher rules
    on teacher minutes too)."""

    kind: ColumnKind
    keys: str | None = None
    bounds: tuple[float, float] | None = None
    bands: tuple[float, ...] | None = None
    describes: Literal["pupils", "teachers"] = "pupils"

    @model_validator(mode="after")
    def _complete(self) -> Column:
        if self.kind == "public_key" and self.keys is None:
            raise ValueError("a public key needs `keys` (where its values come from)")
        if self.kind == "measure":
            if self.bounds is None:
                raise ValueError("a measure needs `bounds`")
            if not self.bounds[0] <= 0 <= self.bounds[1] or self.bounds[0] == self.bounds[1]:
                raise ValueError("a measure's bounds must be increasing and include 0")
        if self.bands is not None:
            if self.kind != "measure":
                raise ValueError("only a measure has bands")
            assert self.bounds is not None
            edges = list(self.bands)
            ends = (edges[0], edges[-1]) if edges else None
            if edges != sorted(set(edges)) or ends != tuple(self.bounds):
                raise ValueError("bands must increase from the lower bound to the upper bound")
        return self


class TeacherSource(_Strict):
    """Where the distinct teachers behind a cell are found, for a table of pupils whose
    figures describe their teachers: ``table``, joined on ``on``, counting ``column``."""

    table: str
    on: list[str]
    column: str


class Table(_Strict):
    description: str
    unit: str
    teacher: str | None = None
    max_rows_per_unit: int = Field(gt=0)
    max_keys_per_unit: dict[str, int] = Field(default_factory=dict)
    teachers_from: TeacherSource | None = None
    releasable: bool = True
    columns: dict[str, Column]

    @model_validator(mode="after")
    def _unit_is_an_identifier(self) -> Table:
        for name in filter(None, (self.unit, self.teacher)):
            column = self.columns.get(name)
            if column is None or column.kind != "identifier":
                raise ValueError(f"{name} must be a column of kind identifier")
        return self


class Catalogue(_Strict):
    version: str
    keys: dict[str, KeySource]
    tables: dict[str, Table]

    @model_validator(mode="after")
    def _keys_exist(self) -> Catalogue:
        for table_name, table in self.tables.items():
            for name, column in table.columns.items():
                if column.keys is not None and column.keys not in self.keys:
                    raise ValueError(f"{table_name}.{name}: unknown key source {column.keys!r}")
        return self


class SdcPolicy(_Strict):
    min_students: int = Field(ge=1)
    min_teachers: int = Field(ge=1)
    dominance_n: int = Field(ge=1)
    dominance_k: float = Field(gt=0, le=1)
    p_percent: float = Field(gt=0, le=1)
    zeros: Literal["release", "suppress"]
    rounding_base: int = Field(ge=0)
    min_population: int = Field(ge=1)
    teacher_dominance_n: int = Field(ge=1, le=2)
    teacher_dominance_k: float = Field(gt=0, le=1)
    sum_protection: float = Field(gt=0, le=1)
    quantile_min_side: int = Field(ge=1)
    previews_per_day: int = Field(ge=0)


class DpPolicy(_Strict):
    alpha: float = Field(gt=0, lt=1)
    max_persons: int = Field(gt=0)
    max_rho_per_query: float = Field(gt=0)
    delta_for_private_keys: float = Field(gt=0, lt=1)


class CkmPolicy(_Strict):
    """The cell-key method: the tables a project may receive under it, and its published
    perturbation table for counts (``release._ptable``: noise in ``-max_noise .. max_noise``
    of variance about ``variance``; no count published in ``1 .. small``)."""

    tables: tuple[str, ...] = ()
    max_noise: int = Field(default=3, ge=1, le=20)
    variance: float = Field(default=2.0, gt=0)
    small: int = Field(default=2, ge=0)
    ptable: str = "counts-v1"

    @model_validator(mode="after")
    def _noise_covers_small(self) -> CkmPolicy:
        if self.max_noise <= self.small:
            raise ValueError("max_noise must exceed small, so that a count of 1 can become 0")
        return self


class ModelPolicy(_Strict):
    """Models (a spec's ``model``, ``release._models``): the least residual degrees of
    freedom an sdc model leaves, the most parameters any model has, and the noisy Newton
    steps a dp logistic model takes (each spending an equal share of its ρ)."""

    min_residual_df: int = Field(default=10, ge=1)
    max_parameters: int = Field(default=30, ge=2)
    dp_newton_steps: int = Field(default=4, ge=1, le=20)


ReviewableCheck = Literal["approval", "rho_per_query", "teachers", "linked"]


class ReviewPolicy(_Strict):
    """Which failed automatic checks hold a request for the data protection officer instead of
    refusing it (``release._errors.REVIEWABLE_CHECKS`` says what each one is)."""

    reviewable: tuple[ReviewableCheck, ...] = ()


class ReleasePolicy(_Strict):
    version: str
    sdc: SdcPolicy
    dp: DpPolicy
    review: ReviewPolicy
    ckm: CkmPolicy = Field(default_factory=CkmPolicy)
    models: ModelPolicy = Field(default_factory=ModelPolicy)


def approvable_tables(catalogue: Catalogue, tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """A project's approved tables and columns (``["*"]``: every column), checked against the
    catalogue: releasable tables, known columns, never an identifier."""
    if not tables:
        raise MedlerUserError("a project needs at least one approved research table")
    out: dict[str, list[str]] = {}
    for name, columns in tables.items():
        table = catalogue.tables.get(name)
        if table is None or not table.releasable:
            known = ", ".join(sorted(n for n, t in catalogue.tables.items() if t.releasable))
            raise MedlerUserError(f"there is no releasable research table {name!r} ({known})")
        wanted = list(dict.fromkeys(columns)) or ["*"]
        for column in wanted:
            if column == "*":
                continue
            if column not in table.columns:
                raise MedlerUserError(f"{name} has no column {column!r}")
            if table.columns[column].kind == "identifier":
                raise MedlerUserError(f"{name}.{column} identifies a person")
        out[name] = wanted
    return out


class Policies:
    """Both policy files, validated, with the version string every release records."""

    def __init__(self, catalogue: Catalogue, release: ReleasePolicy, digest: str) -> None:
        self.catalogue = catalogue
        self.release = release
        self.digest = digest

    @cached_property
    def version(self) -> str:
        return (
            f"catalogue {self.catalogue.version}, release {self.release.version}, "
            f"sha256 {self.digest[:12]}"
        )


def default_policy_dir() -> Path:
    """``$MEDLER_POLICY_DIR``, else ``./policies``, else the project's own ``policies/``."""
    if os.environ.get(POLICY_DIR_ENV):
        return Path(os.environ[POLICY_DIR_ENV])
    here = Path.cwd() / "policies"
    if (here / "catalogue.toml").exists():
        return here
    return Path(__file__).resolve().parents[1] / "policies"


def load_policies(folder: Path | None = None) -> Policies:
    folder = folder or default_policy_dir()
    digest = hashlib.sha256()
    parsed = {}
    for name, model in (("catalogue.toml", Catalogue), ("release.toml", ReleasePolicy)):
        path = folder / name
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise InputFileError(
                f"{path}: cannot read the policy file ({error.strerror or error}); "
                f"set {POLICY_DIR_ENV} to the folder that holds catalogue.toml and release.toml"
            ) from error
        digest.update(raw)
        try:
            parsed[name] = model.model_validate(tomllib.loads(raw.decode("utf-8")))
        except tomllib.TOMLDecodeError as error:
            raise InputFileError(f"{path}: not valid TOML ({error})") from error
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputFileError(f"{path}: {where}: {first['msg']}") from error
    catalogue, release = parsed["catalogue.toml"], parsed["release.toml"]
    assert isinstance(catalogue, Catalogue) and isinstance(release, ReleasePolicy)
    return Policies(catalogue, release, digest.hexdigest())
