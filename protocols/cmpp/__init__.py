"""CMPP 2.0 / 3.0 (China Mobile Peer to Peer), ISMG side: PDUs, codec, auth, Msg_Id, session.

Same stages as protocols.smpp: ``pdu`` (Construct declarations, the source of truth) →
``codec`` (fast path generated from them) → ``session`` (sans-IO state machine).
Spec: /work/shared/protocols/cmpp.md.
"""

from protocols.cmpp.codec import decode, decode_at, decode_report, encode, encode_report
from protocols.cmpp.pdu import (
    CommandId,
    ConnectStatus,
    Layout,
    Pdu,
    PduError,
    StatusReport,
    SubmitResult,
    decode_declared,
    encode_declared,
    layout_of,
)
from protocols.cmpp.session import (
    CmppSession,
    ConnectionShouldClose,
    ConnectRequested,
    Event,
    InvalidState,
    ProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    SessionError,
    SessionState,
    Terminated,
    TerminateRequested,
    WindowFull,
)

__all__ = [
    "CmppSession",
    "ConnectRequested",
    "ConnectionShouldClose",
    "Event",
    "InvalidState",
    "WindowFull",
    "ProtocolError",
    "RequestReceived",
    "ResponseReceived",
    "ResponseTimeout",
    "SessionError",
    "SessionState",
    "TerminateRequested",
    "Terminated",
    "CommandId",
    "ConnectStatus",
    "Layout",
    "Pdu",
    "PduError",
    "StatusReport",
    "SubmitResult",
    "decode",
    "decode_at",
    "decode_declared",
    "decode_report",
    "encode",
    "encode_declared",
    "encode_report",
    "layout_of",
]
