"""The admin HTTP API (port 8081): health, metrics, accounts, binds, messages, MO, blacklist, rules.

Handlers only translate HTTP to core calls; every state change goes through ``Smsc`` so the
database stays the one source of truth.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from admin.metrics import render
from smsc.core import Smsc
from smsc.errors import ConfigError
from smsc.rules import carrier_to_dict, parse_rules, rules_to_dict
from storage.db import check as storage_check

log = logging.getLogger("smsc.admin")

SMSC: web.AppKey[Smsc] = web.AppKey("smsc", Smsc)
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str, ensure_ascii=False)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": message, **extra}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except Exception:  # noqa: BLE001 - any decoding problem is the client's
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return data


async def health(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, storage_check, smsc.engine), 5)
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy
        return _json({"status": "unhealthy", "storage": repr(exc)}, status=503)
    if not smsc.writer.healthy:
        return _json({"status": "unhealthy", "storage": smsc.writer.last_error}, status=503)
    return _json({"status": "ok", "storage": "ok", "binds": len(smsc.binds.all())})


async def metrics(request: web.Request) -> web.Response:
    body = render(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# -- accounts ------------------------------------------------------------------------------------


async def accounts_list(request: web.Request) -> web.Response:
    return _json([a.public() for a in request.app[SMSC].accounts.all()])


async def account_show(request: web.Request) -> web.Response:
    acc = request.app[SMSC].accounts.get(request.match_info["name"])
    if acc is None:
        return _error(404, "no such account")
    data = acc.public()
    data["binds"] = [b.info() for b in request.app[SMSC].binds.of(acc.name)]
    data["outbox_depth"] = request.app[SMSC].outbox.depth(acc.name)
    return _json(data)


async def account_put(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    spec = await _body(request)
    name = request.match_info.get("name") or spec.get("name")
    if not name:
        return _error(400, "name is required")
    spec["name"] = name
    loop = asyncio.get_running_loop()
    try:
        acc, created = await loop.run_in_executor(None, smsc.accounts.upsert, spec)
    except ConfigError as exc:
        return _error(400, exc.message, key=exc.key)
    await smsc.accounts_changed()
    log.info("event=account_%s account=%s", "created" if created else "updated", name)
    return _json(acc.public(), status=201 if created else 200)


async def account_disable(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    name = request.match_info["name"]
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, smsc.accounts.set_enabled, name, False):
        return _error(404, "no such account")
    for bind in smsc.binds.of(name):
        bind.close("account disabled")
    return _json({"name": name, "enabled": False})


# -- binds, messages, MO -------------------------------------------------------------------------------


async def binds_list(request: web.Request) -> web.Response:
    return _json([b.info() for b in request.app[SMSC].binds.all()])


async def messages_search(request: web.Request) -> web.Response:
    q = request.query
    try:
        limit = min(int(q.get("limit", "100")), 1000)
    except ValueError:
        return _error(400, "limit must be an integer")
    rows = await request.app[SMSC].search_messages(
        account=q.get("account"),
        destination=q.get("destination"),
        source=q.get("source"),
        limit=limit,
    )
    return _json(rows)


async def message_show(request: web.Request) -> web.Response:
    view = await request.app[SMSC].message_view(request.match_info["message_id"])
    if view is None:
        return _error(404, "no such message")
    return _json({"message_id": request.match_info["message_id"], **view})


async def mo_inject(request: web.Request) -> web.Response:
    data = await _body(request)
    missing = [
        k for k in ("from", "to", "text") if not isinstance(data.get(k), str) or not data.get(k)
    ]
    if missing:
        return _error(400, f"missing or empty string field(s): {', '.join(missing)}")
    coding = data.get("coding", "auto")
    if coding not in ("auto", "gsm7", "ucs2"):
        return _error(400, "coding must be auto, gsm7 or ucs2")
    account = data.get("account")
    smsc = request.app[SMSC]
    if account is not None and smsc.accounts.get(account) is None:
        return _error(400, f"no such account {account!r}")
    result = await smsc.inject_mo(
        data["from"], data["to"], data["text"], coding=coding, account=account
    )
    return _json(result, status=201 if result["routed"] else 202)


async def mo_unrouted(request: web.Request) -> web.Response:
    return _json(await request.app[SMSC].unrouted())


# -- blacklist ---------------------------------------------------------------------------------------


async def blacklist_list(request: web.Request) -> web.Response:
    return _json([{"account": e.account, "number": e.number} for e in request.app[SMSC].blacklist])


async def blacklist_add(request: web.Request) -> web.Response:
    data = await _body(request)
    if not isinstance(data.get("number"), str) or not data["number"]:
        return _error(400, "number is required")
    added = await request.app[SMSC].blacklist_add(
        data.get("account"), data["number"], data.get("reason", "admin")
    )
    return _json({"added": added}, status=201 if added else 200)


async def blacklist_remove(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    removed = await request.app[SMSC].blacklist_remove(request.query.get("account"), number)
    return _json({"removed": removed}, status=200 if removed else 404)


# -- carrier rules -----------------------------------------------------------------------------------


async def carrier_show(request: web.Request) -> web.Response:
    return _json(carrier_to_dict(request.app[SMSC].carrier.config))


async def rules_replace(request: web.Request) -> web.Response:
    try:
        data = await request.json()
    except Exception:  # noqa: BLE001
        return _error(400, 'body must be a JSON array of rules (or {"rules": [...]})')
    raw = data.get("rules") if isinstance(data, dict) else data
    try:
        rules = parse_rules(raw, "rules")
    except ConfigError as exc:
        return _error(400, exc.message, key=exc.key)
    request.app[SMSC].carrier.replace_rules(rules)
    log.info("event=rules_replaced count=%d", len(rules))
    return _json({"rules": rules_to_dict(rules)})


async def stats(request: web.Request) -> web.Response:
    s = request.app[SMSC]
    return _json(
        {
            "submitted": s.submitted,
            "binds": len(s.binds.all()),
            "outbox_depth": s.outbox.depth(),
            "outbox_inflight": s.outbox.inflight,
            "outbox_delivered": s.outbox.delivered,
            "receipts_pending": len(s.receipts),
            "receipts_generated": s.receipts.generated,
            "unrouted_mo": s.unrouted_mo,
            "commits": s.writer.commits,
            "rows_written": s.writer.rows,
        }
    )


def make_app(smsc: Smsc, registry: CollectorRegistry) -> web.Application:
    app = web.Application()
    app[SMSC] = smsc
    app[REGISTRY] = registry
    app.add_routes(
        [
            web.get("/health", health),
            web.get("/metrics", metrics),
            web.get("/api/stats", stats),
            web.get("/api/accounts", accounts_list),
            web.post("/api/accounts", account_put),
            web.get("/api/accounts/{name}", account_show),
            web.put("/api/accounts/{name}", account_put),
            web.post("/api/accounts/{name}/disable", account_disable),
            web.get("/api/binds", binds_list),
            web.get("/api/messages", messages_search),
            web.get("/api/messages/{message_id}", message_show),
            web.post("/api/mo", mo_inject),
            web.get("/api/mo/unrouted", mo_unrouted),
            web.get("/api/blacklist", blacklist_list),
            web.post("/api/blacklist", blacklist_add),
            web.delete("/api/blacklist/{number}", blacklist_remove),
            web.get("/api/carrier", carrier_show),
            web.put("/api/carrier/rules", rules_replace),
        ]
    )
    return app
