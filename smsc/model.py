"""Protocol-neutral message model: what a protocol hands the core, and what comes back.

Each protocol maps its own PDU fields onto these at its package boundary (CMPP ``Msg_Id``
becomes ``message_id``, SMPP ``registered_delivery`` becomes ``receipt``), so the core never
sees a wire format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class ReceiptRequest(IntEnum):
    """What delivery receipt the submitter asked for (SMPP 3.4 §5.2.17 values; CMPP 0/1 map to 0/1)."""

    NONE = 0
    FINAL = 1  # success or failure
    FAILURE_ONLY = 2


class Rejection(StrEnum):
    """Why the core refused a submit; each protocol maps these onto its own error code."""

    THROTTLED = "throttled"  # account throughput limit
    NO_BALANCE = "no_balance"
    BLACKLISTED = "blacklisted"  # destination blacklisted and carrier.blacklisted = "reject"
    DISABLED = "disabled"
    STORAGE = "storage"  # could not store the message: the submitter must retry


class SubmitRejected(Exception):
    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(slots=True)
class Submit:
    """One MT part as received: ``body`` is the user data exactly as submitted (UDH included)."""

    protocol: str
    bind_id: str
    source: str
    destination: str
    body: bytes
    data_coding: int = 0
    esm_class: int = 0
    text: str | None = None  # decoded text of this part (content rules, search)
    group: tuple[int, int, int] | None = None  # (reference, total, sequence) of a long message
    receipt: ReceiptRequest = ReceiptRequest.NONE
    intermediate: bool = False  # SMPP registered_delivery bit 4: also an ENROUTE notification
    schedule_at: float | None = None
    validity_at: float | None = None
    message_id: str | None = None  # reuse an id (submit_multi: one id for every destination)
    id_format: Callable[[int], str] | None = None  # protocol-specific ids (CMPP's 64-bit Msg_Id)
    extra: dict[str, Any] | None = None  # protocol fields worth keeping (service_id, TLVs, ...)
    units: int = 1  # billing units: 1 per part on binary protocols; 70/67 rule for HTTP texts
    throttle: bool = True  # False: the caller applied the throughput limit (per HTTP request)
    hold: bool = False  # held for manual content review: no carrier decision until released
    blacklisted: bool | None = None  # None: the core looks the destination up itself


@dataclass(slots=True)  # not frozen: built per message, and frozen __init__ costs ~5x
class Accepted:
    """A stored (or about-to-be-stored) message: ``pk`` is internal, ``message_id`` is external."""

    pk: int
    message_id: str


@dataclass(slots=True)
class OutboxItem:
    """Something owed to a peer: a receipt or an MO, in protocol-neutral fields.

    ``protocol`` None means any protocol may carry it (MO); receipts go back over the
    protocol the message came in on. The adapter renders ``payload`` into one or more PDUs
    and reports back through ``Outbox.acked`` / ``Outbox.failed``.
    """

    id: int
    account: str
    protocol: str | None
    kind: str  # "receipt" | "mo"
    payload: dict[str, Any]
    attempts: int = 0
    bind_id: str | None = field(default=None, compare=False)  # where it is in flight
    # A receipt the scheduler has just generated is offered to a bind before anything is
    # written: ``unwritten`` is then its message's state update, written with the receipt's
    # outbox row when the peer acknowledges it (or at once if it cannot be sent now).
    unwritten: tuple[Any, dict[str, Any]] | None = field(default=None, compare=False)
    message_pk: int | None = field(default=None, compare=False)
    created_at: float = field(default=0.0, compare=False)
