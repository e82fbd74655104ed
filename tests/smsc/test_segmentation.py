"""Tests for smsc.segmentation: segmentation.md §3, §4, §6 and the §7 vectors byte for byte."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smsc.charsets import GSM7_CHARS, decode, decode_packed_gsm7, encode
from smsc.segmentation import (
    Concat,
    ReferenceAllocator,
    SegmentationError,
    billing_count,
    capacity,
    concat_udh,
    fill_bits,
    header_septets,
    parse_udh,
    split,
)

FAST = settings(max_examples=300, deadline=None)
ZH = "短信分段测试"


def zh(n: int) -> str:
    return (ZH * (n // len(ZH) + 1))[:n]


def hx(s: str) -> bytes:
    return bytes.fromhex("".join(s.split()))


def hexes(text: str, **kw: object) -> list[str]:
    return [p.short_message.hex().upper() for p in split(text, ref=0x2A, **kw).parts]  # type: ignore[arg-type]


# --- §3.2 formulas -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("udh_len", "fill", "hdr", "gsm", "octets", "ucs2"),
    [(0, 0, 0, 160, 140, 140), (6, 1, 7, 153, 134, 134), (7, 0, 8, 152, 133, 132)]
    + [(12, 2, 14, 146, 128, 128)],
)
def test_capacity_formulas(
    udh_len: int, fill: int, hdr: int, gsm: int, octets: int, ucs2: int
) -> None:
    assert fill_bits(udh_len) == fill
    assert header_septets(udh_len) == hdr
    assert capacity("gsm7", udh_len) == gsm
    assert capacity("latin1", udh_len) == octets
    assert capacity("ucs2", udh_len) == ucs2  # octets: 70 / 67 / 66 / 64 units


# --- §7 vectors ----------------------------------------------------------------------------


def test_v1_single_no_udh() -> None:
    r = split("Hello world", ref=0x2A)
    assert (r.encoding, r.data_coding, r.billing_count) == ("gsm7", 0, 1)
    (p,) = r.parts
    assert p.udh == b"" and p.sar is None
    assert p.short_message.hex().upper() == "48656C6C6F20776F726C64"
    assert p.packed_tp_ud.hex().upper() == "C8329BFD06DDDF723619"
    assert p.tp_udl == 11


def test_v2_160_gsm_is_one_part() -> None:
    r = split("0123456789" * 16)
    assert len(r.parts) == 1 and len(r.parts[0].short_message) == 160
    assert len(r.parts[0].packed_tp_ud) == 140


V3_P1 = """
0500032A02013031323334353637383930313233343536373839303132333435
3637383930313233343536373839303132333435363738393031323334353637
3839303132333435363738393031323334353637383930313233343536373839
3031323334353637383930313233343536373839303132333435363738393031
32333435363738393031323334353637383930313233343536373839303132"""
V3_P1_PACKED = """
0500032A02016031D98C56B3DD7039584C36A3D56C375C0E1693CD6835DB0D97
83C564335ACD76C3E56031D98C56B3DD7039584C36A3D56C375C0E1693CD6835
DB0D9783C564335ACD76C3E56031D98C56B3DD7039584C36A3D56C375C0E1693
CD6835DB0D9783C564335ACD76C3E56031D98C56B3DD7039584C36A3D56C375C
0E1693CD6835DB0D9783C564"""


def test_v3_161_gsm_is_153_plus_8() -> None:
    r = split("0123456789" * 16 + "X", ref=0x2A)
    p1, p2 = r.parts
    assert p1.short_message == hx(V3_P1)
    assert len(p1.short_message) == 159 and len(p1.payload) == 153
    assert p1.packed_tp_ud == hx(V3_P1_PACKED)
    assert (p1.tp_udl, len(p1.packed_tp_ud)) == (160, 140)
    assert p2.short_message == hx("0500032A02023334353637383958")
    assert p2.packed_tp_ud == hx("0500032A020266B49AED86CB6101")
    assert p2.tp_udl == 15
    assert r.billing_count == 2


def test_v4_escapes_fit_single_limit() -> None:
    text = "€" + "a" * 50 + "€" + "b" * 50 + "€" + "c" * 50
    r = split(text)
    assert len(r.parts) == 1 and len(r.parts[0].payload) == 156


def test_v4b_161_chars_164_septets() -> None:
    text = "€" + "a" * 52 + "€" + "b" * 53 + "€" + "c" * 53
    assert [len(p.payload) for p in split(text).parts] == [153, 11]


V5_P1_PACKED = """
0500032A0201C2E170381C0E87C3E170381C0E87C3E170381C0E87C3E170381C
0E87C3E170381C0E87C3E170381C0E87C3E170381C0E87C3E170381C0E87C3E1
70381C0E87C3E170381C0E87C3E170381C0E87C3E170381C0E87C3E170381C0E
87C3E170381C0E87C3E170381C0E87C3E170381C0E87C3E170381C0E87C3E170
381C0E87C3E170381C0E8701"""


def test_v5_escape_pair_pushed_to_part_2() -> None:
    r = split("a" * 152 + "€" + "b" * 10, ref=0x2A)
    p1, p2 = r.parts
    assert p1.short_message == hx("0500032A0201") + b"\x61" * 152
    assert p1.packed_tp_ud == hx(V5_P1_PACKED) and p1.tp_udl == 159
    assert p2.short_message == hx("0500032A02021B6562626262626262626262")
    assert p2.packed_tp_ud == hx("0500032A02023665B1582C168BC562B118") and p2.tp_udl == 19


@pytest.mark.parametrize("offset", range(148, 156))
def test_escapes_straddling_the_153_boundary(offset: int) -> None:
    text = "a" * offset + "€{}[]" + "z" * 20
    r = split(text)
    for p in r.parts:
        assert not p.payload.endswith(b"\x1b")
        assert len(p.payload) <= 153
    assert decode(b"".join(p.payload for p in r.parts), "gsm7") == text


def test_v6_70_chinese_one_part() -> None:
    r = split(zh(70), ref=0x2A)
    assert (r.encoding, r.data_coding, r.msg_fmt) == ("ucs2", 8, 8)
    (p,) = r.parts
    assert p.udh == b"" and p.short_message == zh(70).encode("utf-16-be")
    assert len(p.short_message) == 140


V7_P1 = """
0500032A020177ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED
4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B
8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE15206
6BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED
4FE152066BB56D4B8BD577ED"""


def test_v7_71_chinese_two_parts() -> None:
    r = split(zh(71), ref=0x2A)
    p1, p2 = r.parts
    assert p1.short_message == hx(V7_P1) and len(p1.short_message) == 140
    assert p2.short_message == hx("0500032A02024FE152066BB56D4B")
    assert p1.udh[:5] == bytes([5, 0, 3, 0x2A, 2]) and p1.udh[5] == 1 and p2.udh[5] == 2


def test_70_vs_71_with_ref_2() -> None:
    assert len(split(zh(70), ref=2).parts) == 1
    p1, p2 = split(zh(71), ref=2).parts
    assert p1.udh == hx("050003020201") and p2.udh == hx("050003020202")


V8_P1 = """
0500032A020177ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED
4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B
8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE15206
6BB56D4B8BD577ED4FE152066BB56D4B8BD577ED4FE152066BB56D4B8BD577ED
4FE152066BB56D4B8BD5"""


def test_v8_emoji_at_ucs2_position_67_moves_to_part_2() -> None:
    r = split(zh(66) + "😀" + "结束测试完", ref=0x2A)
    p1, p2 = r.parts
    assert p1.short_message == hx(V8_P1) and len(p1.short_message) == 138
    assert p2.short_message == hx("0500032A0202D83DDE007ED3675F6D4B8BD55B8C")


V9_P1 = """
0608041234020130313233343536373839303132333435363738393031323334
3536373839303132333435363738393031323334353637383930313233343536
3738393031323334353637383930313233343536373839303132333435363738
3930313233343536373839303132333435363738393031323334353637383930
31323334353637383930313233343536373839303132333435363738393031"""
V9_P1_PACKED = """
06080412340201B0986C46ABD96EB81C2C269BD16AB61B2E078BC966B49AED86
CBC162B219AD66BBE172B0986C46ABD96EB81C2C269BD16AB61B2E078BC966B4
9AED86CBC162B219AD66BBE172B0986C46ABD96EB81C2C269BD16AB61B2E078B
C966B49AED86CBC162B219AD66BBE172B0986C46ABD96EB81C2C269BD16AB61B
2E078BC966B49AED86CBC162"""


def test_v9_16_bit_reference() -> None:
    r = split("0123456789" * 16 + "X", udh="16", ref=0x1234)
    p1, p2 = r.parts
    assert p1.short_message == hx(V9_P1) and len(p1.payload) == 152
    assert p1.packed_tp_ud == hx(V9_P1_PACKED) and p1.tp_udl == 160
    assert p2.short_message == hx("06080412340202323334353637383958")
    assert p2.packed_tp_ud == hx("06080412340202B219AD66BBE17258") and p2.tp_udl == 17


def test_16_bit_reference_ucs2_is_66_units() -> None:
    p1, p2 = split(zh(71), udh="16", ref=0x0102).parts
    assert p1.udh == hx("06080401020201") and len(p1.payload) == 132
    assert p2.udh == hx("06080401020202") and len(p2.payload) == 10


def test_v10_naive_cafe() -> None:
    assert hexes("Naïve café") == ["004E006100EF00760065002000630061006600E9"]
    r = split("Naïve café", latin1=True)
    assert (r.encoding, r.data_coding) == ("latin1", 3)
    assert r.parts[0].short_message == hx("4E61EF766520636166E9")


def test_v11_one_cjk_forces_ucs2() -> None:
    r = split("A" * 100 + "中")
    assert r.encoding == "ucs2"
    assert [len(p.payload) // 2 for p in r.parts] == [67, 34]


@pytest.mark.parametrize(("n", "sizes"), [(134, [67, 67]), (135, [67, 67, 1])])
def test_v12_134_and_135_chinese(n: int, sizes: list[int]) -> None:
    assert [len(p.payload) // 2 for p in split(zh(n)).parts] == sizes


def test_v13_only_escape_pairs() -> None:
    r = split("[" * 80 + "x", ref=0x2A)
    p1, p2 = r.parts
    assert p1.short_message == hx("0500032A0201") + hx("1B3C") * 76
    assert p2.short_message == hx("0500032A02021B3C1B3C1B3C1B3C78")
    assert p2.packed_tp_ud == hx("0500032A020236BC0D6FC3DBF0F0")
    assert decode_packed_gsm7(p1.packed_tp_ud[6:], 152, 1) == "[" * 76


@pytest.mark.parametrize(
    ("count", "sizes"), [(77, [154]), (80, [160]), (81, [152, 10]), (153, [152, 152, 2])]
)
def test_euro_only_rows_of_3_3(count: int, sizes: list[int]) -> None:
    assert [len(p.payload) for p in split("€" * count).parts] == sizes


# --- modes, options, errors ----------------------------------------------------------------


def test_empty_text_is_one_empty_part() -> None:
    r = split("")
    assert len(r.parts) == 1 and r.parts[0].short_message == b"" and r.billing_count == 1


def test_sar_mode_has_no_udh_and_153_capacity() -> None:
    r = split("0123456789" * 16 + "X", udh="sar", ref=0x1234)
    assert [p.udh for p in r.parts] == [b"", b""]
    assert [p.sar for p in r.parts] == [(0x1234, 2, 1), (0x1234, 2, 2)]
    assert [len(p.payload) for p in r.parts] == [153, 8]
    assert split("short", udh="sar").parts[0].sar is None


def test_payload_mode_is_one_part_with_air_count() -> None:
    text = zh(200)
    r = split(text, udh="payload")
    assert len(r.parts) == 1 and r.parts[0].udh == b"" and r.parts[0].sar is None
    assert r.parts[0].short_message == text.encode("utf-16-be")
    assert r.billing_count == 3


def test_explicit_encodings() -> None:
    assert split("Hello", encoding="ucs2").parts[0].payload == "Hello".encode("utf-16-be")
    r = split("短信" * 80, encoding="gbk")
    assert (r.encoding, r.data_coding, r.msg_fmt) == ("gbk", 15, 15)
    assert [len(p.payload) for p in r.parts] == [134, 134, 52]
    assert split("abc", encoding="ascii").data_coding == 1
    with pytest.raises(SegmentationError):
        split("中", encoding="gsm7")
    with pytest.raises(SegmentationError):
        split("x", encoding="klingon")


def test_gbk_never_splits_a_character() -> None:
    r = split("a" + "短" * 100, encoding="gbk")
    assert [len(p.payload) for p in r.parts] == [133, 68]
    assert "".join(decode(p.payload, "gbk") for p in r.parts) == "a" + "短" * 100


def test_too_many_parts_and_limits() -> None:
    split("a" * 153 * 255)
    with pytest.raises(SegmentationError, match="256 parts"):
        split("a" * (153 * 255 + 1))
    with pytest.raises(SegmentationError):
        split(zh(67 * 255 + 1), udh="payload")
    with pytest.raises(SegmentationError):
        split("x", ref=256)
    split("x", ref=65535, udh="16")
    with pytest.raises(SegmentationError):
        split("x", udh="32")  # type: ignore[arg-type]
    with pytest.raises(SegmentationError):
        split("\ud800")  # lone surrogate


def test_concat_udh() -> None:
    assert concat_udh(0x2A, 2, 1) == hx("0500032A0201")
    assert concat_udh(0x1234, 2, 1, ref_bits=16) == hx("06080412340201")


# --- billing (§6) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "bill"), [(0, 0), (1, 1), (68, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3)]
)
def test_billing_table(n: int, bill: int) -> None:
    assert billing_count("字" * n) == bill


def test_billing_signature_counts_with_brackets() -> None:
    assert billing_count("您的验证码是123456，5分钟内有效，请勿泄露。", "【测试签名】") == 1
    assert billing_count("x" * 65, "【华为云】") == 1
    assert billing_count("x" * 66, "【华为云】") == 2
    assert billing_count("😀" * 35) == 1
    assert billing_count("😀" * 36) == 2
    assert billing_count("😀" * 36, units="codepoints") == 1


# --- parse_udh -----------------------------------------------------------------------------


def test_parse_udh_8_and_16() -> None:
    assert parse_udh(hx("0500032A0201") + b"hi") == (Concat(0x2A, 2, 1, 8), b"hi")
    c, rest = parse_udh(hx("06080412340202") + b"x")
    assert c == Concat(0x1234, 2, 2, 16) and c.kind == "ref16" and rest == b"x"


def test_parse_udh_other_ies_before_and_after() -> None:
    ports = hx("0504 0B84 23F0")  # 16-bit application ports
    lang = hx("2501 01")
    data = bytes([2 + 4 + 5 + 3]) + ports + hx("0003 07 03 02") + lang + b"payload"
    assert parse_udh(data) == (Concat(7, 3, 2, 8), b"payload")
    assert parse_udh(hx("06 0504 0B84 23F0") + b"x") == (None, b"x")
    assert parse_udh(b"\x00abc") == (None, b"abc")


def test_parse_udh_repeated_ie_last_wins_and_08_beats_00() -> None:
    data = hx("0A 0003 010201 0003 020202") + b"z"
    assert parse_udh(data)[0] == Concat(2, 2, 2, 8)
    data = hx("0B 0804 12340201 0003 2A0202")
    assert parse_udh(data)[0] == Concat(0x1234, 2, 1, 16)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        hx("05000301"),  # UDHL past data
        hx("0500032A0200"),  # seq 0
        hx("0500032A0203"),  # seq > total
        hx("0500032A0001"),  # total 0
        hx("04000201 02"),  # IEI 00 length 2
        hx("0508030102 03"),  # IEI 08 length 3
        hx("03000501 02 03"),  # IE beyond UDH
        hx("010005"),  # truncated IE header
    ],
)
def test_parse_udh_malformed(data: bytes) -> None:
    with pytest.raises(SegmentationError):
        parse_udh(data)


@st.composite
def udh_user_data(draw: st.DrawFn) -> bytes:
    """Mostly well-formed UDH IE lists (concat 0x00/0x08 among others), sometimes corrupted."""
    ies = b""
    for _ in range(draw(st.integers(0, 4))):
        iei = draw(st.sampled_from([0x00, 0x08, 0x04, 0x05, 0x24, 0x25, 0x70]))
        if iei == 0x00:
            value = bytes(
                [draw(st.integers(0, 255)), draw(st.integers(0, 3)), draw(st.integers(0, 3))]
            )
        elif iei == 0x08:
            value = bytes(draw(st.binary(min_size=2, max_size=2))) + bytes(
                [draw(st.integers(0, 3)), draw(st.integers(0, 3))]
            )
        else:
            value = draw(st.binary(max_size=4))
        if draw(st.integers(0, 9)) == 0:  # wrong IEDL
            value = value[:-1] if value else b"\x01"
        ies += bytes([iei, len(value)]) + value
    udhl = len(ies) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, 5]))
    return bytes([max(0, min(255, udhl))]) + ies + draw(st.binary(max_size=20))


@FAST
@given(st.one_of(st.binary(max_size=40), udh_user_data()))
def test_parse_udh_random_bytes_only_segmentation_error(data: bytes) -> None:
    try:
        concat, rest = parse_udh(data)
    except SegmentationError:
        return
    assert len(rest) == len(data) - 1 - data[0]
    if concat is not None:
        assert 1 <= concat.seq <= concat.total and concat.ref_bits in (8, 16)


def test_udh_strategy_reaches_valid_concat() -> None:
    """Guard that the structured strategy really produces parseable concatenation UDHs."""
    seen: list[Concat] = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(udh_user_data())
    def probe(data: bytes) -> None:
        try:
            concat, _ = parse_udh(data)
        except SegmentationError:
            return
        if concat is not None:
            seen.append(concat)

    probe()
    assert seen


# --- ReferenceAllocator --------------------------------------------------------------------


def test_reference_allocator_rotates_per_key_and_wraps() -> None:
    alloc = ReferenceAllocator()
    assert [alloc.next(("acct", "138")) for _ in range(3)] == [1, 2, 3]
    assert alloc.next(("acct", "139")) == 1
    refs = [alloc.next("k") for _ in range(257)]
    assert refs[254:] == [255, 0, 1]
    assert ReferenceAllocator(start=65535).next("k", bits=16) == 65535
    with pytest.raises(SegmentationError):
        alloc.next("k", bits=12)


def test_reference_allocator_bounded() -> None:
    alloc = ReferenceAllocator(max_keys=2)
    for k in "abc":
        alloc.next(k)
    assert len(alloc) == 2
    assert alloc.next("a") == 1  # forgotten, restarts


# --- properties ----------------------------------------------------------------------------

BMP = st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",))
ANY = st.characters(blacklist_categories=("Cs",))
gsm_text = st.text(alphabet=sorted(GSM7_CHARS), max_size=700)
# Long texts from small alphabets put escape and surrogate pairs on part boundaries often.
gsm_boundary_text = st.text(st.sampled_from("a€{"), min_size=150, max_size=700)
ucs2_boundary_text = st.text(st.sampled_from("中😀a"), min_size=60, max_size=300)
any_text = st.one_of(
    gsm_text,
    gsm_boundary_text,
    ucs2_boundary_text,
    st.text(ANY, max_size=300),
    st.text(st.sampled_from("a中€😀👍🏽{"), max_size=400),
)


def rejoin(r: object) -> str:
    parts = r.parts  # type: ignore[attr-defined]
    return decode(b"".join(p.payload for p in parts), r.encoding)  # type: ignore[attr-defined]


@FAST
@given(any_text, st.sampled_from(["8", "16", "sar"]), st.booleans())
def test_split_roundtrip_and_air_limits(text: str, udh: str, latin1: bool) -> None:
    r = split(text, udh=udh, ref=0x2A, latin1=latin1)  # type: ignore[arg-type]
    assert rejoin(r) == text
    assert r.billing_count == len(r.parts)
    for p in r.parts:
        assert len(p.packed_tp_ud) <= 140
        assert len(p.short_message) <= (160 if r.encoding == "gsm7" else 140)
        # each part decodes alone: no escape pair or surrogate pair is ever cut
        assert encode(decode(p.payload, r.encoding), r.encoding) == p.payload
    if len(r.parts) > 1 and udh != "sar":
        concats = [parse_udh(p.short_message)[0] for p in r.parts]
        total = len(r.parts)
        assert concats == [Concat(0x2A, total, i, int(udh)) for i in range(1, total + 1)]


@FAST
@given(any_text, st.sampled_from(["ucs2", "gbk", "latin1"]))
def test_explicit_encoding_roundtrip_or_error(text: str, encoding: str) -> None:
    try:
        r = split(text, encoding=encoding)
    except SegmentationError:
        return
    assert rejoin(r) == text
    assert all(len(p.short_message) <= 140 for p in r.parts)


@FAST
@given(st.text(BMP, max_size=600))
def test_ucs2_bmp_parts_equal_vendor_billing(text: str) -> None:
    """All-BMP text: the UCS2 part count equals the vendor bill exactly (§6)."""
    r = split(text, encoding="ucs2")
    assert len(r.parts) == max(1, billing_count(text))


@FAST
@given(st.text(st.sampled_from("中a😀"), max_size=600))
def test_ucs2_parts_vs_billing_with_surrogates(text: str) -> None:
    """With surrogate pairs a part may close one unit short, so the bill is a lower bound.

    Exact relation: ceil(n/67) <= parts <= ceil(n/66) for n > 70 UTF-16 units (each part holds
    at least 66 units); equal whenever no pair straddles a boundary, e.g. all-BMP text.
    """
    r = split(text, encoding="ucs2")
    n = len(text.encode("utf-16-be")) // 2
    bill = billing_count(text)
    if n <= 70:
        assert len(r.parts) == 1 and bill == (1 if n else 0)
    else:
        assert bill == math.ceil(n / 67) <= len(r.parts) <= math.ceil(n / 66)
        if "😀" not in text:
            assert len(r.parts) == bill


def test_ucs2_surrogate_boundary_makes_parts_exceed_bill() -> None:
    text = "中" * 66 + "😀" + "中" * 66  # 134 units: billed 2, but 😀 opens part 2 -> 3 parts
    assert billing_count(text) == 2
    assert [len(p.payload) // 2 for p in split(text).parts] == [66, 67, 1]


@FAST
@given(st.text(sorted(GSM7_CHARS), min_size=161, max_size=2000))
def test_gsm_part_payloads_are_whole_units(text: str) -> None:
    r = split(text)
    assume(len(r.parts) > 1)
    for p in r.parts[:-1]:
        assert 152 <= len(p.payload) <= 153
