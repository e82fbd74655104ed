"""One CMPP connection's ISMG behaviour: session events → core calls → responses.

Mirrors ``protocols.smpp.binding``: the sans-IO ``CmppSession`` does framing, heartbeats,
retransmission and window checks; this class authenticates CONNECT against the accounts,
maps SUBMIT onto the core's ``Submit`` (one per destination, Msg_Ids in the spec's 64-bit
layout), answers SUBMIT_RESP only after the message is stored, and renders receipts and MO
from the outbox as DELIVERs (cmpp.md §2, §5, §6).
"""

from __future__ import annotations

import itertools
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from protocols.bindbase import BindBase
from protocols.cmpp import session as cs
from protocols.cmpp.auth import authenticator_ismg, verify_source
from protocols.cmpp.codec import encode_report
from protocols.cmpp.msgid import MsgIdGenerator, id_range
from protocols.cmpp.pdu import CommandId, ConnectStatus, Pdu, StatusReport
from protocols.cmpp.pdu import SubmitResult as R
from protocols.smpp.timefmt import TimeFormatError, parse_time
from smsc.accounts import Account
from smsc.charsets import decode, encoding_for_msg_fmt, is_gsm7
from smsc.model import OutboxItem, ReceiptRequest, Rejection, Submit, SubmitRejected
from smsc.segmentation import SegmentationError, parse_udh, split
from storage.writer import WriterClosed

log = logging.getLogger("smsc.cmpp")

C = CommandId
CHINA = timezone(timedelta(hours=8))  # Msg_Id and report times are the ISMG's local clock
_bind_ids = itertools.count(1)

# Core refusals in the vendor range 100-199 (cmpp.md §5.7), except the spec's own flow control.
REJECTION_RESULT = {
    Rejection.THROTTLED: R.FLOW_CONTROL,
    Rejection.NO_BALANCE: 100,
    Rejection.BLACKLISTED: 101,
    Rejection.DISABLED: 102,
    Rejection.STORAGE: 103,
}
_TEXT_FORMATS = {0, 8, 15}
_MAX_CONTENT = {0: 160}  # Msg_Fmt 0 "< 160" (accept 160); everything else 140 octets


def china_now() -> datetime:
    return datetime.now(CHINA)


def _yymmddhhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA).strftime("%y%m%d%H%M")


def _msisdn_ok(number: str) -> bool:
    n = number[1:] if number.startswith("+") else number
    return n.isdigit() and 5 <= len(n) <= 21


class CmppBind(BindBase):
    """Implements ``smsc.binds.Bind`` for one CMPP connection."""

    protocol = "cmpp"

    def __init__(self, smsc: Any, config: Any, *, ids: MsgIdGenerator, **io: Any) -> None:
        super().__init__(smsc, config, f"cmpp-{next(_bind_ids)}", io)
        self._ids = ids
        cc = config.cmpp
        self.session = cs.CmppSession(
            "ismg",
            window=16,
            active_test_interval=cc.active_test_interval_s,
            idle_timeout=cc.idle_timeout_s,
            response_timeout=cc.response_timeout_s,
            max_retries=max(1, cc.max_retries),
            now=time.monotonic(),
        )
        self._started()

    def _session_ready(self) -> bool:
        return bool(self.session.connected)

    def _outbound_free(self) -> int:
        return int(self.session.outbound_available)

    def _start_unbind(self) -> None:
        self.session.terminate(time.monotonic())

    # -- events ---------------------------------------------------------------------------------

    def _on_event(self, ev: cs.Event) -> None:
        if isinstance(ev, cs.ConnectRequested):
            self._count("in", ev.pdu)
            self._on_connect(ev.pdu, ev.version)
        elif isinstance(ev, cs.TerminateRequested):
            self._unbound("peer")
        elif isinstance(ev, cs.Terminated):
            self._unbound("ismg")
        elif isinstance(ev, cs.ProtocolError):
            log.warning(
                "event=protocol_error protocol=cmpp bind=%s account=%s seq=%s result=%s message=%r",
                self.bind_id,
                self.account or "-",
                ev.seq,
                ev.result,
                ev.message,
            )

    # -- CONNECT ---------------------------------------------------------------------------------

    def _on_connect(self, pdu: Pdu, version: int) -> None:
        f = pdu.fields
        sp_id = f["source_addr"]
        acc = self.smsc.accounts.by_cmpp(sp_id)
        status = ConnectStatus.OK
        why = ""
        if acc is None or not acc.cmpp_secret:
            status, why = ConnectStatus.ILLEGAL_SOURCE_ADDRESS, "unknown Source_Addr"
        elif not verify_source(sp_id, acc.cmpp_secret, f["timestamp"], f["authenticator_source"]):
            status, why = ConnectStatus.AUTHENTICATION_FAILED, "AuthenticatorSource mismatch"
        elif not acc.enabled:
            status, why = ConnectStatus.OTHER, "account disabled"
        elif not acc.ip_allowed(self.peer.rsplit(":", 1)[0]):
            status, why = ConnectStatus.OTHER, f"address {self.peer} not in ip_whitelist"
        elif not self.smsc.can_bind(acc):
            status, why = ConnectStatus.OTHER, f"account already has max_binds={acc.max_binds}"
        if status:
            log.warning(
                "event=bind_rejected protocol=cmpp bind=%s sp_id=%s peer=%s status=%d reason=%r",
                self.bind_id,
                sp_id,
                self.peer,
                status,
                why,
            )
            for ev in self.session.reject_connect(pdu, int(status)):
                self._dispatch(ev)
            return
        assert acc is not None and acc.cmpp_secret is not None
        self.session.window = acc.cmpp_window
        auth = authenticator_ismg(0, f["authenticator_source"], acc.cmpp_secret, version)
        self.session.accept_connect(pdu, auth)
        log.info(
            "event=bind protocol=cmpp bind=%s account=%s version=0x%02x peer=%s window=%d",
            self.bind_id,
            acc.name,
            version,
            self.peer,
            acc.cmpp_window,
        )
        self._register(acc, receives=True)

    # -- requests from the SP ----------------------------------------------------------------------

    def _on_request(self, pdu: Pdu) -> None:
        cid = pdu.command_id
        if cid == C.SUBMIT:
            self._submit(pdu)
        elif cid == C.QUERY:
            self._loop.create_task(self._query(pdu))
        elif cid == C.CANCEL:
            self._loop.create_task(self._cancel(pdu))
        else:  # DELIVER from an SP and the like: answered as a wrong command
            self.session.send_response(pdu, result=R.BAD_COMMAND_ID)

    def _reject(self, pdu: Pdu, result: int, message: str) -> None:
        log.info(
            "event=submit_rejected protocol=cmpp bind=%s account=%s seq=%d result=%d reason=%r",
            self.bind_id,
            self.account,
            pdu.sequence,
            result,
            message,
        )
        self.session.send_response(pdu, msg_id=0, result=result)

    def _submit(self, pdu: Pdu) -> None:
        acc = self.acc
        if acc is None:  # the account was removed while bound
            self._reject(pdu, REJECTION_RESULT[Rejection.DISABLED], "account no longer exists")
            return
        f = pdu.fields
        try:
            subs = self._to_submits(acc, f)
        except _Refused as exc:
            self._reject(pdu, exc.result, exc.message)
            return
        first = self._ids.next(china_now(), count=len(subs))
        ids = id_range(first, len(subs))
        remaining = [len(subs)]
        failed: list[BaseException] = []

        def stored(err: BaseException | None) -> None:
            if err is not None:
                failed.append(err)
            remaining[0] -= 1
            if remaining[0] == 0 and not self._closed:
                if failed:
                    self.session.send_response(
                        pdu, msg_id=0, result=REJECTION_RESULT[Rejection.STORAGE]
                    )
                else:
                    self.session.send_response(pdu, msg_id=first, result=0)
                self._schedule_flush()

        for i, sub in enumerate(subs):
            sub.message_id = str(ids[i])
            try:
                self.smsc.submit(acc, sub, stored)
            except SubmitRejected as rejected:
                if i == 0:
                    self._reject(pdu, REJECTION_RESULT[rejected.reason], rejected.message)
                    return
                failed.append(rejected)  # a later destination refused: the whole SUBMIT fails
                remaining[0] -= 1
            except WriterClosed:
                if i == 0:
                    self._reject(pdu, REJECTION_RESULT[Rejection.STORAGE], "shutting down")
                    return
                remaining[0] -= 1
        self.submits += 1

    def _to_submits(self, acc: Account, f: dict[str, Any]) -> list[Submit]:
        msg_src = f.get("msg_src", "")
        if msg_src and msg_src != acc.cmpp_sp_id:
            raise _Refused(
                R.BAD_MSG_SRC, f"Msg_src {msg_src!r} is not the logged-in SP {acc.cmpp_sp_id}"
            )
        src_id = f.get("src_id", "")
        if not src_id and acc.service_codes:
            src_id = acc.service_codes[0]  # SPs that leave Src_Id empty send as their SP code
        if acc.service_codes and not any(src_id.startswith(c) for c in acc.service_codes):
            raise _Refused(
                R.BAD_SRC_ID, f"Src_Id {src_id!r} does not start with a service code of {acc.name}"
            )
        dests = f.get("dest_terminal_id") or []
        if not dests:
            raise _Refused(R.BAD_DEST_TERMINAL_ID, "no Dest_terminal_Id")
        for d in dests:
            if not _msisdn_ok(d):
                raise _Refused(R.BAD_DEST_TERMINAL_ID, f"Dest_terminal_Id {d!r} is not a number")
        fmt = f.get("msg_fmt", 0)
        content: bytes = f.get("msg_content", b"")
        if len(content) > _MAX_CONTENT.get(fmt, 140):
            raise _Refused(
                R.MESSAGE_TOO_LONG, f"{len(content)} octets is over the limit for Msg_Fmt {fmt}"
            )
        group: tuple[int, int, int] | None = None
        text_part = content
        if f.get("tp_udhi", 0) & 0x41:
            try:
                concat, text_part = parse_udh(content)
            except SegmentationError as bad_udh:
                raise _Refused(
                    R.MALFORMED, f"TP_udhi set but the UDH is malformed: {bad_udh}"
                ) from None
            if concat is not None and concat.total > 1:
                group = (concat.ref, concat.total, concat.seq)
        elif f.get("pk_total", 1) > 1:
            group = (0, f["pk_total"], f.get("pk_number", 1))
        now = time.time()
        try:
            validity_at = parse_time(f.get("valid_time", ""), now)
            schedule_at = parse_time(f.get("at_time", ""), now)
        except TimeFormatError as exc:
            raise _Refused(R.MALFORMED, f"ValId_Time/At_Time: {exc}") from None
        text = decode(text_part, encoding_for_msg_fmt(fmt)) if fmt in _TEXT_FORMATS else None
        rd = f.get("registered_delivery", 0)
        receipt = ReceiptRequest.FINAL if rd == 1 else ReceiptRequest.NONE
        extra = {"service_id": f.get("service_id", ""), "msg_fmt": fmt}
        if f.get("link_id"):
            extra["link_id"] = f["link_id"]
        return [
            Submit(
                protocol="cmpp",
                bind_id=self.bind_id,
                source=src_id,
                destination=d,
                body=content,
                data_coding=fmt,
                esm_class=0x40 if f.get("tp_udhi", 0) & 0x41 else 0,
                text=text,
                group=group,
                receipt=receipt,
                schedule_at=schedule_at,
                validity_at=validity_at,
                extra=extra,
            )
            for d in dests
        ]

    async def _query(self, pdu: Pdu) -> None:
        f = pdu.fields
        day = f.get("time", "")
        try:
            start = datetime.strptime(day, "%Y%m%d").replace(tzinfo=CHINA).timestamp()
        except ValueError:
            start = None
        counts = {"submitted": 0, "delivered": 0, "failed": 0, "waiting": 0}
        if start is not None:
            service = f.get("query_code", "") if f.get("query_type", 0) == 1 else None
            counts = await self.smsc.totals(self.account, start, start + 86400, service_id=service)
        if self._closed:
            return
        self.session.send_response(
            pdu,
            time=day,
            query_type=f.get("query_type", 0),
            query_code=f.get("query_code", ""),
            mt_tlmsg=counts["submitted"],
            mt_tlusr=counts["submitted"],
            mt_scs=counts["delivered"],
            mt_wt=counts["waiting"],
            mt_fl=counts["failed"],
            mo_scs=0,
            mo_wt=0,
            mo_fl=0,
        )
        self._schedule_flush()

    async def _cancel(self, pdu: Pdu) -> None:
        n = await self.smsc.cancel(self.account, str(pdu.fields.get("msg_id", 0)))
        if self._closed:
            return
        self.session.send_response(pdu, success_id=0 if n else 1)
        self._schedule_flush()

    # -- DELIVER_RESP from the SP ------------------------------------------------------------------

    def _on_response(self, pdu: Pdu, request: Pdu | None) -> None:
        if request is None:
            return
        result = pdu.fields.get("result", 0)
        self._part_answered(pdu.sequence, None if result == 0 else f"DELIVER_RESP Result {result}")

    # -- rendering outbox items ------------------------------------------------------------------------

    def render(self, item: OutboxItem) -> list[Pdu]:
        p = item.payload
        version = self.session.version or 0x30
        if item.kind == "receipt":
            report = StatusReport(
                msg_id=int(p["message_id"]),
                stat=(p.get("stat") or p["state"])[:7],
                submit_time=_yymmddhhmm(p["submitted_at"]),
                done_time=_yymmddhhmm(p["done_at"]),
                dest_terminal_id=p["destination"],
                smsc_sequence=p.get("receipt_id", 0) & 0xFFFFFFFF,
            )
            return [
                Pdu.make(
                    C.DELIVER,
                    msg_id=self._ids.next(china_now()),
                    dest_id=p["source"],
                    service_id="",
                    src_terminal_id=p["destination"],
                    registered_delivery=1,
                    msg_fmt=0,
                    msg_content=encode_report(report, version),
                )
            ]
        text = p["text"]
        coding = p.get("coding", "auto")
        encoding = "ascii" if coding != "ucs2" and text.isascii() and is_gsm7(text) else "ucs2"
        first = split(text, encoding=encoding, udh="8", ref=1)
        parts = first
        if len(first.parts) > 1:
            ref = self._refs.next((self.account, p["source"], p["destination"]), bits=8)
            parts = split(text, encoding=encoding, udh="8", ref=ref)
        total = len(parts.parts)
        return [
            Pdu.make(
                C.DELIVER,
                msg_id=self._ids.next(china_now()),
                dest_id=p["destination"],
                service_id="",
                src_terminal_id=p["source"],
                registered_delivery=0,
                tp_udhi=1 if seg.udh else 0,
                msg_fmt=8 if encoding == "ucs2" else 0,
                msg_content=seg.short_message,
            )
            for seg in parts.parts
        ][:total]

    def info(self) -> dict[str, Any]:
        return {**super().info(), "version": self.session.version}


class _Refused(Exception):
    def __init__(self, result: int, message: str) -> None:
        super().__init__(message)
        self.result = result
        self.message = message
