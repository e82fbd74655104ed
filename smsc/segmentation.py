"""Splitting texts into short-message parts, concatenation UDHs and vendor billing counts.

Implements segmentation.md §3 (capacities and greedy whole-unit splitting), §4 (UDH IEI 0x00 /
0x08 and SMPP SAR / message_payload) and §6 (Chinese vendor billing). Pure functions and small
objects; every protocol and the HTTP facade use this one module.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from smsc.charsets import (
    DATA_CODING_FOR,
    MSG_FMT_FOR,
    CharsetError,
    choose_encoding,
    encode,
    normalize_encoding,
    pack_septets,
)

__all__ = [
    "MAX_PARTS",
    "Concat",
    "ReferenceAllocator",
    "Segment",
    "SegmentationError",
    "SplitResult",
    "billing_count",
    "capacity",
    "concat_udh",
    "fill_bits",
    "header_septets",
    "parse_udh",
    "split",
]

#: §3.3 rule 4: the part counters are one octet.
MAX_PARTS = 255
#: TP-UD budget in octets (23.040 §9.2.3.24).
TP_UD_OCTETS = 140
#: Single-part GSM-7 budget: 140 octets * 8 / 7.
GSM7_SEPTETS = 160

UdhMode = Literal["8", "16", "sar", "payload"]
_UDH_LEN = {"8": 6, "16": 7, "sar": 6, "payload": 6}
_REF_LIMIT = {"8": 0xFF, "16": 0xFFFF, "sar": 0xFFFF, "payload": 0xFFFF}
# Encodings whose octets are one per character: split by slicing.
_ONE_OCTET = frozenset({"ascii", "latin1", "binary", "cyrillic", "hebrew"})
# Stateless multi-byte codecs split per character; iso2022jp is stateful and cannot be cut.
_PER_CHAR = frozenset({"gbk", "gb18030", "jis", "ksc5601"})


class SegmentationError(ValueError):
    """Text cannot be segmented (not representable, > 255 parts, bad option) or a malformed UDH.

    The module's one error type. Callers map it to their protocol's code, e.g. SMPP
    ``ESME_RINVMSGLEN`` for too long, a vendor's "content too long" (§3.3 rule 4).
    """


def header_septets(udh_len: int) -> int:
    """Septets a UDH of ``udh_len`` octets (UDHL included) occupies with its fill: ceil(8L/7)."""
    return (8 * udh_len + 6) // 7


def fill_bits(udh_len: int) -> int:
    """Zero bits after the UDH so GSM-7 text starts on a septet boundary (§3.2): L=6 -> 1."""
    return (7 - (8 * udh_len) % 7) % 7


def capacity(encoding: str, udh_len: int = 0) -> int:
    """Per-part budget in encoded octets (septets for GSM-7) after a UDH of ``udh_len`` (§3.2).

    gsm7: 160 - ceil(8L/7); UCS2: 2 * floor((140 - L) / 2); other 8-bit: 140 - L.
    """
    enc = normalize_encoding(encoding)
    if enc == "gsm7":
        return GSM7_SEPTETS - header_septets(udh_len)
    if enc == "ucs2":
        return 2 * ((TP_UD_OCTETS - udh_len) // 2)
    return TP_UD_OCTETS - udh_len


def concat_udh(ref: int, total: int, seq: int, *, ref_bits: int = 8) -> bytes:
    """Concatenation UDH, UDHL included (23.040 §9.2.3.24.1 / .8, segmentation.md §4.1)."""
    if ref_bits == 16:
        return bytes((0x06, 0x08, 0x04, ref >> 8, ref & 0xFF, total, seq))
    return bytes((0x05, 0x00, 0x03, ref & 0xFF, total, seq))


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation info from a UDH: reference, total parts, 1-based sequence, ref width."""

    ref: int
    total: int
    seq: int
    ref_bits: int = 8

    @property
    def kind(self) -> str:
        """Reference kind for reassembly keys (§5.2): ``ref8`` or ``ref16``."""
        return f"ref{self.ref_bits}"


@dataclass(frozen=True, slots=True)
class Segment:
    """One short message on the wire.

    ``payload`` is the encoded text of this part (GSM-7 unpacked, one septet per octet);
    ``udh`` is empty for single parts and in ``sar`` / ``payload`` modes; ``sar`` is
    ``(ref, total, seq)`` for SMPP's sar_* TLVs (§4.2), else None.
    """

    udh: bytes
    payload: bytes
    sar: tuple[int, int, int] | None
    encoding: str

    @property
    def short_message(self) -> bytes:
        """UDH ‖ payload: SMPP ``short_message`` / CMPP ``Msg_Content`` (lengths count both)."""
        return self.udh + self.payload

    @property
    def tp_udl(self) -> int:
        """TP-UDL on the radio leg: septets (header included) for GSM-7, else octets (§3.2)."""
        if self.encoding == "gsm7":
            return header_septets(len(self.udh)) + len(self.payload)
        return len(self.udh) + len(self.payload)

    @property
    def packed_tp_ud(self) -> bytes:
        """Radio-leg TP-UD: UDH ‖ septets packed after the fill bits (§1.4, §3.2).

        For 8-bit and UCS2 encodings the air form equals ``short_message``.
        """
        if self.encoding != "gsm7":
            return self.udh + self.payload
        return self.udh + pack_septets(self.payload, fill_bits(len(self.udh)))


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What ``split`` decided: the encoding, its code, the parts and the billable count.

    ``data_coding`` is the SMPP value (0 GSM-7, 1 ASCII, 3 Latin-1, 8 UCS2); GBK has none in
    SMPP, so it carries the CMPP/SGIP/SMGP format code 15. ``billing_count`` is the number of
    radio-leg messages: ``len(parts)``, except in ``payload`` mode where it is the number of
    parts the SMSC will cut the payload into (8-bit reference capacities).
    """

    encoding: str
    data_coding: int
    parts: tuple[Segment, ...]
    billing_count: int

    @property
    def msg_fmt(self) -> int | None:
        """CMPP ``Msg_Fmt`` / SGIP / SMGP format code, or None if they have none (GSM-7)."""
        return MSG_FMT_FOR.get(self.encoding)


def _cut(data: bytes, text: str, enc: str, cap: int) -> list[bytes]:
    """Greedy whole-unit cut of encoded ``data`` into chunks of at most ``cap`` octets (§3.3)."""
    n = len(data)
    chunks: list[bytes] = []
    if enc in _PER_CHAR:
        cur: list[bytes] = []
        size = 0
        for ch in text:
            unit = encode(ch, enc)
            if size + len(unit) > cap and cur:
                chunks.append(b"".join(cur))
                cur, size = [], 0
            cur.append(unit)
            size += len(unit)
        chunks.append(b"".join(cur))
        return chunks
    pos = 0
    while pos < n:
        end = pos + cap
        if end < n:
            # Our encoder emits 0x1B only as the first octet of an escape pair and a high
            # surrogate only before its low one, so backing off one unit keeps units whole.
            if enc == "gsm7" and data[end - 1] == 0x1B:
                end -= 1
            elif enc == "ucs2" and 0xD8 <= data[end - 2] <= 0xDB:
                end -= 2
        chunks.append(data[pos:end])
        pos = end
    return chunks


def split(
    text: str,
    *,
    encoding: str = "auto",
    udh: UdhMode = "8",
    ref: int = 1,
    latin1: bool = False,
) -> SplitResult:
    """Split ``text`` into parts by the 160/153, 140/134, 70/67 rules (§3.1–§3.3).

    ``encoding``: ``auto`` picks GSM-7, else Latin-1 if ``latin1`` (opt-in), else UCS2 (§2);
    or a name from ``smsc.charsets.ENCODINGS``. ``udh``: ``8`` / ``16`` put an IEI 0x00 / 0x08
    UDH in each part; ``sar`` gives 8-bit-reference capacities with no UDH and the SAR triple
    instead (§4.2); ``payload`` returns the whole text as one part for SMPP message_payload.
    A text that fits the single limit is always one part without UDH or SAR; the empty text is
    one empty part. Raises SegmentationError for unrepresentable text, > 255 parts or bad
    options.
    """
    if udh not in _UDH_LEN:
        raise SegmentationError(f"udh must be one of 8, 16, sar, payload; got {udh!r}")
    if not 0 <= ref <= _REF_LIMIT[udh]:
        raise SegmentationError(f"reference {ref} does not fit udh mode {udh}")
    try:
        enc = (
            choose_encoding(text, latin1=latin1)
            if encoding == "auto"
            else normalize_encoding(encoding)
        )
        data = encode(text, enc)
    except CharsetError as exc:
        raise SegmentationError(str(exc)) from None
    if enc == "iso2022jp":
        raise SegmentationError("iso2022jp is stateful and cannot be split")
    data_coding = DATA_CODING_FOR.get(enc, MSG_FMT_FOR.get(enc, 0))

    if len(data) <= capacity(enc, 0):
        return SplitResult(enc, data_coding, (Segment(b"", data, None, enc),), 1)
    udh_len = _UDH_LEN[udh]
    chunks = _cut(data, text, enc, capacity(enc, udh_len))
    total = len(chunks)
    if total > MAX_PARTS:
        raise SegmentationError(f"text needs {total} parts; at most {MAX_PARTS} are possible")
    if udh == "payload":
        parts: tuple[Segment, ...] = (Segment(b"", data, None, enc),)
    elif udh == "sar":
        parts = tuple(Segment(b"", c, (ref, total, seq), enc) for seq, c in enumerate(chunks, 1))
    else:
        bits = 16 if udh == "16" else 8
        parts = tuple(
            Segment(concat_udh(ref, total, seq, ref_bits=bits), c, None, enc)
            for seq, c in enumerate(chunks, 1)
        )
    return SplitResult(enc, data_coding, parts, total)


def billing_count(
    text: str, signature: str = "", *, units: Literal["utf16", "codepoints"] = "utf16"
) -> int:
    """Parts a Chinese HTTP vendor bills for ``signature + text`` (§6).

    n counts every character once — Chinese, Latin, digits, spaces, full- or half-width
    punctuation — and the signature with its 【】 brackets. Characters outside the BMP (emoji)
    count as 2 UTF-16 code units by default, so the bill equals the real UCS2 part count for
    texts with no surrogate pair at a part boundary; ``units="codepoints"`` counts them as 1.
    0 characters bill 0; up to 70 bill 1; beyond that ceil(n / 67).
    """
    full = signature + text
    if units == "codepoints":
        n = len(full)
    else:
        n = len(full.encode("utf-16-le", "surrogatepass")) // 2
    if n == 0:
        return 0
    if n <= 70:
        return 1
    return math.ceil(n / 67)


def parse_udh(data: bytes) -> tuple[Concat | None, bytes]:
    """Parse the UDH at the start of user data; return (concatenation info, remaining payload).

    Call only when esm_class bit 0x40 / TP-UDHI says a UDH is present. Walks the IE list
    (23.040 §9.2.3.24) so other IEs (ports 0x04/0x05, national language 0x24/0x25, …) may sit
    before or after; a repeated IE uses its last occurrence and IEI 0x08 takes precedence over
    0x00 (§5.1). Raises SegmentationError when the UDHL runs past the data, an IE runs past the
    UDH, a concatenation IE has the wrong length, or total is 0 or seq is 0 or > total.
    """
    if not data:
        raise SegmentationError("UDH indicated but user data is empty")
    udhl = data[0]
    if 1 + udhl > len(data):
        raise SegmentationError(f"UDHL {udhl} runs past {len(data) - 1} octets of user data")
    header = data[1 : 1 + udhl]
    c8: Concat | None = None
    c16: Concat | None = None
    i = 0
    while i < udhl:
        if i + 2 > udhl:
            raise SegmentationError(f"truncated information element at UDH offset {i}")
        iei, iedl = header[i], header[i + 1]
        if i + 2 + iedl > udhl:
            raise SegmentationError(f"IE 0x{iei:02X} length {iedl} runs past the UDH")
        value = header[i + 2 : i + 2 + iedl]
        if iei == 0x00:
            if iedl != 3:
                raise SegmentationError(f"concatenation IE 0x00 must be 3 octets, got {iedl}")
            c8 = Concat(value[0], value[1], value[2], 8)
        elif iei == 0x08:
            if iedl != 4:
                raise SegmentationError(f"concatenation IE 0x08 must be 4 octets, got {iedl}")
            c16 = Concat((value[0] << 8) | value[1], value[2], value[3], 16)
        i += 2 + iedl
    concat = c16 or c8
    if concat is not None:
        if concat.total == 0:
            raise SegmentationError("concatenation total is 0")
        if not 1 <= concat.seq <= concat.total:
            raise SegmentationError(f"sequence {concat.seq} outside 1..{concat.total}")
    return concat, bytes(data[1 + udhl :])


class ReferenceAllocator:
    """Concatenation references rotating per key, e.g. (account, destination) (§4.1).

    Consecutive long messages to the same key get consecutive references, wrapping at 2**bits,
    so a handset never merges two of them. At most ``max_keys`` counters are kept; the least
    recently used is forgotten (restarting it at ``start`` is harmless that long after).
    """

    def __init__(self, start: int = 1, max_keys: int = 100_000) -> None:
        if not 0 <= start <= 0xFFFF:
            raise SegmentationError(f"start must be 0..65535, got {start}")
        self._start = start
        self._max_keys = max(1, max_keys)
        self._counters: OrderedDict[Hashable, int] = OrderedDict()

    def next(self, key: Hashable, *, bits: int = 8) -> int:
        """The next reference for ``key``: 0..255 for ``bits=8``, 0..65535 for ``bits=16``."""
        if bits not in (8, 16):
            raise SegmentationError(f"reference bits must be 8 or 16, got {bits}")
        counters = self._counters
        value = counters.pop(key, self._start)
        counters[key] = (value + 1) & 0xFFFF
        if len(counters) > self._max_keys:
            counters.popitem(last=False)
        return value & ((1 << bits) - 1)

    def __len__(self) -> int:
        return len(self._counters)
