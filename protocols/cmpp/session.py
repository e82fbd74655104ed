"""Sans-IO CMPP session (cmpp.md §6), ISMG (server) role and SP (client) role.

Bytes in, events out, bytes to send; no sockets and no clock reads: every call that cares
about time takes ``now`` (seconds, any monotonic origin). The Twisted adapter only moves
bytes and calls :meth:`CmppSession.tick` at :meth:`CmppSession.next_deadline`.

What the session does by itself (the adapter/ISMG never has to):

* framing, Total_Length bounds (bad length -> ``ProtocolError`` + ``ConnectionShouldClose``:
  the stream cannot be resynchronised), decoding in the negotiated layout;
* ACTIVE_TEST answered at once; ACTIVE_TEST sent after ``active_test_interval`` seconds of
  silence from the peer, resent when unanswered for ``response_timeout``, the link declared
  dead after ``max_retries`` unanswered tests (§6 "Heartbeat", C/T/N);
* TERMINATE answered with TERMINATE_RESP, then ``ConnectionShouldClose``;
* request retransmission: an unanswered request is resent (same Sequence_Id) every
  ``response_timeout`` until it has been sent ``max_retries`` times in total, then
  ``ResponseTimeout`` (§6 "Retransmission", T/N; pass ``max_retries=1`` to never resend);
* inbound window (§6 "Window"): a SUBMIT (ISMG role) or DELIVER (SP role) arriving while
  ``window`` requests are already unanswered is answered Result 8 (flow control) here and
  reported as ``ProtocolError(8, ...)``; ``reject_over_window=False`` hands it up instead.
  A request reusing the Sequence_Id of an unanswered one is answered Result 3;
* malformed SUBMIT/DELIVER answered with the codec's Result (1 or 4, §8 pitfall 10);
  CONNECT malformed -> Status 1, version too high -> Status 4, then close (§3.3);
* anything but CONNECT before login -> close without answer (§6 "First PDU");
  unknown Command_Id -> ``ProtocolError(2, ...)``, frame skipped; after ``max_garbage`` bad
  PDUs the session asks to close.

What the owner decides: authentication (``ConnectRequested`` -> :meth:`accept_connect` /
:meth:`reject_connect`, using protocols.cmpp.auth), and the answer to every
``RequestReceived`` via :meth:`send_response`. After any ``ConnectionShouldClose`` (or a
``reject_connect``), write out :meth:`data_to_send` and then close the transport.

Misuse of the API raises :class:`SessionError`; unencodable field values raise
:class:`~protocols.cmpp.pdu.PduError`. :meth:`receive_data` and :meth:`tick` never raise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from protocols.cmpp.codec import decode_at, encode
from protocols.cmpp.pdu import (
    COMMANDS,
    HEADER_LENGTH,
    MAX_PDU_LENGTH,
    RESPONSE_BIT,
    CommandId,
    ConnectStatus,
    Layout,
    Pdu,
    PduError,
    SubmitResult,
    layout_of,
)
from protocols.events import (
    ConnectionShouldClose,
    Event,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
)

__all__ = [
    "CmppSession",
    "ConnectRequested",
    "ConnectionShouldClose",
    "Event",
    "ProtocolError",
    "RequestReceived",
    "ResponseReceived",
    "ResponseTimeout",
    "SessionError",
    "SessionState",
    "Terminated",
    "TerminateRequested",
    "TRANSITIONS",
    "InvalidState",
    "WindowFull",
]

C = CommandId
_HEADER = struct.Struct(">LLL")
_LENGTH = struct.Struct(">L")
_MAX_SEQUENCE = 0xFFFFFFFF


class SessionState(Enum):
    OPEN = "open"  # TCP up, no successful CONNECT yet
    CONNECTED = "connected"
    TERMINATING = "terminating"  # we sent TERMINATE, waiting for TERMINATE_RESP
    CLOSED = "closed"

    # identity hash, as protocols.smpp.session.BindState: Enum's is Python code, and
    # ``TRANSITIONS`` is looked up by (role, state) for every request
    __hash__ = object.__hash__


S = SessionState

#: Requests each role accepts from its peer, per state (the rest are protocol errors).
#: Printable: ``for k, v in TRANSITIONS.items(): print(k, sorted(c.name for c in v))``.
TRANSITIONS: dict[tuple[str, SessionState], frozenset[CommandId]] = {
    ("ismg", S.OPEN): frozenset({C.CONNECT}),
    ("ismg", S.CONNECTED): frozenset(
        {C.CONNECT, C.SUBMIT, C.QUERY, C.CANCEL, C.ACTIVE_TEST, C.TERMINATE}
    ),
    ("ismg", S.TERMINATING): frozenset({C.SUBMIT, C.QUERY, C.CANCEL, C.ACTIVE_TEST, C.TERMINATE}),
    ("ismg", S.CLOSED): frozenset(),
    ("sp", S.OPEN): frozenset(),
    ("sp", S.CONNECTED): frozenset({C.DELIVER, C.ACTIVE_TEST, C.TERMINATE}),
    ("sp", S.TERMINATING): frozenset({C.DELIVER, C.ACTIVE_TEST, C.TERMINATE}),
    ("sp", S.CLOSED): frozenset(),
}
#: Requests each role may send, per state.
_MAY_SEND: dict[tuple[str, SessionState], frozenset[CommandId]] = {
    ("ismg", S.CONNECTED): frozenset({C.DELIVER}),
    ("sp", S.OPEN): frozenset({C.CONNECT}),
    ("sp", S.CONNECTED): frozenset({C.SUBMIT, C.QUERY, C.CANCEL}),
}
#: The windowed request type each role receives (flow control answers Result 8, §6).
_WINDOWED = {"ismg": C.SUBMIT, "sp": C.DELIVER}


# ------------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class ConnectRequested(Event):
    """ISMG role: a well-formed CONNECT with a supported version; answer it with
    accept_connect / reject_connect. ``version`` is the client's Version byte."""

    pdu: Pdu
    version: int


@dataclass(frozen=True, slots=True)
class TerminateRequested(Event):
    """The peer sent TERMINATE; TERMINATE_RESP is already queued and the session is closed."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Terminated(Event):
    """Our TERMINATE was answered; the session is closed."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ProtocolError(Event):
    """The peer broke the protocol. ``result`` is the code we answered with (or would have:
    CONNECT_RESP Status / SUBMIT_RESP-style Result), None when the PDU type has none."""

    result: int | None
    message: str
    seq: int | None = None
    command_id: int | None = None


class SessionError(Exception):
    """The owner used the session wrongly (wrong state, window full, unknown request)."""


class WindowFull(SessionError):
    """``send_request`` while ``outbound_outstanding >= window``."""


class InvalidState(SessionError):
    """The request may not be sent by this role in the current state."""


class _Sent:
    """One outstanding request of ours."""

    __slots__ = ("pdu", "wire", "deadline", "sends")

    def __init__(self, pdu: Pdu, wire: bytes, deadline: float) -> None:
        self.pdu = pdu
        self.wire = wire
        self.deadline = deadline
        self.sends = 1


# ----------------------------------------------------------------------------------- session


class CmppSession:
    """One CMPP connection's protocol state. See the module docstring for the division of work.

    ``version``: SP role: the Version byte to log in with (default 0x30). ISMG role: None
    (take it from CONNECT) or the highest version to accept (a 0x30 client meeting
    ``version=0x20`` gets Status 4; a 2.x client always gets 2.0 layouts).
    ``active_test_interval`` = C (§6, 180 s), ``response_timeout`` = T (60 s),
    ``max_retries`` = N (3 sends in total), ``idle_timeout``: close when the peer has sent
    nothing for that long (None: C + (N+1)·T, after the heartbeat would have given up),
    ``connect_timeout``: ISMG role, close when no CONNECT arrives within it.
    """

    def __init__(
        self,
        role: Literal["ismg", "sp"] = "ismg",
        *,
        window: int = 16,
        version: int | None = None,
        active_test_interval: float = 180.0,
        idle_timeout: float | None = None,
        response_timeout: float = 60.0,
        max_retries: int = 3,
        max_garbage: int = 3,
        connect_timeout: float = 60.0,
        reject_over_window: bool = True,
        now: float = 0.0,
    ) -> None:
        if role not in ("ismg", "sp"):
            raise SessionError(f"role must be 'ismg' or 'sp', not {role!r}")
        if window < 1 or max_retries < 1:
            raise SessionError("window and max_retries must be at least 1")
        self.role: str = role
        self.window = window
        if role == "sp" and version is None:
            version = 0x30
        if version is not None:
            try:
                self._layout: Layout = layout_of(version)
            except PduError as exc:
                raise SessionError(str(exc)) from None
        else:
            self._layout = Layout.V30  # CONNECT is the same in both; re-set from its Version
        self.version: int | None = version
        self._forced_version = version if role == "ismg" else None
        self.active_test_interval = active_test_interval
        self.response_timeout = response_timeout
        self.max_retries = max_retries
        self.idle_timeout = (
            idle_timeout
            if idle_timeout is not None
            else active_test_interval + (max_retries + 1) * response_timeout
        )
        self.max_garbage = max_garbage
        self.connect_timeout = connect_timeout
        self.reject_over_window = reject_over_window
        self.state = S.OPEN
        self.close_reason: str | None = None
        self.garbage = 0

        self._buf = b""
        self._out: list[bytes] = []
        self._next_seq = 1
        self._sent: dict[int, _Sent] = {}  # seq -> request; insertion order = deadline order
        self._inbound: dict[int, Pdu] = {}  # seq -> unanswered request from the peer
        self._windowed = _WINDOWED[role]
        self._inbound_windowed = 0
        self._created = now
        self._last_rx = now
        self._test_seq: int | None = None  # outstanding ACTIVE_TEST
        self._test_deadline = 0.0
        self._tests_unanswered = 0
        self._terminate_deadline: float | None = None
        self._terminate_seq: int | None = None
        self._connect_request: Pdu | None = None

    # ----------------------------------------------------------------------- properties

    @property
    def outbound_outstanding(self) -> int:
        """Our requests (CONNECT, SUBMIT, DELIVER, …) still waiting for a response."""
        return len(self._sent)

    @property
    def inbound_outstanding(self) -> int:
        """Peer requests handed up as RequestReceived and not yet answered."""
        return len(self._inbound)

    @property
    def outbound_available(self) -> int:
        """How many more requests send_request accepts before the window is full."""
        return max(0, self.window - len(self._sent))

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def can_send(self) -> bool:
        """True when send_request would be accepted window-wise."""
        return len(self._sent) < self.window

    @property
    def connected(self) -> bool:
        return self.state is S.CONNECTED

    @property
    def closed(self) -> bool:
        return self.state is S.CLOSED

    # ---------------------------------------------------------------------------- input

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the transport; returns the events they caused. Never raises."""
        events: list[Event] = []
        if self.state is S.CLOSED or not data:
            return events
        try:
            self._receive(bytes(data), now, events)
        except Exception as exc:  # a bug here must not take the reactor down with it
            self._close(events, f"internal error: {exc!r}")
        return events

    def _receive(self, data: bytes, now: float, events: list[Event]) -> None:
        buf = self._buf + data if self._buf else data
        end = len(buf)
        off = 0
        self._last_rx = now
        self._tests_unanswered = 0  # any traffic proves the link is alive
        while end - off >= 4:
            (total,) = _LENGTH.unpack_from(buf, off)
            if total < HEADER_LENGTH or total > MAX_PDU_LENGTH:
                events.append(ProtocolError(None, f"Total_Length {total} out of bounds"))
                self._close(events, "bad Total_Length: stream cannot be resynchronised")
                self._buf = b""
                return
            if end - off < total:
                break
            self._frame(buf, off, off + total, now, events)
            off += total
            if self.state is S.CLOSED:
                self._buf = b""
                return
        self._buf = buf[off:] if off else buf

    def _frame(self, buf: bytes, start: int, end: int, now: float, events: list[Event]) -> None:
        _, cid_value, seq = _HEADER.unpack_from(buf, start)
        if cid_value & RESPONSE_BIT:
            self._response(buf, start, end, cid_value, seq, now, events)
            return
        cid = COMMANDS.get(cid_value)
        if self.state is S.OPEN and self.role == "ismg" and cid is not C.CONNECT:
            events.append(ProtocolError(None, f"0x{cid_value:08x} before CONNECT", seq, cid_value))
            self._close(events, "first PDU was not CONNECT")
            return
        if cid is None:
            events.append(
                ProtocolError(
                    SubmitResult.BAD_COMMAND_ID,
                    f"unknown Command_Id 0x{cid_value:08x}",
                    seq,
                    cid_value,
                )
            )
            self._garbage(events)
            return
        if cid not in TRANSITIONS[(self.role, self.state)]:
            events.append(
                ProtocolError(None, f"{cid.name} not expected in {self.state.value}", seq, cid)
            )
            self._garbage(events)
            return
        if cid is C.CONNECT:
            self._connect(buf, start, end, seq, events)
            return
        try:
            pdu = decode_at(buf, start, end, self._layout)
        except PduError as exc:
            self._malformed_request(buf, start, end, cid, seq, exc, events)
            return
        if cid is C.ACTIVE_TEST:
            self._out.append(encode(Pdu(C.ACTIVE_TEST_RESP, seq, {"reserved": 0}), self._layout))
            return
        if cid is C.TERMINATE:
            self._out.append(encode(Pdu(C.TERMINATE_RESP, seq, {}), self._layout))
            events.append(TerminateRequested(pdu))
            self._close(events, "peer sent TERMINATE")
            return
        if seq in self._inbound:
            self._reject(cid, seq, pdu.fields.get("msg_id", 0), SubmitResult.DUPLICATE_SEQUENCE)
            events.append(
                ProtocolError(SubmitResult.DUPLICATE_SEQUENCE, "duplicate Sequence_Id", seq, cid)
            )
            return
        if cid is self._windowed:
            if self.reject_over_window and self._inbound_windowed >= self.window:
                self._reject(cid, seq, pdu.fields.get("msg_id", 0), SubmitResult.FLOW_CONTROL)
                events.append(
                    ProtocolError(
                        SubmitResult.FLOW_CONTROL,
                        f"window of {self.window} exceeded",
                        seq,
                        cid,
                    )
                )
                return
            self._inbound_windowed += 1
        self._inbound[seq] = pdu
        events.append(RequestReceived(pdu))

    def _connect(self, buf: bytes, start: int, end: int, seq: int, events: list[Event]) -> None:
        # the CONNECT body is identical in both layouts (§2.1); its Version picks the layout
        guess = Layout.V30 if end - start > 34 and buf[start + 34] >= 0x30 else Layout.V20
        try:
            pdu = decode_at(buf, start, end, Layout.V30)
        except PduError as exc:
            self._send_connect_resp(seq, exc.result or ConnectStatus.MALFORMED, guess, b"", 0)
            events.append(ProtocolError(exc.result, exc.message, seq, C.CONNECT))
            self._close(events, "malformed CONNECT")
            return
        if self.state is not S.OPEN:
            self._send_connect_resp(seq, ConnectStatus.OTHER, self._layout, b"", 0)
            events.append(ProtocolError(ConnectStatus.OTHER, "CONNECT on a live session", seq))
            return
        version = pdu.fields["version"]
        try:
            if self._forced_version and version > self._forced_version:
                layout_of(0xFF)  # an account pinned to 2.0 refuses a 3.0 client: Status 4
            layout = layout_of(version)
        except PduError as exc:
            status = exc.result or ConnectStatus.OTHER
            self._send_connect_resp(seq, status, guess, b"", 0)
            events.append(ProtocolError(status, exc.message, seq, C.CONNECT))
            self._close(events, "unsupported CONNECT version")
            return
        self._layout = layout
        self._connect_request = pdu
        events.append(ConnectRequested(pdu, version))

    def _malformed_request(
        self,
        buf: bytes,
        start: int,
        end: int,
        cid: CommandId,
        seq: int,
        exc: PduError,
        events: list[Event],
    ) -> None:
        if exc.result is not None and cid in (C.SUBMIT, C.DELIVER):
            msg_id = 0
            if cid is C.DELIVER and end - start >= 20:  # DELIVER_RESP echoes Msg_Id (§2.8)
                msg_id = int.from_bytes(buf[start + 12 : start + 20], "big")
            self._reject(cid, seq, msg_id, exc.result)
        elif cid is C.CANCEL:
            self._out.append(encode(Pdu(C.CANCEL_RESP, seq, {"success_id": 1}), self._layout))
        events.append(ProtocolError(exc.result, exc.message, seq, cid))
        self._garbage(events)

    def _reject(self, cid: CommandId, seq: int, msg_id: int, result: int) -> None:
        """Answer a SUBMIT/DELIVER/CANCEL with a failure result straight from the session."""
        if cid is C.CANCEL:
            resp = Pdu(C.CANCEL_RESP, seq, {"success_id": 1})
        elif cid in (C.SUBMIT, C.DELIVER):
            if self._layout is Layout.V20 and result > 0xFF:
                result = SubmitResult.MALFORMED
            resp = Pdu(
                cid.response,
                seq,
                {"msg_id": msg_id if cid is C.DELIVER else 0, "result": int(result)},
            )
        else:
            return  # QUERY has no result field to refuse with
        self._out.append(encode(resp, self._layout))

    def _response(
        self,
        buf: bytes,
        start: int,
        end: int,
        cid_value: int,
        seq: int,
        now: float,
        events: list[Event],
    ) -> None:
        if cid_value == C.ACTIVE_TEST_RESP and seq == self._test_seq:
            self._test_seq = None
            return
        if cid_value == C.TERMINATE_RESP and seq == self._terminate_seq:
            events.append(Terminated(Pdu(C.TERMINATE_RESP, seq, {})))
            self._close(events, "TERMINATE answered")
            return
        sent = self._sent.get(seq)
        if sent is None or sent.pdu.command_id | RESPONSE_BIT != cid_value:
            if self.state is S.OPEN and self.role == "ismg":
                events.append(ProtocolError(None, "response before CONNECT", seq, cid_value))
                self._close(events, "first PDU was not CONNECT")
                return
            if cid_value == C.ACTIVE_TEST_RESP:
                return  # a late answer to an earlier heartbeat
            events.append(
                ProtocolError(None, f"unexpected response 0x{cid_value:08x}", seq, cid_value)
            )
            if COMMANDS.get(cid_value) is None:
                self._garbage(events)
            return
        try:
            pdu = decode_at(buf, start, end, self._layout)
        except PduError as exc:
            events.append(ProtocolError(None, exc.message, seq, cid_value))
            self._garbage(events)
            return
        del self._sent[seq]
        events.append(ResponseReceived(pdu, sent.pdu))
        if cid_value == C.CONNECT_RESP:
            if pdu.fields["status"] == ConnectStatus.OK:
                self.state = S.CONNECTED
            else:
                self._close(events, f"CONNECT refused with Status {pdu.fields['status']}")

    def _garbage(self, events: list[Event]) -> None:
        self.garbage += 1
        if self.garbage >= self.max_garbage:
            self._close(events, f"{self.garbage} bad PDUs")

    def _close(self, events: list[Event], reason: str) -> None:
        if self.state is not S.CLOSED:
            self.state = S.CLOSED
            self.close_reason = reason
            events.append(ConnectionShouldClose(reason))

    # --------------------------------------------------------------------------- output

    def _take_seq(self) -> int:
        seq = self._next_seq
        while seq in self._sent or seq == self._test_seq:
            seq = seq + 1 if seq < _MAX_SEQUENCE else 1
        self._next_seq = seq + 1 if seq < _MAX_SEQUENCE else 1
        return seq

    def send_request(self, pdu: Pdu, now: float) -> int:
        """Queue a request (DELIVER for the ISMG; CONNECT/SUBMIT/QUERY/CANCEL for an SP);
        the session assigns and returns its Sequence_Id. Counts against the window."""
        cid = COMMANDS.get(pdu.command_id)
        if cid is None or cid not in _MAY_SEND.get((self.role, self.state), ()):
            raise InvalidState(f"{pdu.name} cannot be sent by {self.role} in {self.state.value}")
        if len(self._sent) >= self.window:
            raise WindowFull(f"window of {self.window} full")
        seq = self._take_seq()
        request = Pdu(cid, seq, pdu.fields)
        wire = encode(request, self._layout)
        self._sent[seq] = _Sent(request, wire, now + self.response_timeout)
        self._out.append(wire)
        return seq

    def send_response(self, request: Pdu, **fields: Any) -> None:
        """Answer a RequestReceived: SUBMIT_RESP(msg_id, result), DELIVER_RESP(msg_id,
        result), QUERY_RESP(...), CANCEL_RESP(success_id). Missing fields take defaults."""
        pending = self._inbound.pop(request.sequence, None)
        if pending is None or pending.command_id != request.command_id:
            if pending is not None:
                self._inbound[request.sequence] = pending
            raise SessionError(f"{request.name} seq {request.sequence} is not awaiting an answer")
        if pending.command_id == self._windowed:
            self._inbound_windowed -= 1
        if self.state is S.CLOSED:
            return
        resp = Pdu.make(pending.command_id | RESPONSE_BIT, request.sequence, **fields)
        self._out.append(encode(resp, self._layout))

    def accept_connect(
        self, pdu: Pdu, authenticator_ismg: bytes, *, version: int | None = None
    ) -> list[Event]:
        """Answer ConnectRequested with Status 0 and enter CONNECTED.

        ``authenticator_ismg`` comes from auth.authenticator_ismg(0, AuthenticatorSource,
        secret, version). The resp's Version is the negotiated one (0x20/0x21/0x30), so a 2.x
        client always gets the 30-byte layout (§6 "Version").
        """
        self._check_connect(pdu)
        if version is None:
            version = pdu.fields["version"]
        self._layout = layout_of(version)
        self.version = version
        self._send_connect_resp(
            pdu.sequence, ConnectStatus.OK, self._layout, authenticator_ismg, version
        )
        self.state = S.CONNECTED
        self._connect_request = None
        return []

    def reject_connect(self, pdu: Pdu, status: int) -> list[Event]:
        """Answer ConnectRequested with a non-zero Status (2 unknown SP, 3 bad auth, ≥5 other);
        returns ``[ConnectionShouldClose]``: flush data_to_send(), then close (§3.3)."""
        self._check_connect(pdu)
        if status == 0:
            raise SessionError("reject_connect needs a non-zero Status")
        self._send_connect_resp(pdu.sequence, status, self._layout, b"", 0)
        self._connect_request = None
        events: list[Event] = []
        self._close(events, f"CONNECT rejected with Status {status}")
        return events

    def _check_connect(self, pdu: Pdu) -> None:
        if self.role != "ismg" or self._connect_request is None or self.state is not S.OPEN:
            raise SessionError("no CONNECT is waiting for an answer")
        if pdu.sequence != self._connect_request.sequence:
            raise SessionError("that is not the pending CONNECT")

    def _send_connect_resp(
        self, seq: int, status: int, layout: Layout, authenticator: bytes, version: int
    ) -> None:
        if layout is Layout.V20 and status > 0xFF:
            status = ConnectStatus.OTHER
        resp = Pdu(
            C.CONNECT_RESP,
            seq,
            {
                "status": int(status),
                "authenticator_ismg": authenticator if status == 0 else b"\x00" * 16,
                "version": version or int(layout),
            },
        )
        self._out.append(encode(resp, layout))

    def terminate(self, now: float) -> int:
        """Start the TERMINATE handshake (§6); Terminated + ConnectionShouldClose follow."""
        if self.state is not S.CONNECTED:
            raise InvalidState(f"cannot terminate in {self.state.value}")
        seq = self._take_seq()
        # not retransmitted and outside the window: the handshake only has to end
        self._terminate_seq = seq
        self._out.append(encode(Pdu(C.TERMINATE, seq, {}), self._layout))
        self.state = S.TERMINATING
        self._terminate_deadline = now + self.response_timeout
        return seq

    def close(self) -> list[Pdu]:
        """The transport is gone: state CLOSED. Returns our requests that never got a response
        (e.g. DELIVERs), oldest first, so the owner can deliver them again later."""
        lost = [sent.pdu for sent in self._sent.values()]
        self._sent.clear()
        self._inbound.clear()
        self._inbound_windowed = 0
        self._buf = b""
        self._connect_request = None
        if self.state is not S.CLOSED:
            self.state = S.CLOSED
            self.close_reason = self.close_reason or "transport closed"
        return lost

    def data_to_send(self) -> bytes:
        """All bytes queued since the last call (responses, requests, heartbeats)."""
        if not self._out:
            return b""
        out = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        return out

    # ---------------------------------------------------------------------------- timers

    def next_deadline(self) -> float | None:
        """The earliest ``now`` at which tick() has something to do (None: nothing pending)."""
        if self.state is S.CLOSED:
            return None
        if self.state is S.OPEN and self.role == "ismg":
            return self._created + self.connect_timeout
        candidates = [self._last_rx + self.idle_timeout]
        if self.state is S.CONNECTED:
            candidates.append(
                self._test_deadline
                if self._test_seq is not None
                else self._last_rx + self.active_test_interval
            )
        for sent in self._sent.values():
            candidates.append(sent.deadline)
            break
        if self._terminate_deadline is not None:
            candidates.append(self._terminate_deadline)
        return min(candidates)

    def tick(self, now: float) -> list[Event]:
        """Run the timers: retransmissions, timeouts, heartbeat, idle close. Never raises."""
        events: list[Event] = []
        if self.state is S.CLOSED:
            return events
        try:
            self._tick(now, events)
        except Exception as exc:
            self._close(events, f"internal error: {exc!r}")
        return events

    def _tick(self, now: float, events: list[Event]) -> None:
        if self.state is S.OPEN and self.role == "ismg":
            if now >= self._created + self.connect_timeout:
                self._close(events, "no CONNECT received")
            return
        if self._terminate_deadline is not None and now >= self._terminate_deadline:
            self._close(events, "TERMINATE not answered")
            return
        if now >= self._last_rx + self.idle_timeout:
            self._close(events, f"nothing received for {self.idle_timeout:g} s")
            return
        while self._sent:
            seq, sent = next(iter(self._sent.items()))
            if sent.deadline > now:
                break
            del self._sent[seq]
            if sent.sends < self.max_retries:
                sent.sends += 1
                sent.deadline = now + self.response_timeout
                self._sent[seq] = sent  # re-inserted last: order stays deadline order
                self._out.append(sent.wire)
            else:
                events.append(ResponseTimeout(sent.pdu))
                if sent.pdu.command_id == C.CONNECT:
                    self._close(events, "CONNECT not answered")
                    return
        if self.state is not S.CONNECTED:
            return
        if self._test_seq is not None:
            if now < self._test_deadline:
                return
            self._tests_unanswered += 1
            self._test_seq = None
            if self._tests_unanswered >= self.max_retries:
                self._close(events, f"{self._tests_unanswered} ACTIVE_TESTs unanswered")
                return
            self._send_active_test(now)  # resend at once (§6 "Heartbeat")
        elif now >= self._last_rx + self.active_test_interval:
            self._send_active_test(now)

    def _send_active_test(self, now: float) -> None:
        seq = self._take_seq()
        self._test_seq = seq
        self._test_deadline = now + self.response_timeout
        self._out.append(encode(Pdu(C.ACTIVE_TEST, seq, {}), self._layout))
