"""Property tests: the generated fast codec equals the Construct declarations (pdu.py)."""

from __future__ import annotations

import struct
from typing import Any

from construct import FormatField
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.cmpp import codec
from protocols.cmpp.pdu import (
    BODIES,
    DEFAULTS,
    REPORT,
    CommandId,
    Content,
    Destinations,
    FixedBytes,
    Layout,
    OctetString,
    Pdu,
    PduError,
    StatusReport,
    decode_declared,
    decode_report_declared,
    encode_declared,
    encode_report_declared,
)

FAST = settings(max_examples=300, deadline=None)
# Canonical Octet String text: no NUL (it ends the value) and no space (trailing ones are
# stripped), latin-1 so every character has one byte.
OS_ALPHABET = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")


def field_strategy(con: Any) -> st.SearchStrategy[Any]:
    if isinstance(con, FormatField):
        return st.integers(0, (1 << (8 * struct.calcsize(con.fmtstr))) - 1)
    if isinstance(con, OctetString):
        return st.text(OS_ALPHABET, max_size=con.width)
    if isinstance(con, Destinations):
        return st.lists(st.text(OS_ALPHABET, max_size=con.width), min_size=1, max_size=12)
    if con is Content:
        return st.binary(max_size=255)
    if isinstance(con, FixedBytes):
        return st.binary(min_size=con.length, max_size=con.length)
    raise AssertionError(f"no strategy for {con!r}")


def body_strategy(declared: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {sub.name: field_strategy(sub.subcon) for sub in declared.subcons if sub.name}
    )


@st.composite
def pdus(draw: st.DrawFn) -> tuple[Layout, Pdu]:
    layout = draw(st.sampled_from(list(Layout)))
    cid = draw(st.sampled_from(list(CommandId)))
    body = draw(body_strategy(BODIES[layout][cid]))
    seq = draw(st.integers(0, 0xFFFFFFFF))
    return layout, Pdu(cid, seq, {**DEFAULTS[cid], **body})


@FAST
@given(pdus())
def test_round_trip_and_paths_agree(case: tuple[Layout, Pdu]) -> None:
    layout, pdu = case
    wire = codec.encode(pdu, layout)
    assert encode_declared(pdu, layout) == wire
    assert codec.decode(wire, layout) == pdu
    assert decode_declared(wire, layout) == pdu
    assert codec.encode(codec.decode(wire, layout), layout) == wire


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except PduError as exc:
        return "error", (exc.result, exc.command_id, exc.sequence)


@st.composite
def damaged_frames(draw: st.DrawFn) -> tuple[Layout, bytes]:
    """Valid frames with bytes overwritten, cut or appended, re-framed so the header is
    consistent: this reaches the body parsers far more often than uniform noise does."""
    layout, pdu = draw(pdus())
    wire = bytearray(codec.encode(pdu, layout))
    for _ in range(draw(st.integers(0, 3))):
        if len(wire) > 12:
            pos = draw(st.integers(12, len(wire) - 1))
            wire[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, 3))
    if cut and len(wire) - cut >= 12:
        del wire[-cut:]
    wire += draw(st.binary(max_size=3))
    if draw(st.booleans()):
        wire[0:4] = len(wire).to_bytes(4, "big")
    return layout, bytes(wire)


@FAST
@given(damaged_frames())
def test_paths_agree_on_damaged_frames(case: tuple[Layout, bytes]) -> None:
    layout, wire = case
    fast = _outcome(codec.decode, wire, layout)
    declared = _outcome(decode_declared, wire, layout)
    assert fast == declared
    if fast[0] == "ok":  # whatever decodes re-encodes to something that decodes the same
        again = codec.encode(fast[1], layout)
        assert codec.decode(again, layout) == fast[1]


@FAST
@given(st.sampled_from(list(Layout)), st.sampled_from(list(CommandId)), st.binary(max_size=300))
def test_arbitrary_bodies_raise_only_pdu_error(layout: Layout, cid: int, body: bytes) -> None:
    wire = struct.pack(">LLL", 12 + len(body), cid, 1) + body
    assert _outcome(codec.decode, wire, layout)[0] == _outcome(decode_declared, wire, layout)[0]


@FAST
@given(st.binary(max_size=200), st.sampled_from([0x20, 0x21, 0x30]))
def test_arbitrary_bytes_raise_only_pdu_error(wire: bytes, version: int) -> None:
    _outcome(codec.decode, wire, version)
    _outcome(decode_declared, wire, version)


@st.composite
def reports(draw: st.DrawFn) -> tuple[Layout, StatusReport]:
    layout = draw(st.sampled_from(list(Layout)))
    return layout, StatusReport(**draw(body_strategy(REPORT[layout])))


@FAST
@given(reports())
def test_report_round_trip(case: tuple[Layout, StatusReport]) -> None:
    layout, report = case
    content = codec.encode_report(report, layout)
    assert encode_report_declared(report, layout) == content
    assert codec.decode_report(content, layout) == report
    assert decode_report_declared(content, layout) == report


@FAST
@given(st.binary(max_size=80), st.sampled_from(list(Layout)))
def test_report_arbitrary_bytes(content: bytes, layout: Layout) -> None:
    fast = _outcome(codec.decode_report, content, layout)
    declared = _outcome(decode_report_declared, content, layout)
    assert fast[0] == declared[0]
    if fast[0] == "ok":
        assert fast == declared


@FAST
@given(pdus(), st.sampled_from(["", "x" * 40, 5, None, b"raw"]))
def test_bad_values_raise_only_pdu_error_and_paths_agree(
    case: tuple[Layout, Pdu], junk: Any
) -> None:
    layout, pdu = case
    for name in list(pdu.fields)[:6]:
        broken = Pdu(pdu.command_id, pdu.sequence, {**pdu.fields, name: junk})
        fast = _outcome(codec.encode, broken, layout)
        declared = _outcome(encode_declared, broken, layout)
        assert fast[0] == declared[0], name
        if fast[0] == "ok":
            assert fast[1] == declared[1]
