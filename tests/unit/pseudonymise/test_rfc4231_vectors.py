"""The HMAC engine reproduces every RFC 4231 HMAC-SHA-256 test vector, however the message is
split into the absorbed prefix and the per-value part."""

from __future__ import annotations

import hmac
import json

import pytest

from pseudonymise._workers import KEPT_BYTES, hmac_digests, hmac_kept_bytes
from tests.conftest import shared_path

VECTORS = "testdata/hmac/rfc4231_hmac_sha256.json"


def _cases() -> list[dict[str, str]]:
    return json.loads(shared_path(VECTORS).read_text(encoding="utf-8"))["cases"]


def _expected(case: dict[str, str]) -> tuple[bytes, int]:
    """The expected digest and how many of its leading bytes the RFC defines."""
    if "hmac_sha256" in case:
        return bytes.fromhex(case["hmac_sha256"]), 32
    truncated = bytes.fromhex(case["hmac_sha256_truncated_128"])
    return truncated, len(truncated)


def test_all_seven_cases_are_present() -> None:
    assert [case["tc"] for case in _cases()] == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("tc", range(1, 8))
def test_engine_reproduces_the_vector_for_every_split(tc: int) -> None:
    case = _cases()[tc - 1]
    key, data = bytes.fromhex(case["key_hex"]), bytes.fromhex(case["data_hex"])
    expected, defined = _expected(case)
    for split in sorted({0, 1, len(data) // 2, len(data) - 1, len(data)}):
        (digest,) = hmac_digests(key, data[:split], [data[split:]])
        assert digest[:defined] == expected, f"split at {split}"
    # The standard library agrees, so the vectors themselves were read correctly.
    assert hmac.digest(key, data, "sha256")[:defined] == expected


@pytest.mark.parametrize("tc", range(1, 8))
def test_kept_bytes_are_the_leading_bytes_of_the_vector(tc: int) -> None:
    case = _cases()[tc - 1]
    key, data = bytes.fromhex(case["key_hex"]), bytes.fromhex(case["data_hex"])
    expected, defined = _expected(case)
    kept = hmac_kept_bytes(key, b"", [data, data])
    assert len(kept) == 2 * KEPT_BYTES
    assert kept[: min(KEPT_BYTES, defined)] == expected[: min(KEPT_BYTES, defined)]
    assert kept[KEPT_BYTES:] == kept[:KEPT_BYTES]
