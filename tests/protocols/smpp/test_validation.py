"""submit_sm → Submit: what registered_delivery asks for (SMPP 3.4 §5.2.17)."""

from __future__ import annotations

import pytest

from protocols.smpp.pdu import CommandId as C
from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.pdu import Pdu
from protocols.smpp.validation import SubmitError, to_submits
from smsc.model import ReceiptRequest as R


def submit(registered_delivery: int) -> Pdu:
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
        short_message=b"hello",
    )


# bits 0-1: the receipt (3 is reserved and read as "final"); bits 2-3 SME acknowledgements
# (accepted, no effect here); bit 4 intermediate notification
@pytest.mark.parametrize("value", range(0x20))
def test_receipt_mode_and_intermediate_flag(value: int) -> None:
    [sub], failures = to_submits(submit(value), bind_id="b", now=1_700_000_000.0)
    assert failures == []
    assert sub.receipt is (R.NONE, R.FINAL, R.FAILURE_ONLY, R.FINAL)[value & 0x03]
    assert sub.intermediate is bool(value & 0x10)


@pytest.mark.parametrize("value", [0x20, 0x40, 0x80, 0xE1])
def test_reserved_bits_are_refused(value: int) -> None:
    with pytest.raises(SubmitError) as exc:
        to_submits(submit(value), bind_id="b", now=1_700_000_000.0)
    assert exc.value.status == S.ESME_RINVREGDLVFLG
