"""Character sets for short messages: GSM 03.38 7-bit, Latin-1, UCS2, ASCII, GBK and friends.

One source of truth for every protocol and the HTTP facade (segmentation.md §1, §2).

Encoding names used across the project (``ENCODINGS``):

``gsm7``      GSM 7-bit default alphabet + extension table, *unpacked*: one septet per octet,
              escape pairs as two octets. That is what SMPP ``data_coding 0`` carries (§1.5).
``ascii``     IA5 / US-ASCII (SMPP dc 1, CMPP ``Msg_Fmt`` 0).
``latin1``    ISO-8859-1 (SMPP dc 3).
``binary``    8-bit data (SMPP dc 2/4, CMPP 4). Decoded as Latin-1 so every octet survives.
``ucs2``      UTF-16BE, surrogate pairs allowed (SMPP dc 8, CMPP 8) — §2 explains why UTF-16.
``gbk``       GBK (CMPP/SGIP/SMGP format 15). Encodes strictly as GBK; decodes as GB18030, its
              superset, so 4-byte sequences from GB18030 senders still read.
``gb18030``   GB18030 both ways, for links that ask for it.
``cyrillic``  ISO-8859-5 (SMPP dc 6), ``hebrew`` ISO-8859-8 (dc 7), ``jis`` Shift_JIS for JIS
              X 0208 (dc 5), ``iso2022jp`` (dc 0x0A), ``ksc5601`` EUC-KR (dc 0x0E).

``encode`` raises :class:`CharsetError` when the text cannot be represented; ``decode`` never
raises on bad bytes: it yields U+FFFD replacement characters (only an unknown encoding name is
an error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType


class CharsetError(ValueError):
    """Text not representable in the requested encoding, or an unknown encoding name."""


#: §1.1 basic table, indexed by septet value; index 0x1B is ESC and never a character.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_ESC = 0x1B
#: §1.2 extension table: character -> septet following ESC.
GSM7_EXTENSION: Mapping[str, int] = MappingProxyType(
    {
        "\f": 0x0A,
        "^": 0x14,
        "{": 0x28,
        "}": 0x29,
        "\\": 0x2F,
        "[": 0x3C,
        "~": 0x3D,
        "]": 0x3E,
        "|": 0x40,
        "€": 0x65,
    }
)

_GSM7_INDEX = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != GSM7_ESC}
#: Every character the strict GSM-7 encoder accepts (0x09 is capital Ç only, §1.3).
GSM7_CHARS = frozenset(_GSM7_INDEX) | frozenset(GSM7_EXTENSION)
_GSM7_EXT_CHARS = frozenset(GSM7_EXTENSION)
# str.translate tables: text -> one latin-1 char per septet (fast path for encode).
_GSM7_ENCODE_TABLE = {ord(ch): chr(i) for ch, i in _GSM7_INDEX.items()}
_GSM7_ENCODE_TABLE.update({ord(ch): "\x1b" + chr(s) for ch, s in GSM7_EXTENSION.items()})
# bytes -> text for septet-per-octet data without ESC; octets >= 0x80 are garbage.
_GSM7_DECODE_TABLE = {i: GSM7_BASIC[i] for i in range(128)}
_GSM7_DECODE_TABLE.update({i: "\ufffd" for i in range(128, 256)})
_GSM7_EXT_DECODE = {s: ch for ch, s in GSM7_EXTENSION.items()}

#: Our encoding name -> Python codec used to encode / to decode.
_CODECS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "ascii": ("ascii", "ascii"),
        "latin1": ("latin-1", "latin-1"),
        "binary": ("latin-1", "latin-1"),
        "ucs2": ("utf-16-be", "utf-16-be"),
        "gbk": ("gbk", "gb18030"),
        "gb18030": ("gb18030", "gb18030"),
        "cyrillic": ("iso8859-5", "iso8859-5"),
        "hebrew": ("iso8859-8", "iso8859-8"),
        "jis": ("shift_jis", "shift_jis"),
        "iso2022jp": ("iso2022_jp", "iso2022_jp"),
        "ksc5601": ("euc_kr", "euc_kr"),
    }
)
ENCODINGS = frozenset(_CODECS) | {"gsm7"}

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "gsm": "gsm7",
        "gsm0338": "gsm7",
        "gsm7-unpacked": "gsm7",
        "default": "gsm7",
        "ia5": "ascii",
        "us-ascii": "ascii",
        "latin-1": "latin1",
        "iso-8859-1": "latin1",
        "iso8859-1": "latin1",
        "utf-16-be": "ucs2",
        "utf-16be": "ucs2",
        "utf16be": "ucs2",
        "ucs-2": "ucs2",
        "gb2312": "gbk",
        "cp936": "gbk",
        "8bit": "binary",
    }
)

#: SMPP 3.4 §5.2.19 ``data_coding`` -> encoding (segmentation.md §1.5). 0 is the SMSC default
#: alphabet and is resolved by ``encoding_for_data_coding(default=...)``; 0xF0–0xFF are the GSM
#: message-class schemes (bit 2 picks 7-bit or 8-bit).
DATA_CODING: Mapping[int, str] = MappingProxyType(
    {
        0x00: "gsm7",
        0x01: "ascii",
        0x02: "binary",
        0x03: "latin1",
        0x04: "binary",
        0x05: "jis",
        0x06: "cyrillic",
        0x07: "hebrew",
        0x08: "ucs2",
        0x0A: "iso2022jp",
        0x0E: "ksc5601",
    }
)
#: Encoding -> the SMPP ``data_coding`` we send it with.
DATA_CODING_FOR: Mapping[str, int] = MappingProxyType(
    {
        "gsm7": 0x00,
        "ascii": 0x01,
        "binary": 0x04,
        "latin1": 0x03,
        "jis": 0x05,
        "cyrillic": 0x06,
        "hebrew": 0x07,
        "ucs2": 0x08,
        "iso2022jp": 0x0A,
        "ksc5601": 0x0E,
    }
)
#: CMPP 2.0/3.0 ``Msg_Fmt`` = SGIP ``MessageCoding`` = SMGP ``MsgFormat`` -> encoding (§1.5).
#: 3 (SIM write-card) is octets as far as text goes.
MSG_FMT: Mapping[int, str] = MappingProxyType(
    {0: "ascii", 3: "binary", 4: "binary", 8: "ucs2", 15: "gbk"}
)
MSG_FMT_FOR: Mapping[str, int] = MappingProxyType(
    {"ascii": 0, "binary": 4, "ucs2": 8, "gbk": 15, "gb18030": 15}
)


_EXACT: Mapping[str, str] = MappingProxyType(
    {**{e: e for e in ENCODINGS}, **{a: e for a, e in _ALIASES.items() if a == a.strip().lower()}}
)


def normalize_encoding(name: str) -> str:
    """Map an encoding name or common alias to one of ``ENCODINGS``; CharsetError if unknown."""
    exact = _EXACT.get(name)  # the usual case, twice per message: a canonical name
    if exact is not None:
        return exact
    key = name.strip().lower().replace("_", "-")
    if key in ENCODINGS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise CharsetError(f"unknown encoding {name!r}")


def encoding_for_data_coding(dc: int, *, default: str = "gsm7") -> str:
    """SMPP ``data_coding`` -> encoding name (SMPP 3.4 §5.2.19, segmentation.md §1.5).

    ``default`` is what this link means by dc 0, the "SMSC default alphabet" (configurable per
    link like Kannel's ``alt-charset``: ``gsm7``, ``ascii`` or ``latin1``). GSM message-class
    schemes 0xF0–0xFF give ``gsm7`` or ``binary`` by bit 2; the GSM general / message-waiting
    groups (0x10–0x7F, 0xC0–0xEF, 23.038 §4) are read by their alphabet bits. Reserved values read as
    ``binary`` so no octet is misinterpreted or lost.
    """
    if dc == 0:
        return normalize_encoding(default)
    if dc in DATA_CODING:
        return DATA_CODING[dc]
    if 0xF0 <= dc <= 0xFF:
        return "binary" if dc & 0x04 else "gsm7"
    if 0x10 <= dc <= 0x7F and not dc & 0x20:  # general / auto-delete group, uncompressed
        return ("gsm7", "binary", "ucs2", "binary")[(dc >> 2) & 0x03]
    if 0xC0 <= dc <= 0xDF:
        return "gsm7"
    if 0xE0 <= dc <= 0xEF:
        return "ucs2"
    return "binary"


def data_coding_for_encoding(encoding: str) -> int:
    """Encoding -> SMPP ``data_coding``; CharsetError when SMPP has no code for it (GBK)."""
    enc = normalize_encoding(encoding)
    try:
        return DATA_CODING_FOR[enc]
    except KeyError:
        raise CharsetError(f"SMPP has no data_coding for {enc}") from None


def encoding_for_msg_fmt(fmt: int) -> str:
    """CMPP ``Msg_Fmt`` / SGIP ``MessageCoding`` / SMGP ``MsgFormat`` -> encoding (§1.5).

    Unknown values read as ``binary``.
    """
    return MSG_FMT.get(fmt, "binary")


def msg_fmt_for_encoding(encoding: str) -> int:
    """Encoding -> CMPP/SGIP/SMGP format code; CharsetError for GSM-7 and others they lack."""
    enc = normalize_encoding(encoding)
    try:
        return MSG_FMT_FOR[enc]
    except KeyError:
        raise CharsetError(f"CMPP/SGIP/SMGP have no format code for {enc}") from None


def is_gsm7(text: str) -> bool:
    """True if every character is in the strict GSM basic or extension table (§1.3)."""
    return GSM7_CHARS.issuperset(text)


def gsm7_septet_count(text: str) -> int | None:
    """Septets the text needs in GSM-7 (escape pairs count 2), or None if it is not GSM-7."""
    if not GSM7_CHARS.issuperset(text):
        return None
    return len(text) + sum(text.count(ch) for ch in _GSM7_EXT_CHARS if ch in text)


def choose_encoding(text: str, *, latin1: bool = False) -> str:
    """Cheapest encoding for the whole message, the way real SMSCs pick it (§2).

    GSM-7 if every character is GSM; else Latin-1 when the link opted in and the text fits it;
    else UCS2. One non-GSM character anywhere decides for every part.
    """
    if GSM7_CHARS.issuperset(text):
        return "gsm7"
    if latin1:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            pass
        else:
            return "latin1"
    return "ucs2"


def encode(text: str, encoding: str) -> bytes:
    """Encode ``text``; GSM-7 comes out unpacked (one septet per octet, §1.5).

    Raises CharsetError naming the first character the encoding cannot represent.
    """
    enc = normalize_encoding(encoding)
    if enc == "gsm7":
        if not GSM7_CHARS.issuperset(text):
            bad = next(ch for ch in text if ch not in GSM7_CHARS)
            raise CharsetError(f"U+{ord(bad):04X} is not in the GSM 7-bit alphabet")
        return text.translate(_GSM7_ENCODE_TABLE).encode("latin-1")
    codec = _CODECS[enc][0]
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise CharsetError(f"U+{ord(bad):04X} cannot be encoded as {enc}") from None


def decode(data: bytes, encoding: str) -> str:
    """Decode ``data``; never raises on bad bytes (U+FFFD instead), only on an unknown name.

    GSM-7 is septet-per-octet (§1.3 escape rules): ESC + an extension code gives that
    character, ESC + anything else gives the basic character, ESC ESC and a trailing lone ESC
    read as a space, octets >= 0x80 as U+FFFD.
    """
    enc = normalize_encoding(encoding)
    if enc == "gsm7":
        return _decode_gsm7(bytes(data))
    return bytes(data).decode(_CODECS[enc][1], errors="replace")


def _decode_gsm7(data: bytes) -> str:
    if GSM7_ESC not in data:
        return data.decode("latin-1").translate(_GSM7_DECODE_TABLE)
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b != GSM7_ESC:
            out.append(_GSM7_DECODE_TABLE[b])
            i += 1
            continue
        if i + 1 >= n or data[i + 1] == GSM7_ESC:
            out.append(" ")
            i += 2
            continue
        x = data[i + 1]
        out.append(_GSM7_EXT_DECODE.get(x) or _GSM7_DECODE_TABLE[x])
        i += 2
    return "".join(out)


def pack_septets(septets: bytes | Iterable[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB-first into octets after ``fill_bits`` zero bits (§1.4, §3.2).

    Length is ``ceil((fill_bits + 7n) / 8)``; only the low 7 bits of each value are used.
    """
    data = bytes(septets) if not isinstance(septets, bytes) else septets
    n = len(data)
    if not 0 <= fill_bits <= 7:
        raise CharsetError(f"fill_bits must be 0..7, got {fill_bits}")
    acc = 0
    for s in reversed(data):
        acc = (acc << 7) | (s & 0x7F)
    total_bits = fill_bits + 7 * n
    return (acc << fill_bits).to_bytes((total_bits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int | None = None, fill_bits: int = 0) -> bytes:
    """Unpack to one septet per octet, stopping after exactly ``count`` septets (§1.4).

    Cutting at the septet count *before* escape handling is what keeps padding bits from
    turning into a phantom ``@`` (V13). ``count=None`` takes every whole septet available; a
    count larger than the data holds is clamped to what is there.
    """
    if not 0 <= fill_bits <= 7:
        raise CharsetError(f"fill_bits must be 0..7, got {fill_bits}")
    available = max(0, (8 * len(data) - fill_bits) // 7)
    n = available if count is None else max(0, min(count, available))
    acc = int.from_bytes(data, "little") >> fill_bits
    return bytes((acc >> (7 * i)) & 0x7F for i in range(n))


def decode_packed_gsm7(data: bytes, count: int | None = None, fill_bits: int = 0) -> str:
    """Unpack (bounded by ``count`` septets) and decode packed GSM-7 user data."""
    return _decode_gsm7(unpack_septets(data, count, fill_bits))
