"""What every protocol's per-connection binding shares: I/O plumbing and outbox delivery.

A binding (``protocols.<p>.binding``) owns one sans-IO session and maps its events onto core
calls. The parts that do not depend on the protocol live here: feeding bytes and timer ticks
to the session and flushing what it wants to send, pausing reading at a full inbound window,
registering with the core as a live bind, and carrying outbox items (a receipt or an MO in
one or more PDUs) — parked until the outbound window has room, acknowledged to the outbox
when the peer answered every part, failed back to it (for a retry) on an error or timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from protocols.events import (
    ConnectionShouldClose,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
)
from smsc.accounts import Account
from smsc.model import OutboxItem
from smsc.segmentation import ReferenceAllocator

log = logging.getLogger("smsc.bind")


class BindBase:
    """Implements ``smsc.binds.Bind`` for one connection; subclasses supply the protocol."""

    protocol = "?"
    fallback = False
    session: Any

    def takes(self, kind: str) -> bool:
        return True

    def __init__(
        self,
        smsc: Any,
        config: Any,
        bind_id: str,
        io: Mapping[str, Any],
    ) -> None:
        """``io`` holds what the adapter gives every bind (``protocols.adapter``): ``peer``,
        ``write``, ``close_transport``, ``set_reading``, ``arm_timer``, ``counters``, ``refs``.
        One mapping, not keywords: compiled (mypyc), ``**io`` forwarded beside another argument
        reached the wrong parameters."""
        self.smsc = smsc
        self.config = config
        self.peer: str = io["peer"]
        self.bind_id = bind_id
        self.account = ""
        self.receives = False
        self.bound_at: float | None = None
        self.submits = 0
        self._write: Callable[[bytes], None] = io["write"]
        self._close_transport: Callable[[], None] = io["close_transport"]
        self._set_reading: Callable[[bool], None] = io["set_reading"]
        self._arm_timer: Callable[[float | None], None] = io["arm_timer"]
        self._counters: dict[str, int] = io["counters"]
        # "in:submit_sm" per (direction, command id), made once: counted for every PDU
        self._count_keys: dict[tuple[str, int], str] = {}
        self._refs: ReferenceAllocator = io["refs"]
        self._registered = False
        self._reading = True
        self._flush_scheduled = False
        self._closed = False
        self._loop = asyncio.get_event_loop()
        # outbox bookkeeping: seq -> item id; item id -> parts still unanswered
        self._seq_item: dict[int, int] = {}
        self._item_parts: dict[int, int] = {}
        self._parked: deque[tuple[int, Any]] = deque()
        self.closed_future: asyncio.Future[None] = self._loop.create_future()

    def _started(self) -> None:
        """Call at the end of the subclass's ``__init__`` (the session exists by then)."""
        self._arm_timer(self.session.next_deadline())
        log.info(
            "event=connect protocol=%s bind=%s peer=%s", self.protocol, self.bind_id, self.peer
        )

    # -- events ----------------------------------------------------------------------------------

    def _dispatch(self, ev: Any) -> None:
        """Events every session emits are handled here; the rest go to ``_on_event``."""
        if isinstance(ev, RequestReceived):
            self._count("in", ev.pdu)
            self._on_request(ev.pdu)
        elif isinstance(ev, ResponseReceived):
            self._count("in", ev.pdu)
            self._on_response(ev.pdu, ev.request)
        elif isinstance(ev, ResponseTimeout):
            self._part_answered(ev.request.sequence, "no response before the timeout")
        elif isinstance(ev, ConnectionShouldClose):
            self._closing(ev.reason)
        else:
            self._on_event(ev)

    def _unbound(self, by: str) -> None:
        log.info(
            "event=unbind protocol=%s bind=%s account=%s by=%s",
            self.protocol,
            self.bind_id,
            self.account,
            by,
        )
        if by == "peer":
            self._unregister()

    # -- protocol hooks --------------------------------------------------------------------------

    def _on_request(self, pdu: Any) -> None:
        raise NotImplementedError

    def _on_response(self, pdu: Any, request: Any | None) -> None:
        raise NotImplementedError

    def _on_event(self, ev: Any) -> None:
        """Protocol-specific events: bind/connect, unbind/terminate, protocol errors."""
        raise NotImplementedError

    def render(self, item: OutboxItem) -> list[Any]:
        """The PDUs that carry ``item`` to this peer."""
        raise NotImplementedError

    def _session_ready(self) -> bool:
        """The session is logged in and may send requests."""
        raise NotImplementedError

    def _outbound_free(self) -> int:
        raise NotImplementedError

    def _start_unbind(self) -> None:
        raise NotImplementedError

    # -- transport side ----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        for ev in self.session.receive_data(data, time.monotonic()):
            self._dispatch(ev)
        self._after_io()

    def timer_fired(self) -> None:
        for ev in self.session.tick(time.monotonic()):
            self._dispatch(ev)
        self._after_io()

    def connection_lost(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.session.close()
        self._parked.clear()
        self._unregister()
        log.info(
            "event=disconnect protocol=%s bind=%s account=%s peer=%s reason=%s",
            self.protocol,
            self.bind_id,
            self.account or "-",
            self.peer,
            reason,
        )
        if not self.closed_future.done():
            self.closed_future.set_result(None)

    def _after_io(self) -> None:
        s = self.session
        data = s.data_to_send()
        if data:
            self._write(data)
        reading = s.inbound_outstanding < s.window
        if reading != self._reading:
            self._reading = reading
            self._set_reading(reading)
        self._arm_timer(s.next_deadline())

    def _schedule_flush(self) -> None:
        """Answers produced by commit callbacks go out together, once per loop iteration."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._closed:
            self._after_io()

    def _closing(self, reason: str) -> None:
        """The session asked to close: write what it queued, leave the core, drop the line."""
        data = self.session.data_to_send()
        if data:
            self._write(data)
        self._unregister()
        log.info("event=closing protocol=%s bind=%s reason=%r", self.protocol, self.bind_id, reason)
        self._close_transport()

    def _count(self, direction: str, pdu: Any) -> None:
        """Count a PDU for /metrics under ``direction:name`` (``in:submit_sm``)."""
        cid = pdu.command_id
        key = self._count_keys.get((direction, cid))
        if key is None:
            key = self._count_keys[(direction, cid)] = f"{direction}:{pdu.name}"
        self._counters[key] = self._counters.get(key, 0) + 1

    # -- registration with the core ------------------------------------------------------------

    @property
    def acc(self) -> Account | None:
        """The bound account as it is now: limits changed at run time apply to live binds."""
        return self.smsc.accounts.get(self.account) if self.account else None

    def _register(self, acc: Account, receives: bool) -> None:
        self.account = acc.name
        self.receives = receives
        self.bound_at = time.time()
        self._registered = True
        self.smsc.bind_opened(self)

    def _unregister(self) -> None:
        if self._registered:
            self._registered = False
            self.receives = False
            self.smsc.bind_closed(self)

    # -- outbox items ----------------------------------------------------------------------------

    def capacity(self) -> int:
        if not self.receives or not self._session_ready():
            return 0
        return self._outbound_free() - len(self._parked)

    def send_item(self, item: OutboxItem) -> None:
        pdus = self.render(item)
        self._item_parts[item.id] = len(pdus)
        for pdu in pdus:
            self._parked.append((item.id, pdu))
        self._drain_parked()
        self._schedule_flush()

    def _drain_parked(self) -> None:
        s = self.session
        now = time.monotonic()
        while self._parked and s.can_send and self._session_ready():
            item_id, pdu = self._parked.popleft()
            try:
                seq = s.send_request(pdu, now)
            except Exception as exc:  # noqa: BLE001 - never lose the item: it is retried
                log.error(
                    "event=deliver_failed protocol=%s bind=%s item=%d error=%r",
                    self.protocol,
                    self.bind_id,
                    item_id,
                    exc,
                )
                self._item_failed(item_id, repr(exc))
                continue
            self._seq_item[seq] = item_id
            self._count("out", pdu)

    def _part_answered(self, seq: int, error: str | None) -> None:
        """The peer answered the PDU sent with ``seq``: ``error`` None means accepted."""
        item_id = self._seq_item.pop(seq, None)
        if item_id is not None:
            if error is not None:
                self._item_failed(item_id, error)
            else:
                left = self._item_parts.get(item_id)
                if left is not None:
                    if left <= 1:
                        del self._item_parts[item_id]
                        self.smsc.outbox.acked(item_id)
                    else:
                        self._item_parts[item_id] = left - 1
        self._drain_parked()

    def _item_failed(self, item_id: int, why: str) -> None:
        if self._item_parts.pop(item_id, None) is not None:
            self._parked = deque(p for p in self._parked if p[0] != item_id)
            self.smsc.outbox.failed(item_id, why)

    def close(self, reason: str) -> None:
        """Unbind politely; the session closes the line when the peer answers or times out."""
        if self._session_ready():
            log.info(
                "event=unbinding protocol=%s bind=%s account=%s reason=%r",
                self.protocol,
                self.bind_id,
                self.account,
                reason,
            )
            self._unregister()
            self._start_unbind()
            self._after_io()
        elif not self._closed:
            self._close_transport()

    def info(self) -> dict[str, Any]:
        return {
            "bind_id": self.bind_id,
            "protocol": self.protocol,
            "account": self.account,
            "peer": self.peer,
            "bound_at": self.bound_at,
            "submits": self.submits,
            "window": self.session.window,
            "inbound_outstanding": self.session.inbound_outstanding,
            "outbound_outstanding": self.session.outbound_outstanding,
        }
