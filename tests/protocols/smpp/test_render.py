"""Receipt deliver_sm: the directly built PDU equals one built the declared way (``Pdu.make``
with every parameter named, TLVs set by tag), and survives the codec."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.smpp.codec import decode, encode
from protocols.smpp.pdu import CommandId, Pdu, PduError, Tag
from protocols.smpp.render import ESM_INTERMEDIATE, ESM_RECEIPT, receipt_pdu, receipt_text

numbers = st.text("0123456789", min_size=1, max_size=20)
names = st.text(st.characters(codec="latin-1", exclude_characters="\0"), max_size=20)


def declared(p: dict[str, Any], seconds: bool) -> Pdu:
    text = receipt_text(p, seconds=seconds).encode("latin-1", "replace")
    numeric = 1 if p["destination"].isdigit() else 0
    pdu = Pdu.make(
        CommandId.deliver_sm,
        source_addr_ton=numeric,
        source_addr_npi=numeric,
        source_addr=p["destination"],
        destination_addr=p["source"],
        esm_class=ESM_RECEIPT if p.get("final", True) else ESM_INTERMEDIATE,
        short_message=text[:254],
    )
    pdu.set_tlv(Tag.receipted_message_id, p["message_id"])
    pdu.set_tlv(Tag.message_state, p["message_state"])
    nec = int(p.get("network_error_code") or 0)
    if nec:
        pdu.set_tlv(Tag.network_error_code, bytes([3]) + (nec & 0xFFFF).to_bytes(2, "big"))
    return pdu


payloads = st.fixed_dictionaries(
    {
        "message_id": st.one_of(st.text("0123456789abcdefABCDEF-", max_size=64), names),
        "source": st.one_of(numbers, names),
        "destination": st.one_of(numbers, names),
        "state": st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "ENROUTE"]),
        "smpp_stat": st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "ENROUTE"]),
        "message_state": st.integers(0, 255),
        "err": st.integers(0, 999),
        "submitted_at": st.floats(0, 4e9),
        "done_at": st.floats(0, 4e9),
        "text": st.text(max_size=40),
    },
    optional={
        "final": st.booleans(),
        "network_error_code": st.one_of(st.none(), st.integers(0, 70000)),
    },
)


@given(payloads, st.booleans())
def test_receipt_pdu_equals_the_declared_build_and_round_trips(
    p: dict[str, Any], seconds: bool
) -> None:
    pdu = receipt_pdu(p, seconds=seconds)
    assert pdu == declared(p, seconds)
    back = decode(encode(pdu))
    assert back.params == pdu.params
    assert back.tlv(Tag.receipted_message_id) == p["message_id"]
    assert back.tlv(Tag.message_state) == p["message_state"]


def test_a_message_id_the_tlv_cannot_carry_is_the_codecs_error() -> None:
    p = {
        "message_id": "编号",
        "source": "1069",
        "destination": "13800138000",
        "state": "DELIVRD",
        "smpp_stat": "DELIVRD",
        "message_state": 2,
        "err": 0,
        "submitted_at": 0.0,
        "done_at": 0.0,
        "text": "",
    }
    with pytest.raises(PduError):
        receipt_pdu(p)
    with pytest.raises(PduError):
        receipt_pdu({**p, "message_id": "1", "message_state": 256})
