"""Status-report and MO pushes to customers' URLs, through the durable outbox.

Each account with a ``report_url`` or ``mo_url`` gets one :class:`PushBind`: a receiver in
the core's bind registry like an SMPP bind, except that it is a *fallback* (an MO leaves by
HTTP only when the account has no bind that takes MO) and that it delivers by HTTP. The
outbox row is committed before the push and marked done only after the customer's
acknowledgement (vendor-specific: HTTP 200, or Juxiang's body ``0``), so pushes are
at-least-once across restarts. Failures are retried on the schedule of
``http.push_retry_s`` (vendor-apis.md §7.10: 1, 5, 15 minutes), then given up and marked.

Dialects that merge (Chuangrui: same sendid and state; MO batches) collect items for
``http.merge_window_s`` and push them as one request; the request's outcome applies to all.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from protocols.http.common import HttpContext
from smsc.accounts import HTTP_VENDORS, Account
from smsc.model import OutboxItem

log = logging.getLogger("smsc.http.push")

MAX_BUFFERED = 10_000  # items held in merge windows per account before the outbox waits


@dataclass(slots=True)
class PushRequest:
    """One HTTP request a dialect wants made, and how to tell it was accepted."""

    url: str
    method: str = "POST"
    params: dict[str, str] | None = None  # query string
    data: dict[str, str] | bytes | None = None  # form body (dict) or raw body
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    ok: Callable[[int, bytes], bool] = lambda status, body: status == 200


def dialect_module(vendor: str) -> Any:
    return importlib.import_module(f"protocols.http.{vendor}")


def mo_dialect(account: Account) -> str | None:
    chosen = account.callbacks.get("dialect") or ""
    if chosen:
        return chosen
    for vendor in HTTP_VENDORS:
        if vendor in account.http:
            return vendor
    return None


class PushBind:
    """The core's view of an account's push URLs (implements ``smsc.binds.Bind``)."""

    protocol = "http"
    receives = True
    fallback = True

    def __init__(self, ctx: HttpContext, account: str, session: aiohttp.ClientSession) -> None:
        self.ctx = ctx
        self.account = account
        self.bind_id = f"http-push:{account}"
        self._session = session
        self._requests = 0  # HTTP requests in flight
        self._buffered = 0  # items waiting in merge windows
        self._pending: dict[tuple[Any, ...], list[OutboxItem]] = {}
        self._timers: dict[tuple[Any, ...], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.pushed = 0
        self.failures = 0

    @property
    def acc(self) -> Account | None:
        return self.ctx.smsc.accounts.get(self.account)

    # -- Bind ----------------------------------------------------------------------------------

    def takes(self, kind: str) -> bool:
        acc = self.acc
        if acc is None:
            return False
        if kind == "receipt":
            return bool(acc.callbacks.get("report_url"))
        if kind == "mo":
            return bool(acc.callbacks.get("mo_url")) and mo_dialect(acc) is not None
        return False

    def capacity(self) -> int:
        # Merged items wait in their window without a request of their own, so a send of
        # 1,000 numbers becomes a few pushes, not 1,000/concurrency rounds.
        if self._requests >= self.ctx.http.push_concurrency or self._buffered >= MAX_BUFFERED:
            return 0
        return 1  # the outbox asks again before each item

    def info(self) -> dict[str, Any]:
        acc = self.acc
        return {
            "bind_id": self.bind_id,
            "account": self.account,
            "protocol": "http",
            "type": "push",
            "report_url": acc.callbacks.get("report_url") if acc else None,
            "mo_url": acc.callbacks.get("mo_url") if acc else None,
            "requests": self._requests,
            "buffered": self._buffered,
            "pushed": self.pushed,
            "failures": self.failures,
        }

    def close(self, reason: str) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    def send_item(self, item: OutboxItem) -> None:
        acc = self.acc
        if acc is None:
            raise RuntimeError(f"account {self.account} is gone")
        vendor = self._vendor(acc, item)
        module = dialect_module(vendor)
        window = self.ctx.http.merge_window_s
        merge_key = getattr(module, "merge_key", None)
        key = merge_key(item) if merge_key is not None and window > 0 else None
        if key is None:
            self._start(acc, vendor, [item])
            return
        key = (vendor, item.kind, *key)
        group = self._pending.setdefault(key, [])
        group.append(item)
        self._buffered += 1
        if key not in self._timers:
            self._timers[key] = self.ctx.smsc.loop.call_later(window, self._flush, key)

    # -- delivery --------------------------------------------------------------------------------

    def _vendor(self, acc: Account, item: OutboxItem) -> str:
        if item.kind == "receipt":
            vendor = (item.payload.get("extra") or {}).get("vendor")
            if vendor:
                return str(vendor)
        vendor = mo_dialect(acc)
        if vendor is None:
            raise RuntimeError(f"account {acc.name} has no vendor dialect for pushes")
        return vendor

    def _flush(self, key: tuple[Any, ...]) -> None:
        self._timers.pop(key, None)
        items = self._pending.pop(key, [])
        self._buffered -= len(items)
        acc = self.acc
        if not items:
            return
        if acc is None:
            self._settle_all(items, False, "account is gone")
            return
        self._start(acc, key[0], items)

    def _start(self, acc: Account, vendor: str, items: list[OutboxItem]) -> None:
        self._requests += 1
        task = self.ctx.smsc.loop.create_task(self._push(acc, vendor, items))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, acc: Account, vendor: str, items: list[OutboxItem]) -> None:
        module = dialect_module(vendor)
        kind = items[0].kind
        try:
            if kind == "receipt":
                req: PushRequest = module.render_report(self.ctx, acc, items)
                req.url = req.url or acc.callbacks.get("report_url", "")
            else:
                req = module.render_mo(self.ctx, acc, items)
                req.url = req.url or acc.callbacks.get("mo_url", "")
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not lose the items
            log.exception("event=push_render_failed account=%s vendor=%s", acc.name, vendor)
            self._requests -= 1
            self._settle_all(items, False, f"render failed: {exc!r}")
            return
        ok, reason = await self._request(req)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "event=push account=%s vendor=%s kind=%s items=%d url=%s ok=%s%s",
            acc.name,
            vendor,
            kind,
            len(items),
            req.url,
            ok,
            "" if ok else f" reason={reason!r}",
        )
        self._requests -= 1
        self._settle_all(items, ok, reason)

    async def _request(self, req: PushRequest) -> tuple[bool, str]:
        timeout = aiohttp.ClientTimeout(total=self.ctx.http.push_timeout_s)
        try:
            async with self._session.request(
                req.method,
                req.url,
                params=req.params,
                data=req.data,
                json=req.json,
                headers=req.headers,
                timeout=timeout,
            ) as resp:
                body = await resp.read()
                if req.ok(resp.status, body):
                    return True, ""
                return False, f"HTTP {resp.status} body={body[:100]!r}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure is a failed push
            return False, repr(exc)

    def _settle_all(self, items: list[OutboxItem], ok: bool, reason: str) -> None:
        outbox = self.ctx.smsc.outbox
        if ok:
            self.pushed += 1
            for item in items:
                outbox.acked(item.id)
            return
        self.failures += 1
        retries = self.ctx.http.push_retry_s
        for item in items:
            if item.attempts < len(retries):
                outbox.failed(item.id, reason, delay=retries[item.attempts], record=True)
            else:
                outbox.give_up(item.id, reason)


class PushManager:
    """Keeps one PushBind registered per account that has callback URLs."""

    def __init__(self, ctx: HttpContext) -> None:
        self.ctx = ctx
        self._session: aiohttp.ClientSession | None = None
        self.binds: dict[str, PushBind] = {}

    def sync(self) -> None:
        """Register binds for accounts with callbacks, drop the others (after account changes)."""
        smsc = self.ctx.smsc
        if self._session is None:
            self._session = aiohttp.ClientSession()
        wanted = {
            a.name
            for a in smsc.accounts.all()
            if a.callbacks.get("report_url") or a.callbacks.get("mo_url")
        }
        for name in list(self.binds):
            if name not in wanted:
                bind = self.binds.pop(name)
                smsc.bind_closed(bind)
                bind.close("callbacks removed")
        for name in wanted:
            if name not in self.binds:
                bind = self.binds[name] = PushBind(self.ctx, name, self._session)
                smsc.bind_opened(bind)
            else:
                smsc.outbox.pump(name)  # URLs may have changed: try what waits

    async def close(self) -> None:
        for bind in self.binds.values():
            bind.close("shutdown")
        if self._session is not None:
            await self._session.close()
