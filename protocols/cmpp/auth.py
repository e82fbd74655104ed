"""CMPP login authenticators, cmpp.md §3.

Both digests are plain MD5 over byte concatenations; the traps are the zero-padded 10-digit
timestamp text (§8 pitfall 2) and the width of Status in AuthenticatorISMG, which follows the
CONNECT_RESP layout: 1 byte in 2.0, 4 bytes in 3.0 (§3.2, §8 pitfall 3).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from protocols.cmpp.pdu import Layout, layout_of

__all__ = [
    "authenticator_ismg",
    "authenticator_source",
    "timestamp_of",
    "verify_ismg",
    "verify_source",
]

_ZERO_FILL = b"\x00" * 9


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode("utf-8")


def timestamp_of(moment: datetime) -> int:
    """CONNECT.Timestamp: the digits MMDDHHMMSS read as a decimal integer (§2.1)."""
    return int(moment.strftime("%m%d%H%M%S"))


def authenticator_source(source_addr: str, secret: str | bytes, timestamp: int) -> bytes:
    """MD5(Source_Addr[6] ‖ 9 × 0x00 ‖ secret ‖ "%010d" % Timestamp), cmpp.md §3.1.

    Source_Addr enters as the 6 bytes sent in the PDU (NUL-padded if shorter).
    """
    addr = source_addr.encode("latin-1")[:6].ljust(6, b"\x00")
    return _md5_source(addr, _secret_bytes(secret), timestamp)


def _md5_source(addr: bytes, secret: bytes, timestamp: int) -> bytes:
    return hashlib.md5(addr + _ZERO_FILL + secret + b"%010d" % timestamp).digest()


def verify_source(
    source_addr: str, secret: str | bytes, timestamp: int, authenticator: bytes
) -> bool:
    """True when CONNECT's AuthenticatorSource matches the secret stored for Source_Addr.

    A Source_Addr shorter than 6 bytes is also accepted unpadded, as several client stacks
    hash the string rather than the wire field.
    """
    secret_b = _secret_bytes(secret)
    raw = source_addr.encode("latin-1")[:6]
    candidates = {raw.ljust(6, b"\x00"), raw}
    return any(
        hmac.compare_digest(_md5_source(addr, secret_b, timestamp), authenticator)
        for addr in candidates
    )


def authenticator_ismg(
    status: int, authenticator_source: bytes, secret: str | bytes, version: int
) -> bytes:
    """MD5(Status ‖ AuthenticatorSource ‖ secret) with Status in the version's wire width (§3.2).

    Returns 16 zero bytes for a non-zero Status, as the spec's "empty" authenticator.
    """
    if status != 0:
        return b"\x00" * 16
    width = 4 if layout_of(version) is Layout.V30 else 1
    return hashlib.md5(
        status.to_bytes(width, "big") + authenticator_source + _secret_bytes(secret)
    ).digest()


def verify_ismg(
    status: int,
    authenticator_source: bytes,
    secret: str | bytes,
    version: int,
    authenticator: bytes,
) -> bool:
    """SP side: check the CONNECT_RESP's AuthenticatorISMG."""
    expected = authenticator_ismg(status, authenticator_source, secret, version)
    return hmac.compare_digest(expected, authenticator)
