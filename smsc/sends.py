"""Sends through the vendor HTTP APIs: the business rules every dialect shares.

A dialect (``protocols/http/<vendor>.py``) parses and authenticates a request, checks its
own parameter formats, resolves signature and template through ``smsc.catalogue``, and then
hands the recipients and their final texts to :meth:`SendService.send`. This applies the
rules that are the same for every vendor, in the order of vendor-apis.md §7.6: recipients
(valid mainland mobiles, duplicates once, blacklist), the hourly verification-code cap,
the balance for the whole request (70/67 billing, signature included), then stores one
message per recipient through the core — durable before the dialect answers — and a batch
row for the send records. Refusals are :class:`SendRefused` with a protocol-neutral reason
the dialect maps onto its own code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from smsc import mobiles, textrules
from smsc.accounts import Account
from smsc.model import ReceiptRequest, Rejection, Submit, SubmitRejected
from storage.schema import batches as batches_table

if TYPE_CHECKING:
    from smsc.core import Smsc

log = logging.getLogger("smsc.sends")

_INSERT_BATCH = batches_table.insert()
BEIJING = 8 * 3600.0


_random = random.Random()  # seeded from os.urandom once


def new_uuid() -> str:
    """A random (version 4) UUID string without a getrandom() system call per id.

    Ids only need to be unique, not secret; uuid.uuid4() reads os.urandom every time, which
    showed up at ~5 % of the vendor API's request cost.
    """
    n = (_random.getrandbits(128) & ~(0xF << 76) & ~(0x3 << 62)) | (4 << 76) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def service_code(account: Account) -> str:
    """The number an account's HTTP sends come from (before any extension)."""
    return account.service_codes[0] if account.service_codes else "1069"


class Refusal(StrEnum):
    NO_RECIPIENTS = "no_recipients"  # nothing valid left to send to
    BLACKLISTED = "blacklisted"  # every recipient is blacklisted
    NO_BALANCE = "no_balance"
    HOURLY_CAP = "hourly_cap"  # verification codes over the account's hourly cap
    DISABLED = "disabled"
    THROTTLED = "throttled"  # the account's throughput limit
    STORAGE = "storage"


class SendRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(slots=True)
class SendRequest:
    """One accepted-for-checking API call: who gets which final text."""

    vendor: str
    recipients: Sequence[tuple[str, str]]  # (number as given, full text incl. 【signature】)
    sign: str = ""
    template_id: str | None = None
    # The template's kind; "verification" counts toward the hourly cap. None (free-text APIs):
    # a text that reads as a verification code (验证码, 校验码 …) counts.
    kind: str | None = None
    extension: str = ""  # appended to the account's service code (source address)
    schedule_at: float | None = None  # epoch seconds; past = now
    uid: str | None = None
    client_batch: str | None = None
    batch_id: str | None = None  # the id shown to the caller; default a UUID
    per_message_ids: bool = False  # each message its own id (zrwinfo smUuid) vs the batch's
    blacklisted: str = "reject"  # "reject": left out and counted; "receipt": sent, DTBLACK report
    report: bool | None = None  # ask the carrier for a receipt; default: account has report_url
    extra: dict[str, Any] = field(default_factory=dict)  # stored on every message (push needs)
    hold: bool = False  # hold every message for manual review (Smsc.release decides later)
    allow_phs: bool = False  # PHS (小灵通) numbers count as valid (Juxiang, vendor-apis §2.10)


@dataclass(slots=True)
class SendResult:
    batch_id: str
    accepted: list[str]  # normalized numbers stored
    message_ids: list[str]
    invalid: list[str]  # as given
    blacklisted: list[str]  # normalized
    duplicates: int
    units: int


class SendService:
    def __init__(self, smsc: Smsc) -> None:
        self.smsc = smsc
        self._hourly: dict[tuple[str, int], int] = {}
        self._alerted: set[str] = set()
        self.outcomes: dict[tuple[str, str], int] = {}  # (vendor, "accepted" | refusal) -> n
        self.http_requests: dict[tuple[str, int], int] = {}  # (route, HTTP status) -> n

    # -- the shared rules ----------------------------------------------------------------------

    def recipients(self, numbers: Sequence[str]) -> mobiles.Recipients:
        return mobiles.classify(numbers)

    def is_blacklisted(self, account: str, number: str) -> bool:
        """``number`` (11-digit mainland form) is blacklisted in any way it may have been written.

        Entries keep the form they were added in (an MO from ``+8613800138000`` that said TD
        blacklists ``8613800138000``); vendor sends name the 11-digit number, so they look
        for the country-code forms too.
        """
        contains = self.smsc.blacklist.contains
        return (
            contains(account, number)
            or contains(account, "86" + number)
            or contains(account, "0086" + number)
        )

    def units(self, text: str) -> int:
        return textrules.billing_units(text)

    def source_for(self, account: Account, extension: str) -> str:
        return service_code(account) + extension

    async def send(self, account: Account, req: SendRequest) -> SendResult:
        """Apply the shared rules and store every message; raises :class:`SendRefused`."""
        try:
            result = await self._send(account, req)
        except SendRefused as exc:
            key = (req.vendor, exc.reason.value)
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
            raise
        key = (req.vendor, "accepted")
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        return result

    async def _send(self, account: Account, req: SendRequest) -> SendResult:
        smsc = self.smsc
        if not account.enabled:
            raise SendRefused(Refusal.DISABLED, f"account {account.name} is disabled")
        texts: dict[str, str] = {}
        given = [n for n, _ in req.recipients]
        rec = mobiles.classify(given, allow_phs=req.allow_phs)
        for number, text in req.recipients:
            norm = mobiles.normalize(number)
            if norm in rec.valid and norm not in texts:
                texts[norm] = text
        blacklisted: list[str] = []
        targets: list[str] = []
        listed: set[str] = set()
        for n in rec.valid:
            if self.is_blacklisted(account.name, n):
                listed.add(n)
                if req.blacklisted == "reject":
                    blacklisted.append(n)
                    continue
            targets.append(n)
        if not targets:
            if blacklisted:
                raise SendRefused(Refusal.BLACKLISTED, "every recipient is blacklisted")
            raise SendRefused(Refusal.NO_RECIPIENTS, "no valid recipient")
        now = smsc.clock()
        kind = req.kind
        if kind is None:
            first = next(iter(texts.values()), "")
            kind = "verification" if textrules.is_verification_text(first) else "general"
        if kind == "verification" and account.verify_hourly_cap > 0:
            hour = int((now + BEIJING) // 3600)
            key = (account.name, hour)
            used = self._hourly.get(key, 0)
            if used + len(targets) > account.verify_hourly_cap:
                raise SendRefused(
                    Refusal.HOURLY_CAP,
                    f"hourly verification-code cap {account.verify_hourly_cap} reached",
                )
        # The throughput limit counts API requests, not recipients: a 1,000-number request is
        # one call, and refusing it half-way would leave half of it sent.
        if not smsc.take_token(account):
            raise SendRefused(
                Refusal.THROTTLED,
                f"account {account.name} over its throughput of {account.throughput:g} req/s",
            )
        units = [textrules.billing_units(texts[n]) for n in targets]
        total = sum(units)
        if account.balance is not None and account.balance < total:
            raise SendRefused(
                Refusal.NO_BALANCE, f"balance {account.balance} < {total} units needed"
            )
        # From here to the last submit nothing awaits: the balance check and the debits are
        # one step on the loop, so concurrent requests can never overdraw it.
        if kind == "verification" and account.verify_hourly_cap > 0:
            self._hourly[key] = self._hourly.get(key, 0) + len(targets)
        batch_id = req.batch_id or new_uuid()
        schedule_at = req.schedule_at if req.schedule_at and req.schedule_at > now else None
        report = req.report if req.report is not None else bool(account.callbacks.get("report_url"))
        source = self.source_for(account, req.extension)
        loop = smsc.loop
        futures: list[asyncio.Future[None]] = []
        message_ids: list[str] = []
        accepted: list[str] = []
        extra_base = {"vendor": req.vendor, "batch": batch_id, **req.extra}
        if req.uid is not None:
            extra_base["uid"] = req.uid
        for n, u in zip(targets, units, strict=True):
            text = texts[n]
            mid = new_uuid() if req.per_message_ids else batch_id
            fut: asyncio.Future[None] = loop.create_future()
            sub = Submit(
                protocol="http",
                bind_id=req.vendor,
                source=source,
                destination=n,
                body=text.encode("utf-16-be"),
                data_coding=8,
                text=text,
                receipt=ReceiptRequest.FINAL if report else ReceiptRequest.NONE,
                schedule_at=schedule_at,
                message_id=mid,
                extra=extra_base,
                units=u,
                throttle=False,
                hold=req.hold,
                blacklisted=n in listed,
            )
            try:
                smsc.submit(account, sub, _resolver(fut))
            except SubmitRejected as exc:
                if exc.reason is Rejection.BLACKLISTED:
                    blacklisted.append(n)
                    continue
                for f in futures:  # earlier ones are stored; wait so the answer is honest
                    f.cancel()
                raise SendRefused(_REFUSAL.get(exc.reason, Refusal.STORAGE), exc.message) from None
            futures.append(fut)
            message_ids.append(mid)
            accepted.append(n)
        billed = sum(u for n, u in zip(targets, units, strict=True) if n in set(accepted))
        batch_op = (
            _INSERT_BATCH,
            {
                "id": smsc.next_id("batches"),
                "batch_id": batch_id,
                "account": account.name,
                "vendor": req.vendor,
                "created_at": now,
                "schedule_at": schedule_at,
                "sign": req.sign,
                "text": next(iter(texts.values()), ""),
                "template_id": req.template_id,
                "requested": len(given),
                "accepted": len(accepted),
                "invalid": len(rec.invalid),
                "blacklisted": len(blacklisted),
                "units": billed,
                "uid": req.uid,
                "client_batch": req.client_batch,
                "extra": json.dumps(
                    {**req.extra, "held": True} if req.hold else req.extra, ensure_ascii=False
                )
                if req.extra or req.hold
                else None,
            },
        )
        futures.append(smsc.writer.write([batch_op]))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.error("event=send_store_failed account=%s error=%r", account.name, failed[0])
            raise SendRefused(Refusal.STORAGE, "could not store the messages")
        self._balance_alert(account)
        if not accepted:
            raise SendRefused(Refusal.BLACKLISTED, "every recipient is blacklisted")
        return SendResult(
            batch_id=batch_id,
            accepted=accepted,
            message_ids=message_ids,
            invalid=list(rec.invalid),
            blacklisted=blacklisted,
            duplicates=rec.duplicates,
            units=billed,
        )

    def _balance_alert(self, account: Account) -> None:
        """余额提醒: one alert event each time the balance falls below the account's threshold."""
        if account.balance_alert is None or account.balance is None:
            return
        if account.balance >= account.balance_alert:
            self._alerted.discard(account.name)
            return
        if account.name in self._alerted:
            return
        self._alerted.add(account.name)
        log.warning(
            "event=balance_alert account=%s balance=%d threshold=%d",
            account.name,
            account.balance,
            account.balance_alert,
        )
        self.smsc.writer.write_then(
            [
                self.smsc._event_op(
                    "balance_alert",
                    account.name,
                    None,
                    {"balance": account.balance, "threshold": account.balance_alert},
                )
            ],
            lambda err: None,
        )

    async def pull_mo(self, account: str) -> dict[str, Any] | None:
        """The oldest MO of ``account`` not yet pulled, marked as read (Juxiang readsms.asp)."""
        from sqlalchemy import update

        from storage.schema import mo as mo_table

        def run() -> dict[str, Any] | None:
            with self.smsc.engine.connect() as conn:
                row = (
                    conn.execute(
                        select(mo_table)
                        .where(mo_table.c.account == account, mo_table.c.read_at.is_(None))
                        .order_by(mo_table.c.id)
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
            return dict(row) if row else None

        row = await self.smsc.loop.run_in_executor(None, run)
        if row is None:
            return None
        stmt = update(mo_table).where(mo_table.c.id == row["id"]).values(read_at=self.smsc.clock())
        await self.smsc.writer.write([(stmt, {})])
        return row

    # -- batches after the fact (the console) -------------------------------------------

    async def cancel_batch(self, batch: dict[str, Any]) -> tuple[int, int]:
        """Cancel what is not delivered yet of a batch (a scheduled send, vendor-apis §7.14).

        No vendor documents a cancel API, so this is the console's: every message not yet
        final becomes DELETED (no report is pushed for it) and its units are refunded.
        Returns (messages cancelled, units refunded).
        """
        smsc = self.smsc
        messages = await smsc.records.batch_messages(batch)
        now = smsc.clock()
        live = [m for m in messages if smsc.effective_state(m, now) in ("ENROUTE", "ACCEPTD")]
        cancelled = 0
        for message_id in sorted({m["message_id"] for m in live}):
            cancelled += await smsc.cancel(batch["account"], message_id)
        units = sum(textrules.billing_units(m["text"] or "") for m in live) if cancelled else 0
        refunded = await smsc.credit(
            batch["account"], units, f"batch {batch['batch_id']} cancelled"
        )
        log.info(
            "event=batch_cancelled account=%s batch=%s messages=%d refunded=%d",
            batch["account"],
            batch["batch_id"],
            cancelled,
            refunded,
        )
        return cancelled, refunded

    async def review_batch(
        self, batch: dict[str, Any], approve: bool, reason: str = ""
    ) -> tuple[int, int]:
        """A reviewer's decision on a batch held for manual review (Chuangrui 人工审核).

        Approved messages go to the carrier now; rejected ones end in REJECT and are refunded.
        Returns (messages released, units refunded).
        """
        smsc = self.smsc
        messages = await smsc.records.batch_messages(batch)
        held = [m["id"] for m in messages if m["state"] == "HELD"]
        released = await smsc.release(batch["account"], held, approve, reason)
        refunded = 0
        if not approve and released:
            units = sum(textrules.billing_units(m["text"] or "") for m in released)
            refunded = await smsc.credit(batch["account"], units, "rejected in review")
        log.info(
            "event=batch_reviewed account=%s batch=%s approved=%s messages=%d reason=%r",
            batch["account"],
            batch["batch_id"],
            approve,
            len(released),
            reason,
        )
        return len(released), refunded


_REFUSAL = {
    Rejection.NO_BALANCE: Refusal.NO_BALANCE,
    Rejection.DISABLED: Refusal.DISABLED,
    Rejection.THROTTLED: Refusal.THROTTLED,
}


def _resolver(fut: asyncio.Future[None]) -> Callable[[BaseException | None], None]:
    def done(err: BaseException | None) -> None:
        if fut.done():
            return
        if err is None:
            fut.set_result(None)
        else:
            fut.set_exception(err)

    return done
