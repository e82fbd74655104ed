"""Property tests: the generated fast codec equals the Construct declarations (smpp.md §2).

Strategies are derived from the declarations themselves, so a field added to ``BODIES`` is
exercised here without editing this file.
"""

from __future__ import annotations

from typing import Any

from construct import FormatField
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.smpp.pdu import (
    BODIES,
    COctetString,
    CommandId,
    CountedArray,
    Pdu,
    PduError,
    Record,
    ShortMessage,
    TaggedUnion,
    TlvStream,
    decode,
    decode_declared,
    encode,
    encode_declared,
    is_response,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_LATIN1 = st.characters(min_codepoint=1, max_codepoint=255)


def _value(sub: Any) -> st.SearchStrategy[Any]:
    if isinstance(sub, FormatField):
        return st.integers(0, 2 ** (8 * sub.sizeof()) - 1)
    if isinstance(sub, COctetString):
        if sub.sizes is not None:
            return st.one_of(*(st.text(_LATIN1, min_size=n, max_size=n) for n in sub.sizes))
        return st.text(_LATIN1, max_size=sub.max_size - 1)
    if isinstance(sub, ShortMessage):
        return st.binary(max_size=sub.max_length)
    if isinstance(sub, Record):
        return st.builds(sub.cls, *(_value(sc.subcon) for sc in sub.struct.subcons))
    if isinstance(sub, TaggedUnion):
        return st.one_of(*(_value(rec) for rec in sub.variants.values()))
    if isinstance(sub, CountedArray):
        return st.lists(_value(sub.element), min_size=sub.min_count, max_size=min(sub.max_count, 4))
    raise TypeError(type(sub))


_TLVS = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=24)), max_size=4)


@st.composite
def pdus(draw: st.DrawFn, cid: CommandId | None = None) -> Pdu:
    cid = draw(st.sampled_from(list(BODIES))) if cid is None else cid
    body = BODIES[cid]
    header = (
        draw(st.integers(0, 2**32 - 1)),
        draw(st.integers(0, 2**32 - 1)),
    )
    fields = [sc for sc in body.subcons if not isinstance(sc.subcon, TlvStream)]
    has_tlvs = len(fields) != len(body.subcons)
    if is_response(cid) and fields and draw(st.booleans()) and draw(st.booleans()):
        return Pdu(cid, *header, {}, [])  # header-only response
    params = {sc.name: draw(_value(sc.subcon)) for sc in fields}
    tlvs = draw(_TLVS) if has_tlvs else []
    return Pdu(cid, *header, params, tlvs)


@FAST
@given(pdus())
def test_decode_encode_round_trip_and_paths_agree(pdu: Pdu) -> None:
    data = encode(pdu)
    assert encode_declared(pdu) == data
    assert decode(data) == pdu
    assert decode_declared(data) == pdu


@FAST
@given(pdus())
def test_valid_bytes_reencode_identically(pdu: Pdu) -> None:
    data = encode_declared(pdu)
    assert encode(decode(data)) == data
    assert encode_declared(decode_declared(data)) == data


def _outcome(fn: Any, arg: Any) -> Any:
    try:
        return fn(arg)
    except PduError as exc:
        return ("error", exc.status, exc.command_id, exc.sequence)


def _frame(cid: int, body: bytes, status: int, seq: int) -> bytes:
    head = (16 + len(body)).to_bytes(4, "big")
    return head + b"".join(x.to_bytes(4, "big") for x in (cid, status, seq)) + body


_CIDS = st.one_of(st.sampled_from([int(c) for c in BODIES]), st.integers(0, 2**32 - 1))


@FAST
@given(_CIDS, st.binary(max_size=120), st.integers(0, 2**32 - 1))
def test_arbitrary_bodies_give_same_pdu_or_same_error(cid: int, body: bytes, seq: int) -> None:
    frame = _frame(cid, body, 0, seq)
    fast = _outcome(decode, frame)
    assert fast == _outcome(decode_declared, frame)
    if isinstance(fast, Pdu):
        assert encode(fast) == frame


@FAST
@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_pdu_error(data: bytes) -> None:
    assert _outcome(decode, data) == _outcome(decode_declared, data)


@FAST
@given(pdus(), st.data())
def test_mutated_valid_pdus_agree(pdu: Pdu, data: st.DataObject) -> None:
    frame = bytearray(encode(pdu))
    if len(frame) > 16:
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(16, len(frame) - 1))
            frame[i] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(16, len(frame)))
        frame = frame[:cut]
        frame[0:4] = len(frame).to_bytes(4, "big")
    frame = bytes(frame)
    fast = _outcome(decode, frame)
    assert fast == _outcome(decode_declared, frame)
    if isinstance(fast, Pdu):
        assert encode(fast) == frame == encode_declared(fast)


_JUNK = st.one_of(
    st.integers(-5, 2**33),
    st.text(max_size=70),
    st.binary(max_size=300),
    st.none(),
    st.lists(st.integers(0, 300), max_size=3),
)


@FAST
@given(pdus(), st.data())
def test_encoding_junk_values_raises_only_pdu_error(pdu: Pdu, data: st.DataObject) -> None:
    if pdu.params:
        key = data.draw(st.sampled_from(sorted(pdu.params)))
        pdu.params[key] = data.draw(_JUNK)
    if data.draw(st.booleans()):
        pdu.tlvs.append((data.draw(st.integers(-1, 0x10001)), data.draw(_JUNK)))
    for enc in (encode, encode_declared):
        try:
            out = enc(pdu)
        except PduError:
            continue
        assert decode(out).command_id == pdu.command_id


# Bodies assembled from field-shaped pieces reach the edges random bytes rarely hit: strings of
# exactly max-1 / max / max+1 octets, sm_length near 254/255, counts, truncated TLVs.
_EDGE_LENGTHS = [0, 1, 4, 5, 6, 8, 9, 12, 13, 15, 16, 17, 20, 21, 40, 41, 64, 65]
_PIECES = st.one_of(
    st.sampled_from(_EDGE_LENGTHS).map(lambda n: b"7" * n + b"\x00"),
    st.sampled_from(_EDGE_LENGTHS).map(lambda n: b"7" * n),
    st.binary(min_size=1, max_size=3),
    st.sampled_from([b"\x00" * 4, b"\xfe", b"\xff", b"\x01\x01", b"\x02", b"\x03"]),
    st.tuples(st.integers(0, 0xFFFF), st.integers(0, 8), st.binary(max_size=6)).map(
        lambda t: t[0].to_bytes(2, "big") + t[1].to_bytes(2, "big") + t[2]
    ),
)


@settings(max_examples=500, deadline=None)
@given(_CIDS, st.lists(_PIECES, max_size=24), st.integers(0, 2**32 - 1))
def test_field_shaped_bodies_give_same_pdu_or_same_error(
    cid: int, pieces: list[bytes], seq: int
) -> None:
    frame = _frame(cid, b"".join(pieces), 0, seq)
    fast = _outcome(decode, frame)
    assert fast == _outcome(decode_declared, frame)
    if isinstance(fast, Pdu):
        assert encode(fast) == frame


def _edge_field(draw: st.DrawFn, sub: Any, edgy: bool) -> bytes:
    """Wire bytes for one declared field: valid, or (``edgy``) at or just past a limit."""
    if isinstance(sub, FormatField):
        return draw(st.binary(min_size=sub.sizeof(), max_size=sub.sizeof()))
    if isinstance(sub, COctetString):
        m = sub.max_size
        if not edgy:
            n = draw(st.sampled_from(sub.sizes or (0, m - 1)))
            return b"7" * n + b"\x00"
        sizes = set(sub.sizes or ()) | {s + 1 for s in sub.sizes or ()}
        n = draw(st.sampled_from(sorted({0, 1, m - 2, m - 1, m, m + 1} | sizes)))
        return b"7" * max(n, 0) + draw(st.sampled_from([b"\x00", b"\x00", b""]))
    if isinstance(sub, ShortMessage):
        if not edgy:
            n = draw(st.sampled_from([0, 5, 254]))
            return bytes([n]) + b"m" * n
        n = draw(st.sampled_from([0, 1, 5, 253, 254, 255]))
        return bytes([n]) + b"m" * draw(st.sampled_from([n, n, max(n - 1, 0), n + 1]))
    if isinstance(sub, Record):
        return b"".join(_edge_field(draw, sc.subcon, edgy) for sc in sub.struct.subcons)
    if isinstance(sub, TaggedUnion):
        flag = draw(st.sampled_from([0, 1, 2, 3] if edgy else list(sub.variants)))
        rec = sub.variants.get(flag) or next(iter(sub.variants.values()))
        return bytes([flag]) + _edge_field(draw, rec, edgy)
    if isinstance(sub, CountedArray):
        if edgy:
            n = draw(st.sampled_from([0, 1, 2, 254, 255]))
            k = min(n, draw(st.integers(0, 3)))
        else:
            n = k = draw(st.integers(max(sub.min_count, 0), min(sub.max_count, 3)))
        return bytes([n]) + b"".join(_edge_field(draw, sub.element, edgy) for _ in range(k))
    if isinstance(sub, TlvStream):
        if not edgy:
            return b"".join(
                t.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v for t, v in draw(_TLVS)
            )
        return b"".join(draw(st.lists(_PIECES.filter(lambda p: len(p) >= 2), max_size=3)))
    raise TypeError(type(sub))


@st.composite
def edge_frames(draw: st.DrawFn) -> bytes:
    """A frame whose fields are valid up to one targeted field, which sits at a limit."""
    cid = draw(st.sampled_from(list(BODIES)))
    subs = [sc.subcon for sc in BODIES[cid].subcons]
    target = draw(st.integers(0, max(len(subs) - 1, 0)))
    body = b"".join(
        _edge_field(draw, sub, i == target or (i > target and draw(st.booleans())))
        for i, sub in enumerate(subs)
    )
    body = body[: draw(st.integers(0, len(body)))] if draw(st.integers(0, 3)) == 0 else body
    return _frame(cid, body, 0, draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=500, deadline=None)
@given(edge_frames())
def test_declaration_directed_edge_cases_agree(frame: bytes) -> None:
    fast = _outcome(decode, frame)
    assert fast == _outcome(decode_declared, frame)
    if isinstance(fast, Pdu):
        assert encode(fast) == frame


def _valid_bytes(sub: Any) -> bytes:
    if isinstance(sub, FormatField):
        return b"\x01" * sub.sizeof()
    if isinstance(sub, COctetString):
        return b"7" * (sub.sizes or (0, sub.max_size - 1))[-1] + b"\x00"
    if isinstance(sub, ShortMessage):
        return b"\x02mm"
    if isinstance(sub, Record):
        return b"".join(_valid_bytes(sc.subcon) for sc in sub.struct.subcons)
    if isinstance(sub, TaggedUnion):
        flag, rec = next(iter(sub.variants.items()))
        return bytes([flag]) + _valid_bytes(rec)
    if isinstance(sub, CountedArray):
        return b"\x01" + _valid_bytes(sub.element)
    if isinstance(sub, TlvStream):
        return b"\x02\x0c\x00\x02\x00\x2a"
    raise TypeError(type(sub))


def _edge_variants(sub: Any) -> list[bytes]:
    """Every limit of one declared field, as wire bytes (some valid, most not)."""
    if isinstance(sub, FormatField):
        return [b"\xff" * (sub.sizeof() - 1)]  # truncated integer
    if isinstance(sub, COctetString):
        m = sub.max_size
        lengths = {0, 1, m - 2, m - 1, m, m + 1} | set(sub.sizes or ())
        lengths |= {s + 1 for s in sub.sizes or ()} | {s - 1 for s in sub.sizes or () if s}
        return [b"7" * n + end for n in sorted(lengths) for end in (b"\x00", b"")]
    if isinstance(sub, ShortMessage):
        return [
            bytes([n]) + b"m" * k
            for n in (0, 1, 253, 254, 255)
            for k in {n - 1, n, n + 1}
            if k >= 0
        ] + [b""]
    if isinstance(sub, Record):
        out = []
        subs = [sc.subcon for sc in sub.struct.subcons]
        for i, s in enumerate(subs):
            head = b"".join(_valid_bytes(x) for x in subs[:i])
            tail = b"".join(_valid_bytes(x) for x in subs[i + 1 :])
            out += [head + v + tail for v in _edge_variants(s)]
        return out
    if isinstance(sub, TaggedUnion):
        out = [bytes([f]) + _valid_bytes(next(iter(sub.variants.values()))) for f in (0, 3, 255)]
        for flag, rec in sub.variants.items():
            out += [bytes([flag]) + v for v in _edge_variants(rec)]
        return out + [b""]
    if isinstance(sub, CountedArray):
        el = _valid_bytes(sub.element)
        out = [bytes([n]) + el * min(n, 3) for n in (0, 1, 2, 3, 4, 254, 255)]
        return out + [b"\x01" + v for v in _edge_variants(sub.element)] + [b""]
    if isinstance(sub, TlvStream):
        return [b"", b"\x02", b"\x02\x0c\x00", b"\x02\x0c\x00\x03\x00\x2a", b"\x14\x01\x00\x00"]
    raise TypeError(type(sub))


def _all_edge_frames() -> list[bytes]:
    frames = []
    for cid, body in BODIES.items():
        subs = [sc.subcon for sc in body.subcons]
        for i, sub in enumerate(subs):
            head = b"".join(_valid_bytes(x) for x in subs[:i])
            tail = b"".join(_valid_bytes(x) for x in subs[i + 1 :])
            for v in _edge_variants(sub):
                frames.append(_frame(cid, head + v + tail, 0, 9))
                frames.append(_frame(cid, head + v, 0, 9))
        frames.append(_frame(cid, b"".join(_valid_bytes(x) for x in subs), 0, 9))
    return frames


def test_every_field_limit_of_every_pdu_agrees() -> None:
    frames = _all_edge_frames()
    assert len(frames) > 1500
    outcomes = {"ok": 0, "error": 0}
    for frame in frames:
        fast = _outcome(decode, frame)
        assert fast == _outcome(decode_declared, frame), frame.hex()
        if isinstance(fast, Pdu):
            outcomes["ok"] += 1
            assert encode(fast) == frame == encode_declared(fast), frame.hex()
        else:
            outcomes["error"] += 1
    assert outcomes["ok"] > 300 and outcomes["error"] > 500


def test_a_field_added_to_a_declaration_reaches_the_fast_path() -> None:
    from construct import Int16ub, Struct

    from protocols.smpp import codec
    from protocols.smpp.pdu import COctetString as Cs

    extended = Struct(
        *BODIES[CommandId.query_sm].subcons[:-1],
        "extra" / Int16ub,
        "label" / Cs(5),
        BODIES[CommandId.query_sm].subcons[-1],
    )
    decs, encs, source = codec._Gen().build({CommandId.query_sm: extended})
    assert "'extra'" in source and "'label'" in source
    body = b"id\x00\x01\x02src\x00\x12\x34abcd\x00" + b"\x02\x0c\x00\x01\x07"
    frame = _frame(CommandId.query_sm, body, 0, 1)
    params, tlvs = decs[CommandId.query_sm](frame, len(frame))
    assert params == {
        **{k: v for k, v in extended.parse(body).items() if not k.startswith("_") and k != "tlvs"}
    }
    assert params["extra"] == 0x1234 and params["label"] == "abcd"
    out = bytearray(16)
    encs[CommandId.query_sm](params, tlvs, out)
    assert bytes(out[16:]) == body


def test_unknown_construct_in_a_declaration_fails_at_generation() -> None:
    import pytest
    from construct import Bytes, Struct

    from protocols.smpp import codec

    with pytest.raises(TypeError):
        codec._Gen().build({CommandId.query_sm: Struct("blob" / Bytes(3))})
