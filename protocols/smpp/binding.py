"""One SMPP connection's SMSC behaviour: session events → core calls → responses.

Transport-agnostic (the Twisted adapter in ``listener.py`` only moves bytes and timers):
``SmppBind`` owns the sans-IO session, authenticates binds against the account store, turns
submits into core ``Submit``s, answers only after the core reports the message stored, and
implements the core's ``Bind`` protocol so the outbox can hand it receipts and MO.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from protocols.smpp import session as ss
from protocols.smpp.pdu import CommandId, Pdu, UnsuccessSme
from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.render import item_pdus
from protocols.smpp.timefmt import TimeFormatError, format_absolute, parse_time
from protocols.smpp.validation import SubmitError, decode_text, to_submits
from smsc.accounts import Account
from smsc.model import OutboxItem, Rejection, SubmitRejected
from smsc.rules import FinalState
from smsc.segmentation import ReferenceAllocator
from storage.writer import WriterClosed

log = logging.getLogger("smsc.smpp")

C = CommandId
_bind_ids = itertools.count(1)

REJECTION_STATUS = {
    Rejection.THROTTLED: S.ESME_RTHROTTLED,
    Rejection.NO_BALANCE: S.ESME_RSUBMITFAIL,
    Rejection.BLACKLISTED: S.ESME_RSUBMITFAIL,
    Rejection.DISABLED: S.ESME_RSUBMITFAIL,
    Rejection.STORAGE: S.ESME_RSYSERR,
}
_BIND_NAMES = {
    ss.BindState.BOUND_TX: "transmitter",
    ss.BindState.BOUND_RX: "receiver",
    ss.BindState.BOUND_TRX: "transceiver",
}
_CID_NAMES = {int(c): c.name for c in CommandId}


class SmppBind:
    """Implements ``smsc.binds.Bind`` for one SMPP connection."""

    protocol = "smpp"

    def __init__(
        self,
        smsc: Any,
        config: Any,
        *,
        peer: str,
        write: Callable[[bytes], None],
        close_transport: Callable[[], None],
        set_reading: Callable[[bool], None],
        arm_timer: Callable[[float | None], None],
        counters: dict[str, int],
        refs: ReferenceAllocator,
    ) -> None:
        self.smsc = smsc
        self.config = config
        self.peer = peer
        self.bind_id = f"smpp-{next(_bind_ids)}"
        self.account = ""
        self.receives = False
        self.bind_type = "open"
        self.acc: Account | None = None
        self._write = write
        self._close_transport = close_transport
        self._set_reading = set_reading
        self._arm_timer = arm_timer
        self._counters = counters
        self._refs = refs
        sc = config.smpp
        self.session = ss.SmppSession(
            ss.Role.SMSC,
            window=100,
            max_pdu_size=sc.max_pdu_size,
            enquire_link_interval=sc.enquire_link_interval_s,
            idle_timeout=sc.idle_timeout_s,
            response_timeout=sc.response_timeout_s,
            now=time.monotonic(),
        )
        self._registered = False
        self._reading = True
        self._flush_scheduled = False
        self._closed = False
        self._loop = asyncio.get_event_loop()
        # outbox bookkeeping: seq -> item id; item id -> parts still unanswered
        self._seq_item: dict[int, int] = {}
        self._item_parts: dict[int, int] = {}
        self._parked: deque[tuple[int, Pdu]] = deque()
        self.bound_at: float | None = None
        self.submits = 0
        self.closed_future: asyncio.Future[None] = self._loop.create_future()
        arm_timer(self.session.next_deadline())
        log.info("event=connect protocol=smpp bind=%s peer=%s", self.bind_id, peer)

    # -- transport side ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        events = self.session.receive_data(data, time.monotonic())
        for ev in events:
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
        if self._registered:
            self._registered = False
            self.smsc.bind_closed(self)
        log.info(
            "event=disconnect protocol=smpp bind=%s account=%s peer=%s reason=%s",
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
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._closed:
            self._after_io()

    def _count(self, direction: str, cid: int) -> None:
        key = f"{direction}:{_CID_NAMES.get(cid, 'unknown')}"
        self._counters[key] = self._counters.get(key, 0) + 1

    # -- events ---------------------------------------------------------------------------------

    def _dispatch(self, ev: ss.Event) -> None:
        if isinstance(ev, ss.RequestReceived):
            self._count("in", ev.pdu.command_id)
            self._on_request(ev.pdu)
        elif isinstance(ev, ss.ResponseReceived):
            self._count("in", ev.pdu.command_id)
            self._on_response(ev.pdu, ev.request)
        elif isinstance(ev, ss.BindRequested):
            self._count("in", ev.pdu.command_id)
            self._on_bind(ev.pdu, ev.bind_type)
        elif isinstance(ev, ss.ResponseTimeout):
            self._on_failed_request(ev.request, "no response before the timeout")
        elif isinstance(ev, ss.UnbindRequested):
            log.info(
                "event=unbind protocol=smpp bind=%s account=%s by=peer", self.bind_id, self.account
            )
            self._unregister()
        elif isinstance(ev, ss.Unbound):
            log.info(
                "event=unbind protocol=smpp bind=%s account=%s by=smsc", self.bind_id, self.account
            )
        elif isinstance(ev, ss.ProtocolError):
            log.warning(
                "event=protocol_error protocol=smpp bind=%s account=%s seq=%s status=0x%08x message=%r",
                self.bind_id,
                self.account or "-",
                ev.sequence,
                ev.status,
                ev.message,
            )
        elif isinstance(ev, ss.ConnectionShouldClose):
            data = self.session.data_to_send()
            if data:
                self._write(data)
            self._unregister()
            log.info("event=closing protocol=smpp bind=%s reason=%r", self.bind_id, ev.reason)
            self._close_transport()

    # -- bind ------------------------------------------------------------------------------------

    def _on_bind(self, pdu: Pdu, bind_type: ss.BindState) -> None:
        system_id = pdu.params.get("system_id", "")
        acc = self.smsc.accounts.by_smpp(system_id)
        status = 0
        why = ""
        if acc is None:
            status, why = S.ESME_RINVSYSID, "unknown system_id"
        elif not acc.check_smpp_password(pdu.params.get("password", "")):
            status, why = S.ESME_RINVPASWD, "wrong password"
        elif not acc.enabled:
            status, why = S.ESME_RBINDFAIL, "account disabled"
        elif not acc.ip_allowed(self.peer.rsplit(":", 1)[0]):
            status, why = S.ESME_RBINDFAIL, f"address {self.peer} not in the account's ip_whitelist"
        elif not self.smsc.can_bind(acc):
            status, why = S.ESME_RBINDFAIL, f"account already has max_binds={acc.max_binds} binds"
        if status:
            log.warning(
                "event=bind_rejected protocol=smpp bind=%s system_id=%s peer=%s status=0x%08x reason=%r",
                self.bind_id,
                system_id,
                self.peer,
                status,
                why,
            )
            for ev in self.session.reject_bind(pdu, status):
                self._dispatch(ev)
            return
        assert acc is not None
        self.acc = acc
        self.account = acc.name
        self.session.window = acc.window
        self.session.accept_bind(pdu, system_id=self.config.smpp.system_id)
        self.bind_type = _BIND_NAMES[bind_type]
        self.receives = bind_type in (ss.BindState.BOUND_RX, ss.BindState.BOUND_TRX)
        self.bound_at = time.time()
        self._registered = True
        log.info(
            "event=bind protocol=smpp bind=%s account=%s type=%s peer=%s window=%d",
            self.bind_id,
            acc.name,
            self.bind_type,
            self.peer,
            acc.window,
        )
        self.smsc.bind_opened(self)

    def _unregister(self) -> None:
        if self._registered:
            self._registered = False
            self.receives = False
            self.smsc.bind_closed(self)

    # -- requests from the ESME ----------------------------------------------------------------

    def _on_request(self, pdu: Pdu) -> None:
        cid = pdu.command_id
        if cid == C.submit_sm or cid == C.data_sm:
            self._submit(pdu)
        elif cid == C.submit_multi:
            self._submit_multi(pdu)
        elif cid == C.query_sm:
            self._loop.create_task(self._query(pdu))
        elif cid == C.cancel_sm:
            self._loop.create_task(self._cancel(pdu))
        elif cid == C.replace_sm:
            self._loop.create_task(self._replace(pdu))
        else:
            self.session.send_response(pdu, S.ESME_RINVCMDID)

    def _reject(self, pdu: Pdu, status: int, message: str) -> None:
        log.info(
            "event=submit_rejected protocol=smpp bind=%s account=%s seq=%d status=0x%08x reason=%r",
            self.bind_id,
            self.account,
            pdu.sequence,
            status,
            message,
        )
        self.session.send_response(pdu, status)

    def _submit(self, pdu: Pdu) -> None:
        acc = self.acc
        assert acc is not None
        try:
            submits, _ = to_submits(pdu, bind_id=self.bind_id, now=time.time())
            sub = submits[0]
            if pdu.command_id == C.data_sm:
                sub.extra = {**(sub.extra or {}), "via": "data_sm"}
            accepted = self.smsc.submit(
                acc, sub, lambda err: self._stored(pdu, accepted.message_id, err)
            )
        except SubmitError as exc:
            self._reject(pdu, exc.status, exc.message)
        except SubmitRejected as exc:
            self._reject(pdu, REJECTION_STATUS[exc.reason], exc.message)
        except WriterClosed:
            self._reject(pdu, S.ESME_RSYSERR, "the SMSC is shutting down")
        else:
            self.submits += 1

    def _stored(self, pdu: Pdu, message_id: str, err: BaseException | None) -> None:
        if self._closed:
            return
        if err is None:
            self.session.send_response(pdu, message_id=message_id)
        else:
            self.session.send_response(pdu, S.ESME_RSYSERR)
        self._schedule_flush()

    def _submit_multi(self, pdu: Pdu) -> None:
        acc = self.acc
        assert acc is not None
        try:
            submits, failures = to_submits(pdu, bind_id=self.bind_id, now=time.time())
        except SubmitError as exc:
            self._reject(pdu, exc.status, exc.message)
            return
        unsuccess = [UnsuccessSme(t, n, a, st) for t, n, a, st in failures]
        if not submits:
            self.session.send_response(pdu, message_id="", unsuccess_sme=unsuccess)
            return
        remaining = [len(submits)]
        message_id: list[str] = []
        failed_store = [False]

        def stored(err: BaseException | None) -> None:
            if err is not None:
                failed_store[0] = True
            remaining[0] -= 1
            if remaining[0] == 0 and not self._closed:
                if failed_store[0]:
                    self.session.send_response(pdu, S.ESME_RSYSERR)
                else:
                    self.session.send_response(
                        pdu, message_id=message_id[0], unsuccess_sme=unsuccess
                    )
                self._schedule_flush()

        for sub in submits:
            if message_id:
                sub.message_id = message_id[0]
            try:
                accepted = self.smsc.submit(acc, sub, stored)
            except SubmitRejected as exc:
                unsuccess.append(UnsuccessSme(1, 1, sub.destination, REJECTION_STATUS[exc.reason]))
                remaining[0] -= 1
                continue
            if not message_id:
                message_id.append(accepted.message_id)
        if remaining[0] == 0:  # every destination refused at once
            self.session.send_response(pdu, message_id="", unsuccess_sme=unsuccess)

    async def _query(self, pdu: Pdu) -> None:
        mid = pdu.params.get("message_id", "")
        rows = await self.smsc.find_messages(mid, self.account) if mid else []
        if self._closed:
            return
        if not rows:
            self.session.send_response(pdu, S.ESME_RQUERYFAIL)
            log.info(
                "event=query_failed protocol=smpp bind=%s message_id=%r reason=unknown",
                self.bind_id,
                mid,
            )
        else:
            row = rows[0]
            state = self.smsc.effective_state(row)
            fs = FinalState(state) if state in FinalState.__members__ else FinalState.UNKNOWN
            final = fs.is_final and state != "ENROUTE"
            done = row["done_at"] or row["deliver_at"]
            self.session.send_response(
                pdu,
                message_id=mid,
                final_date=format_absolute(done) if final else "",
                message_state=fs.message_state,
                error_code=row["err"] if final and state != "DELIVRD" else 0,
            )
        self._schedule_flush()

    async def _cancel(self, pdu: Pdu) -> None:
        mid = pdu.params.get("message_id", "")
        n = await self.smsc.cancel(self.account, mid) if mid else 0
        if self._closed:
            return
        if n:
            self.session.send_response(pdu)
        else:
            log.info("event=cancel_failed protocol=smpp bind=%s message_id=%r", self.bind_id, mid)
            self.session.send_response(pdu, S.ESME_RCANCELFAIL)
        self._schedule_flush()

    async def _replace(self, pdu: Pdu) -> None:
        p = pdu.params
        mid = p.get("message_id", "")
        try:
            now = time.time()
            schedule_at = parse_time(p.get("schedule_delivery_time", ""), now)
            validity_at = parse_time(p.get("validity_period", ""), now)
        except TimeFormatError as exc:
            self.session.send_response(pdu, S.ESME_RINVSCHED)
            log.info("event=replace_failed protocol=smpp bind=%s reason=%r", self.bind_id, str(exc))
            self._schedule_flush()
            return
        body = p.get("short_message", b"")
        rows = await self.smsc.find_messages(mid, self.account) if mid else []
        dc = rows[0]["data_coding"] if rows else 0
        n = (
            await self.smsc.replace(
                self.account,
                mid,
                body,
                decode_text(body, dc),
                schedule_at=schedule_at,
                validity_at=validity_at,
            )
            if rows
            else 0
        )
        if self._closed:
            return
        self.session.send_response(pdu, 0 if n else S.ESME_RREPLACEFAIL)
        self._schedule_flush()

    # -- responses from the ESME (to our deliver_sm) ------------------------------------------

    def _on_response(self, pdu: Pdu, request: Pdu | None) -> None:
        if request is None:
            log.info(
                "event=unexpected_response protocol=smpp bind=%s seq=%d command=%s",
                self.bind_id,
                pdu.sequence,
                _CID_NAMES.get(pdu.command_id, hex(pdu.command_id)),
            )
            return
        item_id = self._seq_item.pop(pdu.sequence, None)
        if item_id is None:
            return
        if pdu.command_status != 0:
            self._item_failed(item_id, f"deliver_sm_resp status 0x{pdu.command_status:08x}")
        else:
            left = self._item_parts.get(item_id)
            if left is None:
                return  # already failed
            if left <= 1:
                del self._item_parts[item_id]
                self.smsc.outbox.acked(item_id)
            else:
                self._item_parts[item_id] = left - 1
        self._drain_parked()

    def _on_failed_request(self, request: Pdu, why: str) -> None:
        item_id = self._seq_item.pop(request.sequence, None)
        if item_id is not None:
            self._item_failed(item_id, why)
        self._drain_parked()

    def _item_failed(self, item_id: int, why: str) -> None:
        if self._item_parts.pop(item_id, None) is not None:
            self._parked = deque(p for p in self._parked if p[0] != item_id)
            self.smsc.outbox.failed(item_id, why)

    # -- smsc.binds.Bind --------------------------------------------------------------------------

    def capacity(self) -> int:
        s = self.session
        if not self.receives or not s.bound:
            return 0
        return s.window - s.outbound_outstanding - len(self._parked)

    def send_item(self, item: OutboxItem) -> None:
        pdus = item_pdus(
            item.kind,
            item.payload,
            self._refs,
            self.account,
            seconds=self.config.smpp.receipt_seconds,
        )
        self._item_parts[item.id] = len(pdus)
        for pdu in pdus:
            self._parked.append((item.id, pdu))
        self._drain_parked()
        self._schedule_flush()

    def _drain_parked(self) -> None:
        s = self.session
        now = time.monotonic()
        while self._parked and s.can_send:
            item_id, pdu = self._parked.popleft()
            try:
                seq = s.send_request(pdu, now)
            except (ss.SessionError, Exception) as exc:  # noqa: BLE001 - never lose the item
                log.error(
                    "event=deliver_failed protocol=smpp bind=%s item=%d error=%r",
                    self.bind_id,
                    item_id,
                    exc,
                )
                self._item_failed(item_id, repr(exc))
                continue
            self._seq_item[seq] = item_id
            self._count("out", pdu.command_id)

    def close(self, reason: str) -> None:
        """Unbind politely; the session closes the connection when the peer answers or times out."""
        if self.session.bound:
            log.info(
                "event=unbinding protocol=smpp bind=%s account=%s reason=%r",
                self.bind_id,
                self.account,
                reason,
            )
            self._unregister()
            self.session.unbind(time.monotonic())
            self._after_io()
        elif not self._closed:
            self._close_transport()

    def info(self) -> dict[str, Any]:
        return {
            "bind_id": self.bind_id,
            "protocol": "smpp",
            "account": self.account,
            "type": self.bind_type,
            "peer": self.peer,
            "bound_at": self.bound_at,
            "submits": self.submits,
            "window": self.session.window,
            "inbound_outstanding": self.session.inbound_outstanding,
            "outbound_outstanding": self.session.outbound_outstanding,
        }
