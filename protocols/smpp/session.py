"""Sans-IO SMPP 3.4 session: framing, bind states, sequence numbers, windows and timers.

Modelled on h11 / hyper-h2: no sockets, no reactor, no clock reads. The adapter feeds bytes
with ``receive_data(data, now)`` and writes whatever ``data_to_send()`` returns after *every*
call; it calls ``tick(now)`` at ``next_deadline()``. Implements smpp.md §1 (framing) and §6
(state machine, answers, windowing, timers).

Adapter contract:

* ``ConnectionShouldClose`` is emitted once; write ``data_to_send()`` then close the
  transport. On connection loss call ``close()``: it returns the requests that never got a
  response (e.g. deliver_sm receipts to re-queue — nothing is lost).
* ``inbound_outstanding >= window`` -> pause reading (requests beyond the window that are
  already buffered are answered ESME_RTHROTTLED by the session, §6.3).
* ``can_send`` says whether ``send_request`` would accept an application request now.

Error policy (§6.2): a command_length < 16 or > ``max_pdu_size`` loses framing (we cannot know
where the next PDU starts), so it gets generic_nack ESME_RINVCMDLEN and the connection closes.
Every other bad PDU keeps framing: unknown command_id -> generic_nack ESME_RINVCMDID with the
PDU's sequence; malformed body -> the PDU's own ``_resp`` (header only) with the codec's status
(generic_nack for PDUs without a response; nothing for a malformed response, which is only
logged); ``max_garbage`` consecutive bad PDUs close the connection. A request the peer's role
may never send (e.g. deliver_sm to an SMSC) is answered generic_nack ESME_RINVCMDID; a known
request in the wrong state gets its ``_resp`` with ESME_RINVBNDSTS (bind while bound:
ESME_RALYBND). enquire_link is answered in every state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Any

from protocols.events import (
    ConnectionShouldClose,
    Event,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
)

from .codec import decode, encode
from .pdu import RESPONSE_OF, CommandId, Pdu, PduError
from .pdu import CommandStatus as S

__all__ = [
    "BindRequested",
    "BindState",
    "ConnectionShouldClose",
    "Event",
    "InvalidState",
    "ProtocolError",
    "RequestReceived",
    "ResponseReceived",
    "ResponseTimeout",
    "Role",
    "SessionError",
    "SmppSession",
    "TRANSITIONS",
    "Unbound",
    "UnbindRequested",
    "WindowFull",
    "format_tables",
]

C = CommandId
_MAX_SEQ = 0x7FFFFFFF
_u32 = struct.Struct(">I").unpack_from


class Role(Enum):
    """Which end of the link this session plays."""

    SMSC = "smsc"
    ESME = "esme"


class BindState(Enum):
    """Session states of §6 (UNBOUND: unbind sent or received, closing)."""

    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBOUND = "unbound"
    CLOSED = "closed"

    # Members are singletons compared by identity, so identity is a valid hash. Enum's own
    # ``__hash__`` is Python code (``hash(self._name_)``) and ran ~5 times per message here:
    # every ``state in _BOUND`` and every allowed-states check.
    __hash__ = object.__hash__


B = BindState
_BOUND = frozenset({B.BOUND_TX, B.BOUND_RX, B.BOUND_TRX})
_TX = frozenset({B.BOUND_TX, B.BOUND_TRX})
_RX = frozenset({B.BOUND_RX, B.BOUND_TRX})
_LIVE = frozenset({B.OPEN, B.BOUND_TX, B.BOUND_RX, B.BOUND_TRX, B.UNBOUND})

#: bind request -> the state a successful bind moves to.
BIND_TARGET: dict[int, BindState] = {
    C.bind_transmitter: B.BOUND_TX,
    C.bind_receiver: B.BOUND_RX,
    C.bind_transceiver: B.BOUND_TRX,
}

#: §6.1: the states in which a request *sent by* ``role`` is legal.
SEND_STATES: dict[Role, dict[int, frozenset[BindState]]] = {
    Role.ESME: {
        C.bind_transmitter: frozenset({B.OPEN}),
        C.bind_receiver: frozenset({B.OPEN}),
        C.bind_transceiver: frozenset({B.OPEN}),
        C.unbind: _BOUND | {B.UNBOUND},
        C.submit_sm: _TX,
        C.submit_multi: _TX,
        C.query_sm: _TX,
        C.cancel_sm: _TX,
        C.replace_sm: _TX,  # v3.4 says TX only; a TRX is a TX (§6.1)
        C.data_sm: _TX,
        C.enquire_link: _LIVE,
    },
    Role.SMSC: {
        C.outbind: frozenset({B.OPEN}),
        C.unbind: _BOUND | {B.UNBOUND},
        C.deliver_sm: _RX,
        C.data_sm: _RX,
        C.alert_notification: _RX,
        C.enquire_link: _LIVE,
    },
}
_PEER = {Role.SMSC: Role.ESME, Role.ESME: Role.SMSC}

#: Printable transition table (§6): (from, trigger, to).
TRANSITIONS: tuple[tuple[BindState, str, BindState], ...] = (
    (B.OPEN, "bind_transmitter accepted", B.BOUND_TX),
    (B.OPEN, "bind_receiver accepted", B.BOUND_RX),
    (B.OPEN, "bind_transceiver accepted", B.BOUND_TRX),
    (B.OPEN, "bind rejected (close=True)", B.CLOSED),
    (B.OPEN, "session_init_timeout", B.CLOSED),
    (B.BOUND_TX, "unbind sent or received", B.UNBOUND),
    (B.BOUND_RX, "unbind sent or received", B.UNBOUND),
    (B.BOUND_TRX, "unbind sent or received", B.UNBOUND),
    (B.UNBOUND, "close()", B.CLOSED),
    (B.OPEN, "framing lost / garbage / idle / enquire_link timeout / close()", B.CLOSED),
    (B.BOUND_TX, "framing lost / garbage / idle / enquire_link timeout / close()", B.CLOSED),
    (B.BOUND_RX, "framing lost / garbage / idle / enquire_link timeout / close()", B.CLOSED),
    (B.BOUND_TRX, "framing lost / garbage / idle / enquire_link timeout / close()", B.CLOSED),
)


def format_tables() -> str:
    """The transition table and the per-role request/state table, as printable text."""
    lines = ["transitions:"]
    lines += [f"  {a.name:<9} --{t}--> {b.name}" for a, t, b in TRANSITIONS]
    for role, table in SEND_STATES.items():
        lines.append(f"requests sent by {role.name}:")
        for cid, states in table.items():
            names = ", ".join(s.name for s in B if s in states)
            lines.append(f"  {C(cid).name:<20} {names}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class BindRequested(Event):
    """SMSC role: a bind arrived in OPEN; answer with ``accept_bind`` or ``reject_bind``."""

    pdu: Pdu
    bind_type: BindState


@dataclass(frozen=True, slots=True)
class UnbindRequested(Event):
    """The peer unbound; the session already answered unbind_resp (state UNBOUND)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Unbound(Event):
    """Our unbind got its unbind_resp."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ProtocolError(Event):
    """For logging: the peer broke a rule; the session has already queued the answer."""

    status: int
    message: str
    sequence: int | None


class SessionError(Exception):
    """Misuse of the session API by the application."""


class WindowFull(SessionError):
    """``send_request`` while ``outbound_outstanding >= window``."""


class InvalidState(SessionError):
    """The request may not be sent by this role in the current state (§6.1)."""


class _Pending:
    """One of our requests awaiting its response."""

    __slots__ = ("pdu", "deadline", "counted", "internal")

    def __init__(self, pdu: Pdu, deadline: float, counted: bool, internal: bool) -> None:
        self.pdu = pdu
        self.deadline = deadline
        self.counted = counted  # occupies an outbound window slot
        self.internal = internal  # session's own enquire_link / unbind: no app events


# compared per PDU: plain ints (reading an enum member off its class costs ~50 ns each time)
_ENQUIRE_LINK, _UNBIND, _GENERIC_NACK = int(C.enquire_link), int(C.unbind), int(C.generic_nack)
_MESSAGE_ID_ONLY = frozenset({C.submit_sm_resp, C.data_sm_resp, C.deliver_sm_resp})
_MESSAGE_ID_KEY = frozenset({"message_id"})
_NO_RESPONSE = frozenset({C.outbind, C.alert_notification, C.generic_nack})
_UNCOUNTED = frozenset({C.enquire_link, C.unbind})


def _header(cid: int, status: int, seq: int) -> bytes:
    return struct.pack(">IIII", 16, cid, status, seq)


# --------------------------------------------------------------------------- session


class SmppSession:
    """One SMPP connection's protocol state (either role). See the module docstring."""

    def __init__(
        self,
        role: Role = Role.SMSC,
        *,
        window: int = 100,
        max_pdu_size: int = 65536,
        enquire_link_interval: float = 30.0,
        idle_timeout: float = 120.0,
        response_timeout: float = 10.0,
        max_garbage: int = 3,
        session_init_timeout: float = 30.0,
        now: float = 0.0,
    ) -> None:
        self.role = role
        self.window = window
        self.max_pdu_size = max(16, max_pdu_size)
        self.enquire_link_interval = enquire_link_interval
        self.idle_timeout = idle_timeout
        self.response_timeout = response_timeout
        self.max_garbage = max_garbage
        self.session_init_timeout = session_init_timeout
        self.state = B.OPEN
        self._send_states = SEND_STATES[role]
        self._recv_states = SEND_STATES[_PEER[role]]
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._pending: dict[int, _Pending] = {}
        self._out_count = 0
        self._inbound: dict[int, int] = {}  # seq -> number of unanswered requests with it
        self._in_count = 0
        self._next_seq = 1
        self._garbage = 0
        self._opened_at = now
        self._last_rx = now
        self._bind_pending: Pdu | None = None
        self._enquire_pending = False
        self._close_emitted = False

    # -- public counters -------------------------------------------------------------

    @property
    def inbound_outstanding(self) -> int:
        """Requests received and counted in the window, minus responses sent."""
        return self._in_count

    @property
    def outbound_outstanding(self) -> int:
        """Our windowed requests still awaiting a response."""
        return self._out_count

    @property
    def can_send(self) -> bool:
        """True when an application request (submit_sm / deliver_sm ...) may go out now."""
        return self.state in _BOUND and self._out_count < self.window

    @property
    def bound(self) -> bool:
        return self.state in _BOUND

    # -- input -----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the transport; returns the events they complete. Never raises."""
        events: list[Event] = []
        if self.state is B.CLOSED or not data:
            return events
        self._last_rx = now
        buf = self._buf
        if buf:
            buf += data
            view: bytes | bytearray = buf
        else:
            view = data
        n = len(view)
        off = 0
        limit = self.max_pdu_size
        try:
            while n - off >= 4:
                length = _u32(view, off)[0]
                if length < 16 or length > limit:
                    seq = _u32(view, off + 12)[0] if n - off >= 16 else 0
                    self._framing_lost(length, seq, events)
                    off = n
                    break
                if n - off < length:
                    break
                frame = view[off : off + length]
                off += length
                try:
                    pdu = decode(frame)
                except PduError as exc:
                    self._bad_pdu(exc, events)
                else:
                    self._garbage = 0
                    if pdu.command_id & 0x80000000:
                        self._on_response(pdu, events)
                    else:
                        self._on_request(pdu, events)
                if self.state is B.CLOSED:
                    off = n
                    break
        except Exception as bug:  # receive_data must never raise
            self._fail(S.ESME_RSYSERR, f"internal error: {bug!r}", None, events)
            off = n
        if buf:
            del buf[:off]
        elif off < n:
            buf += view[off:]
        return events

    def _on_request(self, pdu: Pdu, events: list[Event]) -> None:
        cid, seq, state = pdu.command_id, pdu.sequence, self.state
        if cid == _ENQUIRE_LINK:
            self._out.append(_header(C.enquire_link_resp, 0, seq))
            return
        allowed = self._recv_states.get(cid)
        if allowed is None:
            self._reply_error(C.generic_nack, S.ESME_RINVCMDID, seq)
            self._count_garbage(
                S.ESME_RINVCMDID,
                f"{pdu.name} may not be sent by the {_PEER[self.role].name}",
                seq,
                events,
            )
            return
        if state not in allowed:
            status = S.ESME_RALYBND if cid in BIND_TARGET and state in _BOUND else S.ESME_RINVBNDSTS
            self._reply_error(RESPONSE_OF.get(cid, C.generic_nack), status, seq)
            events.append(ProtocolError(status, f"{pdu.name} not allowed in {state.name}", seq))
            return
        if cid in BIND_TARGET:
            if self._bind_pending is not None:
                self._reply_error(RESPONSE_OF[cid], S.ESME_RINVBNDSTS, seq)
                events.append(ProtocolError(S.ESME_RINVBNDSTS, "bind already pending", seq))
                return
            self._bind_pending = pdu
            events.append(BindRequested(pdu, BIND_TARGET[cid]))
            return
        if cid == _UNBIND:
            self._out.append(_header(C.unbind_resp, 0, seq))
            if state is not B.UNBOUND:
                self.state = B.UNBOUND
                events.append(UnbindRequested(pdu))
                self._emit_close("peer unbound", events)
            return
        if cid in _NO_RESPONSE:  # outbind, alert_notification: nothing to answer
            events.append(RequestReceived(pdu))
            return
        if self._in_count >= self.window:
            self._reply_error(RESPONSE_OF[cid], S.ESME_RTHROTTLED, seq)
            events.append(
                ProtocolError(S.ESME_RTHROTTLED, f"inbound window {self.window} full", seq)
            )
            return
        inbound = self._inbound
        inbound[seq] = inbound.get(seq, 0) + 1
        self._in_count += 1
        events.append(RequestReceived(pdu))

    def _on_response(self, pdu: Pdu, events: list[Event]) -> None:
        seq = pdu.sequence
        pending = self._pending.get(seq)
        if pending is None:
            events.append(ResponseReceived(pdu, None))
            return
        req = pending.pdu
        cid = pdu.command_id
        if cid != _GENERIC_NACK and cid != RESPONSE_OF.get(req.command_id):
            events.append(
                ProtocolError(
                    S.ESME_RINVCMDID, f"{pdu.name} does not answer {req.name} (seq {seq})", seq
                )
            )
            return
        del self._pending[seq]
        if pending.counted:
            self._out_count -= 1
        rcid = req.command_id
        if rcid in BIND_TARGET:
            if cid != _GENERIC_NACK and pdu.command_status == 0 and self.state is B.OPEN:
                self.state = BIND_TARGET[rcid]
        elif rcid == _ENQUIRE_LINK and pending.internal:
            self._enquire_pending = False
            return
        elif rcid == _UNBIND and pending.internal:
            events.append(Unbound(pdu))
            self._emit_close("unbind completed", events)
            return
        events.append(ResponseReceived(pdu, req))

    # -- errors ----------------------------------------------------------------------

    def _reply_error(self, resp_cid: int, status: int, seq: int) -> None:
        self._out.append(_header(resp_cid, status, seq))

    def _bad_pdu(self, exc: PduError, events: list[Event]) -> None:
        cid, seq = exc.command_id, exc.sequence or 0
        if exc.status == S.ESME_RINVCMDID or cid is None or cid not in RESPONSE_OF:
            # unknown command, or a request without a response of its own (outbind, ...)
            if cid is None or not cid & 0x80000000 or exc.status == S.ESME_RINVCMDID:
                self._reply_error(C.generic_nack, exc.status, seq)
            # else: a malformed response is never answered, only logged (its request times out)
        else:
            self._reply_error(RESPONSE_OF[cid], exc.status, seq)
        self._count_garbage(exc.status, exc.message, exc.sequence, events)

    def _count_garbage(
        self, status: int, message: str, seq: int | None, events: list[Event]
    ) -> None:
        events.append(ProtocolError(status, message, seq))
        self._garbage += 1
        if self._garbage >= self.max_garbage:
            self.state = B.CLOSED
            self._emit_close(f"{self._garbage} consecutive bad PDUs", events)

    def _framing_lost(self, length: int, seq: int, events: list[Event]) -> None:
        self._reply_error(C.generic_nack, S.ESME_RINVCMDLEN, seq)
        events.append(
            ProtocolError(
                S.ESME_RINVCMDLEN,
                f"command_length {length} outside 16..{self.max_pdu_size}: framing lost",
                seq,
            )
        )
        self.state = B.CLOSED
        self._emit_close("framing lost", events)

    def _fail(self, status: int, message: str, seq: int | None, events: list[Event]) -> None:
        events.append(ProtocolError(status, message, seq))
        self.state = B.CLOSED
        self._emit_close(message, events)

    def _emit_close(self, reason: str, events: list[Event]) -> None:
        if not self._close_emitted:
            self._close_emitted = True
            events.append(ConnectionShouldClose(reason))

    # -- output ----------------------------------------------------------------------

    def _next_sequence(self) -> int:
        seq = self._next_seq
        pending = self._pending
        while seq in pending:  # only after a full wrap with a very old request outstanding
            seq = seq + 1 if seq < _MAX_SEQ else 1
        self._next_seq = seq + 1 if seq < _MAX_SEQ else 1
        return seq

    def send_request(self, pdu: Pdu, now: float) -> int:
        """Queue request ``pdu`` (its ``sequence`` is assigned here and returned).

        Raises ``InvalidState`` if this role may not send it now (§6.1), ``WindowFull`` if a
        windowed request would exceed ``window`` (enquire_link and unbind are not windowed),
        ``PduError`` if it cannot be encoded.
        """
        cid = pdu.command_id
        if cid == _UNBIND:
            return self.unbind(now)
        allowed = self._send_states.get(cid)
        if allowed is None or self.state not in allowed:
            raise InvalidState(f"{self.role.name} may not send {pdu.name} in {self.state.name}")
        if cid in BIND_TARGET:
            if any(p.pdu.command_id in BIND_TARGET for p in self._pending.values()):
                raise InvalidState("a bind is already outstanding")
        counted = cid not in _UNCOUNTED
        if counted and self._out_count >= self.window:
            raise WindowFull(f"{self._out_count} requests outstanding (window {self.window})")
        seq = self._next_sequence()
        pdu.sequence = seq
        self._out.append(encode(pdu))
        if cid not in _NO_RESPONSE:
            self._pending[seq] = _Pending(pdu, now + self.response_timeout, counted, False)
            if counted:
                self._out_count += 1
        return seq

    def send_response(
        self,
        request: Pdu,
        command_status: int = 0,
        *,
        tlvs: list[tuple[int, bytes]] | None = None,
        **params: Any,
    ) -> None:
        """Answer an application request (from ``RequestReceived``).

        With ``command_status == 0`` the body is built like ``Pdu.make`` (unspecified fields
        NULL, e.g. deliver_sm_resp message_id ""); with an error status and no ``params`` the
        response is header only (§2.3). Answering after the session closed is a no-op; answering
        a request that is not outstanding raises ``SessionError``.
        """
        if self.state is B.CLOSED:
            return
        seq = request.sequence
        count = self._inbound.get(seq)
        if not count:
            raise SessionError(f"no outstanding request with sequence {seq}")
        resp_cid = RESPONSE_OF[request.command_id]
        if command_status == 0 or params or tlvs:
            if resp_cid in _MESSAGE_ID_ONLY and not tlvs and params.keys() <= _MESSAGE_ID_KEY:
                # submit_sm_resp & co, one per message: their only parameter is message_id,
                # so there are no defaults for ``Pdu.make`` to merge
                params.setdefault("message_id", "")
                resp = Pdu(resp_cid, command_status, seq, params, [])
            else:
                resp = Pdu.make(
                    resp_cid, sequence=seq, command_status=command_status, tlvs=tlvs, **params
                )
            data = encode(resp)
        else:
            data = _header(resp_cid, command_status, seq)
        if count == 1:
            del self._inbound[seq]
        else:
            self._inbound[seq] = count - 1
        self._in_count -= 1
        self._out.append(data)

    def accept_bind(
        self,
        pdu: Pdu,
        system_id: str = "SMSC",
        *,
        sc_interface_version: int | None = 0x34,
    ) -> list[Event]:
        """SMSC role: accept the pending bind; the resp carries sc_interface_version only when
        the ESME's interface_version is >= 0x34 (§2.2). Moves to BOUND_TX/RX/TRX."""
        self._check_bind(pdu)
        tlvs: list[tuple[int, bytes]] = []
        if sc_interface_version is not None and pdu.params.get("interface_version", 0) >= 0x34:
            tlvs.append((0x0210, bytes((sc_interface_version,))))
        resp = Pdu.make(
            RESPONSE_OF[pdu.command_id], sequence=pdu.sequence, system_id=system_id, tlvs=tlvs
        )
        self._out.append(encode(resp))
        self._bind_pending = None
        self.state = BIND_TARGET[pdu.command_id]
        self._garbage = 0
        return []

    def reject_bind(self, pdu: Pdu, status: int, *, close: bool = True) -> list[Event]:
        """SMSC role: refuse the pending bind with a header-only resp (§6.2); by default the
        connection then closes (returns ``ConnectionShouldClose``)."""
        self._check_bind(pdu)
        self._reply_error(RESPONSE_OF[pdu.command_id], status, pdu.sequence)
        self._bind_pending = None
        events: list[Event] = []
        if close:
            self.state = B.CLOSED
            self._emit_close(f"bind rejected with status 0x{status:08x}", events)
        return events

    def _check_bind(self, pdu: Pdu) -> None:
        if self._bind_pending is not pdu or self.state is not B.OPEN:
            raise SessionError("no such bind is pending")

    def unbind(self, now: float) -> int:
        """Start the unbind handshake (state UNBOUND); ``Unbound`` + ``ConnectionShouldClose``
        follow its resp, or ``ConnectionShouldClose`` after ``response_timeout``."""
        if self.state not in _BOUND:
            raise InvalidState(f"cannot unbind in {self.state.name}")
        seq = self._next_sequence()
        self._out.append(_header(C.unbind, 0, seq))
        self._pending[seq] = _Pending(
            Pdu(C.unbind, 0, seq, {}, []), now + self.response_timeout, False, True
        )
        self.state = B.UNBOUND
        return seq

    def close(self) -> list[Pdu]:
        """The transport is gone: state CLOSED. Returns the application requests that never got
        a response, oldest first, so the caller can retry them elsewhere."""
        lost = [p.pdu for p in self._pending.values() if not p.internal]
        self._pending.clear()
        self._out_count = 0
        self._inbound.clear()
        self._in_count = 0
        self._buf.clear()
        self._bind_pending = None
        self.state = B.CLOSED
        self._close_emitted = True
        return lost

    def data_to_send(self) -> bytes:
        """Drain the outgoing bytes (possibly b"")."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    # -- timers ----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``tick`` should next run (None when closed)."""
        if self.state is B.CLOSED:
            return None
        deadline = self._last_rx + self.idle_timeout
        if self.state is B.OPEN:
            deadline = min(deadline, self._opened_at + self.session_init_timeout)
        elif self.state in _BOUND and not self._enquire_pending:
            deadline = min(deadline, self._last_rx + self.enquire_link_interval)
        for pending in self._pending.values():  # insertion order == deadline order
            deadline = min(deadline, pending.deadline)
            break
        return deadline

    def tick(self, now: float) -> list[Event]:
        """Run due timers: response timeouts, enquire_link keepalive, idle and bind timeouts."""
        events: list[Event] = []
        if self.state is B.CLOSED:
            return events
        pending = self._pending
        if pending:
            expired = []
            for seq, p in pending.items():
                if p.deadline > now:
                    break
                expired.append(seq)
            for seq in expired:
                p = pending.pop(seq)
                if p.counted:
                    self._out_count -= 1
                if p.internal:
                    what = p.pdu.name
                    self.state = B.CLOSED
                    self._emit_close(f"no {what}_resp within {self.response_timeout}s", events)
                    return events
                events.append(ResponseTimeout(p.pdu))
        if now - self._last_rx >= self.idle_timeout:
            self.state = B.CLOSED
            self._emit_close(f"nothing received for {self.idle_timeout}s", events)
            return events
        if self.state is B.OPEN and now - self._opened_at >= self.session_init_timeout:
            self.state = B.CLOSED
            self._emit_close(f"not bound within {self.session_init_timeout}s", events)
            return events
        if (
            self.state in _BOUND
            and not self._enquire_pending
            and now - self._last_rx >= self.enquire_link_interval
        ):
            seq = self._next_sequence()
            self._out.append(_header(C.enquire_link, 0, seq))
            self._pending[seq] = _Pending(
                Pdu(C.enquire_link, 0, seq, {}, []), now + self.response_timeout, False, True
            )
            self._enquire_pending = True
        return events
