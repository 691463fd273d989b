"""The Pseudonymiser: columns in, 64-bit pseudonyms out, each distinct value hashed once.

A pseudonym is a signed 64-bit integer (Polars ``Int64``): the first 64 bits of
HMAC-SHA256(key, domain ‖ 0x1F ‖ scope ‖ 0x1F ‖ value), big-endian, with the top bit cleared,
so it is never negative, except in the local person domains (``student-local``,
``teacher-local``), where the top bit is set, so it is always negative. 63 bits remain
in either case. Why 64 bits, and what happens on a collision: docs/explanation/pseudonyms.md.

Inputs are normalised before hashing:

- person domains (``student``, ``teacher``): a national ID, checked and brought to its
  canonical form by ``national_ids`` (every written form of one ID gives one pseudonym); the
  scope is its country. An ID that cannot be linked is never hashed here:
  ``pseudonymise`` refuses the column, and ``pseudonymise_people`` applies the ID policy
  (local pseudonym or quarantine).
- every other domain: surrounding whitespace removed, blank means missing, and a UUID is
  written in its one canonical form (lower case, hyphenated, without braces).

Missing values (null, blank) stay missing: they get no pseudonym.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import polars as pl

from medler.errors import UsageError
from pseudonymise._collisions import CollisionGuard, distinct_pairs
from pseudonymise._domains import Domain
from pseudonymise._errors import ScopeError, UnlinkableIdError
from pseudonymise._keys import KeyFile, KeyRef, load_key_file
from pseudonymise._workers import (
    PARALLEL_MIN_VALUES,
    SEPARATOR,
    HashingWorkers,
    kept_words,
    message_prefix,
)
from pseudonymise.national_ids import (
    REASON_DTYPE,
    IdPolicy,
    IdReason,
    IdStatus,
    Unlinkable,
)
from pseudonymise.national_ids._normalise import normalise_distinct_person_ids

PSEUDONYM_SCHEME = "hmac-sha256/63-bit/v1"
STATUS_DTYPE = pl.Enum([status.value for status in IdStatus])
_SIGN_BIT = np.uint64(1 << 63)
_LOW_BITS = np.uint64((1 << 63) - 1)
_UUID = r"^\{?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}\}?$"
_CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_MAX_SCOPE_CHARS = 200


def _as_strings(values: pl.Series) -> pl.Series:
    if values.dtype == pl.String:
        return values
    if values.dtype.is_integer() or values.dtype == pl.Null:
        return values.cast(pl.String)
    raise TypeError(f"identifiers must be a String or integer column, not {values.dtype}")


def normalise_object_ids(values: pl.Series) -> pl.Series:
    """Trimmed strings, null for blank, UUIDs in canonical form (``8-4-4-4-12``, lower case)."""
    # one query for the three steps every value takes (a query costs a fixed ~0.2 ms, which a
    # page's few hundred ids would otherwise pay three times): trimmed, blank as null, and
    # whether the value is a UUID in canonical form already (most feeds write them so)
    trimmed = pl.lit(_as_strings(values)).str.strip_chars()
    text_expr = pl.when(trimmed.str.len_bytes() > 0).then(trimmed)
    steps = pl.select(
        text_expr.alias("text"), text_expr.str.contains(_CANONICAL_UUID).alias("canonical")
    )
    text = steps["text"].alias(values.name)
    # Only UUIDs not already in canonical form are rewritten: the values not canonical are
    # found first, and only those are matched as UUIDs.
    others = (~steps["canonical"]).arg_true()
    if not len(others):
        return text
    rewrite = text.gather(others).str.contains(_UUID)
    if not rewrite.any():
        return text
    at = others.gather(rewrite.arg_true())
    hex_digits = text.gather(at).str.replace_all(r"[{}-]", "").str.to_lowercase()
    canonical = pl.select(
        pl.concat_str(
            hex_digits.str.slice(0, 8),
            hex_digits.str.slice(8, 4),
            hex_digits.str.slice(12, 4),
            hex_digits.str.slice(16, 4),
            hex_digits.str.slice(20, 12),
            separator="-",
        )
    ).to_series()
    return text.scatter(at, canonical)


def _check_scope(domain: Domain, scope: str | None) -> None:
    if domain.is_person:
        if scope is not None:
            raise ScopeError(
                f"domain '{domain.value}' takes no scope: national IDs are scoped by their "
                "country, which the ID policy sets"
            )
        return
    if scope is None:
        if domain.requires_scope:
            raise ScopeError(
                f"domain '{domain.value}' needs a scope: its identifiers are unique only "
                "inside one source, so name the source (for example its organisation id)"
            )
        return
    if (
        not isinstance(scope, str)
        or not scope.strip()
        or scope != scope.strip()
        or SEPARATOR in scope
        or len(scope) > _MAX_SCOPE_CHARS
    ):
        raise ScopeError(
            "a scope must be a non-empty name of at most 200 characters, without surrounding "
            "spaces or control character 0x1F"
        )


def _spread(
    column: pl.Series, distinct: pl.Series, all_distinct: bool, data: dict[str, np.ndarray]
) -> pl.DataFrame:
    """``data`` (one value per ``distinct`` value) laid out along ``column``.

    ``all_distinct``: ``distinct`` is ``column`` without its nulls, in order.
    """
    found = pl.DataFrame({name: pl.Series(name, values) for name, values in data.items()})
    if all_distinct and len(distinct) == len(column):
        return found
    if all_distinct:
        present = column.is_not_null().arg_true()
        return pl.DataFrame(
            {
                name: pl.Series(name, [None] * len(column), dtype=found.schema[name]).scatter(
                    present, found[name]
                )
                for name in data
            }
        )
    return (
        pl.DataFrame({"value": column})
        .join(
            found.insert_column(0, distinct.alias("value")),
            on="value",
            how="left",
            maintain_order="left",
        )
        .drop("value")
    )


def check_and_hash_ids(
    values: pl.Series,
    *,
    secret: bytes | None,
    prefix: bytes,
    policy: IdPolicy,
    as_of: dt.date,
) -> pl.DataFrame:
    """Check distinct national IDs and hash the linkable ones; run by a worker or in-process.

    One row per value: ``linkable``, ``reason``, and for linkable IDs the first two words of
    the HMAC of the canonical form (``first``, ``tag``; null otherwise). Canonical forms are
    hashed once each and never leave this function.
    """
    # The values are distinct; two written forms of one ID may still share a canonical form.
    checked = normalise_distinct_person_ids(values, policy=policy, as_of=as_of)
    canonical = pl.select(
        pl.when(checked["linkable"]).then(checked["canonical"]).alias("canonical")
    ).to_series()
    present = canonical.drop_nulls()
    all_distinct = present.n_unique() == len(present)
    distinct = present if all_distinct else present.unique()
    hashed = kept_words(distinct.cast(pl.Binary), prefix=prefix, secret=secret)
    spread = _spread(
        canonical, distinct, all_distinct, {"first": hashed[:, 0], "tag": hashed[:, 1]}
    )
    return pl.concat([checked.select("linkable", "reason"), spread], how="horizontal")


def _reason_summary(reasons: pl.Series) -> str:
    counts = reasons.value_counts(sort=True, name="n")
    return ", ".join(f"{row['n']} {row[reasons.name]}" for row in counts.iter_rows(named=True))


class Pseudonymiser:
    """Turns identifiers into pseudonyms under one key. Use one instance per ingestion run.

    Every call checks that no two distinct inputs of a domain share a pseudonym; for people
    (``student``, ``teacher`` and their local domains) the check spans every call made on this
    instance (see ``_collisions``). Large columns are hashed by worker processes, started on
    first need and stopped by ``close`` (or by leaving a ``with`` block).

    The key stays inside: ``repr`` shows the key id and version only, and the object refuses
    to be pickled.
    """

    def __init__(
        self,
        key: KeyFile,
        *,
        workers: int | None = None,
        parallel_min: int = PARALLEL_MIN_VALUES,
    ) -> None:
        self._key_ref = key.ref
        self._workers = HashingWorkers(key.secret, workers=workers)
        self._parallel_min = parallel_min
        self._guard = CollisionGuard()

    @classmethod
    def from_key_file(
        cls, path: Path | None = None, *, data_dir: Path | None = None, workers: int | None = None
    ) -> Self:
        """Load the key file (``--key-file``, ``MEDLER_KEY_FILE`` or the default path); one
        inside ``data_dir``, when given, is refused."""
        return cls(load_key_file(path, data_dir=data_dir), workers=workers)

    @property
    def workers(self) -> int:
        """Worker processes used for large columns (1: everything in this process)."""
        return self._workers.workers

    @property
    def key_ref(self) -> KeyRef:
        """The key id and version, which a snapshot records."""
        return self._key_ref

    def __repr__(self) -> str:
        return (
            f"Pseudonymiser(key_id={self._key_ref.key_id!r}, version={self._key_ref.version}, "
            f"workers={self._workers.workers})"
        )

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a Pseudonymiser holds key material and cannot be pickled")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop worker processes, if any were started. The instance stays usable."""
        self._workers.close()

    def start_workers(self) -> None:
        """Start the worker processes now rather than on the first large column.

        Starting them costs a fraction of a second (each loads Python and Polars); an
        ingestion can start them before it reads its files.
        """
        self._workers.start(wait=True)

    # -- the one place that hashes ---------------------------------------------------------

    def _record(self, domain: Domain, first: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Pseudonyms from the first HMAC words, after the collision check; int64."""
        if domain.is_local_person:
            pids = (first | _SIGN_BIT).view(np.int64)
        else:
            pids = (first & _LOW_BITS).view(np.int64)
        signed_tags = tags.view(np.int64)
        if domain.is_person or domain.is_local_person:
            self._guard.record(domain, pids, signed_tags)
        else:
            distinct_pairs(domain, pids, signed_tags)
        return pids

    def _hash(self, domain: Domain, scope: str | None, values: pl.Series) -> pl.Series:
        """Pseudonyms of normalised ``values`` (nulls for missing), aligned with them."""
        present = values.drop_nulls()
        all_distinct = present.n_unique() == len(present)
        distinct = present if all_distinct else present.unique()
        hashed = self._workers.kept_words(
            message_prefix(domain.value, scope),
            distinct.cast(pl.Binary),
            parallel_min=self._parallel_min,
        )
        pids = self._record(domain, hashed[:, 0], hashed[:, 1])
        return _spread(values, distinct, all_distinct, {domain.column: pids}).to_series()

    def _object_ids(self, domain: Domain, scope: str | None, values: pl.Series) -> pl.Series:
        """Pseudonyms of identifiers (not national IDs), aligned with ``values``. A column in
        which values repeat (references: many attendance records name one lesson) is
        normalised and hashed once per distinct value, and the result spread back."""
        text = _as_strings(values)
        if not len(text) or text.n_unique() * 2 > len(text):
            return self._hash(domain, scope, normalise_object_ids(text))
        distinct = text.unique()
        pids = self._hash(domain, scope, normalise_object_ids(distinct))
        return (
            pl.DataFrame({"value": text})
            .join(
                pl.DataFrame({"value": distinct, "pid": pids}),
                on="value",
                how="left",
                maintain_order="left",
                nulls_equal=True,
            )
            .get_column("pid")
            .alias(domain.column)
        )

    def _people(
        self, domain: Domain, values: pl.Series, policy: IdPolicy, as_of: dt.date | None
    ) -> pl.DataFrame:
        """Check national IDs and pseudonymise the linkable ones: ``linkable``, ``reason``,
        ``pid`` (null unless linkable), one row per value."""
        text = _as_strings(values)
        all_distinct = text.n_unique() == len(text)
        distinct = text if all_distinct else text.unique()
        found = pl.concat(
            self._workers.map_chunks(
                check_and_hash_ids,
                distinct,
                parallel_min=self._parallel_min,
                prefix=message_prefix(domain.value, policy.country.value),
                policy=policy,
                as_of=as_of or dt.date.today(),  # one date for every chunk
            )
        )
        linked = found.filter(pl.col("linkable"))
        pids = self._record(
            domain, linked["first"].to_numpy().astype(np.uint64), linked["tag"].to_numpy()
        )
        pid = pl.Series("pid", [None] * found.height, dtype=pl.Int64).scatter(
            found["linkable"].arg_true(), pl.Series(pids)
        )
        result = found.select("linkable", "reason").with_columns(pid)
        if all_distinct:
            return result
        return (
            pl.DataFrame({"value": text})
            .join(
                result.insert_column(0, distinct.alias("value")),
                on="value",
                how="left",
                maintain_order="left",
                nulls_equal=True,
            )
            .drop("value")
        )

    # -- public API ------------------------------------------------------------------------

    def pseudonymise(
        self,
        domain: Domain | str,
        values: pl.Series,
        *,
        scope: str | None = None,
        policy: IdPolicy | None = None,
        as_of: dt.date | None = None,
    ) -> pl.Series:
        """The pseudonyms of ``values`` in ``domain``: an ``Int64`` column named ``<domain>_pid``.

        Person domains take national IDs, checked under ``policy`` (country, allowed kinds)
        with ``as_of`` the extract date; a present value that cannot be linked refuses the
        whole column (``UnlinkableIdError``; ``pseudonymise_people`` handles such rows).
        Other domains take any identifiers; ``scope`` names the source where the domain
        needs one. Nulls and blanks give nulls.
        """
        target = Domain.parse(domain)
        _check_scope(target, scope)
        if target is Domain.SOURCE_REFERENCE:
            raise UsageError(
                "the source-reference domain keys source ids exactly as written; use "
                "reference_keys, not pseudonymise"
            )
        if not target.is_person:
            if policy is not None or as_of is not None:
                raise UsageError(
                    f"policy and as_of apply to national IDs only, not to domain '{target.value}'"
                )
            return self._object_ids(target, scope, values)
        policy = policy or IdPolicy()
        checked = self._people(target, values, policy, as_of)
        refused = checked.filter(~pl.col("linkable") & (pl.col("reason") != IdReason.MISSING.value))
        if refused.height:
            raise UnlinkableIdError(
                f"{refused.height} of {checked.height} values for domain '{target.value}' are "
                f"not {policy.country.value} national IDs that can be linked "
                f"({_reason_summary(refused['reason'])}); pseudonymise such a column with "
                "pseudonymise_people, which gives those rows a local pseudonym or quarantines "
                "them, as the ID policy says"
            )
        return checked["pid"].alias(target.column)

    def reference_keys(self, scope: str, values: pl.Series) -> pl.Series:
        """The keys of source ids in a snapshot's reference map (``source-reference`` domain):
        an ``Int64`` column named ``reference``, aligned with ``values``, nulls for nulls. The
        ids are hashed exactly as written (no trimming, no UUID form), so that a reference
        matches the id of its record as a full read compares them; each distinct id once.
        ``scope`` names the source and the kind of object (``<source>:student``)."""
        _check_scope(Domain.SOURCE_REFERENCE, scope)
        text = _as_strings(values)
        keys = self._hash(Domain.SOURCE_REFERENCE, scope, text)
        return keys.alias("reference")

    def pseudonymise_one(
        self,
        domain: Domain | str,
        value: str | None,
        *,
        scope: str | None = None,
        policy: IdPolicy | None = None,
        as_of: dt.date | None = None,
    ) -> int | None:
        """The pseudonym of one value; the same rules as ``pseudonymise``."""
        column = self.pseudonymise(
            domain, pl.Series([value], dtype=pl.String), scope=scope, policy=policy, as_of=as_of
        )
        pid = column.item()
        return None if pid is None else int(pid)

    def pseudonymise_people(
        self,
        domain: Domain | str,
        national_ids: pl.Series,
        *,
        local_ids: pl.Series | None = None,
        source: str | None = None,
        policy: IdPolicy | None = None,
        as_of: dt.date | None = None,
    ) -> pl.DataFrame:
        """Pseudonymise people under the ID policy; one row per input row.

        Columns: ``<domain>_pid`` (Int64; null when quarantined), ``id_status`` (linked,
        local, quarantined) and ``id_reason`` (why not linked; null when linked).

        A linkable national ID is hashed into ``domain``. Any other row, under
        ``Unlinkable.LOCAL``, gets a negative pseudonym in the domain's local domain from its
        ``local_ids`` value (the source system's own person identifier) scoped by ``source``;
        without a local identifier, or under ``Unlinkable.QUARANTINE``, it is quarantined.
        """
        target = Domain.parse(domain)
        if not target.is_person:
            raise UsageError(
                f"pseudonymise_people needs a person domain (student or teacher), not "
                f"'{target.value}'"
            )
        policy = policy or IdPolicy()
        use_local = policy.on_unlinkable is Unlinkable.LOCAL
        if use_local and (local_ids is None or source is None):
            raise UsageError(
                "the ID policy gives people without a linkable ID a local pseudonym, which "
                "needs local_ids (the source's own person identifiers) and source (its name); "
                "pass both, or use a policy with on_unlinkable='quarantine'"
            )
        if local_ids is not None and len(local_ids) != len(national_ids):
            raise UsageError("local_ids must have one value per national ID")
        checked = self._people(target, national_ids, policy, as_of)
        linkable = checked["linkable"]
        linked = checked["pid"].alias(target.column)
        pid = linked
        if use_local and local_ids is not None:
            _check_scope(target.local, source)
            local_values = normalise_object_ids(local_ids)
            wanted = pl.select(pl.when(~linkable).then(local_values)).to_series()
            local = self._hash(target.local, source, wanted)
            pid = pl.select(pl.coalesce(linked, local)).to_series()
        status = (
            pl.when(linkable)
            .then(pl.lit(IdStatus.LINKED.value))
            .when(pid.is_not_null())
            .then(pl.lit(IdStatus.LOCAL.value))
            .otherwise(pl.lit(IdStatus.QUARANTINED.value))
        )
        return pl.DataFrame({target.column: pid, "reason": checked["reason"]}).select(
            pl.col(target.column),
            id_status=status.cast(STATUS_DTYPE),
            id_reason=pl.col("reason").cast(REASON_DTYPE),
        )
