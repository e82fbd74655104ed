"""cmpp.md §3.4 worked example and the §8 pitfalls 2 and 3."""

from __future__ import annotations

import hashlib
from datetime import datetime

import cmpp_vectors as v

from protocols.cmpp.auth import (
    authenticator_ismg,
    authenticator_source,
    timestamp_of,
    verify_ismg,
    verify_source,
)


def test_worked_example_source() -> None:
    assert authenticator_source(v.SP_ID, v.SECRET, v.TIMESTAMP) == v.AUTH_SOURCE
    assert authenticator_source(v.SP_ID, v.SECRET.encode(), v.TIMESTAMP) == v.AUTH_SOURCE
    assert verify_source(v.SP_ID, v.SECRET, v.TIMESTAMP, v.AUTH_SOURCE)
    assert not verify_source(v.SP_ID, "wrong", v.TIMESTAMP, v.AUTH_SOURCE)
    assert not verify_source(v.SP_ID, v.SECRET, v.TIMESTAMP + 1, v.AUTH_SOURCE)


def test_worked_example_ismg_uses_version_width_of_status() -> None:
    assert authenticator_ismg(0, v.AUTH_SOURCE, v.SECRET, 0x20) == v.AUTH_ISMG_20
    assert authenticator_ismg(0, v.AUTH_SOURCE, v.SECRET, 0x21) == v.AUTH_ISMG_20
    assert authenticator_ismg(0, v.AUTH_SOURCE, v.SECRET, 0x30) == v.AUTH_ISMG_30
    assert verify_ismg(0, v.AUTH_SOURCE, v.SECRET, 0x30, v.AUTH_ISMG_30)
    assert not verify_ismg(0, v.AUTH_SOURCE, v.SECRET, 0x30, v.AUTH_ISMG_20)


def test_failed_status_gives_empty_authenticator() -> None:
    assert authenticator_ismg(3, v.AUTH_SOURCE, v.SECRET, 0x30) == b"\x00" * 16


def test_timestamp_keeps_leading_zero_in_digest() -> None:
    """Jan 5 08:00:00 -> 105080000 on the wire but "0105080000" in the MD5 (§8 pitfall 2)."""
    ts = timestamp_of(datetime(2025, 1, 5, 8, 0, 0))
    assert ts == 105080000
    expected = hashlib.md5(b"901234" + b"\x00" * 9 + b"s3cret" + b"0105080000").digest()
    assert authenticator_source("901234", "s3cret", ts) == expected
    assert timestamp_of(datetime(2025, 11, 22, 10, 30, 0)) == v.TIMESTAMP


def test_short_source_addr_accepted_padded_or_not() -> None:
    unpadded = hashlib.md5(b"9012" + b"\x00" * 9 + b"pw" + b"%010d" % 1).digest()
    assert verify_source("9012", "pw", 1, unpadded)
    assert verify_source("9012", "pw", 1, authenticator_source("9012", "pw", 1))
