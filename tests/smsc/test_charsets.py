"""Tests for smsc.charsets against segmentation.md §1, §2 and the §7 vectors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc.charsets import (
    DATA_CODING,
    GSM7_BASIC,
    GSM7_CHARS,
    GSM7_EXTENSION,
    CharsetError,
    choose_encoding,
    data_coding_for_encoding,
    decode,
    decode_packed_gsm7,
    encode,
    encoding_for_data_coding,
    encoding_for_msg_fmt,
    gsm7_septet_count,
    is_gsm7,
    msg_fmt_for_encoding,
    normalize_encoding,
    pack_septets,
    unpack_septets,
)

FAST = settings(max_examples=300, deadline=None)
gsm_text = st.text(alphabet=sorted(GSM7_CHARS), max_size=400)


def test_basic_table_is_128_codes_with_esc_at_1b() -> None:
    assert len(GSM7_BASIC) == 128
    assert GSM7_BASIC[0x1B] == "\x1b"
    assert "\x1b" not in GSM7_CHARS


@pytest.mark.parametrize(
    ("char", "code"),
    [("@", 0x00), ("£", 0x01), ("$", 0x02), ("_", 0x11), ("¤", 0x24), ("¡", 0x40)]
    + [("§", 0x5F), ("¿", 0x60), ("Ç", 0x09), ("\n", 0x0A), ("\r", 0x0D), ("à", 0x7F)],
)
def test_basic_codes_that_differ_from_ascii(char: str, code: int) -> None:
    assert encode(char, "gsm7") == bytes([code])
    assert decode(bytes([code]), "gsm7") == char


@pytest.mark.parametrize(("char", "septet"), sorted(GSM7_EXTENSION.items()))
def test_extension_table_is_escape_pair(char: str, septet: int) -> None:
    assert encode(char, "gsm7") == bytes([0x1B, septet])
    assert decode(bytes([0x1B, septet]), "gsm7") == char
    assert gsm7_septet_count(char) == 2


@pytest.mark.parametrize("char", ["`", "ç", "\t", "\x1b", "中", "😀", "’", "–"])
def test_not_gsm7(char: str) -> None:
    assert not is_gsm7("abc" + char)
    assert gsm7_septet_count(char) is None
    with pytest.raises(CharsetError, match=f"U\\+{ord(char):04X}"):
        encode("abc" + char, "gsm7")


def test_v1_hello_world_unpacked_and_packed() -> None:
    septets = encode("Hello world", "gsm7")
    assert septets.hex().upper() == "48656C6C6F20776F726C64"
    assert pack_septets(septets).hex().upper() == "C8329BFD06DDDF723619"
    assert decode_packed_gsm7(bytes.fromhex("C8329BFD06DDDF723619"), 11) == "Hello world"


@pytest.mark.parametrize(
    ("text", "unpacked", "packed"),
    [
        ("hellohello", "68656C6C6F68656C6C6F", "E8329BFD4697D9EC37"),
        ("2 € par mois", "32201B6520706172206D6F6973", "32D0A60C8287E5A0F63B3D07"),
    ],
)
def test_packing_checks_from_spec_1_4(text: str, unpacked: str, packed: str) -> None:
    assert encode(text, "gsm7").hex().upper() == unpacked
    assert pack_septets(bytes.fromhex(unpacked)).hex().upper() == packed
    assert unpack_septets(bytes.fromhex(packed), len(bytes.fromhex(unpacked))) == bytes.fromhex(
        unpacked
    )


def test_v13_unpack_bounded_by_udl_has_no_phantom_at() -> None:
    # 76 escape pairs = 152 septets after a 6-octet UDH's fill bit → 7 padding bits at the end.
    septets = encode("[" * 76, "gsm7")
    packed = pack_septets(septets, 1)
    assert len(packed) == 134
    assert decode_packed_gsm7(packed, len(septets), 1) == "[" * 76
    # Unbounded, the padding really does read as '@' — the bug the bound prevents.
    assert decode_packed_gsm7(packed, None, 1) == "[" * 76 + "@"


def test_v10_latin1_and_ucs2() -> None:
    assert encode("Naïve café", "ucs2").hex().upper() == "004E006100EF00760065002000630061006600E9"
    assert encode("Naïve café", "latin1").hex().upper() == "4E61EF766520636166E9"


def test_ucs2_surrogate_pair() -> None:
    assert encode("😀", "ucs2") == bytes.fromhex("D83DDE00")
    assert decode(bytes.fromhex("D83DDE00"), "ucs2") == "😀"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x1b\x1b", " "),  # reserved ESC ESC
        (b"A\x1b", "A "),  # lone trailing ESC
        (b"\x1b\x41", "A"),  # ESC + non-extension: basic char
        (b"\x80\xff", "\ufffd\ufffd"),  # not septets
        (b"\x1b\x90", "\ufffd"),
    ],
)
def test_gsm7_decode_edge_cases(data: bytes, text: str) -> None:
    assert decode(data, "gsm7") == text


def test_choose_encoding_per_spec_2() -> None:
    assert choose_encoding("Hello {world} €") == "gsm7"
    assert choose_encoding("Naïve café") == "ucs2"
    assert choose_encoding("Naïve café", latin1=True) == "latin1"
    assert choose_encoding("A" * 100 + "中", latin1=True) == "ucs2"
    assert choose_encoding("ça") == "ucs2"  # strict Ç only
    assert choose_encoding("") == "gsm7"


def test_data_coding_map() -> None:
    assert encoding_for_data_coding(0) == "gsm7"
    assert encoding_for_data_coding(0, default="latin1") == "latin1"
    assert encoding_for_data_coding(0, default="ia5") == "ascii"
    assert encoding_for_data_coding(3) == "latin1"
    assert encoding_for_data_coding(8) == "ucs2"
    assert encoding_for_data_coding(2) == encoding_for_data_coding(4) == "binary"
    assert encoding_for_data_coding(0xF0) == "gsm7"
    assert encoding_for_data_coding(0xF6) == "binary"
    assert encoding_for_data_coding(0x18) == "ucs2"
    assert encoding_for_data_coding(0xE0) == "ucs2"
    assert encoding_for_data_coding(0x0B) == "binary"  # reserved
    assert data_coding_for_encoding("ucs2") == 8
    assert data_coding_for_encoding("UTF-16BE") == 8
    with pytest.raises(CharsetError):
        data_coding_for_encoding("gbk")
    assert all(data_coding_for_encoding(e) == dc for dc, e in DATA_CODING.items() if dc > 4)


def test_msg_fmt_map() -> None:
    assert encoding_for_msg_fmt(0) == "ascii"
    assert encoding_for_msg_fmt(8) == "ucs2"
    assert encoding_for_msg_fmt(15) == "gbk"
    assert encoding_for_msg_fmt(99) == "binary"
    assert msg_fmt_for_encoding("gbk") == 15
    with pytest.raises(CharsetError):
        msg_fmt_for_encoding("gsm7")


def test_gbk_and_gb18030() -> None:
    assert encode("短信", "gbk") == "短信".encode("gbk")
    assert decode("短信A".encode("gb18030"), "gbk") == "短信A"
    assert decode("😀".encode("gb18030"), "gbk") == "😀"  # 4-byte GB18030 still reads
    with pytest.raises(CharsetError):
        encode("😀", "gbk")


def test_unknown_encoding_is_charset_error() -> None:
    with pytest.raises(CharsetError):
        normalize_encoding("klingon")
    with pytest.raises(CharsetError):
        decode(b"x", "klingon")


def test_pack_rejects_bad_fill() -> None:
    with pytest.raises(CharsetError):
        pack_septets(b"a", 8)


@FAST
@given(gsm_text)
def test_gsm7_roundtrip(text: str) -> None:
    data = encode(text, "gsm7")
    assert len(data) == gsm7_septet_count(text)
    assert max(data, default=0) < 0x80
    assert decode(data, "gsm7") == text


@FAST
@given(st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 7))
def test_pack_unpack_roundtrip(septets: bytes, fill: int) -> None:
    packed = pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8
    assert unpack_septets(packed, len(septets), fill) == septets


@FAST
@given(
    st.binary(max_size=300),
    st.sampled_from(["gsm7", "ascii", "latin1", "ucs2", "gbk", "gb18030", "binary", "jis"]),
)
def test_decode_never_raises(data: bytes, encoding: str) -> None:
    assert isinstance(decode(data, encoding), str)


@FAST
@given(st.text(max_size=200), st.sampled_from(["ucs2", "latin1", "ascii", "gbk"]))
def test_encode_roundtrip_or_charset_error(text: str, encoding: str) -> None:
    try:
        data = encode(text, encoding)
    except CharsetError:
        return
    assert decode(data, encoding) == text
