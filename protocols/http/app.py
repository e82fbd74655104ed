"""Assemble the vendor HTTP facade: one aiohttp app serving every vendor's documented paths.

vendor-apis.md §7.1: the vendors' paths do not collide, so one listener (``listeners.http``,
default 8080) serves them all; ``http.ports.<vendor>`` additionally serves one vendor alone
on its own port for clients whose base URL cannot carry a path. Unknown paths get 404 and
wrong methods 405 (transport errors); business errors are always HTTP 200 with the vendor's
own code in the body (§7.2).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from aiohttp import web

from protocols.http.common import CONTEXT, HttpContext
from protocols.http.push import PushManager

log = logging.getLogger("smsc.http")

VENDORS = ("zrwinfo", "juxiang", "caih", "chuangrui")
PUSHES: web.AppKey[PushManager] = web.AppKey("pushes", PushManager)


def _dialect(vendor: str) -> Any:
    return importlib.import_module(f"protocols.http.{vendor}")


def _counting(ctx: HttpContext) -> Any:
    """Count requests by route and HTTP status for /metrics (unknown paths as "other")."""
    counts = ctx.smsc.sends.http_requests

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "other"
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            key = (route, exc.status)
            counts[key] = counts.get(key, 0) + 1
            raise
        key = (route, response.status)
        counts[key] = counts.get(key, 0) + 1
        return response

    return count


def _vendor_app(ctx: HttpContext, vendors: tuple[str, ...]) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[_counting(ctx)])
    app[CONTEXT] = ctx
    for vendor in vendors:
        try:
            module = _dialect(vendor)
        except ModuleNotFoundError:
            log.info("event=vendor_skipped vendor=%s reason=not_implemented_yet", vendor)
            continue
        app.add_routes(module.routes(ctx))
    return app


def make_app(smsc: Any, config: Any, *, clock: Any = None) -> web.Application:
    """The app for ``listeners.http``: every vendor, plus the push manager's life cycle."""
    ctx = HttpContext(smsc, config) if clock is None else HttpContext(smsc, config, clock)
    app = _vendor_app(ctx, VENDORS)
    pushes = PushManager(ctx)
    app[PUSHES] = pushes

    async def started(_app: web.Application) -> None:
        pushes.sync()
        smsc.account_listeners.append(pushes.sync)

    async def cleanup(_app: web.Application) -> None:
        if pushes.sync in smsc.account_listeners:
            smsc.account_listeners.remove(pushes.sync)
        await pushes.close()

    app.on_startup.append(started)
    app.on_cleanup.append(cleanup)
    return app


def vendor_apps(app: web.Application) -> list[tuple[str, int, web.Application]]:
    """(vendor, port, app) for each vendor configured on its own port."""
    ctx = app[CONTEXT]
    out = []
    for vendor in VENDORS:
        port = getattr(ctx.http.ports, vendor)
        if port:
            out.append((vendor, port, _vendor_app(ctx, (vendor,))))
    return out
