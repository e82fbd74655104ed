"""SMPP 3.4 PDUs: numeric tables, Construct declarations and the Python-side ``Pdu``.

The Construct declarations in ``BODIES`` are the single source of truth for the layout of every
PDU body (smpp.md §1-§2). ``protocols.smpp.codec`` walks them at import time to generate the
fast hot-path decoders/encoders; ``decode_declared`` / ``encode_declared`` run the declarations
through plain Construct and exist to prove the fast path equal (tests) and for debugging.

Representation (one shape for every PDU)::

    Pdu(command_id, command_status, sequence, params, tlvs)

* ``params`` maps the spec's mandatory field names (snake_case) to values: integers as ``int``,
  C-Octet Strings as ``str`` (latin-1, so any octet round-trips), ``short_message`` as ``bytes``
  (``sm_length`` is implied by it), ``dest_address`` (submit_multi) as a list of
  ``SmeAddress`` / ``DistributionList``, ``unsuccess_sme`` (submit_multi_resp) as a list of
  ``UnsuccessSme`` (counts are implied by list lengths).
* A response whose body is empty on the wire (header only, as sent with a non-zero
  command_status, §2.2/§2.3) decodes to ``params == {}``; encoding a response with empty
  ``params`` and no TLVs emits the header only. So ``encode(decode(b)) == b`` holds for both.
* ``tlvs`` is the list of optional parameters exactly as received: ``(tag, raw value)`` pairs in
  wire order, known and unknown tags alike (§4: never reject, never drop). Typed access is
  ``pdu.tlv(Tag.x)`` / ``pdu.set_tlv(Tag.x, value)``.

Every body-carrying PDU accepts a trailing TLV stream (lenient, §4 "accept any known TLV in any
PDU"); header-only PDUs (unbind, enquire_link, generic_nack, cancel_sm_resp, ...) must have an
empty body.

Bad input raises only ``PduError``, whose ``status`` is the command_status to answer with.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from enum import IntEnum
from typing import Any, ClassVar

from construct import (
    Construct,
    ConstructError,
    Int8ub,
    Int16ub,
    Int32ub,
    Struct,
)

__all__ = [
    "BODIES",
    "HEADER",
    "HEADER_ONLY",
    "RESPONSE_OF",
    "REQUEST_OF",
    "TLV_TYPES",
    "COctetString",
    "CommandId",
    "CommandStatus",
    "CountedArray",
    "DistributionList",
    "Pdu",
    "PduError",
    "Record",
    "ShortMessage",
    "SmeAddress",
    "Tag",
    "TaggedUnion",
    "TlvStream",
    "UnsuccessSme",
    "decode",
    "decode_declared",
    "encode",
    "encode_declared",
    "is_response",
]


# --------------------------------------------------------------------------- numeric tables


class CommandId(IntEnum):
    """command_id values of SMPP 3.4 (smpp.md §1); bit 31 marks a response."""

    generic_nack = 0x80000000
    bind_receiver = 0x00000001
    bind_receiver_resp = 0x80000001
    bind_transmitter = 0x00000002
    bind_transmitter_resp = 0x80000002
    query_sm = 0x00000003
    query_sm_resp = 0x80000003
    submit_sm = 0x00000004
    submit_sm_resp = 0x80000004
    deliver_sm = 0x00000005
    deliver_sm_resp = 0x80000005
    unbind = 0x00000006
    unbind_resp = 0x80000006
    replace_sm = 0x00000007
    replace_sm_resp = 0x80000007
    cancel_sm = 0x00000008
    cancel_sm_resp = 0x80000008
    bind_transceiver = 0x00000009
    bind_transceiver_resp = 0x80000009
    outbind = 0x0000000B
    enquire_link = 0x00000015
    enquire_link_resp = 0x80000015
    submit_multi = 0x00000021
    submit_multi_resp = 0x80000021
    alert_notification = 0x00000102
    data_sm = 0x00000103
    data_sm_resp = 0x80000103


class CommandStatus(IntEnum):
    """command_status (error) codes of SMPP 3.4 (smpp.md §5). Names and values as in v3.4."""

    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVPRTFLG = 0x00000006
    ESME_RINVREGDLVFLG = 0x00000007
    ESME_RSYSERR = 0x00000008
    ESME_RINVSRCADR = 0x0000000A
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVMSGID = 0x0000000C
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RCANCELFAIL = 0x00000011
    ESME_RREPLACEFAIL = 0x00000013
    ESME_RMSGQFUL = 0x00000014
    ESME_RINVSERTYP = 0x00000015
    ESME_RINVNUMDESTS = 0x00000033
    ESME_RINVDLNAME = 0x00000034
    ESME_RINVDESTFLAG = 0x00000040
    ESME_RINVSUBREP = 0x00000042
    ESME_RINVESMCLASS = 0x00000043
    ESME_RCNTSUBDL = 0x00000044
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RINVSRCTON = 0x00000048
    ESME_RINVSRCNPI = 0x00000049
    ESME_RINVDSTTON = 0x00000050
    ESME_RINVDSTNPI = 0x00000051
    ESME_RINVSYSTYP = 0x00000053
    ESME_RINVREPFLAG = 0x00000054
    ESME_RINVNUMMSGS = 0x00000055
    ESME_RTHROTTLED = 0x00000058
    ESME_RINVSCHED = 0x00000061
    ESME_RINVEXPIRY = 0x00000062
    ESME_RINVDFTMSGID = 0x00000063
    ESME_RX_T_APPN = 0x00000064
    ESME_RX_P_APPN = 0x00000065
    ESME_RX_R_APPN = 0x00000066
    ESME_RQUERYFAIL = 0x00000067
    ESME_RINVOPTPARSTREAM = 0x000000C0
    ESME_ROPTPARNOTALLWD = 0x000000C1
    ESME_RINVPARLEN = 0x000000C2
    ESME_RMISSINGOPTPARAM = 0x000000C3
    ESME_RINVOPTPARAMVAL = 0x000000C4
    ESME_RDELIVERYFAILURE = 0x000000FE
    ESME_RUNKNOWNERR = 0x000000FF


class Tag(IntEnum):
    """Optional parameter (TLV) tags of SMPP 3.4 (smpp.md §4)."""

    dest_addr_subunit = 0x0005
    dest_network_type = 0x0006
    dest_bearer_type = 0x0007
    dest_telematics_id = 0x0008
    source_addr_subunit = 0x000D
    source_network_type = 0x000E
    source_bearer_type = 0x000F
    source_telematics_id = 0x0010
    qos_time_to_live = 0x0017
    payload_type = 0x0019
    additional_status_info_text = 0x001D
    receipted_message_id = 0x001E
    ms_msg_wait_facilities = 0x0030
    privacy_indicator = 0x0201
    source_subaddress = 0x0202
    dest_subaddress = 0x0203
    user_message_reference = 0x0204
    user_response_code = 0x0205
    source_port = 0x020A
    destination_port = 0x020B
    sar_msg_ref_num = 0x020C
    language_indicator = 0x020D
    sar_total_segments = 0x020E
    sar_segment_seqnum = 0x020F
    sc_interface_version = 0x0210
    callback_num_pres_ind = 0x0302
    callback_num_atag = 0x0303
    number_of_messages = 0x0304
    callback_num = 0x0381
    dpf_result = 0x0420
    set_dpf = 0x0421
    ms_availability_status = 0x0422
    network_error_code = 0x0423
    message_payload = 0x0424
    delivery_failure_reason = 0x0425
    more_messages_to_send = 0x0426
    message_state = 0x0427
    ussd_service_op = 0x0501
    display_time = 0x1201
    sms_signal = 0x1203
    ms_validity = 0x1204
    alert_on_message_delivery = 0x130C
    its_reply_type = 0x1380
    its_session_info = 0x1383


#: Value type of each known TLV (§4): an int size (1/2/4, unsigned big-endian), "cstr"
#: (C-Octet String, NUL counted in the length), "bytes" (octet string) or "none" (no value).
TLV_TYPES: dict[int, int | str] = {
    Tag.dest_addr_subunit: 1,
    Tag.dest_network_type: 1,
    Tag.dest_bearer_type: 1,
    Tag.dest_telematics_id: 2,
    Tag.source_addr_subunit: 1,
    Tag.source_network_type: 1,
    Tag.source_bearer_type: 1,
    Tag.source_telematics_id: 2,
    Tag.qos_time_to_live: 4,
    Tag.payload_type: 1,
    Tag.additional_status_info_text: "cstr",
    Tag.receipted_message_id: "cstr",
    Tag.ms_msg_wait_facilities: 1,
    Tag.privacy_indicator: 1,
    Tag.source_subaddress: "bytes",
    Tag.dest_subaddress: "bytes",
    Tag.user_message_reference: 2,
    Tag.user_response_code: 1,
    Tag.source_port: 2,
    Tag.destination_port: 2,
    Tag.sar_msg_ref_num: 2,
    Tag.language_indicator: 1,
    Tag.sar_total_segments: 1,
    Tag.sar_segment_seqnum: 1,
    Tag.sc_interface_version: 1,
    Tag.callback_num_pres_ind: 1,
    Tag.callback_num_atag: "bytes",
    Tag.number_of_messages: 1,
    Tag.callback_num: "bytes",
    Tag.dpf_result: 1,
    Tag.set_dpf: 1,
    Tag.ms_availability_status: 1,
    Tag.network_error_code: "bytes",
    Tag.message_payload: "bytes",
    Tag.delivery_failure_reason: 1,
    Tag.more_messages_to_send: 1,
    Tag.message_state: 1,
    Tag.ussd_service_op: 1,
    Tag.display_time: 1,
    Tag.sms_signal: 2,
    Tag.ms_validity: 1,
    Tag.alert_on_message_delivery: "none",
    Tag.its_reply_type: 1,
    Tag.its_session_info: "bytes",
}

#: TLVs whose integer width differs between implementations: decode by the TLV length (§4).
_FLEXIBLE_INT_TLVS = frozenset({Tag.source_telematics_id, Tag.dest_telematics_id})

S = CommandStatus


class PduError(Exception):
    """A PDU that cannot be decoded or encoded.

    ``status`` is the command_status to answer with (smpp.md §1 framing rules, §6.2);
    ``command_id`` / ``sequence`` are set when the header was readable, so the session can
    answer with the right ``_resp`` and sequence_number.
    """

    def __init__(
        self,
        status: int,
        message: str,
        command_id: int | None = None,
        sequence: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.command_id = command_id
        self.sequence = sequence

    def __str__(self) -> str:
        try:
            name = CommandStatus(self.status).name
        except ValueError:
            name = hex(self.status)
        return f"{name}: {self.message}"


def is_response(command_id: int) -> bool:
    """True for response PDUs (bit 31 of command_id, §1)."""
    return bool(command_id & 0x80000000)


# --------------------------------------------------------------------------- structured values


@dataclass(frozen=True, slots=True)
class SmeAddress:
    """submit_multi dest_address entry with dest_flag = 1 (SME address, §2.3)."""

    dest_flag: ClassVar[int] = 1
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True)
class DistributionList:
    """submit_multi dest_address entry with dest_flag = 2 (distribution list name, §2.3)."""

    dest_flag: ClassVar[int] = 2
    dl_name: str = ""


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    """submit_multi_resp unsuccess_sme entry (§2.3)."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    error_status_code: int = 0


# --------------------------------------------------------------------------- custom constructs


def _read(stream: io.BufferedIOBase, n: int) -> bytes:
    return stream.read(n)  # short read handled by callers: each knows its own error


class COctetString(Construct):
    """C-Octet String of at most ``max_size`` octets including the NUL (§2.1).

    No NUL before the PDU ends -> ESME_RINVCMDLEN (the field overruns the PDU); no NUL within
    ``max_size`` octets, or a length not in ``sizes`` (time fields: 0 or 16 chars, §3.5) ->
    ``status``, the field-specific code of §6.2.
    """

    def __init__(
        self,
        max_size: int,
        status: int = S.ESME_RINVPARLEN,
        sizes: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.max_size = max_size
        self.status = status
        self.sizes = sizes

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        data = bytearray()
        for _ in range(self.max_size):
            c = _read(stream, 1)
            if not c:
                raise PduError(S.ESME_RINVCMDLEN, f"C-Octet String {path} runs past the PDU")
            if c == b"\x00":
                break
            data += c
        else:
            raise PduError(self.status, f"{path} longer than {self.max_size - 1} octets")
        if self.sizes is not None and len(data) not in self.sizes:
            raise PduError(self.status, f"{path} must be {self.sizes} octets, got {len(data)}")
        return data.decode("latin-1")

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        data = _encode_cstr(obj, self.max_size, self.status, self.sizes, path)
        stream.write(data)
        stream.write(b"\x00")
        return obj


def _encode_cstr(
    value: str, max_size: int, status: int, sizes: tuple[int, ...] | None, name: str
) -> bytes:
    try:
        data = value.encode("latin-1")
    except (AttributeError, UnicodeError) as exc:
        raise PduError(status, f"{name}: not a latin-1 string: {value!r}") from exc
    if len(data) >= max_size or 0 in data:
        raise PduError(status, f"{name}: longer than {max_size - 1} octets or contains NUL")
    if sizes is not None and len(data) not in sizes:
        raise PduError(status, f"{name}: must be {sizes} octets, got {len(data)}")
    return data


class ShortMessage(Construct):
    """sm_length (I1, 0..254) followed by that many octets of short_message (§2.3, §3.7).

    Missing sm_length -> ESME_RINVCMDLEN; sm_length 255 or overrunning the PDU ->
    ESME_RINVMSGLEN.
    """

    max_length = 254

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        n = _read(stream, 1)
        if not n:
            raise PduError(S.ESME_RINVCMDLEN, "sm_length missing")
        if n[0] > self.max_length:
            raise PduError(S.ESME_RINVMSGLEN, f"sm_length {n[0]} > {self.max_length}")
        data = _read(stream, n[0])
        if len(data) != n[0]:
            raise PduError(S.ESME_RINVMSGLEN, f"sm_length {n[0]} overruns the PDU")
        return data

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        if not isinstance(obj, bytes | bytearray):
            raise PduError(S.ESME_RINVMSGLEN, "short_message must be bytes")
        if len(obj) > self.max_length:
            raise PduError(S.ESME_RINVMSGLEN, f"short_message longer than {self.max_length}")
        stream.write(bytes((len(obj),)))
        stream.write(obj)
        return obj


class Record(Construct):
    """A ``Struct`` whose parsed value is the frozen dataclass ``cls`` (fields in order)."""

    def __init__(self, cls: type, struct_: Struct) -> None:
        super().__init__()
        self.cls = cls
        self.struct = struct_
        names = [sc.name for sc in struct_.subcons]
        fields_ = [f.name for f in dataclass_fields(cls)]
        if names != fields_:
            raise TypeError(f"{cls.__name__} fields {fields_} != declaration {names}")

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        c = self.struct._parsereport(stream, context, path)
        return self.cls(*(c[sc.name] for sc in self.struct.subcons))

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        if not isinstance(obj, self.cls):
            raise PduError(S.ESME_RSYSERR, f"expected {self.cls.__name__}, got {obj!r}")
        values = {sc.name: getattr(obj, sc.name) for sc in self.struct.subcons}
        self.struct._build(values, stream, context, path)
        return obj


class TaggedUnion(Construct):
    """I1 flag selecting one of several ``Record`` variants (submit_multi dest_flag, §2.3)."""

    def __init__(self, variants: dict[int, Record], status: int) -> None:
        super().__init__()
        self.variants = variants
        self.status = status
        self.by_class = {rec.cls: flag for flag, rec in variants.items()}

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        flag = _read(stream, 1)
        if not flag:
            raise PduError(S.ESME_RINVCMDLEN, "dest_flag missing")
        rec = self.variants.get(flag[0])
        if rec is None:
            raise PduError(self.status, f"unknown flag {flag[0]}")
        return rec._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        flag = self.by_class.get(type(obj))
        if flag is None:
            raise PduError(self.status, f"not a dest_address entry: {obj!r}")
        stream.write(bytes((flag,)))
        self.variants[flag]._build(obj, stream, context, path)
        return obj


class CountedArray(Construct):
    """I1 count followed by that many ``element`` values; count outside ``[min, max]`` ->
    ``status`` (e.g. number_of_dests 0 or 255 -> ESME_RINVNUMDESTS, §2.3)."""

    def __init__(self, element: Construct, min_count: int, max_count: int, status: int) -> None:
        super().__init__()
        self.element = element
        self.min_count = min_count
        self.max_count = max_count
        self.status = status

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        n = _read(stream, 1)
        if not n:
            raise PduError(S.ESME_RINVCMDLEN, f"{path} count missing")
        if not self.min_count <= n[0] <= self.max_count:
            raise PduError(self.status, f"{path} count {n[0]} out of range")
        return [self.element._parsereport(stream, context, path) for _ in range(n[0])]

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        if not isinstance(obj, list | tuple) or not (self.min_count <= len(obj) <= self.max_count):
            raise PduError(
                self.status, f"{path}: need a list of {self.min_count}..{self.max_count}"
            )
        stream.write(bytes((len(obj),)))
        for item in obj:
            self.element._build(item, stream, context, path)
        return obj


_TLV_HEAD = struct.Struct(">HH")


class TlvStream(Construct):
    """Zero or more TLVs to the end of the PDU (§2.1, §4), kept raw as ``(tag, value)``.

    A TLV header or value running past the PDU -> ESME_RINVOPTPARSTREAM (§4).
    """

    element = Struct("tag" / Int16ub, "length" / Int16ub)

    def _parse(self, stream, context, path):  # type: ignore[no-untyped-def]
        rest = stream.read()
        out: list[tuple[int, bytes]] = []
        p, end = 0, len(rest)
        while p < end:
            if p + 4 > end:
                raise PduError(S.ESME_RINVOPTPARSTREAM, "truncated TLV header")
            head = self.element.parse(rest[p : p + 4])
            q = p + 4 + head.length
            if q > end:
                raise PduError(S.ESME_RINVOPTPARSTREAM, f"TLV 0x{head.tag:04x} overruns the PDU")
            out.append((head.tag, rest[p + 4 : q]))
            p = q
        return out

    def _build(self, obj, stream, context, path):  # type: ignore[no-untyped-def]
        for tag, value in obj:
            if not isinstance(value, bytes | bytearray):
                raise PduError(S.ESME_RINVOPTPARAMVAL, f"TLV 0x{tag:04x} value is not bytes")
            stream.write(self.element.build({"tag": tag, "length": len(value)}))
            stream.write(value)
        return obj


# --------------------------------------------------------------------------- declarations


def _c(max_size: int, status: int = S.ESME_RINVPARLEN) -> COctetString:
    return COctetString(max_size, status)


def _time(status: int) -> COctetString:
    """C(1|17) time field: empty or exactly 16 characters (§3.5)."""
    return COctetString(17, status, sizes=(0, 16))


_TLVS = "tlvs" / TlvStream()

HEADER = Struct(
    "command_length" / Int32ub,
    "command_id" / Int32ub,
    "command_status" / Int32ub,
    "sequence_number" / Int32ub,
)

_BIND = Struct(
    "system_id" / _c(16, S.ESME_RINVSYSID),
    "password" / _c(9, S.ESME_RINVPASWD),
    "system_type" / _c(13, S.ESME_RINVSYSTYP),
    "interface_version" / Int8ub,
    "addr_ton" / Int8ub,
    "addr_npi" / Int8ub,
    "address_range" / _c(41, S.ESME_RBINDFAIL),
    _TLVS,
)

_BIND_RESP = Struct("system_id" / _c(16, S.ESME_RINVSYSID), _TLVS)

# submit_sm and deliver_sm share one layout (§2.3).
_SM = Struct(
    "service_type" / _c(6, S.ESME_RINVSERTYP),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(21, S.ESME_RINVSRCADR),
    "dest_addr_ton" / Int8ub,
    "dest_addr_npi" / Int8ub,
    "destination_addr" / _c(21, S.ESME_RINVDSTADR),
    "esm_class" / Int8ub,
    "protocol_id" / Int8ub,
    "priority_flag" / Int8ub,
    "schedule_delivery_time" / _time(S.ESME_RINVSCHED),
    "validity_period" / _time(S.ESME_RINVEXPIRY),
    "registered_delivery" / Int8ub,
    "replace_if_present_flag" / Int8ub,
    "data_coding" / Int8ub,
    "sm_default_msg_id" / Int8ub,
    "short_message" / ShortMessage(),
    _TLVS,
)

_MESSAGE_ID_RESP = Struct("message_id" / _c(65, S.ESME_RINVMSGID), _TLVS)

_DEST_ADDRESS = TaggedUnion(
    {
        1: Record(
            SmeAddress,
            Struct(
                "dest_addr_ton" / Int8ub,
                "dest_addr_npi" / Int8ub,
                "destination_addr" / _c(21, S.ESME_RINVDSTADR),
            ),
        ),
        2: Record(DistributionList, Struct("dl_name" / _c(21, S.ESME_RINVDLNAME))),
    },
    status=S.ESME_RINVDESTFLAG,
)

_SUBMIT_MULTI = Struct(
    "service_type" / _c(6, S.ESME_RINVSERTYP),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(21, S.ESME_RINVSRCADR),
    "dest_address" / CountedArray(_DEST_ADDRESS, 1, 254, S.ESME_RINVNUMDESTS),
    "esm_class" / Int8ub,
    "protocol_id" / Int8ub,
    "priority_flag" / Int8ub,
    "schedule_delivery_time" / _time(S.ESME_RINVSCHED),
    "validity_period" / _time(S.ESME_RINVEXPIRY),
    "registered_delivery" / Int8ub,
    "replace_if_present_flag" / Int8ub,
    "data_coding" / Int8ub,
    "sm_default_msg_id" / Int8ub,
    "short_message" / ShortMessage(),
    _TLVS,
)

_SUBMIT_MULTI_RESP = Struct(
    "message_id" / _c(65, S.ESME_RINVMSGID),
    "unsuccess_sme"
    / CountedArray(
        Record(
            UnsuccessSme,
            Struct(
                "dest_addr_ton" / Int8ub,
                "dest_addr_npi" / Int8ub,
                "destination_addr" / _c(21, S.ESME_RINVDSTADR),
                "error_status_code" / Int32ub,
            ),
        ),
        0,
        255,
        S.ESME_RINVNUMDESTS,
    ),
    _TLVS,
)

_DATA_SM = Struct(
    "service_type" / _c(6, S.ESME_RINVSERTYP),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(65, S.ESME_RINVSRCADR),
    "dest_addr_ton" / Int8ub,
    "dest_addr_npi" / Int8ub,
    "destination_addr" / _c(65, S.ESME_RINVDSTADR),
    "esm_class" / Int8ub,
    "registered_delivery" / Int8ub,
    "data_coding" / Int8ub,
    _TLVS,
)

_QUERY_SM = Struct(
    "message_id" / _c(65, S.ESME_RINVMSGID),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(21, S.ESME_RINVSRCADR),
    _TLVS,
)

_QUERY_SM_RESP = Struct(
    "message_id" / _c(65, S.ESME_RINVMSGID),
    "final_date" / _time(S.ESME_RINVPARLEN),
    "message_state" / Int8ub,
    "error_code" / Int8ub,
    _TLVS,
)

_CANCEL_SM = Struct(
    "service_type" / _c(6, S.ESME_RINVSERTYP),
    "message_id" / _c(65, S.ESME_RINVMSGID),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(21, S.ESME_RINVSRCADR),
    "dest_addr_ton" / Int8ub,
    "dest_addr_npi" / Int8ub,
    "destination_addr" / _c(21, S.ESME_RINVDSTADR),
    _TLVS,
)

_REPLACE_SM = Struct(
    "message_id" / _c(65, S.ESME_RINVMSGID),
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(21, S.ESME_RINVSRCADR),
    "schedule_delivery_time" / _time(S.ESME_RINVSCHED),
    "validity_period" / _time(S.ESME_RINVEXPIRY),
    "registered_delivery" / Int8ub,
    "sm_default_msg_id" / Int8ub,
    "short_message" / ShortMessage(),
    _TLVS,
)

_OUTBIND = Struct(
    "system_id" / _c(16, S.ESME_RINVSYSID),
    "password" / _c(9, S.ESME_RINVPASWD),
    _TLVS,
)

_ALERT_NOTIFICATION = Struct(
    "source_addr_ton" / Int8ub,
    "source_addr_npi" / Int8ub,
    "source_addr" / _c(65, S.ESME_RINVSRCADR),
    "esme_addr_ton" / Int8ub,
    "esme_addr_npi" / Int8ub,
    "esme_addr" / _c(65, S.ESME_RINVDSTADR),
    _TLVS,
)

_EMPTY = Struct()

C = CommandId

#: Body declaration of every SMPP 3.4 PDU (§2), keyed by command_id.
BODIES: dict[CommandId, Struct] = {
    C.generic_nack: _EMPTY,
    C.bind_receiver: _BIND,
    C.bind_receiver_resp: _BIND_RESP,
    C.bind_transmitter: _BIND,
    C.bind_transmitter_resp: _BIND_RESP,
    C.bind_transceiver: _BIND,
    C.bind_transceiver_resp: _BIND_RESP,
    C.outbind: _OUTBIND,
    C.unbind: _EMPTY,
    C.unbind_resp: _EMPTY,
    C.enquire_link: _EMPTY,
    C.enquire_link_resp: _EMPTY,
    C.submit_sm: _SM,
    C.submit_sm_resp: _MESSAGE_ID_RESP,
    C.deliver_sm: _SM,
    C.deliver_sm_resp: _MESSAGE_ID_RESP,
    C.data_sm: _DATA_SM,
    C.data_sm_resp: _MESSAGE_ID_RESP,
    C.submit_multi: _SUBMIT_MULTI,
    C.submit_multi_resp: _SUBMIT_MULTI_RESP,
    C.query_sm: _QUERY_SM,
    C.query_sm_resp: _QUERY_SM_RESP,
    C.cancel_sm: _CANCEL_SM,
    C.cancel_sm_resp: _EMPTY,
    C.replace_sm: _REPLACE_SM,
    C.replace_sm_resp: _EMPTY,
    C.alert_notification: _ALERT_NOTIFICATION,
}

#: PDUs whose body must be empty (§1 "Response bodies", §2.2).
HEADER_ONLY: frozenset[CommandId] = frozenset(c for c, b in BODIES.items() if not b.subcons)

#: request command_id -> its response command_id (outbind and alert_notification have none).
RESPONSE_OF: dict[int, CommandId] = {
    c: CommandId(c | 0x80000000)
    for c in CommandId
    if not is_response(c) and (c | 0x80000000) in CommandId._value2member_map_
}
REQUEST_OF: dict[int, CommandId] = {v: CommandId(k) for k, v in RESPONSE_OF.items()}


def _default(sub: Construct) -> Any:
    if isinstance(sub, COctetString):
        return ""
    if isinstance(sub, ShortMessage):
        return b""
    if isinstance(sub, CountedArray):
        return []
    return 0


_DEFAULTS: dict[CommandId, dict[str, Any]] = {
    cid: {sc.name: _default(sc.subcon) for sc in body.subcons if sc.name != "tlvs"}
    for cid, body in BODIES.items()
}


_LIST_PARAMS: dict[int, tuple[str, ...]] = {
    cid: tuple(k for k, v in d.items() if isinstance(v, list)) for cid, d in _DEFAULTS.items()
}
_CIDS: dict[int, CommandId] = {int(c): c for c in CommandId}
_CID_NAMES: dict[int, str] = {int(c): c.name for c in CommandId}


# --------------------------------------------------------------------------- Pdu


@dataclass(slots=True)
class Pdu:
    """One SMPP PDU (see the module docstring for the shape of ``params`` and ``tlvs``).

    Mandatory parameters are also readable as attributes: ``pdu.short_message``.
    """

    command_id: int
    command_status: int = 0
    sequence: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    tlvs: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        command_id: int,
        *,
        sequence: int = 0,
        command_status: int = 0,
        tlvs: list[tuple[int, bytes]] | None = None,
        **params: Any,
    ) -> Pdu:
        """Build a PDU, filling every unspecified mandatory parameter with its NULL value
        (0 / "" / b"" / []). Unknown parameter names raise ``TypeError``."""
        defaults = _DEFAULTS.get(command_id)  # type: ignore[call-overload]
        if defaults is None:
            raise PduError(S.ESME_RINVCMDID, f"unknown command_id {command_id!r}")
        if params:
            if not params.keys() <= defaults.keys():
                unknown = sorted(params.keys() - defaults.keys())
                raise TypeError(f"{_CIDS[command_id].name} has no parameter(s) {unknown}")
            merged = {**defaults, **params}
        else:
            merged = dict(defaults)
        for k in _LIST_PARAMS[command_id]:  # never share the default (or caller's) list
            merged[k] = list(merged[k])
        return cls(_CIDS[command_id], command_status, sequence, merged, list(tlvs) if tlvs else [])

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: expose mandatory params as attributes.
        # Guard "params" itself (unset while copy/pickle rebuild the object) and dunders.
        if name == "params" or name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.params[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def name(self) -> str:
        name = _CID_NAMES.get(self.command_id)  # counted per PDU: no enum call
        return name if name is not None else f"0x{self.command_id:08x}"

    def tlv(self, tag: int, default: Any = None) -> Any:
        """Value of the first TLV with ``tag``: ``int`` for integer TLVs, ``str`` for C-string
        TLVs (NUL stripped), ``True`` for alert_on_message_delivery, ``bytes`` otherwise.

        A known integer TLV with the wrong length raises ``PduError(ESME_RINVPARLEN)`` (§4).
        """
        for t, raw in self.tlvs:
            if t == tag:
                return _tlv_value(t, raw)
        return default

    def set_tlv(self, tag: int, value: Any) -> None:
        """Set (replace the first of, or append) TLV ``tag``; ``None`` removes it."""
        if value is None:
            self.tlvs[:] = [tv for tv in self.tlvs if tv[0] != tag]
            return
        raw = _tlv_raw(tag, value)
        for i, (t, _) in enumerate(self.tlvs):
            if t == tag:
                self.tlvs[i] = (tag, raw)
                return
        self.tlvs.append((tag, raw))


def _tlv_value(tag: int, raw: bytes) -> Any:
    kind = TLV_TYPES.get(tag, "bytes")
    if isinstance(kind, int):
        if len(raw) != kind and not (tag in _FLEXIBLE_INT_TLVS and 1 <= len(raw) <= 2):
            raise PduError(S.ESME_RINVPARLEN, f"TLV 0x{tag:04x} must be {kind} octets")
        return int.from_bytes(raw, "big")
    if kind == "cstr":
        return (raw[:-1] if raw.endswith(b"\x00") else raw).decode("latin-1")
    if kind == "none":
        return True
    return bytes(raw)


def _tlv_raw(tag: int, value: Any) -> bytes:
    kind = TLV_TYPES.get(tag, "bytes")
    try:
        if isinstance(kind, int):
            return int(value).to_bytes(kind, "big")
        if kind == "cstr":
            return (value.encode("latin-1") if isinstance(value, str) else bytes(value)) + b"\0"
        if kind == "none":
            return b""
        return bytes(value)
    except (OverflowError, UnicodeError, TypeError, ValueError) as exc:
        raise PduError(S.ESME_RINVOPTPARAMVAL, f"bad value for TLV 0x{tag:04x}: {exc}") from exc


# --------------------------------------------------------------------------- declared path

_STREAM_ERRORS = (ConstructError, struct.error, ValueError, TypeError, OverflowError, KeyError)


def decode_declared(frame: bytes) -> Pdu:
    """Decode one whole PDU with plain Construct (slow; reference for the fast path)."""
    frame = bytes(frame)
    if len(frame) < 16:
        raise PduError(S.ESME_RINVCMDLEN, f"PDU of {len(frame)} octets is shorter than 16")
    h = HEADER.parse(frame)
    cid, seq = h.command_id, h.sequence_number
    if h.command_length != len(frame):
        raise PduError(
            S.ESME_RINVCMDLEN,
            f"command_length {h.command_length} != {len(frame)} octets",
            cid,
            seq,
        )
    try:
        body = BODIES[cid]  # type: ignore[index]
    except KeyError:
        raise PduError(S.ESME_RINVCMDID, f"unknown command_id 0x{cid:08x}", cid, seq) from None
    raw = frame[16:]
    try:
        if is_response(cid) and not raw:
            params: dict[str, Any] = {}
            tlvs: list[tuple[int, bytes]] = []
        elif not body.subcons:
            if raw:
                raise PduError(S.ESME_RINVCMDLEN, "body not allowed")
            params, tlvs = {}, []
        else:
            c = body.parse(raw)
            tlvs = c.pop("tlvs")
            params = {
                k: (list(v) if isinstance(v, list) else v)
                for k, v in c.items()
                if not k.startswith("_")
            }
    except PduError as exc:
        exc.command_id, exc.sequence = cid, seq
        raise
    except _STREAM_ERRORS as exc:
        raise PduError(S.ESME_RINVCMDLEN, f"body overruns the PDU: {exc}", cid, seq) from exc
    return Pdu(CommandId(cid), _status(h.command_status), seq, params, list(tlvs))


def encode_declared(pdu: Pdu) -> bytes:
    """Encode one PDU with plain Construct (slow; reference for the fast path)."""
    cid, seq = pdu.command_id, pdu.sequence
    try:
        body = BODIES[cid]  # type: ignore[index]
    except (KeyError, TypeError):
        raise PduError(S.ESME_RINVCMDID, f"unknown command_id {cid!r}", None, seq) from None
    try:
        if not body.subcons or (is_response(cid) and not pdu.params and not pdu.tlvs):
            if pdu.tlvs:
                raise PduError(S.ESME_RINVCMDLEN, f"{CommandId(cid).name} carries no TLVs")
            raw = b""
        else:
            raw = body.build({**pdu.params, "tlvs": pdu.tlvs})
        return (
            HEADER.build(
                {
                    "command_length": 16 + len(raw),
                    "command_id": cid,
                    "command_status": pdu.command_status,
                    "sequence_number": seq,
                }
            )
            + raw
        )
    except PduError as exc:
        exc.command_id, exc.sequence = cid, seq
        raise
    except _STREAM_ERRORS as exc:
        raise PduError(S.ESME_RSYSERR, f"cannot encode: {exc!r}", cid, seq) from exc


_STATUS_MEMBERS: dict[int, CommandStatus] = dict(CommandStatus._value2member_map_)  # type: ignore[arg-type]


def _status(value: int) -> int:
    return _STATUS_MEMBERS.get(value, value)


# The fast path lives in codec.py and is generated from BODIES above.
from .codec import decode, encode  # noqa: E402
