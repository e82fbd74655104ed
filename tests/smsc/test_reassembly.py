"""Tests for smsc.reassembly: segmentation.md §5 and the long-message receipt policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc.charsets import GSM7_CHARS
from smsc.reassembly import (
    GAP,
    IncomingPart,
    LongReceiptMode,
    Reassembled,
    Reassembler,
    worst_state,
)
from smsc.segmentation import SegmentationError, split

FAST = settings(max_examples=300, deadline=None)


def parts_of(text: str, ref: int = 7, **kw: object) -> list[IncomingPart]:
    r = split(text, ref=ref, **kw)  # type: ignore[arg-type]
    total = len(r.parts)
    return [
        IncomingPart("1380000", "10690", ref, total, seq, p.payload, r.encoding, f"m{seq}")
        for seq, p in enumerate(r.parts, 1)
    ]


def feed(ra: Reassembler, parts: list[IncomingPart], now: float = 0.0) -> list[Reassembled]:
    out: list[Reassembled] = []
    for p in parts:
        out += ra.add(p, now)
    return out


def test_in_order_gsm() -> None:
    text = "0123456789" * 16 + "X"
    ra = Reassembler()
    ps = parts_of(text)
    assert ra.add(ps[0], 0) == [] and ra.pending_count == 1
    (done,) = ra.add(ps[1], 1)
    assert done.text == text and done.complete and done.parts_received == 2
    assert done.tokens == ("m1", "m2") and done.missing == () and done.anomaly is None
    assert (done.source, done.destination, done.ref, done.total) == ("1380000", "10690", 7, 2)
    assert ra.pending_count == 0


def test_out_of_order_with_duplicate() -> None:
    text = "短信分段测试" * 30
    ps = parts_of(text)
    ra = Reassembler()
    order = [ps[2], ps[0], ps[0], ps[1]]
    (done,) = feed(ra, order)
    assert done.text == text and done.duplicates == 1 and done.tokens == ("m1", "m2", "m3")


def test_duplicate_with_different_payload_keeps_first_and_flags() -> None:
    ps = parts_of("短信" * 50)
    ra = Reassembler()
    ra.add(ps[0], 0)
    fake = IncomingPart("1380000", "10690", 7, 2, 1, b"\x00X", "ucs2", "dup")
    ra.add(fake, 0)
    (done,) = ra.add(ps[1], 0)
    assert done.text == "短信" * 50 and done.anomaly and "different payload" in done.anomaly


def test_escape_pair_split_across_parts_still_decodes() -> None:
    # A naive 153-octet cutter (smpplib, §7.4) ends part 1 with ESC.
    septets = b"a" * 152 + b"\x1b\x65" + b"b" * 10
    p1 = IncomingPart("s", "d", 1, 2, 1, septets[:153], "gsm7")
    p2 = IncomingPart("s", "d", 1, 2, 2, septets[153:], "gsm7")
    (done,) = feed(Reassembler(), [p2, p1])
    assert done.text == "a" * 152 + "€" + "b" * 10


def test_surrogate_split_across_parts_still_decodes() -> None:
    data = ("中" * 66 + "😀结束").encode("utf-16-be")
    p1 = IncomingPart("s", "d", 1, 2, 1, data[:134], "ucs2")
    p2 = IncomingPart("s", "d", 1, 2, 2, data[134:], "ucs2")
    (done,) = feed(Reassembler(), [p1, p2])
    assert done.text == "中" * 66 + "😀结束"


def test_key_separates_source_dest_ref_total_kind_and_encoding() -> None:
    ra = Reassembler()
    base = dict(source="a", destination="b", ref=1, total=2, seq=1, payload=b"x")
    variants = [
        IncomingPart(**base, encoding="gsm7"),  # type: ignore[arg-type]
        IncomingPart(**{**base, "source": "z"}, encoding="gsm7"),  # type: ignore[arg-type]
        IncomingPart(**{**base, "destination": "z"}, encoding="gsm7"),  # type: ignore[arg-type]
        IncomingPart(**{**base, "ref": 2}, encoding="gsm7"),  # type: ignore[arg-type]
        IncomingPart(**{**base, "total": 3}, encoding="gsm7"),  # type: ignore[arg-type]
        IncomingPart(**base, encoding="gsm7", kind="ref16"),  # type: ignore[arg-type]
        IncomingPart(**base, encoding="ucs2"),  # type: ignore[arg-type]
    ]
    for v in variants:
        assert ra.add(v, 0) == []
    assert ra.pending_count == len(variants)


def test_key_free_again_after_completion() -> None:
    ra = Reassembler()
    ps = parts_of("x" * 200)
    assert len(feed(ra, ps)) == 1
    assert ra.add(ps[0], 5) == [] and ra.pending_count == 1


def test_single_part_passes_straight_through() -> None:
    (done,) = Reassembler().add(IncomingPart("s", "d", 0, 1, 1, b"hi", "ascii", "t"), 0)
    assert done.complete and done.text == "hi" and done.tokens == ("t",)


def test_expire_surfaces_incomplete_with_gaps() -> None:
    text = "短信分段测试" * 40  # 240 chars -> 4 parts
    ps = parts_of(text)
    assert len(ps) == 4
    ra = Reassembler(timeout_s=10)
    feed(ra, [ps[1], ps[3]], now=100)
    assert ra.expire(109.9) == []
    (late,) = ra.expire(110)
    assert not late.complete and late.parts_received == 2 and late.missing == (1, 3)
    assert late.tokens == ("m2", "m4")
    p2 = ps[1].payload.decode("utf-16-be")
    p4 = ps[3].payload.decode("utf-16-be")
    assert late.text == GAP + p2 + GAP + p4
    assert ra.pending_count == 0


def test_expire_collapses_consecutive_gaps() -> None:
    ps = parts_of("x" * 700)  # 5 parts
    ra = Reassembler(timeout_s=1)
    ra.add(ps[0], 0)
    (late,) = ra.expire(1)
    assert late.text == "x" * 153 + GAP and late.missing == (2, 3, 4, 5)


def test_expire_only_old_sets_oldest_first() -> None:
    ra = Reassembler(timeout_s=10)
    a, b = parts_of("a" * 200, ref=1), parts_of("b" * 200, ref=2)
    ra.add(a[0], 0)
    ra.add(b[0], 5)
    assert [r.ref for r in ra.expire(12)] == [1]
    assert [r.ref for r in ra.expire(15)] == [2]


def test_max_pending_surfaces_oldest() -> None:
    ra = Reassembler(max_pending=2)
    sets = [parts_of(c * 200, ref=i) for i, c in enumerate("abc")]
    assert ra.add(sets[0][0], 0) == []
    assert ra.add(sets[1][0], 1) == []
    (evicted,) = ra.add(sets[2][0], 2)
    assert evicted.ref == 0 and not evicted.complete and evicted.text.startswith("a")
    assert ra.pending_count == 2
    # a part for an existing set never evicts
    assert [r.complete for r in ra.add(sets[1][1], 3)] == [True]


@pytest.mark.parametrize(
    "kw",
    [{"total": 0}, {"total": 256}, {"seq": 0}, {"seq": 3}, {"ref": -1}, {"encoding": "klingon"}],
)
def test_incoming_part_validation(kw: dict[str, object]) -> None:
    args: dict[str, object] = dict(
        source="s", destination="d", ref=1, total=2, seq=1, payload=b"", encoding="gsm7"
    )
    args.update(kw)
    with pytest.raises(SegmentationError):
        IncomingPart(**args)  # type: ignore[arg-type]


# --- add_from_udh --------------------------------------------------------------------------


def test_add_from_udh_joins_udh_parts() -> None:
    text = "短信分段测试" * 20
    r = split(text, ref=0x2A)
    ra = Reassembler()
    out: list[Reassembled] = []
    for i, p in reversed(list(enumerate(r.parts))):
        out += ra.add_from_udh("s", "d", p.short_message, "ucs2", i, 0)
    (done,) = out
    assert done.text == text and done.ref == 0x2A and done.tokens == (0, 1)


def test_add_from_udh_16_bit_and_8_bit_do_not_merge() -> None:
    text = "0123456789" * 16 + "X"
    r8 = split(text, ref=0x2A)
    r16 = split(text, ref=0x2A, udh="16")
    ra = Reassembler()
    assert ra.add_from_udh("s", "d", r8.parts[0].short_message, "gsm7", 1, 0) == []
    assert ra.add_from_udh("s", "d", r16.parts[1].short_message, "gsm7", 2, 0) == []
    assert ra.pending_count == 2


def test_add_from_udh_without_concat_ie_is_single() -> None:
    data = bytes.fromhex("060504 0B8423F0") + b"hello"
    (done,) = Reassembler().add_from_udh("s", "d", data, "ascii", "t", 0)
    assert done.complete and done.text == "hello" and done.payload == b"hello"
    (plain,) = Reassembler().add_from_udh("s", "d", b"\x05hi", "ascii", "t", 0, has_udh=False)
    assert plain.text == "\x05hi"


def test_add_from_udh_malformed_passes_raw_through() -> None:
    data = bytes.fromhex("0500032A0203") + b"oops"  # seq 3 > total 2
    (done,) = Reassembler().add_from_udh("s", "d", data, "latin1", "t", 0)
    assert done.complete and done.total == 1 and done.payload == data
    assert done.anomaly and done.anomaly.startswith("malformed UDH")


def test_add_from_udh_unknown_encoding_reads_binary() -> None:
    (done,) = Reassembler().add_from_udh("s", "d", b"ab", "klingon", "t", 0, has_udh=False)
    assert done.text == "ab" and done.anomaly


# --- receipt policy ------------------------------------------------------------------------


def test_long_receipt_mode() -> None:
    assert LongReceiptMode("per_part") is LongReceiptMode.PER_PART
    assert LongReceiptMode.PER_MESSAGE == "per_message"


@pytest.mark.parametrize(
    ("states", "worst"),
    [
        (["DELIVRD", "DELIVRD"], "DELIVRD"),
        (["DELIVRD", "UNDELIV"], "UNDELIV"),
        (["EXPIRED", "UNDELIV", "DELIVRD"], "UNDELIV"),
        (["UNDELIV", "REJECTD"], "REJECTD"),
        (["DTBLACK", "UNDELIV"], "DTBLACK"),
        (["DELIVRD", "ENROUTE"], "ENROUTE"),
        (["ACCEPTD", "UNKNOWN"], "UNKNOWN"),
        (["DELETED", "EXPIRED"], "EXPIRED"),
        (["DELIVRD", "MK:0001", "UNDELIV"], "MK:0001"),
        (["delivrd ", "expired"], "expired"),
        ([], "UNKNOWN"),
    ],
)
def test_worst_state(states: list[str], worst: str) -> None:
    assert worst_state(states) == worst
    assert worst_state(iter(states)) == worst


# --- properties ----------------------------------------------------------------------------

texts = st.one_of(
    st.text(sorted(GSM7_CHARS), max_size=800),
    st.text(st.sampled_from("a€{"), min_size=150, max_size=700),
    st.text(st.sampled_from("中a😀€"), max_size=400),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
)


@FAST
@given(texts, st.sampled_from(["8", "16"]), st.sampled_from(["auto", "ucs2", "gbk"]), st.data())
def test_any_permutation_with_duplicates_reassembles(
    text: str, udh: str, encoding: str, data: st.DataObject
) -> None:
    try:
        r = split(text, udh=udh, ref=0x2A, encoding=encoding)  # type: ignore[arg-type]
    except SegmentationError:  # not representable in that encoding
        return
    msgs = [p.short_message for p in r.parts]
    extra = data.draw(st.lists(st.sampled_from(msgs), max_size=3))
    order = data.draw(st.permutations(msgs + extra))
    ra = Reassembler()
    out: list[Reassembled] = []
    for i, m in enumerate(order):
        out += ra.add_from_udh("s", "d", m, r.encoding, i, float(i), has_udh=len(msgs) > 1)
    out += ra.expire(1e9)
    complete = [o for o in out if o.complete]
    assert complete and all(o.text == text for o in complete)
    if len(msgs) > 1:
        # copies arriving after completion open a new set (the key is free again): it surfaces
        # later, complete again if every part was repeated, else flagged incomplete
        assert all(o.parts_received == len(msgs) for o in complete)
        assert complete[0].tokens == tuple(order.index(m) for m in msgs)
    # nothing lost: every submitted copy is a received part or a counted duplicate
    assert sum(o.parts_received + o.duplicates for o in out) == len(order)
    assert ra.pending_count == 0


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
@given(
    st.lists(
        st.tuples(
            st.one_of(st.binary(max_size=24), udh_user_data()),
            st.sampled_from(["gsm7", "ucs2", "ascii", "gbk", "nope"]),
            st.booleans(),
            st.floats(0, 1000, allow_nan=False),
        ),
        max_size=40,
    ),
    st.integers(1, 5),
)
def test_add_from_udh_never_raises_and_respects_cap(
    items: list[tuple[bytes, str, bool, float]], cap: int
) -> None:
    ra = Reassembler(timeout_s=50, max_pending=cap)
    now = 0.0
    for data, enc, has_udh, dt in items:
        now += dt
        out = ra.add_from_udh("s", "d", data, enc, None, now, has_udh=has_udh)
        out += ra.expire(now)
        assert all(isinstance(o.text, str) for o in out)
        assert ra.pending_count <= cap


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 4), st.data()),
        max_size=60,
    ),
    st.integers(1, 4),
)
def test_random_parts_never_lost(items: list[tuple[int, int, st.DataObject]], cap: int) -> None:
    """Every part added comes back out exactly once (completed, evicted or expired)."""
    ra = Reassembler(timeout_s=1e9, max_pending=cap)
    tokens_in: list[int] = []
    tokens_out: list[object] = []
    duplicates = 0
    for i, (ref, total, data) in enumerate(items):
        seq = data.draw(st.integers(1, total))
        part = IncomingPart("s", "d", ref, total, seq, bytes([65 + seq]), "ascii", i)
        before = ra.pending_count
        out = ra.add(part, float(i))
        assert ra.pending_count <= cap
        for o in out:
            tokens_out.extend(o.tokens)
            duplicates += o.duplicates
        tokens_in.append(i)
        assert ra.pending_count <= before + 1
    for o in ra.expire(2e9):
        tokens_out.extend(o.tokens)
        duplicates += o.duplicates
    # duplicates are absorbed (counted, not re-emitted); every other token surfaces once
    assert len(tokens_out) == len(set(tokens_out))
    assert len(tokens_out) + duplicates == len(tokens_in)
    assert ra.pending_count == 0
