"""CMPP 2.0 / 3.0 PDUs declared with Construct: the single source of truth for the wire layout.

Every body layout of cmpp.md §2 is declared once per layout (2.0 and 3.0) in ``BODIES``; the
fast codec in :mod:`protocols.cmpp.codec` is generated from these declarations and proven equal
to them by property tests. This module also holds the protocol-level vocabulary shared by the
codec and the session: :class:`CommandId`, :class:`Layout`, :class:`Pdu`, :class:`PduError`
and :class:`StatusReport`.

Field names are the spec names in snake_case (``Fee_UserType`` -> ``fee_usertype``,
``ValId_Time`` -> ``valid_time``). Two spec fields are *derived*, never stored: ``DestUsr_tl``
(= ``len(dest_terminal_id)``) and ``Msg_Length`` (= ``len(msg_content)``); that way a Pdu cannot
disagree with itself. Octet Strings are ``str`` (latin-1, so any byte decodes); ``msg_content``
and the authenticators are ``bytes``; Msg_Id and every integer are ``int``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from construct import (
    Adapter,
    Bytes,
    Construct,
    ConstructError,
    GreedyBytes,
    Int8ub,
    Int32ub,
    Int64ub,
    Prefixed,
    Struct,
    Terminated,
    TerminatedError,
    ValidationError,
    stream_read,
    stream_write,
)

HEADER_LENGTH = 12
#: Sanity cap on Total_Length (§1): a 3.0 SUBMIT to 99 destinations with 255 content bytes is
#: 163 + 32*99 + 255 = 3586 bytes, so anything above 4 KiB cannot be a CMPP PDU.
MAX_PDU_LENGTH = 4096
MAX_DESTINATIONS = 99
RESPONSE_BIT = 0x80000000


class CommandId(IntEnum):
    """Command_Id values of cmpp.md §1 (SP-facing subset plus FWD, which we only recognise)."""

    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008

    @property
    def is_response(self) -> bool:
        return bool(self & RESPONSE_BIT)

    @property
    def response(self) -> CommandId:
        """The *_RESP id answering this request."""
        return CommandId(self | RESPONSE_BIT)


class Layout(IntEnum):
    """Wire layout family; the value is the Version byte that announces it (§2, §8 pitfall 1)."""

    V20 = 0x20
    V30 = 0x30


class ConnectStatus(IntEnum):
    """CONNECT_RESP Status, cmpp.md §3.3."""

    OK = 0
    MALFORMED = 1
    ILLEGAL_SOURCE_ADDRESS = 2
    AUTHENTICATION_FAILED = 3
    VERSION_TOO_HIGH = 4
    OTHER = 5


class SubmitResult(IntEnum):
    """SUBMIT_RESP Result, cmpp.md §5.7 (9-13 are 2.1/3.0 meanings); DELIVER_RESP shares 0-8."""

    OK = 0
    MALFORMED = 1
    BAD_COMMAND_ID = 2
    DUPLICATE_SEQUENCE = 3
    BAD_MSG_LENGTH = 4
    BAD_FEE_CODE = 5
    MESSAGE_TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8
    FEE_NUMBER_NOT_SERVED = 9
    BAD_SRC_ID = 10
    BAD_MSG_SRC = 11
    BAD_FEE_TERMINAL_ID = 12
    BAD_DEST_TERMINAL_ID = 13


class PduError(Exception):
    """Any PDU that cannot be decoded or encoded.

    ``result`` is the code to answer with when the PDU type has one (CONNECT_RESP Status 1,
    SUBMIT_RESP / DELIVER_RESP Result 1 "malformed" or 4 "bad Msg_Length", §3.3, §5.7, §8
    pitfall 10), else ``None``. ``command_id`` / ``sequence`` are set when the header was read.
    """

    def __init__(
        self,
        message: str,
        *,
        result: int | None = None,
        command_id: int | None = None,
        sequence: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        self.command_id = command_id
        self.sequence = sequence


def layout_of(version: int) -> Layout:
    """Map a CONNECT Version byte to its layout (§6 "Version"): 0x2x -> 2.0, 0x30 -> 3.0.

    Raises PduError with ``result`` = CONNECT_RESP Status: 4 when the version is above 3.0,
    5 ("other error") below 2.0, which this gateway does not speak.
    """
    if 0x20 <= version <= 0x2F:
        return Layout.V20
    if version == 0x30:
        return Layout.V30
    if version > 0x30:
        return _raise(f"version 0x{version:02x} too high", ConnectStatus.VERSION_TOO_HIGH)
    return _raise(f"version 0x{version:02x} not supported", ConnectStatus.OTHER)


def _raise(message: str, result: int) -> Layout:
    raise PduError(message, result=result, command_id=CommandId.CONNECT)


# --------------------------------------------------------------------------------------------
# Custom constructs. They carry their geometry as attributes so codec.py can generate the fast
# path from the same declaration objects.


class OctetString(Adapter):
    """Fixed-width Octet String (§ conventions): left-aligned, NUL-padded, ``str`` in Python.

    Decoding cuts at the first NUL and strips trailing spaces (§8 pitfall 9); latin-1 makes any
    byte decodable so junk from a peer never raises. Encoding refuses values wider than the
    field instead of truncating them silently.
    """

    def __init__(self, width: int) -> None:
        super().__init__(Bytes(width))
        self.width = width

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return os_decode(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        raw = obj.encode("latin-1")
        if len(raw) > self.width:
            raise ValidationError(f"{obj!r} wider than {self.width} bytes", path=path)
        return raw.ljust(self.width, b"\x00")


def os_decode(raw: bytes) -> str:
    """Octet String bytes -> str: cut at the first NUL, strip trailing spaces (§8 pitfall 9)."""
    return raw.split(b"\0", 1)[0].rstrip(b" ").decode("latin-1")


class FixedBytes(Adapter):
    """Exactly ``length`` raw bytes (the MD5 authenticators). Plain ``Bytes`` would also build
    from an int, which hides caller bugs."""

    def __init__(self, length: int) -> None:
        super().__init__(Bytes(length))
        self.length = length

    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        return obj

    def _encode(self, obj: bytes, context: Any, path: str) -> bytes:
        if not isinstance(obj, bytes | bytearray) or len(obj) != self.length:
            raise ValidationError(f"need exactly {self.length} bytes", path=path)
        return bytes(obj)


class Destinations(Construct):
    """DestUsr_tl (uint8) followed by that many fixed-width terminal ids (§2.4).

    1..99 entries (the spec's "fewer than 100"); anything else is Result 1 (§8 pitfall 10).
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.item = OctetString(width)

    def _parse(self, stream: io.BytesIO, context: Any, path: str) -> list[str]:
        count = stream_read(stream, 1, path)[0]
        if not 1 <= count <= MAX_DESTINATIONS:
            raise ValidationError(f"DestUsr_tl {count} outside 1..99", path=path)
        return [self.item._parsereport(stream, context, path) for _ in range(count)]

    def _build(self, obj: list[str], stream: io.BytesIO, context: Any, path: str) -> list[str]:
        if isinstance(obj, str | bytes) or not 1 <= len(obj) <= MAX_DESTINATIONS:
            raise ValidationError(f"{len(obj)} destinations outside 1..99", path=path)
        stream_write(stream, bytes((len(obj),)), 1, path)
        for item in obj:
            self.item._build(item, stream, context, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ConstructError("variable size", path=path)


#: Msg_Length (uint8) + Msg_Content (§2.4, §2.6). ``msg_content`` holds the bytes.
Content = Prefixed(Int8ub, GreedyBytes)


# --------------------------------------------------------------------------------------------
# Body declarations, §2.1-2.11 and the status report of §2.7.


def _declare(layout: Layout) -> tuple[dict[CommandId, Struct], Struct]:
    v3 = layout is Layout.V30
    status = Int32ub if v3 else Int8ub  # every response status grew 1 -> 4 bytes in 3.0 (§2.0)
    terminal = 32 if v3 else 21  # terminal numbers grew 21 -> 32 bytes (§2.0)
    submit_fee = (
        ("fee_terminal_id" / OctetString(32), "fee_terminal_type" / Int8ub)
        if v3
        else ("fee_terminal_id" / OctetString(21),)
    )
    submit_dest = (
        ("dest_terminal_id" / Destinations(32), "dest_terminal_type" / Int8ub)
        if v3
        else ("dest_terminal_id" / Destinations(21),)
    )
    submit_tail = "link_id" / OctetString(20) if v3 else "reserve" / OctetString(8)
    deliver_src = (
        ("src_terminal_id" / OctetString(32), "src_terminal_type" / Int8ub)
        if v3
        else ("src_terminal_id" / OctetString(21),)
    )
    deliver_tail = "link_id" / OctetString(20) if v3 else "reserved" / OctetString(8)
    bodies = {
        CommandId.CONNECT: Struct(
            "source_addr" / OctetString(6),
            "authenticator_source" / FixedBytes(16),
            "version" / Int8ub,
            "timestamp" / Int32ub,
            Terminated,
        ),
        CommandId.CONNECT_RESP: Struct(
            "status" / status,
            "authenticator_ismg" / FixedBytes(16),
            "version" / Int8ub,
            Terminated,
        ),
        CommandId.TERMINATE: Struct(Terminated),
        CommandId.TERMINATE_RESP: Struct(Terminated),
        CommandId.SUBMIT: Struct(
            "msg_id" / Int64ub,
            "pk_total" / Int8ub,
            "pk_number" / Int8ub,
            "registered_delivery" / Int8ub,
            "msg_level" / Int8ub,
            "service_id" / OctetString(10),
            "fee_usertype" / Int8ub,
            *submit_fee,
            "tp_pid" / Int8ub,
            "tp_udhi" / Int8ub,
            "msg_fmt" / Int8ub,
            "msg_src" / OctetString(6),
            "feetype" / OctetString(2),
            "feecode" / OctetString(6),
            "valid_time" / OctetString(17),
            "at_time" / OctetString(17),
            "src_id" / OctetString(21),
            *submit_dest,
            "msg_content" / Content,
            submit_tail,
            Terminated,
        ),
        CommandId.SUBMIT_RESP: Struct("msg_id" / Int64ub, "result" / status, Terminated),
        CommandId.DELIVER: Struct(
            "msg_id" / Int64ub,
            "dest_id" / OctetString(21),
            "service_id" / OctetString(10),
            "tp_pid" / Int8ub,
            "tp_udhi" / Int8ub,
            "msg_fmt" / Int8ub,
            *deliver_src,
            "registered_delivery" / Int8ub,
            "msg_content" / Content,
            deliver_tail,
            Terminated,
        ),
        CommandId.DELIVER_RESP: Struct("msg_id" / Int64ub, "result" / status, Terminated),
        CommandId.QUERY: Struct(
            "time" / OctetString(8),
            "query_type" / Int8ub,
            "query_code" / OctetString(10),
            "reserve" / OctetString(8),
            Terminated,
        ),
        CommandId.QUERY_RESP: Struct(
            "time" / OctetString(8),
            "query_type" / Int8ub,
            "query_code" / OctetString(10),
            "mt_tlmsg" / Int32ub,
            "mt_tlusr" / Int32ub,
            "mt_scs" / Int32ub,
            "mt_wt" / Int32ub,
            "mt_fl" / Int32ub,
            "mo_scs" / Int32ub,
            "mo_wt" / Int32ub,
            "mo_fl" / Int32ub,
            Terminated,
        ),
        CommandId.CANCEL: Struct("msg_id" / Int64ub, Terminated),
        CommandId.CANCEL_RESP: Struct("success_id" / status, Terminated),
        CommandId.ACTIVE_TEST: Struct(Terminated),
        CommandId.ACTIVE_TEST_RESP: Struct("reserved" / Int8ub, Terminated),
    }
    report = Struct(
        "msg_id" / Int64ub,
        "stat" / OctetString(7),
        "submit_time" / OctetString(10),
        "done_time" / OctetString(10),
        "dest_terminal_id" / OctetString(terminal),
        "smsc_sequence" / Int32ub,
        Terminated,
    )
    return bodies, report


HEADER = Struct("total_length" / Int32ub, "command_id" / Int32ub, "sequence_id" / Int32ub)
_V20 = _declare(Layout.V20)
_V30 = _declare(Layout.V30)
#: BODIES[layout][command_id] -> Struct of the body (header excluded).
BODIES: dict[Layout, dict[CommandId, Struct]] = {Layout.V20: _V20[0], Layout.V30: _V30[0]}
#: REPORT[layout] -> Struct of the status report carried in DELIVER.Msg_Content (§2.7).
REPORT: dict[Layout, Struct] = {Layout.V20: _V20[1], Layout.V30: _V30[1]}
REPORT_LENGTH = {Layout.V20: 60, Layout.V30: 71}

#: Which PDU types carry a result code to answer a malformed request with (§3.3, §5.7, §5.9).
MALFORMED_RESULT: dict[CommandId, int] = {
    CommandId.CONNECT: ConnectStatus.MALFORMED,
    CommandId.SUBMIT: SubmitResult.MALFORMED,
    CommandId.DELIVER: SubmitResult.MALFORMED,
}
#: Result when Msg_Length disagrees with Total_Length (§8 pitfall 10).
BAD_LENGTH_RESULT: dict[CommandId, int] = {
    CommandId.SUBMIT: SubmitResult.BAD_MSG_LENGTH,
    CommandId.DELIVER: SubmitResult.BAD_MSG_LENGTH,
}

#: Fields from Msg_Content on: a failure there means Msg_Length disagrees with Total_Length.
_AFTER_LENGTH: dict[CommandId, frozenset[str]] = {}
for _cid in BAD_LENGTH_RESULT:
    for _layout in Layout:
        _names = [sub.name for sub in BODIES[_layout][_cid].subcons if sub.name]
        _AFTER_LENGTH[_cid] = _AFTER_LENGTH.get(_cid, frozenset()) | frozenset(
            _names[_names.index("msg_content") :]
        )


def _result_for_failure(cid: CommandId, exc: Exception) -> int | None:
    """Result 4 when the parse broke at or after Msg_Content (a length mismatch), else 1."""
    if cid in BAD_LENGTH_RESULT:
        where = getattr(exc, "path", "") or ""
        last = where.rsplit("-> ", 1)[-1].strip() if "->" in where else ""
        if isinstance(exc, TerminatedError) or last in _AFTER_LENGTH[cid]:
            return BAD_LENGTH_RESULT[cid]
    return MALFORMED_RESULT.get(cid)


COMMANDS: dict[int, CommandId] = {int(c): c for c in CommandId}


def _default_for(sub: Any) -> Any:
    inner = sub.subcon
    if isinstance(inner, OctetString):
        return ""
    if isinstance(inner, Destinations):
        return []
    if inner is Content:
        return b""
    if isinstance(inner, FixedBytes):
        return b"\x00" * inner.length
    return 0


def _defaults() -> dict[CommandId, dict[str, Any]]:
    out: dict[CommandId, dict[str, Any]] = {c: {} for c in CommandId}
    for layout in Layout:
        for cid, struct in BODIES[layout].items():
            for sub in struct.subcons:
                if sub.name:
                    out[cid].setdefault(sub.name, _default_for(sub))
    out[CommandId.SUBMIT].update(pk_total=1, pk_number=1)
    return out


#: Per command: every field of either layout with its default (fields of the other layout are
#: carried along unused, so one Pdu can be encoded in both layouts).
DEFAULTS = _defaults()


@dataclass(slots=True)
class Pdu:
    """One CMPP PDU: header values plus the body as a dict of snake_case spec fields."""

    command_id: int
    sequence: int
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, command_id: int, sequence: int = 0, **fields: Any) -> Pdu:
        """Build a Pdu with every field of both layouts defaulted; unknown names -> PduError.

        ``dest_terminal_id`` may be given as one string for a single destination.
        """
        cid = COMMANDS.get(command_id)
        if cid is None:
            raise PduError(f"unknown Command_Id 0x{command_id:08x}", command_id=command_id)
        defaults = DEFAULTS[cid]
        unknown = fields.keys() - defaults.keys()
        if unknown:
            raise PduError(f"{cid.name} has no field(s) {sorted(unknown)}", command_id=cid)
        dests = fields.get("dest_terminal_id")
        if isinstance(dests, str):
            fields["dest_terminal_id"] = [dests]
        return cls(cid, sequence, {**defaults, **fields})

    @property
    def name(self) -> str:
        cid = COMMANDS.get(self.command_id)
        return cid.name if cid is not None else f"0x{self.command_id:08x}"

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: body fields read as attributes, as in
        # protocols.smpp.Pdu (``pdu.msg_id``).
        if name.startswith("__") or name == "fields":  # copy/pickle probe unset slots
            raise AttributeError(name)
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The status report inside a DELIVER with Registered_Delivery = 1 (cmpp.md §2.7).

    ``msg_id`` is the SUBMIT_RESP Msg_Id being reported on (the correlation key, §4.3).
    """

    msg_id: int
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int = 0


# --------------------------------------------------------------------------------------------
# The declared (interpreted Construct) codec: slow, obviously right, the reference for codec.py.


def decode_declared(frame: bytes, version: int) -> Pdu:
    """Decode one whole frame with the plain Construct declarations (reference path)."""
    layout = layout_of(version)
    if len(frame) < HEADER_LENGTH:
        raise PduError(f"frame of {len(frame)} bytes is shorter than the header")
    head = HEADER.parse(frame)
    cid_value, seq = head.command_id, head.sequence_id
    cid = COMMANDS.get(cid_value)
    if cid is None:
        raise PduError(
            f"unknown Command_Id 0x{cid_value:08x}",
            result=SubmitResult.BAD_COMMAND_ID,
            command_id=cid_value,
            sequence=seq,
        )
    if head.total_length != len(frame):
        raise PduError(
            f"Total_Length {head.total_length} but frame is {len(frame)} bytes",
            result=MALFORMED_RESULT.get(cid),
            command_id=cid,
            sequence=seq,
        )
    if cid is CommandId.ACTIVE_TEST_RESP and len(frame) == HEADER_LENGTH:
        return Pdu(cid, seq, {"reserved": 0})  # tolerated 12-byte RESP (§2.11)
    try:
        parsed = BODIES[layout][cid].parse(frame[HEADER_LENGTH:])
    except (ConstructError, UnicodeError) as exc:
        raise PduError(
            f"malformed {cid.name}: {exc}",
            result=_result_for_failure(cid, exc),
            command_id=cid,
            sequence=seq,
        ) from None
    body = {k: (list(v) if isinstance(v, list) else v) for k, v in parsed.items() if k[0] != "_"}
    return Pdu(cid, seq, {**DEFAULTS[cid], **body})


def encode_declared(pdu: Pdu, version: int) -> bytes:
    """Encode with the plain Construct declarations (reference path)."""
    layout = layout_of(version)
    cid = COMMANDS.get(pdu.command_id)
    if cid is None:
        raise PduError(f"unknown Command_Id 0x{pdu.command_id:08x}", command_id=pdu.command_id)
    try:
        body = BODIES[layout][cid].build(pdu.fields)
        return (
            HEADER.build(
                {
                    "total_length": HEADER_LENGTH + len(body),
                    "command_id": cid,
                    "sequence_id": pdu.sequence,
                }
            )
            + body
        )
    except Exception as exc:  # construct raises a zoo of types for bad values
        raise PduError(
            f"cannot encode {cid.name}: {exc}", command_id=cid, sequence=pdu.sequence
        ) from None


def decode_report_declared(content: bytes, version: int) -> StatusReport:
    """Reference decoder for the §2.7 report body (see codec.decode_report for tolerance)."""
    layout = _report_layout(content, version)
    try:
        parsed = REPORT[layout].parse(content)
    except (ConstructError, UnicodeError) as exc:
        raise PduError(f"malformed status report: {exc}") from None
    return StatusReport(**{k: v for k, v in parsed.items() if k[0] != "_"})


def encode_report_declared(report: StatusReport, version: int) -> bytes:
    layout = layout_of(version)
    try:
        return REPORT[layout].build(
            {
                "msg_id": report.msg_id,
                "stat": report.stat,
                "submit_time": report.submit_time,
                "done_time": report.done_time,
                "dest_terminal_id": report.dest_terminal_id,
                "smsc_sequence": report.smsc_sequence,
            }
        )
    except Exception as exc:
        raise PduError(f"cannot encode status report: {exc}") from None


def _report_layout(content: bytes, version: int) -> Layout:
    """Pick the report layout by its length first: gocmpp-style 3.0 gateways send the 60-byte
    2.0 report (cmpp.md §8 pitfall 4, §9), so length is the more reliable witness."""
    if len(content) == REPORT_LENGTH[Layout.V20]:
        return Layout.V20
    if len(content) == REPORT_LENGTH[Layout.V30]:
        return Layout.V30
    return layout_of(version)
