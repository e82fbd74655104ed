"""SMPP 3.4: PDU declarations and fast codec (``pdu``, ``codec``), time formats (``timefmt``)
and the sans-IO session (``session``). See /work/shared/protocols/smpp.md.

``pdu`` is imported first on purpose: it pulls in the generated ``codec`` at its end, so
importing ``protocols.smpp.codec`` directly also works.
"""

from .pdu import (
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
from .session import BindState, Role, SmppSession
from .timefmt import TimeFormatError

__all__ = [
    "BindState",
    "CommandId",
    "CommandStatus",
    "DistributionList",
    "Pdu",
    "PduError",
    "Role",
    "SmeAddress",
    "SmppSession",
    "Tag",
    "TimeFormatError",
    "UnsuccessSme",
    "decode",
    "decode_declared",
    "encode",
    "encode_declared",
]
