"""Properties of pseudonyms: deterministic per key and domain, separated by domain, scope and
key, signed as documented, and exactly the HMAC of the definition."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from pathlib import Path

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pseudonymise import Domain, KeyFile, Pseudonymiser
from pseudonymise._keys import key_id_for

# Identifiers as read from files: any text except lone surrogates (not valid UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
SECRETS = st.binary(min_size=32, max_size=32)
# What "surrounding whitespace" means: Unicode White_Space. (Python's str.strip also removes
# the separators 0x1C-0x1F, which are not White_Space and are kept.)
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
UUID_LIKE = re.compile(r"\{?[0-9A-Fa-f]{8}-?([0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}\}?")
# the domains ``pseudonymise`` takes other than national IDs (``source-reference`` keys source
# ids for the reference map, through ``reference_keys`` only: the last test)
OBJECT_DOMAINS = [d for d in Domain if not d.is_person and d is not Domain.SOURCE_REFERENCE]


def key_of(secret: bytes) -> KeyFile:
    return KeyFile(
        path=Path("unused.json"),
        key_id=key_id_for(secret),
        version=1,
        created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        previous_key_id=None,
        secret=secret,
    )


def scope_for(domain: Domain) -> str | None:
    return "source-1" if domain.requires_scope else None


@settings(deadline=None, max_examples=60)
@given(secret=SECRETS, values=st.lists(TEXT, max_size=15), domain=st.sampled_from(OBJECT_DOMAINS))
def test_deterministic_per_key_and_domain(secret: bytes, values: list[str], domain: Domain) -> None:
    column = pl.Series(values, dtype=pl.String)
    with (
        Pseudonymiser(key_of(secret), workers=1) as first,
        Pseudonymiser(key_of(secret), workers=1) as second,
    ):
        a = first.pseudonymise(domain, column, scope=scope_for(domain))
        b = second.pseudonymise(domain, column, scope=scope_for(domain))
        reversed_ = first.pseudonymise(domain, column.reverse(), scope=scope_for(domain))
        assert a.equals(b)
        assert reversed_.reverse().equals(a)  # position never matters
        one = [first.pseudonymise_one(domain, v, scope=scope_for(domain)) for v in values]
        assert one == a.to_list()


@settings(deadline=None, max_examples=60)
@given(secret=SECRETS, value=TEXT.filter(lambda v: v.strip()))
def test_domains_never_share_a_pseudonym(secret: bytes, value: str) -> None:
    with Pseudonymiser(key_of(secret), workers=1) as pseudonymiser:
        pids = [
            pseudonymiser.pseudonymise_one(domain, value, scope="source-1")
            for domain in OBJECT_DOMAINS
        ]
        pids.append(pseudonymiser.pseudonymise_one(Domain.GROUP, value))
        assert len(set(pids)) == len(pids)


@settings(deadline=None, max_examples=60)
@given(secrets=st.lists(SECRETS, min_size=2, max_size=2, unique=True), value=TEXT.filter(str.strip))
def test_keys_never_share_a_pseudonym(secrets: list[bytes], value: str) -> None:
    with (
        Pseudonymiser(key_of(secrets[0]), workers=1) as first,
        Pseudonymiser(key_of(secrets[1]), workers=1) as second,
    ):
        assert first.pseudonymise_one("lesson", value) != second.pseudonymise_one("lesson", value)


@settings(deadline=None, max_examples=60)
@given(secret=SECRETS, value=TEXT, domain=st.sampled_from(OBJECT_DOMAINS))
def test_pseudonym_is_the_definition(secret: bytes, value: str, domain: Domain) -> None:
    normalised = value.strip(WHITE_SPACE)
    assume(normalised and not UUID_LIKE.fullmatch(normalised))  # UUIDs: see the unit tests
    scope = scope_for(domain)
    with Pseudonymiser(key_of(secret), workers=1) as pseudonymiser:
        pid = pseudonymiser.pseudonymise_one(domain, value, scope=scope)
    message = f"{domain.value}\x1f{scope or ''}\x1f{normalised}".encode()
    first = int.from_bytes(hmac.digest(secret, message, "sha256")[:8], "big")
    if domain.is_local_person:
        assert pid == (first | 1 << 63) - (1 << 64)
        assert pid is not None and pid < 0
    else:
        assert pid == first & ((1 << 63) - 1)
        assert pid is not None and pid >= 0


@settings(deadline=None, max_examples=60)
@given(secret=SECRETS, values=st.lists(TEXT, max_size=15))
def test_a_reference_key_is_the_definition_of_the_id_as_written(
    secret: bytes, values: list[str]
) -> None:
    """The reference map's keys: the HMAC of the id exactly as written (no trimming, no UUID
    form, blank kept), apart from every pseudonym of the same text."""
    column = pl.Series(values, dtype=pl.String)
    with Pseudonymiser(key_of(secret), workers=1) as pseudonymiser:
        keys = pseudonymiser.reference_keys("source-1:student", column).to_list()
        for value, key in zip(values, keys, strict=True):
            message = f"source-reference\x1fsource-1:student\x1f{value}".encode()
            first = int.from_bytes(hmac.digest(secret, message, "sha256")[:8], "big")
            assert key == first & ((1 << 63) - 1)
            if value.strip():
                others = [
                    pseudonymiser.pseudonymise_one(domain, value, scope="source-1:student")
                    for domain in OBJECT_DOMAINS
                ]
                assert key not in others
