"""The SMSC core: the protocol-neutral calls every protocol adapter and the admin side make.

A protocol turns bytes into a ``Submit`` and calls ``Smsc.submit``; the core applies the
account's limits, asks the emulated carrier for the message's fate, queues the rows on the
group-commit writer and tells the caller once they are committed — only then may the
protocol answer with a message id. Receipts and MO come back to binds through the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, select, update

from smsc.accounts import Account, AccountStore
from smsc.binds import Bind, BindRegistry
from smsc.blacklist import Blacklist
from smsc.catalogue import Catalogue
from smsc.model import (
    Accepted,
    OutboxItem,
    ReceiptRequest,
    Rejection,
    Submit,
    SubmitRejected,
)
from smsc.outbox import Outbox, insert_op
from smsc.receipts import PendingReceipt, ReceiptScheduler
from smsc.records import Records
from smsc.routing import ServiceCodeRouter
from smsc.rules import (
    BlacklistPolicy,
    Carrier,
    CarrierConfig,
    Decision,
    FinalState,
    MessageFacts,
)
from smsc.sends import SendService
from smsc.throttle import TokenBucket
from storage.schema import accounts as accounts_table
from storage.schema import batches as batches_table
from storage.schema import blacklist as blacklist_table
from storage.schema import events as events_table
from storage.schema import messages as messages_table
from storage.schema import mo as mo_table
from storage.schema import outbox as outbox_table
from storage.schema import receipts as receipts_table
from storage.schema import signatures as signatures_table
from storage.schema import templates as templates_table
from storage.writer import GroupCommitWriter

log = logging.getLogger("smsc.core")

_INSERT_MESSAGE = messages_table.insert()
_INSERT_EVENT = events_table.insert()
_INSERT_MO = mo_table.insert()
_INSERT_BLACKLIST = blacklist_table.insert()
_DEBIT = (
    update(accounts_table)
    .where(accounts_table.c.name == bindparam("acc"))
    .values(balance=accounts_table.c.balance - bindparam("n"))
)
_CREDIT = (
    update(accounts_table)
    .where(accounts_table.c.name == bindparam("acc"))
    .values(balance=func.coalesce(accounts_table.c.balance, 0) + bindparam("n"))
)
_SET_UNLIMITED = (
    update(accounts_table).where(accounts_table.c.name == bindparam("acc")).values(balance=None)
)

_ID_TABLES = {
    "messages": messages_table,
    "receipts": receipts_table,
    "outbox": outbox_table,
    "mo": mo_table,
    "events": events_table,
    "batches": batches_table,
    "signatures": signatures_table,
    "templates": templates_table,
}


def format_message_id(pk: int, fmt: str) -> str:
    """Render an internal id in the account's message_id format (decimal is the default)."""
    if fmt == "hex":
        return format(pk, "x")
    if fmt == "HEX":
        return format(pk, "X")
    if fmt == "uuid":
        return str(uuid.UUID(int=(uuid.uuid4().int & ~0xFFFFFFFFFFFF) | (pk & 0xFFFFFFFFFFFF)))
    return str(pk)


HELD = "HELD"  # waiting for a reviewer (messages.state and outcome)
HELD_UNTIL = 4102444800.0  # 2100-01-01: a held message's deliver_at until it is released
REVIEW_REJECTED = "REJECT"  # Chuangrui's state for a message rejected in review (审核驳回)
# per message: the row wants a plain str
_OUTCOME_TEXT: dict[str, str] = {fs: fs.value for fs in FinalState}
_NO_RECEIPT = int(ReceiptRequest.NONE)
# Stands in for the carrier's decision while a message is held: no delivery, no receipt.
_HELD_DECISION = Decision(
    outcome=HELD,
    smpp_err=0,
    network_error_code=0,
    stat="",
    deliver_at=HELD_UNTIL,
    enroute_at=None,
    rule="review",
    reason="held for manual review",
)


def decision_event(row: Any) -> dict[str, Any]:
    """The carrier's decision for a stored message, told from its row (rule, outcome, times)."""
    delay_ms = (row["deliver_at"] - max(row["submitted_at"], row["schedule_at"] or 0.0)) * 1000
    rule, outcome = row["rule"], row["outcome"]
    if outcome == HELD:
        reason = "held for manual review"
    elif rule == "review":
        reason = "rejected in manual review"
    elif rule == "default":
        reason = f"no rule matched: default {outcome} after {delay_ms:.0f} ms"
    elif rule == "blacklist":
        reason = f"destination {row['destination']} is blacklisted"
    elif rule == "validity":
        reason = "validity period ended before delivery"
    else:
        reason = f"rule {rule} matched: {outcome} after {delay_ms:.0f} ms"
    return {
        "id": None,
        "at": row["submitted_at"],
        "kind": "decision",
        "account": row["account"],
        "message_id": row["message_id"],
        "detail": {"rule": rule, "outcome": outcome, "reason": reason},
    }


class Smsc:
    def __init__(
        self,
        engine: Engine,
        writer: GroupCommitWriter,
        loop: asyncio.AbstractEventLoop,
        carrier: CarrierConfig,
        *,
        clock: Callable[[], float] = time.time,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.loop = loop
        self.clock = clock
        self.accounts = AccountStore(engine)
        self.binds = BindRegistry()
        self.carrier = Carrier(carrier)
        self.blacklist = Blacklist()
        self.router = ServiceCodeRouter()
        self.outbox = Outbox(
            self.binds,
            writer.write_then,
            loop,
            write_later=writer.write_later,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
            clock=clock,
        )
        self.receipts = ReceiptScheduler(
            loop, clock, writer.write_later, self.outbox.offer, self.next_id
        )
        self.catalogue = Catalogue(engine, writer.write, self.next_id, clock)
        self.records = Records(engine, loop)
        self.sends = SendService(self)
        self._ids: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}
        # called after accounts changed (HTTP push binds follow callback URLs)
        self.account_listeners: list[Callable[[], None]] = []
        self.unrouted_mo = 0
        self.submitted = 0

    # -- start-up -------------------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Load state from storage (blocking; before listeners open). Returns what was restored."""
        with self.engine.connect() as conn:
            for name, table in _ID_TABLES.items():
                self._ids[name] = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
            for row in conn.execute(select(blacklist_table)).mappings():
                self.blacklist.add(row["account"] or None, row["number"])
        self.accounts.load()
        self.catalogue.load()
        self._rebuild_router()
        return {
            "accounts": len(self.accounts.all()),
            "outbox": self.outbox.restore(self.engine),
            "pending_receipts": self.receipts.restore(self.engine),
        }

    def peek_id(self, table: str) -> int:
        """The id the next row of ``table`` will get (grows across restarts)."""
        return self._ids.get(table, 1)

    def next_id(self, table: str) -> int:
        n = self._ids.get(table, 1)
        self._ids[table] = n + 1
        return n

    def _rebuild_router(self) -> None:
        self.router.replace(
            (code, acc.name) for acc in self.accounts.all() for code in acc.service_codes
        )

    async def refresh_accounts(self) -> bool:
        """Pick up accounts changed by another process (the CLI) on the same database."""
        changed = await self.loop.run_in_executor(None, self.accounts.changed)
        if changed:
            await self.loop.run_in_executor(None, self.accounts.load)
            self._accounts_changed()
        return changed

    async def accounts_changed(self) -> None:
        """Call after an in-process account change (admin API)."""
        self._accounts_changed()

    def _accounts_changed(self) -> None:
        self._rebuild_router()
        for listener in list(self.account_listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - one listener's bug must not stop the others
                log.exception("event=account_listener_failed")

    # -- binds ---------------------------------------------------------------------------------

    def can_bind(self, account: Account) -> bool:
        return self.binds.count(account.name) < account.max_binds

    def bind_opened(self, bind: Bind) -> None:
        self.binds.add(bind)
        if bind.receives:
            self.outbox.pump(bind.account)

    def bind_closed(self, bind: Bind) -> None:
        self.binds.remove(bind)
        self.outbox.bind_lost(bind.bind_id, bind.account)

    # -- submit (hot path) -----------------------------------------------------------------------

    def take_token(self, account: Account) -> bool:
        """One unit of the account's throughput limit (always True without a limit)."""
        if account.throughput <= 0:
            return True
        bucket = self._buckets.get(account.name)
        if bucket is None or bucket.rate != account.throughput:
            bucket = self._buckets[account.name] = TokenBucket(account.throughput)
        return bucket.take(time.monotonic())

    def submit(
        self,
        account: Account,
        sub: Submit,
        on_stored: Callable[[BaseException | None], None],
    ) -> Accepted:
        """Accept one MT part: raises ``SubmitRejected`` at once, else calls ``on_stored`` after commit.

        The returned message_id may be shown to the submitter only when ``on_stored(None)``
        has been called.
        """
        if not account.enabled:
            raise SubmitRejected(Rejection.DISABLED, f"account {account.name} is disabled")
        if account.throughput > 0 and sub.throttle and not self.take_token(account):
            raise SubmitRejected(
                Rejection.THROTTLED,
                f"account {account.name} over its throughput of {account.throughput:g} msg/s",
            )
        units = sub.units
        if account.balance is not None and account.balance < units:
            raise SubmitRejected(Rejection.NO_BALANCE, f"account {account.name} has no balance")
        blacklisted = (
            self.blacklist.contains(account.name, sub.destination)
            if sub.blacklisted is None
            else sub.blacklisted
        )
        if blacklisted and self.carrier.config.blacklisted is BlacklistPolicy.REJECT:
            raise SubmitRejected(
                Rejection.BLACKLISTED, f"destination {sub.destination} is blacklisted"
            )
        now = self.clock()
        pk = self.next_id("messages")
        if sub.message_id:
            message_id = sub.message_id
        elif sub.id_format is not None:
            message_id = sub.id_format(pk)
        else:
            message_id = format_message_id(pk, account.message_id_format)
        held = sub.hold
        # A message held for manual review gets its carrier decision when released (release)
        decision = (
            _HELD_DECISION
            if held
            else self.carrier.decide(
                # positional: per message, and keyword matching is most of a dataclass's
                # construction cost (tests/smsc/test_hot_dataclasses.py pins the field order)
                MessageFacts(
                    account.name,
                    sub.protocol,
                    sub.source,
                    sub.destination,
                    sub.text,
                    now,
                    sub.validity_at,
                    sub.schedule_at,
                    message_id,
                ),
                account.rules,
                blacklisted,
            )
        )
        outcome = _OUTCOME_TEXT.get(decision.outcome) or str(decision.outcome)
        group = sub.group
        receipt = int(sub.receipt)  # a plain int from here: enum members cost per access
        group_key = None
        if group is not None and group[1] > 1 and account.long_receipts == "per_message":
            group_key = (account.name, sub.source, sub.destination, group[0], group[1])
            self.receipts.note_part(group_key, outcome)
            if group[2] != 1:
                receipt = _NO_RECEIPT  # the first part reports for the whole message
        needs_receipt = receipt != _NO_RECEIPT
        enroute_at = decision.enroute_at if needs_receipt else None
        if sub.intermediate and needs_receipt and enroute_at is None:
            enroute_at = now
        row = {
            "id": pk,
            "message_id": message_id,
            "account": account.name,
            "protocol": sub.protocol,
            "bind_id": sub.bind_id,
            "source": sub.source,
            "destination": sub.destination,
            "data_coding": sub.data_coding,
            "esm_class": sub.esm_class,
            "body": sub.body,
            "text": sub.text,
            "group_ref": group[0] if group else None,
            "group_total": group[1] if group else None,
            "group_seq": group[2] if group else None,
            "registered_delivery": receipt,
            "submitted_at": now,
            "schedule_at": sub.schedule_at,
            "validity_at": sub.validity_at,
            "state": HELD if held else "ACCEPTD",
            "outcome": outcome,
            "deliver_at": decision.deliver_at,
            "enroute_at": enroute_at,
            "err": decision.smpp_err,
            "stat": decision.stat,
            "rule": decision.rule,
            # no receipt owed: the message is "done" when the carrier's decision comes due
            "done_at": None if needs_receipt or held else decision.deliver_at,
            "extra": json.dumps(sub.extra) if sub.extra else None,
        }
        # The decision (rule, outcome, deliver_at) is in the message row itself; the admin view
        # shows it as the first event (decision_event), so no event row is written per message.
        ops: list[Any] = [(_INSERT_MESSAGE, row)]
        if account.balance is not None:
            account.balance -= units
            ops.append((_DEBIT, {"acc": account.name, "n": units}))
        pending = (
            PendingReceipt(  # positional, as MessageFacts above
                pk,
                message_id,
                account.name,
                sub.protocol,
                sub.source,
                sub.destination,
                now,
                (sub.text or "")[:20],
                outcome,
                decision.smpp_err,
                decision.stat,
                decision.deliver_at,
                enroute_at,
                receipt,
                group_key if group and group[2] == 1 else None,
                sub.extra,
            )
            if needs_receipt and not held
            else None
        )
        echo = not held and self.carrier.is_echo(sub.destination)

        def stored(err: BaseException | None) -> None:
            if err is None:
                self.submitted += 1
                if pending is not None:
                    self.receipts.schedule(pending, intermediate=enroute_at is not None)
                if echo and sub.text is not None:
                    self.loop.create_task(
                        self._echo(account.name, sub.destination, sub.source, sub.text)
                    )
            else:
                log.error(
                    "event=store_failed account=%s message_id=%s error=%r",
                    account.name,
                    message_id,
                    err,
                )
                if account.balance is not None:
                    account.balance += units
            on_stored(err)

        self.writer.write_then(ops, stored)
        return Accepted(pk, message_id)

    async def release(
        self, account: str, pks: list[int], approve: bool, reason: str = ""
    ) -> list[dict[str, Any]]:
        """A reviewer's decision on held messages: approved ones go to the carrier now,
        rejected ones end in ``REJECT`` (Chuangrui's state for 审核驳回) with a report.

        Returns the rows that were released (still held when the decision came).
        """

        def run() -> list[dict[str, Any]]:
            q = select(messages_table).where(
                messages_table.c.id.in_(pks),
                messages_table.c.account == account,
                messages_table.c.state == HELD,
            )
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(q.order_by(messages_table.c.id)).mappings()]

        rows = await self.loop.run_in_executor(None, run)
        acc = self.accounts.get(account)
        now = self.clock()
        ops: list[Any] = []
        pending: list[PendingReceipt] = []
        stmt = (
            update(messages_table)
            .where(messages_table.c.id == bindparam("pk"), messages_table.c.state == HELD)
            .values(
                state="ACCEPTD",
                outcome=bindparam("oc"),
                deliver_at=bindparam("da"),
                err=bindparam("er"),
                stat=bindparam("st"),
                rule=bindparam("ru"),
                done_at=bindparam("dn"),
            )
        )
        for r in rows:
            if approve:
                decision = self.carrier.decide(
                    MessageFacts(
                        account=account,
                        protocol=r["protocol"],
                        source=r["source"],
                        destination=r["destination"],
                        text=r["text"],
                        submitted_at=now,
                        validity_at=r["validity_at"],
                        schedule_at=r["schedule_at"],
                        message_id=r["message_id"],
                    ),
                    acc.rules if acc is not None else (),
                    self.blacklist.contains(account, r["destination"]),
                )
                outcome, deliver_at = str(decision.outcome), decision.deliver_at
                err, stat, rule = decision.smpp_err, decision.stat, decision.rule
            else:
                outcome, deliver_at, err, stat, rule = (
                    REVIEW_REJECTED,
                    now,
                    0,
                    REVIEW_REJECTED,
                    "review",
                )
            wants = r["registered_delivery"] != int(ReceiptRequest.NONE)
            ops.append(
                (
                    stmt,
                    {
                        "pk": r["id"],
                        "oc": outcome,
                        "da": deliver_at,
                        "er": err,
                        "st": stat,
                        "ru": rule,
                        "dn": None if wants else deliver_at,
                    },
                )
            )
            if wants:
                pending.append(
                    PendingReceipt(
                        pk=r["id"],
                        message_id=r["message_id"],
                        account=account,
                        protocol=r["protocol"],
                        source=r["source"],
                        destination=r["destination"],
                        submitted_at=r["submitted_at"],
                        text_head=(r["text"] or "")[:20],
                        outcome=outcome,
                        err=err,
                        stat=stat,
                        deliver_at=deliver_at,
                        enroute_at=None,
                        receipt=r["registered_delivery"],
                        extra=json.loads(r["extra"]) if r["extra"] else None,
                    )
                )
        if not rows:
            return []
        detail = {"approved": approve, "reason": reason, "messages": len(rows)}
        ops.append(self._event_op("review", account, rows[0]["message_id"], detail))
        await self.writer.write(ops)
        for p in pending:
            self.receipts.schedule(p, intermediate=False)
        return rows

    async def _echo(self, account: str, source: str, destination: str, text: str) -> None:
        try:
            await self.inject_mo(source, destination, text, account=account)
        except Exception:  # noqa: BLE001 - a self-test reply must not break the submit path
            log.exception("event=echo_failed account=%s", account)

    # -- query / cancel / replace ------------------------------------------------------------------

    def effective_state(self, row: Any, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        if row["state"] == HELD:
            return HELD
        if row["done_at"] is not None and row["done_at"] <= now:
            return row["outcome"] if row["state"] in ("ACCEPTD", "ENROUTE") else row["state"]
        if now >= row["deliver_at"]:
            return row["outcome"]
        return "ENROUTE"

    async def find_messages(
        self, message_id: str, account: str | None = None
    ) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            q = select(messages_table).where(messages_table.c.message_id == message_id)
            if account is not None:
                q = q.where(messages_table.c.account == account)
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(q.order_by(messages_table.c.id)).mappings()]

        return await self.loop.run_in_executor(None, run)

    async def cancel(self, account: str, message_id: str) -> int:
        """Cancel a message not yet final: it becomes DELETED and no receipt is sent for it."""
        rows = await self.find_messages(message_id, account)
        now = self.clock()
        live = [r for r in rows if self.effective_state(r, now) in ("ENROUTE", "ACCEPTD")]
        if not live:
            return 0
        ops: list[Any] = []
        stmt = (
            update(messages_table)
            .where(messages_table.c.id == bindparam("pk"))
            .values(state="DELETED", outcome="DELETED", deliver_at=now, done_at=now)
        )
        for r in live:
            self.receipts.cancel(r["id"])
            ops.append((stmt, {"pk": r["id"]}))
            ops.append(self._event_op("cancel", account, message_id, {"pk": r["id"]}))
        await self.writer.write(ops)
        return len(live)

    async def replace(
        self, account: str, message_id: str, body: bytes, text: str | None, **changes: Any
    ) -> int:
        """Replace the text (and schedule/validity) of a message that is not final yet."""
        rows = await self.find_messages(message_id, account)
        now = self.clock()
        live = [r for r in rows if self.effective_state(r, now) in ("ENROUTE", "ACCEPTD")]
        if not live:
            return 0
        values: dict[str, Any] = {"body": body, "text": text}
        values.update({k: v for k, v in changes.items() if v is not None})
        stmt = update(messages_table).where(messages_table.c.id == bindparam("pk")).values(**values)
        ops: list[Any] = [(stmt, {"pk": r["id"]}) for r in live]
        ops.append(self._event_op("replace", account, message_id, {}))
        await self.writer.write(ops)
        return len(live)

    async def change_balance(
        self, account: Account, new: int | None, kind: str = "balance", **detail: Any
    ) -> None:
        """Set a balance (None: unlimited) in memory and storage, with an event.

        Written as a delta, like the debits of sends: the writer may commit debits queued after
        it before it, and a sum comes out right in any order. Memory changes in the same loop
        step as the write is queued, so no send sees the balance half-changed.
        """
        old = account.balance
        op = (
            (_SET_UNLIMITED, {"acc": account.name})
            if new is None
            else (_CREDIT, {"acc": account.name, "n": new - (old or 0)})
        )
        event = self._event_op(kind, account.name, None, {"old": old, "new": new, **detail})
        account.balance = new
        try:
            await self.writer.write([op, event])
        except BaseException:
            if new is None or old is None:
                account.balance = old
            elif account.balance is not None:
                account.balance -= new - old
            raise
        log.info("event=%s_changed account=%s old=%s new=%s", kind, account.name, old, new)

    async def credit(self, account: str, units: int, reason: str) -> int:
        """Give billing units back (a cancelled or rejected send); returns the units credited."""
        acc = self.accounts.get(account)
        if acc is None or acc.balance is None or units <= 0:
            return 0
        await self.change_balance(acc, acc.balance + units, "refund", units=units, reason=reason)
        return units

    def _event_op(self, kind: str, account: str | None, message_id: str | None, detail: Any) -> Any:
        return (
            _INSERT_EVENT,
            {
                "id": self.next_id("events"),
                "at": self.clock(),
                "kind": kind,
                "account": account,
                "message_id": message_id,
                "detail": json.dumps(detail),
            },
        )

    # -- MO -------------------------------------------------------------------------------------

    async def inject_mo(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        coding: str = "auto",
        account: str | None = None,
    ) -> dict[str, Any]:
        """Store a handset reply and queue it for the account owning ``destination``.

        Routing is by the longest service code prefixing ``destination``; the destination is
        passed on unchanged (extension included). Unrouted MO are stored with no account.
        An unsubscribe word blacklists the sender for that account; the MO is still forwarded.
        """
        now = self.clock()
        mo_id = self.next_id("mo")
        service_code = None
        if account is None:
            routed = self.router.route(destination)
            if routed is not None:
                account, service_code = routed
        ops: list[Any] = [
            (
                _INSERT_MO,
                {
                    "id": mo_id,
                    "account": account,
                    "source": source,
                    "destination": destination,
                    "text": text,
                    "coding": coding,
                    "received_at": now,
                    "parts": 1,
                },
            )
        ]
        if account is None:
            self.unrouted_mo += 1
            log.warning(
                "event=mo_unrouted mo_id=%d source=%s destination=%s", mo_id, source, destination
            )
            ops.append(self._event_op("mo_unrouted", None, None, {"mo_id": mo_id}))
            await self.writer.write(ops)
            return {"mo_id": mo_id, "routed": False, "account": None}
        unsubscribed = self.carrier.is_unsubscribe(text)
        if unsubscribed and not self.blacklist.contains(account, source):
            ops.append(
                (
                    _INSERT_BLACKLIST,
                    {
                        "account": account,
                        "number": source,
                        "reason": "unsubscribe",
                        "created_at": now,
                    },
                )
            )
        item = OutboxItem(
            id=self.next_id("outbox"),
            account=account,
            protocol=None,
            kind="mo",
            payload={
                "mo_id": mo_id,
                "source": source,
                "destination": destination,
                "text": text,
                "coding": coding,
                "received_at": now,
            },
        )
        ops.append(insert_op(item, now))
        ops.append(
            self._event_op(
                "mo",
                account,
                None,
                {"mo_id": mo_id, "service_code": service_code, "unsubscribe": unsubscribed},
            )
        )
        await self.writer.write(ops)
        if unsubscribed:
            self.blacklist.add(account, source)
            log.info("event=unsubscribe account=%s number=%s", account, source)
        self.outbox.add([item])
        return {
            "mo_id": mo_id,
            "routed": True,
            "account": account,
            "outbox_id": item.id,
            "unsubscribed": unsubscribed,
        }

    # -- blacklist -------------------------------------------------------------------------------

    async def blacklist_add(self, account: str | None, number: str, reason: str = "admin") -> bool:
        if (account, number) in self.blacklist:
            return False
        await self.writer.write(
            [
                (
                    _INSERT_BLACKLIST,
                    {
                        "account": account or "",
                        "number": number,
                        "reason": reason,
                        "created_at": self.clock(),
                    },
                )
            ]
        )
        self.blacklist.add(account, number)
        return True

    async def blacklist_remove(self, account: str | None, number: str) -> bool:
        stmt = delete(blacklist_table).where(
            blacklist_table.c.account == (account or ""), blacklist_table.c.number == number
        )
        await self.writer.write([(stmt, {})])
        return self.blacklist.remove(account, number)

    # -- admin views --------------------------------------------------------------------------------

    async def message_view(self, message_id: str) -> dict[str, Any] | None:
        """A message's parts, state history (events) and receipts, for the admin API."""

        def run() -> dict[str, Any] | None:
            with self.engine.connect() as conn:
                parts = [
                    dict(r)
                    for r in conn.execute(
                        select(messages_table)
                        .where(messages_table.c.message_id == message_id)
                        .order_by(messages_table.c.id)
                    ).mappings()
                ]
                if not parts:
                    return None
                pks = [p["id"] for p in parts]
                # receipts from before migration 0003, then those that are outbox rows
                receipts = [
                    dict(r)
                    for r in conn.execute(
                        select(receipts_table)
                        .where(receipts_table.c.message_pk.in_(pks))
                        .order_by(receipts_table.c.id)
                    ).mappings()
                ]
                receipts += [
                    _receipt_view(r)
                    for r in conn.execute(
                        select(outbox_table)
                        .where(outbox_table.c.message_pk.in_(pks), outbox_table.c.kind == "receipt")
                        .order_by(outbox_table.c.id)
                    ).mappings()
                ]
                events = [
                    dict(r)
                    for r in conn.execute(
                        select(events_table)
                        .where(events_table.c.message_id == message_id)
                        .order_by(events_table.c.id)
                    ).mappings()
                ]
            return {"parts": parts, "receipts": receipts, "events": events}

        view = await self.loop.run_in_executor(None, run)
        if view is None:
            return None
        now = self.clock()
        for p in view["parts"]:
            p["effective_state"] = self.effective_state(p, now)
            p["body"] = p["body"].hex() if p["body"] is not None else None
        for e in view["events"]:
            e["detail"] = json.loads(e["detail"] or "{}")
        view["events"].insert(0, decision_event(view["parts"][0]))
        return view

    async def search_messages(
        self,
        *,
        account: str | None = None,
        destination: str | None = None,
        source: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            q = select(messages_table).order_by(messages_table.c.id.desc()).limit(limit)
            if account:
                q = q.where(messages_table.c.account == account)
            if destination:
                q = q.where(messages_table.c.destination == destination)
            if source:
                q = q.where(messages_table.c.source == source)
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(q).mappings()]

        rows = await self.loop.run_in_executor(None, run)
        now = self.clock()
        for r in rows:
            r["effective_state"] = self.effective_state(r, now)
            r.pop("body", None)
        return rows

    async def unrouted(self, limit: int = 100) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            q = (
                select(mo_table)
                .where(mo_table.c.account.is_(None))
                .order_by(mo_table.c.id.desc())
                .limit(limit)
            )
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(q).mappings()]

        return await self.loop.run_in_executor(None, run)

    async def totals(
        self, account: str, since: float, until: float, *, service_id: str | None = None
    ) -> dict[str, int]:
        """Counts for a period (CMPP QUERY): submitted, delivered, failed, still waiting.

        ``service_id`` narrows to messages submitted with that service code (kept in ``extra``).
        """

        def run() -> dict[str, int]:
            q = select(
                messages_table.c.outcome, messages_table.c.deliver_at, messages_table.c.extra
            ).where(
                messages_table.c.account == account,
                messages_table.c.submitted_at >= since,
                messages_table.c.submitted_at < until,
            )
            out = {"submitted": 0, "delivered": 0, "failed": 0, "waiting": 0}
            now = self.clock()
            with self.engine.connect() as conn:
                for outcome, deliver_at, extra in conn.execute(q):
                    if service_id is not None:
                        if (json.loads(extra) if extra else {}).get("service_id") != service_id:
                            continue
                    out["submitted"] += 1
                    if deliver_at > now:
                        out["waiting"] += 1
                    elif outcome == "DELIVRD":
                        out["delivered"] += 1
                    else:
                        out["failed"] += 1
            return out

        return await self.loop.run_in_executor(None, run)

    def stop(self) -> None:
        self.receipts.close()
        self.outbox.close()


def _receipt_view(row: Any) -> dict[str, Any]:
    """A receipt's outbox row in the shape of the former ``receipts`` rows, plus its delivery."""
    payload = json.loads(row["payload"])
    return {
        "id": row["id"],
        "message_pk": row["message_pk"],
        "state": payload.get("state"),
        "err": payload.get("err", 0),
        "stat": payload.get("stat", ""),
        "final": payload.get("final", True),
        "created_at": row["created_at"],
        "acknowledged_at": row["done_at"] if row["gave_up_at"] is None else None,
        "attempts": row["attempts"],
        "gave_up_at": row["gave_up_at"],
    }
