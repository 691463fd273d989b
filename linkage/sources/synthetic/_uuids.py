"""Deterministic, unique, random-looking UUIDs for synthetic objects.

A UUID is made from a kind (``pupil``, ``lesson``, ``attendance``, …), the seed and an index
that is unique within the kind (below 2**48). The index goes through a bijective 48-bit mixer
into the last 12 hex digits, so two indices of one kind never share a UUID; the first 20 hex
digits are a hash of the mixed index and the kind. Version nibble 4, RFC 4122 variant.
"""

from __future__ import annotations

import hashlib

import numpy as np

_M48 = np.uint64((1 << 48) - 1)
_M64 = (1 << 64) - 1
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _kind_key(seed: int, kind: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{kind}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _mix48(x: np.ndarray, key: int) -> np.ndarray:
    """A bijection of 48-bit integers (xor-shifts and odd multipliers modulo 2**48)."""
    x = (x ^ np.uint64(key & ((1 << 48) - 1))) & _M48
    x = ((x ^ (x >> np.uint64(23))) * np.uint64(0xD6E8FEB86659FD93)) & _M48
    x = ((x ^ (x >> np.uint64(21))) * np.uint64(0xA5CB9243F1D6B5A7)) & _M48
    return (x ^ (x >> np.uint64(25))) & _M48


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _hex_digits(values: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    return _HEX[((values[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.intp)]


def uuids_of(seed: int, kind: str, indices: np.ndarray) -> np.ndarray:
    """UUID strings (numpy ``U36``) for integer ``indices`` of one kind."""
    key = _kind_key(seed, kind)
    with np.errstate(over="ignore"):
        low = _mix48(np.asarray(indices, dtype=np.uint64), key)
        high = _splitmix64(low ^ np.uint64(key))
    hi = _hex_digits(high, 16)  # 64 bits → 16 hex digits; 13 of them are used
    lo = _hex_digits(low, 12)
    n = len(low)
    out = np.empty((n, 36), dtype=np.uint8)
    dash = ord("-")
    out[:, 0:8] = hi[:, 0:8]
    out[:, 8] = dash
    out[:, 9:13] = hi[:, 8:12]
    out[:, 13] = dash
    out[:, 14] = ord("4")
    out[:, 15:18] = hi[:, 12:15]
    out[:, 18] = dash
    out[:, 19] = _HEX[8 + (high[:, None] >> np.uint64(62)).astype(np.intp)[:, 0] % 4]
    out[:, 20:23] = hi[:, 13:16]
    out[:, 23] = dash
    out[:, 24:36] = lo
    return out.view("S36").ravel().astype("U36")


def uuid_of(seed: int, kind: str, index: int) -> str:
    """The UUID string of one object: the same as ``uuids_of`` gives, in plain integers (a
    numpy call per object would cost more than the arithmetic)."""
    key = _kind_key(seed, kind)
    m48 = (1 << 48) - 1
    x = (index ^ (key & m48)) & m48
    x = ((x ^ (x >> 23)) * 0xD6E8FEB86659FD93) & m48
    x = ((x ^ (x >> 21)) * 0xA5CB9243F1D6B5A7) & m48
    low = (x ^ (x >> 25)) & m48
    z = ((low ^ key) + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    high = z ^ (z >> 31)
    hi = f"{high:016x}"
    variant = "89ab"[(high >> 62) % 4]
    return f"{hi[0:8]}-{hi[8:12]}-4{hi[12:15]}-{variant}{hi[13:16]}-{low:012x}"
