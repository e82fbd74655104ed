"""Exact-bytes tests for the SMPP 3.4 codec (smpp.md §8 vectors) and its error mapping."""

from __future__ import annotations

import pytest

from protocols.smpp.pdu import (
    BODIES,
    RESPONSE_OF,
    CommandId,
    CommandStatus,
    DistributionList,
    Pdu,
    PduError,
    SmeAddress,
    Tag,
    UnsuccessSme,
    decode,
    decode_declared,
    encode,
    encode_declared,
)

S = CommandStatus
C = CommandId

RECEIPT_TEXT = (
    b"id:1234567890 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
    b"stat:DELIVRD err:000 text:Hello World"
)

# (name, hex, command_id, sequence, params subset, tlvs)
VECTORS: list[tuple[str, str, int, int, dict, list]] = [
    (
        "8.1 bind_transceiver",
        "0000002100000009000000000000000161636d6500736563726574000034000000",
        C.bind_transceiver,
        1,
        {
            "system_id": "acme",
            "password": "secret",
            "system_type": "",
            "interface_version": 0x34,
            "addr_ton": 0,
            "addr_npi": 0,
            "address_range": "",
        },
        [],
    ),
    (
        "8.2 bind_transceiver_resp",
        "0000001d800000090000000000000001534d5343454d55000210000134",
        C.bind_transceiver_resp,
        1,
        {"system_id": "SMSCEMU"},
        [(0x0210, b"\x34")],
    ),
    (
        "8.3 submit_sm",
        "0000003c00000004000000000000000200050041434d4500010134343737303039303031323300"
        "0000000000010000000b48656c6c6f20576f726c64",
        C.submit_sm,
        2,
        {
            "service_type": "",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "ACME",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "447700900123",
            "esm_class": 0,
            "protocol_id": 0,
            "priority_flag": 0,
            "schedule_delivery_time": "",
            "validity_period": "",
            "registered_delivery": 1,
            "replace_if_present_flag": 0,
            "data_coding": 0,
            "sm_default_msg_id": 0,
            "short_message": b"Hello World",
        },
        [],
    ),
    (
        "8.4 submit_sm udh",
        "0000004000000004000000000000000300050041434d4500010134343737303039303031323300"
        "4000000000010000000f0500032a020150617274206f6e6520",
        C.submit_sm,
        3,
        {"esm_class": 0x40, "short_message": bytes.fromhex("0500032a0201") + b"Part one "},
        [],
    ),
    (
        "8.5 submit_sm_resp",
        "0000001b8000000400000000000000023132333435363738393000",
        C.submit_sm_resp,
        2,
        {"message_id": "1234567890"},
        [],
    ),
    (
        "8.6 deliver_sm receipt",
        "000000b600000005000000000000000100010134343737303039303031323300050041434d4500"
        "0400000000000000007169643a31323334353637383930207375623a30303120646c7672643a30"
        "3031207375626d697420646174653a3234303131353132333020646f6e6520646174653a323430"
        "3131353132333120737461743a44454c49565244206572723a30303020746578743a48656c6c6f"
        "20576f726c64001e000b31323334353637383930000427000102",
        C.deliver_sm,
        1,
        {
            "source_addr": "447700900123",
            "destination_addr": "ACME",
            "esm_class": 4,
            "short_message": RECEIPT_TEXT,
        },
        [(0x001E, b"1234567890\x00"), (0x0427, b"\x02")],
    ),
    ("8.7 enquire_link", "00000010000000150000000000000003", C.enquire_link, 3, {}, []),
    ("8.8 generic_nack", "00000010800000000000000300000007", C.generic_nack, 7, {}, []),
    (
        "enquire_link_resp",
        "00000010800000150000000000000003",
        C.enquire_link_resp,
        3,
        {},
        [],
    ),
    (
        "deliver_sm_resp",
        "0000001180000005000000000000000100",
        C.deliver_sm_resp,
        1,
        {"message_id": ""},
        [],
    ),
    (
        "submit_sm_resp_throttled",
        "00000010800000040000005800000004",
        C.submit_sm_resp,
        4,
        {},
        [],
    ),
    ("unbind", "00000010000000060000000000000009", C.unbind, 9, {}, []),
    ("unbind_resp", "00000010800000060000000000000009", C.unbind_resp, 9, {}, []),
    (
        "generic_nack_rinvcmdlen",
        "00000010800000000000000200000000",
        C.generic_nack,
        0,
        {},
        [],
    ),
    (
        "bind_transceiver_resp_rinvpaswd",
        "00000010800000090000000e00000001",
        C.bind_transceiver_resp,
        1,
        {},
        [],
    ),
    (
        "submit_sm_payload_ucs2",
        "0000004100000004000000000000000500050041434d4500010134343737303039303031323300"
        "000000000001000800000424000c041f04400438043204350442",
        C.submit_sm,
        5,
        {"data_coding": 8, "short_message": b""},
        [(0x0424, "Привет".encode("utf-16-be"))],
    ),
    (
        "submit_sm_sar_validity",
        "0000005a00000004000000000000000600050041434d4500010134343737303039303031323300"
        "000000003030303030313030303030303030305200000000000950617274206f6e6520020c0002"
        "002a020e000102020f000101",
        C.submit_sm,
        6,
        {"validity_period": "000001000000000R", "short_message": b"Part one "},
        [(0x020C, b"\x00\x2a"), (0x020E, b"\x02"), (0x020F, b"\x01")],
    ),
    (
        "submit_multi",
        "0000003e00000021000000000000000a00050041434d4500020101013434373730303930303132"
        "330002667269656e647300000000000001000000024869",
        C.submit_multi,
        10,
        {
            "source_addr": "ACME",
            "dest_address": [SmeAddress(1, 1, "447700900123"), DistributionList("friends")],
            "registered_delivery": 1,
            "short_message": b"Hi",
        },
        [],
    ),
    (
        "submit_multi_resp",
        "0000002f80000021000000000000000a31323334353637383931000101013434373730303930"
        "3039393900000000" + "0b",
        C.submit_multi_resp,
        10,
        {
            "message_id": "1234567891",
            "unsuccess_sme": [UnsuccessSme(1, 1, "447700900999", 0x0B)],
        },
        [],
    ),
    (
        "query_sm",
        "0000002200000003000000000000000b3132333435363738393000050041434d4500",
        C.query_sm,
        11,
        {"message_id": "1234567890", "source_addr_ton": 5, "source_addr": "ACME"},
        [],
    ),
    (
        "query_sm_resp",
        "0000002e80000003000000000000000b31323334353637383930003234303131353132333130"
        "303030302b000200",
        C.query_sm_resp,
        11,
        {
            "message_id": "1234567890",
            "final_date": "240115123100000+",
            "message_state": 2,
            "error_code": 0,
        },
        [],
    ),
    (
        "data_sm",
        "0000003600000103000000000000000c00050041434d4500010134343737303039303031323300"
        "000100042400084869207468657265",
        C.data_sm,
        12,
        {"source_addr": "ACME", "registered_delivery": 1},
        [(0x0424, b"Hi there")],
    ),
    (
        "data_sm_resp",
        "0000001b80000103000000000000000c3132333435363738393200",
        C.data_sm_resp,
        12,
        {"message_id": "1234567892"},
        [],
    ),
    (
        "cancel_sm",
        "0000003200000008000000000000000d003132333435363738393000050041434d4500010134"
        "343737303039303031323300",
        C.cancel_sm,
        13,
        {"message_id": "1234567890", "destination_addr": "447700900123"},
        [],
    ),
    ("cancel_sm_resp", "0000001080000008000000000000000d", C.cancel_sm_resp, 13, {}, []),
    (
        "replace_sm",
        "0000002a00000007000000000000000e3132333435363738393000050041434d450000000100034e6577",
        C.replace_sm,
        14,
        {"message_id": "1234567890", "registered_delivery": 1, "short_message": b"New"},
        [],
    ),
    ("replace_sm_resp", "0000001080000007000000000000000e", C.replace_sm_resp, 14, {}, []),
    (
        "outbind",
        "0000001c0000000b000000000000000161636d650073656372657400",
        C.outbind,
        1,
        {"system_id": "acme", "password": "secret"},
        [],
    ),
    (
        "alert_notification",
        "0000002b00000102000000000000000f010134343737303039303031323300050041434d45000422000100",
        C.alert_notification,
        15,
        {"source_addr": "447700900123", "esme_addr_ton": 5, "esme_addr": "ACME"},
        [(0x0422, b"\x00")],
    ),
    (
        "bind_transmitter",
        "0000002100000002000000000000000161636d6500736563726574000034000000",
        C.bind_transmitter,
        1,
        {"system_id": "acme", "password": "secret", "interface_version": 0x34},
        [],
    ),
    (
        "bind_transmitter_resp (ours)",
        "00000018800000020000000000000001534d5343454d5500",
        C.bind_transmitter_resp,
        1,
        {"system_id": "SMSCEMU"},
        [],
    ),
    (
        "bind_receiver_resp (ours)",
        "0000001d800000010000000000000001534d5343454d55000210000134",
        C.bind_receiver_resp,
        1,
        {"system_id": "SMSCEMU"},
        [(0x0210, b"\x34")],
    ),
    (
        "bind_receiver",
        "0000002100000001000000000000000161636d6500736563726574000034000000",
        C.bind_receiver,
        1,
        {"system_id": "acme", "password": "secret", "interface_version": 0x34},
        [],
    ),
]


@pytest.mark.parametrize("dec", [decode, decode_declared], ids=["fast", "declared"])
@pytest.mark.parametrize(
    ("name", "hexs", "cid", "seq", "params", "tlvs"), VECTORS, ids=[v[0] for v in VECTORS]
)
def test_vector_decodes(dec, name, hexs, cid, seq, params, tlvs) -> None:
    pdu = dec(bytes.fromhex(hexs))
    assert pdu.command_id == cid
    assert pdu.sequence == seq
    for key, value in params.items():
        assert pdu.params[key] == value, key
    assert pdu.tlvs == tlvs


@pytest.mark.parametrize("enc", [encode, encode_declared], ids=["fast", "declared"])
@pytest.mark.parametrize("hexs", [v[1] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_vector_reencodes_exactly(enc, hexs) -> None:
    raw = bytes.fromhex(hexs)
    assert enc(decode(raw)) == raw


def test_every_pdu_has_a_declaration_and_vectors_cover_them() -> None:
    assert set(BODIES) == set(CommandId)
    assert {v[2] for v in VECTORS} == set(CommandId)


def test_make_builds_vector_8_3() -> None:
    pdu = Pdu.make(
        C.submit_sm,
        sequence=2,
        source_addr_ton=5,
        source_addr="ACME",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        registered_delivery=1,
        short_message=b"Hello World",
    )
    assert encode(pdu).hex() == VECTORS[2][1]
    assert pdu.short_message == b"Hello World"
    assert pdu.name == "submit_sm"


def test_make_builds_receipt_8_6_with_tlv_setters() -> None:
    pdu = Pdu.make(
        C.deliver_sm,
        sequence=1,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="447700900123",
        dest_addr_ton=5,
        destination_addr="ACME",
        esm_class=4,
        short_message=RECEIPT_TEXT,
    )
    pdu.set_tlv(Tag.receipted_message_id, "1234567890")
    pdu.set_tlv(Tag.message_state, 2)
    assert encode(pdu) == bytes.fromhex(VECTORS[5][1])


def test_make_rejects_unknown_parameter() -> None:
    with pytest.raises(TypeError):
        Pdu.make(C.submit_sm, no_such_field=1)


def test_attribute_access_and_missing_attribute() -> None:
    pdu = decode(bytes.fromhex(VECTORS[4][1]))
    assert pdu.message_id == "1234567890"
    with pytest.raises(AttributeError):
        _ = pdu.short_message


# --------------------------------------------------------------------------- TLV accessors


def test_tlv_typed_access() -> None:
    pdu = decode(bytes.fromhex(VECTORS[16][1]))  # submit_sm_sar_validity
    assert pdu.tlv(Tag.sar_msg_ref_num) == 42
    assert pdu.tlv(Tag.sar_total_segments) == 2
    assert pdu.tlv(Tag.sar_segment_seqnum) == 1
    assert pdu.tlv(Tag.message_payload) is None
    assert pdu.tlv(Tag.message_payload, b"") == b""
    receipt = decode(bytes.fromhex(VECTORS[5][1]))
    assert receipt.tlv(Tag.receipted_message_id) == "1234567890"
    assert receipt.tlv(Tag.message_state) == 2


def test_set_tlv_replaces_appends_and_removes_in_place() -> None:
    pdu = Pdu.make(C.submit_sm, tlvs=[(0x1401, b"vendor"), (Tag.sar_msg_ref_num, b"\x00\x01")])
    pdu.set_tlv(Tag.sar_msg_ref_num, 0x1234)
    pdu.set_tlv(Tag.alert_on_message_delivery, True)
    pdu.set_tlv(Tag.message_payload, b"xyz")
    assert pdu.tlvs == [
        (0x1401, b"vendor"),
        (Tag.sar_msg_ref_num, b"\x12\x34"),
        (Tag.alert_on_message_delivery, b""),
        (Tag.message_payload, b"xyz"),
    ]
    assert pdu.tlv(Tag.alert_on_message_delivery) is True
    pdu.set_tlv(Tag.message_payload, None)
    assert [t for t, _ in pdu.tlvs] == [0x1401, Tag.sar_msg_ref_num, Tag.alert_on_message_delivery]


def test_tlv_wrong_length_is_rinvparlen_but_telematics_decodes_by_length() -> None:
    pdu = Pdu.make(
        C.data_sm, tlvs=[(Tag.sar_msg_ref_num, b"\x01"), (Tag.source_telematics_id, b"\x07")]
    )
    with pytest.raises(PduError) as err:
        pdu.tlv(Tag.sar_msg_ref_num)
    assert err.value.status == S.ESME_RINVPARLEN
    assert pdu.tlv(Tag.source_telematics_id) == 7


def test_set_tlv_bad_value_is_pdu_error() -> None:
    pdu = Pdu.make(C.submit_sm)
    with pytest.raises(PduError) as err:
        pdu.set_tlv(Tag.sar_total_segments, 256)
    assert err.value.status == S.ESME_RINVOPTPARAMVAL


def test_unknown_tlvs_are_kept_in_order_and_reemitted() -> None:
    base = bytes.fromhex(VECTORS[2][1])
    # vendor-specific, v5.0-only (unknown in 3.4) and reserved tags
    extra = bytes.fromhex("140100036162630428000101ffff0000")
    raw = (len(base) + len(extra)).to_bytes(4, "big") + base[4:] + extra
    pdu = decode(raw)
    assert pdu.tlvs == [(0x1401, b"abc"), (0x0428, b"\x01"), (0xFFFF, b"")]
    assert encode(pdu) == raw


# --------------------------------------------------------------------------- malformed input


def _frame(cid: int, body: bytes, seq: int = 77, status: int = 0) -> bytes:
    return (
        (16 + len(body)).to_bytes(4, "big")
        + b"".join(x.to_bytes(4, "big") for x in (cid, status, seq))
        + body
    )


_SM_HEAD = b"\x00" + b"\x05\x00ACME\x00" + b"\x01\x01447700900123\x00" + b"\x00\x00\x00"

MALFORMED = [
    ("short frame", bytes(15), S.ESME_RINVCMDLEN, None, None),
    ("empty", b"", S.ESME_RINVCMDLEN, None, None),
    (
        "length mismatch",
        bytes.fromhex("00000011000000150000000000000003"),
        S.ESME_RINVCMDLEN,
        C.enquire_link,
        3,
    ),
    ("unknown command_id", _frame(0x111, b""), S.ESME_RINVCMDID, 0x111, 77),
    ("reserved command_id 0x0A", _frame(0x0A, b""), S.ESME_RINVCMDID, 0x0A, 77),
    ("enquire_link with body", _frame(C.enquire_link, b"\x00"), S.ESME_RINVCMDLEN, 0x15, 77),
    ("generic_nack with body", _frame(C.generic_nack, b"\x00"), S.ESME_RINVCMDLEN, None, 77),
    ("submit_sm empty body", _frame(C.submit_sm, b""), S.ESME_RINVCMDLEN, 4, 77),
    (
        "unterminated C-string",
        _frame(C.submit_sm, b"\x00\x05\x00ACM"),
        S.ESME_RINVCMDLEN,
        4,
        77,
    ),
    ("service_type too long", _frame(C.submit_sm, b"ABCDEF\x00"), S.ESME_RINVSERTYP, 4, 77),
    (
        "source_addr too long",
        _frame(C.submit_sm, b"\x00\x05\x00" + b"1" * 21 + b"\x00"),
        S.ESME_RINVSRCADR,
        4,
        77,
    ),
    (
        "destination_addr too long",
        _frame(C.submit_sm, b"\x00\x05\x00A\x00\x01\x01" + b"2" * 30),
        S.ESME_RINVDSTADR,
        4,
        77,
    ),
    (
        "schedule_delivery_time wrong size",
        _frame(C.submit_sm, _SM_HEAD + b"12345\x00\x00" + bytes(5)),
        S.ESME_RINVSCHED,
        4,
        77,
    ),
    (
        "validity_period wrong size",
        _frame(C.submit_sm, _SM_HEAD + b"\x00" + b"1" * 15 + b"\x00" + bytes(5)),
        S.ESME_RINVEXPIRY,
        4,
        77,
    ),
    (
        "sm_length overruns",
        _frame(C.submit_sm, _SM_HEAD + b"\x00\x00" + b"\x01\x00\x00\x00" + b"\x05abc"),
        S.ESME_RINVMSGLEN,
        4,
        77,
    ),
    (
        "sm_length 255",
        _frame(C.submit_sm, _SM_HEAD + b"\x00\x00" + b"\x01\x00\x00\x00" + b"\xff" + bytes(255)),
        S.ESME_RINVMSGLEN,
        4,
        77,
    ),
    (
        "sm_length missing",
        _frame(C.submit_sm, _SM_HEAD + b"\x00\x00" + b"\x01\x00\x00\x00"),
        S.ESME_RINVCMDLEN,
        4,
        77,
    ),
    (
        "truncated TLV header",
        _frame(C.submit_sm, _SM_HEAD + b"\x00\x00" + b"\x01\x00\x00\x00\x00" + b"\x02\x0c\x00"),
        S.ESME_RINVOPTPARSTREAM,
        4,
        77,
    ),
    (
        "TLV value overruns",
        _frame(
            C.submit_sm, _SM_HEAD + b"\x00\x00" + b"\x01\x00\x00\x00\x00" + b"\x02\x0c\x00\x05ab"
        ),
        S.ESME_RINVOPTPARSTREAM,
        4,
        77,
    ),
    (
        "submit_multi zero dests",
        _frame(C.submit_multi, b"\x00\x05\x00ACME\x00\x00"),
        S.ESME_RINVNUMDESTS,
        0x21,
        77,
    ),
    (
        "submit_multi 255 dests",
        _frame(C.submit_multi, b"\x00\x05\x00ACME\x00\xff"),
        S.ESME_RINVNUMDESTS,
        0x21,
        77,
    ),
    (
        "submit_multi bad dest_flag",
        _frame(C.submit_multi, b"\x00\x05\x00ACME\x00\x01\x03"),
        S.ESME_RINVDESTFLAG,
        0x21,
        77,
    ),
    (
        "submit_multi dl_name too long",
        _frame(C.submit_multi, b"\x00\x05\x00ACME\x00\x01\x02" + b"x" * 25),
        S.ESME_RINVDLNAME,
        0x21,
        77,
    ),
    (
        "bind password too long",
        _frame(C.bind_transmitter, b"acme\x00" + b"p" * 9 + b"\x00"),
        S.ESME_RINVPASWD,
        2,
        77,
    ),
    (
        "bind system_id too long",
        _frame(C.bind_transceiver, b"s" * 16 + b"\x00"),
        S.ESME_RINVSYSID,
        9,
        77,
    ),
    ("bind body cut", _frame(C.bind_receiver, b"acme\x00pw\x00\x00\x34"), S.ESME_RINVCMDLEN, 1, 77),
]


@pytest.mark.parametrize("dec", [decode, decode_declared], ids=["fast", "declared"])
@pytest.mark.parametrize(
    ("name", "raw", "status", "cid", "seq"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_maps_to_protocol_status(dec, name, raw, status, cid, seq) -> None:
    with pytest.raises(PduError) as err:
        dec(raw)
    assert err.value.status == status
    if cid is not None:
        assert err.value.command_id == cid
    assert err.value.sequence == seq
    assert str(err.value).startswith(status.name)


def test_header_only_response_round_trips_and_make_gives_body() -> None:
    for req, resp in RESPONSE_OF.items():
        raw = _frame(resp, b"", seq=5, status=S.ESME_RSYSERR)
        pdu = decode(raw)
        assert pdu.params == {} and pdu.tlvs == []
        assert encode(pdu) == raw == encode_declared(pdu), req


# --------------------------------------------------------------------------- encode errors

BAD_PDUS = [
    ("source_addr too long", Pdu.make(C.submit_sm, source_addr="1" * 21)),
    ("NUL inside a string", Pdu.make(C.submit_sm, source_addr="12\x0034")),
    ("non latin-1", Pdu.make(C.submit_sm, source_addr="☃")),
    ("short_message as str", Pdu.make(C.submit_sm, short_message="hi")),
    ("short_message 255", Pdu.make(C.submit_sm, short_message=bytes(255))),
    ("int out of range", Pdu.make(C.submit_sm, esm_class=256)),
    ("negative int", Pdu.make(C.submit_sm, esm_class=-1)),
    ("schedule wrong size", Pdu.make(C.submit_sm, schedule_delivery_time="2401")),
    ("sequence too big", Pdu.make(C.enquire_link, sequence=2**32)),
    ("tlv too long", Pdu.make(C.submit_sm, tlvs=[(0x424, bytes(70000))])),
    ("tlv tag too big", Pdu.make(C.submit_sm, tlvs=[(0x10000, b"")])),
    ("tlv value str", Pdu.make(C.submit_sm, tlvs=[(0x424, "x")])),
    ("tlv on header-only", Pdu.make(C.enquire_link, tlvs=[(0x424, b"x")])),
    ("no dests", Pdu.make(C.submit_multi)),
    ("dest not an entry", Pdu.make(C.submit_multi, dest_address=["447700900123"])),
    ("missing param", Pdu(C.submit_sm, 0, 1, {"service_type": ""}, [])),
    ("unknown command", Pdu(0x111, 0, 1, {}, [])),
    ("command_id not int", Pdu("submit_sm", 0, 1, {}, [])),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("enc", [encode, encode_declared], ids=["fast", "declared"])
@pytest.mark.parametrize(("name", "pdu"), BAD_PDUS, ids=[b[0] for b in BAD_PDUS])
def test_encoding_bad_values_raises_pdu_error(enc, name, pdu) -> None:
    with pytest.raises(PduError):
        enc(pdu)


def test_status_and_command_enums_have_spec_values() -> None:
    assert S.ESME_RINVSERTYP == 0x15 and S.ESME_RINVDSTTON == 0x50 and S.ESME_RINVSYSTYP == 0x53
    assert S.ESME_RINVREPFLAG == 0x54 and S.ESME_RTHROTTLED == 0x58
    assert C.data_sm == 0x103 and C.generic_nack == 0x80000000
    assert Tag.message_payload == 0x0424 and Tag.alert_on_message_delivery == 0x130C
    assert len(S) == 48


def test_pdu_copies_and_pickles() -> None:
    import copy
    import pickle

    pdu = Pdu.make(C.submit_multi, dest_address=[SmeAddress(1, 1, "1"), DistributionList("x")])
    assert copy.deepcopy(pdu) == pdu == pickle.loads(pickle.dumps(pdu)) == copy.copy(pdu)
    made = Pdu.make(C.submit_multi)
    assert (
        made.dest_address == [] and made.dest_address is not Pdu.make(C.submit_multi).dest_address
    )
