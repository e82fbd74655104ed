"""The per-message dataclasses are built with positional arguments on the hot paths (keyword
matching cost three times the rest of their construction). Reordering their fields must fail
here, not silently swap values there: update the call sites named below with this list."""

from __future__ import annotations

from dataclasses import fields

from smsc.model import OutboxItem, Submit
from smsc.receipts import PendingReceipt
from smsc.rules import Decision, MessageFacts


def names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def test_field_order_of_the_positionally_built_dataclasses() -> None:
    # protocols/smpp/validation.py to_submits
    assert names(Submit)[:16] == [
        "protocol",
        "bind_id",
        "source",
        "destination",
        "body",
        "data_coding",
        "esm_class",
        "text",
        "group",
        "receipt",
        "intermediate",
        "schedule_at",
        "validity_at",
        "message_id",
        "id_format",
        "extra",
    ]
    # smsc/core.py Smsc.submit
    assert names(MessageFacts) == [
        "account",
        "protocol",
        "source",
        "destination",
        "text",
        "submitted_at",
        "validity_at",
        "schedule_at",
        "message_id",
    ]
    assert names(PendingReceipt) == [
        "pk",
        "message_id",
        "account",
        "protocol",
        "source",
        "destination",
        "submitted_at",
        "text_head",
        "outcome",
        "err",
        "stat",
        "deliver_at",
        "enroute_at",
        "receipt",
        "group_key",
        "extra",
    ]
    # smsc/rules.py Carrier.decide
    assert names(Decision) == [
        "outcome",
        "smpp_err",
        "network_error_code",
        "stat",
        "deliver_at",
        "enroute_at",
        "rule",
        "reason",
    ]
    # smsc/receipts.py ReceiptScheduler._receipt
    assert names(OutboxItem) == [
        "id",
        "account",
        "protocol",
        "kind",
        "payload",
        "attempts",
        "bind_id",
        "unwritten",
        "message_pk",
        "created_at",
    ]
