"""One SMPP connection's SMSC behaviour: session events → core calls → responses.

Transport-agnostic (the Twisted adapter in ``listener.py`` only moves bytes and timers):
``SmppBind`` owns the sans-IO session, authenticates binds against the account store, turns
submits into core ``Submit``s, answers only after the core reports the message stored, and
implements the core's ``Bind`` protocol so the outbox can hand it receipts and MO.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from protocols.bindbase import BindBase
from protocols.smpp import session as ss
from protocols.smpp.pdu import CommandId, Pdu, UnsuccessSme
from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.render import item_pdus
from protocols.smpp.timefmt import TimeFormatError, format_absolute, parse_time
from protocols.smpp.validation import SubmitError, decode_text, to_submits
from smsc.model import Accepted, OutboxItem, Rejection, SubmitRejected
from smsc.rules import FinalState
from storage.writer import WriterClosed

log = logging.getLogger("smsc.smpp")

C = CommandId
# compared per PDU: plain ints (an enum member read off its class costs ~50 ns)
_SUBMIT_SM, _DATA_SM = int(C.submit_sm), int(C.data_sm)
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


class SmppBind(BindBase):
    """Implements ``smsc.binds.Bind`` for one SMPP connection."""

    protocol = "smpp"

    def __init__(self, smsc: Any, config: Any, **io: Any) -> None:
        super().__init__(smsc, config, f"smpp-{next(_bind_ids)}", io)
        self.bind_type = "open"
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
        self._started()

    def _session_ready(self) -> bool:
        return bool(self.session.bound)

    def _outbound_free(self) -> int:
        return int(self.session.window - self.session.outbound_outstanding)

    def _start_unbind(self) -> None:
        self.session.unbind(time.monotonic())

    def render(self, item: OutboxItem) -> list[Pdu]:
        return item_pdus(
            item.kind,
            item.payload,
            self._refs,
            self.account,
            seconds=self.config.smpp.receipt_seconds,
        )

    # -- events ---------------------------------------------------------------------------------

    def _on_event(self, ev: ss.Event) -> None:
        if isinstance(ev, ss.BindRequested):
            self._count("in", ev.pdu)
            self._on_bind(ev.pdu, ev.bind_type)
        elif isinstance(ev, ss.UnbindRequested):
            self._unbound("peer")
        elif isinstance(ev, ss.Unbound):
            self._unbound("smsc")
        elif isinstance(ev, ss.ProtocolError):
            log.warning(
                "event=protocol_error protocol=smpp bind=%s account=%s seq=%s status=0x%08x message=%r",
                self.bind_id,
                self.account or "-",
                ev.sequence,
                ev.status,
                ev.message,
            )

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
        self.session.window = acc.window
        self.session.accept_bind(pdu, system_id=self.config.smpp.system_id)
        self.bind_type = _BIND_NAMES[bind_type]
        log.info(
            "event=bind protocol=smpp bind=%s account=%s type=%s peer=%s window=%d",
            self.bind_id,
            acc.name,
            self.bind_type,
            self.peer,
            acc.window,
        )
        self._register(acc, bind_type in (ss.BindState.BOUND_RX, ss.BindState.BOUND_TRX))

    # -- requests from the ESME ----------------------------------------------------------------

    def _on_request(self, pdu: Pdu) -> None:
        cid = pdu.command_id
        if cid == _SUBMIT_SM or cid == _DATA_SM:
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
        if acc is None:  # the account was removed while bound
            self._reject(pdu, S.ESME_RSUBMITFAIL, "account no longer exists")
            return
        try:
            submits, _ = to_submits(pdu, bind_id=self.bind_id, now=time.time())
            sub = submits[0]
            if pdu.command_id == _DATA_SM:
                sub.extra = {**(sub.extra or {}), "via": "data_sm"}
            accepted: Accepted  # declared for the callback, which runs after it is assigned
            accepted = self.smsc.submit(
                acc, sub, lambda err: self._stored(pdu, accepted.message_id, err)
            )
        except SubmitError as exc:
            self._reject(pdu, exc.status, exc.message)
        except SubmitRejected as rejected:
            self._reject(pdu, REJECTION_STATUS[rejected.reason], rejected.message)
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
        if acc is None:  # the account was removed while bound
            self._reject(pdu, S.ESME_RSUBMITFAIL, "account no longer exists")
            return
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
            except SubmitRejected as rejected:
                status = REJECTION_STATUS[rejected.reason]
                unsuccess.append(UnsuccessSme(1, 1, sub.destination, status))
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
                pdu.name,
            )
            return
        status = pdu.command_status
        self._part_answered(
            pdu.sequence, None if status == 0 else f"{pdu.name} status 0x{status:08x}"
        )

    def info(self) -> dict[str, Any]:
        return {**super().info(), "type": self.bind_type}
