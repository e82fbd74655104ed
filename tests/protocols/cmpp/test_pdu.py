"""cmpp.md §7 test vectors, exact bytes, through both the declared and the fast codec."""

from __future__ import annotations

from collections.abc import Callable

import cmpp_vectors as v
import pytest

from protocols.cmpp import codec
from protocols.cmpp.pdu import (
    CommandId,
    Pdu,
    PduError,
    StatusReport,
    decode_declared,
    decode_report_declared,
    encode_declared,
    encode_report_declared,
    layout_of,
)

C = CommandId
V20, V30 = 0x20, 0x30

SUBMIT_COMMON = dict(
    registered_delivery=1,
    service_id="TEST01",
    fee_usertype=2,
    msg_fmt=8,
    msg_src="901234",
    feetype="01",
    feecode="000000",
    src_id="106900001234",
    dest_terminal_id=["13800138000"],
)
LONG1 = bytes.fromhex("050003a50201") + "长短信第一段".encode("utf-16-be")
LONG2 = bytes.fromhex("06080412340202") + "第二段".encode("utf-16-be")
DELIVER_COMMON = dict(dest_id="106900001234", service_id="TEST01", src_terminal_id="13800138000")
REPORT = StatusReport(
    msg_id=v.SUBMIT_MSG_ID,
    stat="DELIVRD",
    submit_time="2511221030",
    done_time="2511221031",
    dest_terminal_id="13800138000",
    smsc_sequence=12345,
)

CASES: list[tuple[str, bytes, int, Pdu]] = [
    (
        "connect 2.0",
        v.CONNECT_20,
        V20,
        Pdu.make(
            C.CONNECT,
            1,
            source_addr="901234",
            authenticator_source=v.AUTH_SOURCE,
            version=0x20,
            timestamp=v.TIMESTAMP,
        ),
    ),
    (
        "connect 3.0",
        v.CONNECT_30,
        V30,
        Pdu.make(
            C.CONNECT,
            1,
            source_addr="901234",
            authenticator_source=v.AUTH_SOURCE,
            version=0x30,
            timestamp=v.TIMESTAMP,
        ),
    ),
    (
        "connect_resp ok 2.0",
        v.CONNECT_RESP_OK_20,
        V20,
        Pdu.make(C.CONNECT_RESP, 1, status=0, authenticator_ismg=v.AUTH_ISMG_20, version=0x20),
    ),
    (
        "connect_resp ok 3.0",
        v.CONNECT_RESP_OK_30,
        V30,
        Pdu.make(C.CONNECT_RESP, 1, status=0, authenticator_ismg=v.AUTH_ISMG_30, version=0x30),
    ),
    (
        "connect_resp fail 2.0",
        v.CONNECT_RESP_AUTHFAIL_20,
        V20,
        Pdu.make(C.CONNECT_RESP, 1, status=3, version=0x20),
    ),
    (
        "connect_resp fail 3.0",
        v.CONNECT_RESP_AUTHFAIL_30,
        V30,
        Pdu.make(C.CONNECT_RESP, 1, status=3, version=0x30),
    ),
    (
        "submit ucs2 2.0",
        v.SUBMIT_UCS2_20,
        V20,
        Pdu.make(C.SUBMIT, 2, msg_content="你好世界".encode("utf-16-be"), **SUBMIT_COMMON),
    ),
    (
        "submit ucs2 3.0",
        v.SUBMIT_UCS2_30,
        V30,
        Pdu.make(C.SUBMIT, 2, msg_content="你好世界".encode("utf-16-be"), **SUBMIT_COMMON),
    ),
    (
        "submit long 1/2 2.0",
        v.SUBMIT_LONG1_20,
        V20,
        Pdu.make(
            C.SUBMIT, 3, pk_total=2, pk_number=1, tp_udhi=1, msg_content=LONG1, **SUBMIT_COMMON
        ),
    ),
    (
        "submit long 1/2 3.0",
        v.SUBMIT_LONG1_30,
        V30,
        Pdu.make(
            C.SUBMIT, 3, pk_total=2, pk_number=1, tp_udhi=1, msg_content=LONG1, **SUBMIT_COMMON
        ),
    ),
    (
        "submit long 2/2 3.0",
        v.SUBMIT_LONG2_30,
        V30,
        Pdu.make(
            C.SUBMIT, 4, pk_total=2, pk_number=2, tp_udhi=1, msg_content=LONG2, **SUBMIT_COMMON
        ),
    ),
    (
        "submit_resp 2.0",
        v.SUBMIT_RESP_20,
        V20,
        Pdu.make(C.SUBMIT_RESP, 2, msg_id=v.SUBMIT_MSG_ID, result=0),
    ),
    (
        "submit_resp 3.0",
        v.SUBMIT_RESP_30,
        V30,
        Pdu.make(C.SUBMIT_RESP, 2, msg_id=v.SUBMIT_MSG_ID, result=0),
    ),
    (
        "submit_resp flow 3.0",
        v.SUBMIT_RESP_FLOW_30,
        V30,
        Pdu.make(C.SUBMIT_RESP, 5, msg_id=0, result=8),
    ),
    (
        "deliver mo 2.0",
        v.DELIVER_MO_20,
        V20,
        Pdu.make(
            C.DELIVER,
            100,
            msg_id=v.MO_MSG_ID,
            msg_fmt=15,
            msg_content=bytes.fromhex("c4e3bac3"),
            **DELIVER_COMMON,
        ),
    ),
    (
        "deliver mo 3.0",
        v.DELIVER_MO_30,
        V30,
        Pdu.make(
            C.DELIVER,
            100,
            msg_id=v.MO_MSG_ID,
            msg_fmt=15,
            msg_content=bytes.fromhex("c4e3bac3"),
            link_id="20251122103100000001",
            **DELIVER_COMMON,
        ),
    ),
    (
        "deliver_resp 2.0",
        v.DELIVER_RESP_20,
        V20,
        Pdu.make(C.DELIVER_RESP, 100, msg_id=v.MO_MSG_ID, result=0),
    ),
    (
        "deliver_resp 3.0",
        v.DELIVER_RESP_30,
        V30,
        Pdu.make(C.DELIVER_RESP, 100, msg_id=v.MO_MSG_ID, result=0),
    ),
    ("active_test", v.ACTIVE_TEST, V20, Pdu.make(C.ACTIVE_TEST, 7)),
    ("active_test 3.0", v.ACTIVE_TEST, V30, Pdu.make(C.ACTIVE_TEST, 7)),
    ("active_test_resp", v.ACTIVE_TEST_RESP, V30, Pdu.make(C.ACTIVE_TEST_RESP, 7)),
    ("terminate", v.TERMINATE, V20, Pdu.make(C.TERMINATE, 8)),
    ("terminate_resp", v.TERMINATE_RESP, V30, Pdu.make(C.TERMINATE_RESP, 8)),
    ("query", v.QUERY, V20, Pdu.make(C.QUERY, 9, time="20251122")),
    ("query 3.0", v.QUERY, V30, Pdu.make(C.QUERY, 9, time="20251122")),
    ("cancel", v.CANCEL, V30, Pdu.make(C.CANCEL, 10, msg_id=v.SUBMIT_MSG_ID)),
    ("cancel_resp 2.0", v.CANCEL_RESP_20, V20, Pdu.make(C.CANCEL_RESP, 10, success_id=0)),
    ("cancel_resp 3.0", v.CANCEL_RESP_30, V30, Pdu.make(C.CANCEL_RESP, 10, success_id=0)),
]

DECODERS: list[Callable[[bytes, int], Pdu]] = [codec.decode, decode_declared]
ENCODERS: list[Callable[[Pdu, int], bytes]] = [codec.encode, encode_declared]


@pytest.mark.parametrize("decoder", DECODERS, ids=["fast", "declared"])
@pytest.mark.parametrize(("name", "wire", "version", "pdu"), CASES, ids=[c[0] for c in CASES])
def test_vector_decodes(name: str, wire: bytes, version: int, pdu: Pdu, decoder) -> None:
    assert decoder(wire, version) == pdu


@pytest.mark.parametrize("encoder", ENCODERS, ids=["fast", "declared"])
@pytest.mark.parametrize(("name", "wire", "version", "pdu"), CASES, ids=[c[0] for c in CASES])
def test_vector_encodes(name: str, wire: bytes, version: int, pdu: Pdu, encoder) -> None:
    assert encoder(pdu, version) == wire


@pytest.mark.parametrize(
    ("wire", "version", "report_len"),
    [(v.DELIVER_REPORT_20, V20, 60), (v.DELIVER_REPORT_30, V30, 71)],
)
@pytest.mark.parametrize("path", ["fast", "declared"])
def test_status_report_vector(wire: bytes, version: int, report_len: int, path: str) -> None:
    dec, enc = (
        (codec.decode, codec.encode) if path == "fast" else (decode_declared, encode_declared)
    )
    dec_r, enc_r = (
        (codec.decode_report, codec.encode_report)
        if path == "fast"
        else (decode_report_declared, encode_report_declared)
    )
    pdu = dec(wire, version)
    assert pdu.command_id == C.DELIVER and pdu["registered_delivery"] == 1
    assert pdu["msg_id"] == v.REPORT_DELIVER_MSG_ID
    assert len(pdu["msg_content"]) == report_len
    assert dec_r(pdu["msg_content"], version) == REPORT
    assert enc_r(REPORT, version) == pdu["msg_content"]
    rebuilt = Pdu.make(
        C.DELIVER,
        101,
        msg_id=v.REPORT_DELIVER_MSG_ID,
        registered_delivery=1,
        msg_content=enc_r(REPORT, version),
        **DELIVER_COMMON,
    )
    assert enc(rebuilt, version) == wire


def test_gocmpp_style_60_byte_report_on_30_session_is_read_by_length() -> None:
    content = codec.encode_report(REPORT, V20)
    assert codec.decode_report(content, V30) == REPORT
    assert decode_report_declared(content, V30) == REPORT


def test_sizes_match_spec_summary_table() -> None:
    """cmpp.md §2.0: SUBMIT 138+21n+L / 163+32n+L, DELIVER 85+L / 109+L."""
    for n, length in [(1, 0), (3, 10), (99, 140)]:
        pdu = Pdu.make(C.SUBMIT, 1, dest_terminal_id=["1"] * n, msg_content=b"x" * length)
        assert len(codec.encode(pdu, V20)) == 138 + 21 * n + length
        assert len(codec.encode(pdu, V30)) == 163 + 32 * n + length
    d = Pdu.make(C.DELIVER, 1, msg_content=b"y" * 17)
    assert len(codec.encode(d, V20)) == 85 + 17
    assert len(codec.encode(d, V30)) == 109 + 17


def test_twelve_byte_active_test_resp_is_tolerated() -> None:
    wire = bytes.fromhex("0000000c800000080000000b")
    for dec in DECODERS:
        assert dec(wire, V30) == Pdu.make(C.ACTIVE_TEST_RESP, 11, reserved=0)


def test_octet_strings_cut_at_first_nul_and_strip_spaces() -> None:
    wire = bytearray(v.SUBMIT_UCS2_20)
    wire[0x18:0x22] = b"AB  \x00junk!"[:10]  # Service_Id
    for dec in DECODERS:
        assert dec(bytes(wire), V20)["service_id"] == "AB"


@pytest.mark.parametrize("decoder", DECODERS, ids=["fast", "declared"])
def test_submit_error_results(decoder) -> None:
    # DestUsr_tl = 0 -> Result 1 (§8 pitfall 10)
    wire = bytearray(v.SUBMIT_UCS2_20)
    wire[0x80] = 0
    with pytest.raises(PduError) as info:
        decoder(bytes(wire), V20)
    assert (info.value.result, info.value.command_id, info.value.sequence) == (1, C.SUBMIT, 2)
    # Msg_Length larger than what Total_Length leaves -> Result 4
    wire = bytearray(v.SUBMIT_UCS2_20)
    wire[0x96] = 9
    with pytest.raises(PduError) as info:
        decoder(bytes(wire), V20)
    assert info.value.result == 4
    # a 3.0 SUBMIT read with the 2.0 layout cannot fit
    with pytest.raises(PduError) as info:
        decoder(v.SUBMIT_UCS2_30, V20)
    assert info.value.result in (1, 4)


@pytest.mark.parametrize("decoder", DECODERS, ids=["fast", "declared"])
def test_header_errors(decoder) -> None:
    with pytest.raises(PduError) as info:
        decoder(b"\x00\x00\x00\x0c\x00\x00\x00\x03\x00\x00\x00\x01", V30)
    assert info.value.result == 2 and info.value.sequence == 1  # unknown Command_Id
    with pytest.raises(PduError):
        decoder(v.CONNECT_30[:-1], V30)  # Total_Length disagrees with the frame
    with pytest.raises(PduError):
        decoder(b"\x00\x00", V30)
    with pytest.raises(PduError) as info:
        decoder(v.CONNECT_30[:4] + v.CONNECT_30[4:] + b"", 0x31)
    assert info.value.result == 4  # version too high


def test_connect_malformed_is_status_1() -> None:
    wire = b"\x00\x00\x00\x26" + v.CONNECT_30[4:-1]
    for dec in DECODERS:
        with pytest.raises(PduError) as info:
            dec(wire, V30)
        assert info.value.result == 1


@pytest.mark.parametrize("encoder", ENCODERS, ids=["fast", "declared"])
@pytest.mark.parametrize(
    "bad",
    [
        {"service_id": "ELEVENCHARS"},
        {"dest_terminal_id": []},
        {"dest_terminal_id": ["1"] * 100},
        {"msg_content": b"x" * 256},
        {"msg_content": "text"},
        {"pk_total": 256},
        {"msg_id": -1},
        {"src_id": "号码"},
    ],
)
def test_encode_rejects_bad_values(encoder, bad: dict) -> None:
    fields = {**SUBMIT_COMMON, **bad}
    with pytest.raises(PduError):
        encoder(Pdu.make(C.SUBMIT, 1, **fields), V30)


def test_status_width_is_checked_per_version() -> None:
    pdu = Pdu.make(C.SUBMIT_RESP, 1, msg_id=1, result=300)
    assert len(codec.encode(pdu, V30)) == 24
    for enc in ENCODERS:
        with pytest.raises(PduError):
            enc(pdu, V20)


def test_make_rejects_unknown_fields_and_commands() -> None:
    with pytest.raises(PduError):
        Pdu.make(C.SUBMIT, 1, destusr_tl=1)
    with pytest.raises(PduError):
        Pdu.make(0x99, 1)


@pytest.mark.parametrize(
    ("version", "expected"), [(0x20, 0x20), (0x21, 0x20), (0x2F, 0x20), (0x30, 0x30)]
)
def test_layout_of(version: int, expected: int) -> None:
    assert layout_of(version) == expected


def test_layout_of_rejects_with_connect_status() -> None:
    with pytest.raises(PduError) as info:
        layout_of(0x31)
    assert info.value.result == 4
    with pytest.raises(PduError) as info:
        layout_of(0x12)
    assert info.value.result == 5
