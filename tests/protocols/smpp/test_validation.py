"""submit_sm → Submit: what registered_delivery asks for (SMPP 3.4 §5.2.17), and the three
ways a long message arrives (a UDH with esm_class 0x40, the sar_* TLVs, one message_payload)."""

from __future__ import annotations

import pytest

from protocols.smpp.pdu import CommandId as C
from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.pdu import Pdu, Tag
from protocols.smpp.validation import SubmitError, to_submits
from smsc.model import ReceiptRequest as R
from smsc.model import Submit
from smsc.segmentation import concat_udh


def submit(registered_delivery: int = 0, **params: object) -> Pdu:
    return Pdu.make(
        C.submit_sm,
        sequence=1,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="10690001",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="8613800000000",
        registered_delivery=registered_delivery,
        **{"short_message": b"hello", **params},
    )


def one(pdu: Pdu) -> Submit:
    [sub], failures = to_submits(pdu, bind_id="b", now=1_700_000_000.0)
    assert failures == []
    return sub


def refused(pdu: Pdu) -> int:
    with pytest.raises(SubmitError) as exc:
        to_submits(pdu, bind_id="b", now=1_700_000_000.0)
    return exc.value.status


# bits 0-1: the receipt (3 is reserved and read as "final"); bits 2-3 SME acknowledgements
# (accepted, no effect here); bit 4 intermediate notification
@pytest.mark.parametrize("value", range(0x20))
def test_receipt_mode_and_intermediate_flag(value: int) -> None:
    sub = one(submit(value))
    assert sub.receipt is (R.NONE, R.FINAL, R.FAILURE_ONLY, R.FINAL)[value & 0x03]
    assert sub.intermediate is bool(value & 0x10)


@pytest.mark.parametrize("value", [0x20, 0x40, 0x80, 0xE1])
def test_reserved_bits_are_refused(value: int) -> None:
    assert refused(submit(value)) == S.ESME_RINVREGDLVFLG


@pytest.mark.parametrize("ref_bits", [8, 16])
def test_a_udh_part_gives_its_group_and_text_without_the_udh(ref_bits: int) -> None:
    body = concat_udh(0x1A2B if ref_bits == 16 else 0x2B, 3, 2, ref_bits=ref_bits) + b"part two"
    sub = one(submit(esm_class=0x40, short_message=body))
    assert sub.group == (0x1A2B if ref_bits == 16 else 0x2B, 3, 2)
    assert sub.body == body and sub.text == "part two"


def test_a_malformed_udh_is_refused_with_invalid_esm_class() -> None:
    assert refused(submit(esm_class=0x40, short_message=b"\x05\x00\x03\x01")) == (
        S.ESME_RINVESMCLASS
    )


def with_tlvs(pdu: Pdu, *tlvs: tuple[int, object]) -> Pdu:
    for tag, value in tlvs:
        pdu.set_tlv(tag, value)
    return pdu


def test_sar_tlvs_give_the_group_and_leave_the_text_whole() -> None:
    pdu = with_tlvs(
        submit(short_message=b"second half"),
        (Tag.sar_msg_ref_num, 0x0102),
        (Tag.sar_total_segments, 2),
        (Tag.sar_segment_seqnum, 2),
    )
    sub = one(pdu)
    assert sub.group == (0x0102, 2, 2)
    assert sub.body == b"second half" and sub.text == "second half"


@pytest.mark.parametrize(
    "tlvs",
    [
        [(Tag.sar_msg_ref_num, 1), (Tag.sar_total_segments, 2)],  # no seqnum
        [(Tag.sar_msg_ref_num, 1), (Tag.sar_total_segments, 2), (Tag.sar_segment_seqnum, 3)],
        [(Tag.sar_msg_ref_num, 1), (Tag.sar_total_segments, 2), (Tag.sar_segment_seqnum, 0)],
    ],
)
def test_incomplete_or_inconsistent_sar_tlvs_are_refused(tlvs: list[tuple[int, int]]) -> None:
    assert refused(with_tlvs(submit(), *tlvs)) == S.ESME_RINVOPTPARAMVAL


def test_a_single_part_sar_is_no_group() -> None:
    pdu = with_tlvs(
        submit(),
        (Tag.sar_msg_ref_num, 9),
        (Tag.sar_total_segments, 1),
        (Tag.sar_segment_seqnum, 1),
    )
    assert one(pdu).group is None


def test_message_payload_carries_the_body() -> None:
    text = "x" * 300  # beyond short_message's 254 octets
    sub = one(with_tlvs(submit(short_message=b""), (Tag.message_payload, text.encode())))
    assert sub.body == text.encode() and sub.text == text and sub.group is None


def test_message_payload_beside_a_short_message_is_refused() -> None:
    pdu = with_tlvs(submit(short_message=b"both"), (Tag.message_payload, b"payload"))
    assert refused(pdu) == S.ESME_RINVMSGLEN
