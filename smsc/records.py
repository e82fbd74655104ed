"""Records an operator reads: messages, MO, vendor batches, the outbox, the event log.

Read-only queries for the admin side, run on the default executor so the loop never blocks.
They live here rather than in the admin handlers so the admin layer only translates HTTP,
and so every query shares one runner and one way to decode JSON columns.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Select, select

from storage.schema import batches as batches_table
from storage.schema import events as events_table
from storage.schema import messages as messages_table
from storage.schema import mo as mo_table
from storage.schema import outbox as outbox_table

PUSH_STATES = ("pending", "done", "gave_up")


def loads(text: str | None) -> Any:
    """A JSON column as data; text that is not JSON is returned as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _newest(table: Any, limit: int, **equal: Any) -> Select[Any]:
    """SELECT … ORDER BY id DESC LIMIT n, with ``column == value`` for every value given."""
    stmt = select(table).order_by(table.c.id.desc()).limit(limit)
    for name, value in equal.items():
        if value is not None and value != "":
            stmt = stmt.where(table.c[name] == value)
    return stmt


def _between(stmt: Select[Any], column: Any, since: float | None, until: float | None) -> Any:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


class Records:
    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop

    async def _rows(self, stmt: Any) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            with self._engine.connect() as conn:
                return [dict(r) for r in conn.execute(stmt).mappings()]

        return await self._loop.run_in_executor(None, run)

    async def messages(
        self,
        *,
        account: str | None = None,
        destination: str | None = None,
        source: str | None = None,
        since: float | None = None,
        until: float | None = None,
        sign: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Single records (单条记录); ``sign`` matches the 【signature】 in the text."""
        stmt = _newest(
            messages_table, limit, account=account, destination=destination, source=source
        )
        stmt = _between(stmt, messages_table.c.submitted_at, since, until)
        if sign:
            stmt = stmt.where(messages_table.c.text.contains(f"【{sign}】", autoescape=True))
        return await self._rows(stmt)

    async def mo(
        self,
        *,
        account: str | None = None,
        source: str | None = None,
        destinations: list[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """MO replies (短信回复), newest first."""
        stmt = _newest(mo_table, limit, account=account, source=source)
        if destinations is not None:
            stmt = stmt.where(mo_table.c.destination.in_(destinations))
        return await self._rows(_between(stmt, mo_table.c.received_at, since, until))

    async def batches(
        self,
        account: str | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
        vendor: str | None = None,
        batch_id: str | None = None,
        held: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Batch records (批次记录): one row per accepted vendor API call."""
        stmt = _newest(batches_table, limit, account=account, vendor=vendor, batch_id=batch_id)
        stmt = _between(stmt, batches_table.c.created_at, since, until)
        if held:  # sent for manual review (the flag is in extra; few rows carry it)
            stmt = stmt.where(batches_table.c.extra.contains('"held": true'))
        return await self._rows(stmt)

    async def batch(self, batch_id: str, account: str | None = None) -> dict[str, Any] | None:
        rows = await self.batches(account, batch_id=batch_id, limit=1)
        return rows[0] if rows else None

    async def batch_messages(self, batch: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The messages of one batch: by id when they share it, else by the batch in ``extra``."""
        m = messages_table.c
        bid, account = batch["batch_id"], batch["account"]
        found = {
            r["id"]: r
            for r in await self._rows(
                select(messages_table).where(m.message_id == bid, m.account == account)
            )
        }
        if len(found) < batch["accepted"]:  # per-message ids (zrwinfo smUuid)
            stmt = select(messages_table).where(
                m.account == account,
                m.submitted_at >= batch["created_at"],
                m.extra.contains(f'"batch": {json.dumps(bid)}', autoescape=True),
            )
            for r in await self._rows(stmt):
                extra = loads(r["extra"])
                if isinstance(extra, dict) and extra.get("batch") == bid:
                    found[r["id"]] = r
        return [found[k] for k in sorted(found)]

    async def outbox(
        self,
        *,
        account: str | None = None,
        kind: str | None = None,
        protocol: str | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Receipts, MO and pushes owed: pending, done or given up (payload decoded)."""
        c = outbox_table.c
        stmt = _newest(outbox_table, limit, account=account, kind=kind, protocol=protocol)
        if state == "pending":
            stmt = stmt.where(c.done_at.is_(None))
        elif state == "done":
            stmt = stmt.where(c.done_at.is_not(None), c.gave_up_at.is_(None))
        elif state == "gave_up":
            stmt = stmt.where(c.gave_up_at.is_not(None))
        rows = await self._rows(stmt)
        for r in rows:
            r["payload"] = loads(r["payload"])
            r["state"] = (
                "gave_up" if r["gave_up_at"] is not None else "done" if r["done_at"] else "pending"
            )
        return rows

    async def events(
        self, *, account: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The event log (cancels, MO, balance changes, alerts, reviews), detail decoded."""
        rows = await self._rows(_newest(events_table, limit, account=account, kind=kind))
        for r in rows:
            r["detail"] = loads(r["detail"])
        return rows
