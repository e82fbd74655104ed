"""The admin HTTP API (port 8081): health, metrics, accounts, binds, messages, MO, blacklist, rules.

Handlers only translate HTTP to core calls; every state change goes through ``Smsc`` so the
database stays the one source of truth. The vendor side's console features (vendor-apis.md
§1.8, §5.3, §7.11-12) are here too: signature and template review, balance top-ups, push URLs
and IP whitelists, send records (batches), MO replies and the push log. ``admin.openapi``
describes every route; a test keeps the two in step.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from admin.metrics import render
from admin.openapi import SPEC as OPENAPI
from smsc import routing
from smsc.accounts import Account
from smsc.catalogue import KINDS, CatalogueError
from smsc.core import Smsc
from smsc.errors import ConfigError
from smsc.records import PUSH_STATES, loads
from smsc.rules import carrier_to_dict, parse_rules, rules_to_dict
from storage.db import check as storage_check

log = logging.getLogger("smsc.admin")

SMSC: web.AppKey[Smsc] = web.AppKey("smsc", Smsc)
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)

MAX_LIMIT = 1000
MAX_BALANCE = 2**62  # the column is a BIGINT; larger numbers would fail in storage


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str, ensure_ascii=False)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": message, **extra}, status=status)


async def _json_body(request: web.Request) -> Any:
    """The JSON body, or None when it is not JSON or holds text storage cannot keep."""
    try:
        data = await request.json()
        # "\ud800" is valid JSON but no UTF-8: refuse it here, not in the database
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except Exception:  # noqa: BLE001 - any decoding problem is the client's
        return None
    return data


async def _body(request: web.Request) -> dict[str, Any]:
    data = await _json_body(request)
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return data


async def _optional_body(request: web.Request) -> dict[str, Any]:
    """A JSON object if one was sent, else {} (approve needs no body)."""
    if not request.can_read_body or not await request.read():
        return {}
    return await _body(request)


def _raise(status: int, message: str) -> web.HTTPException:
    cls = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return cls(text=_dumps({"error": message}), content_type="application/json")


def _account(request: web.Request) -> Account:
    acc = request.app[SMSC].accounts.get(request.match_info["name"])
    if acc is None:
        raise _raise(404, "no such account")
    return acc


def _limit(query: Mapping[str, str], default: int = 100) -> int:
    try:
        limit = int(query.get("limit", str(default)))
    except ValueError:
        raise _raise(400, "limit must be an integer") from None
    if limit < 1:
        raise _raise(400, "limit must be >= 1")
    return min(limit, MAX_LIMIT)


def _epoch(query: Mapping[str, str], key: str) -> float | None:
    """A time filter: epoch seconds (the unit of every stored timestamp)."""
    text = query.get(key)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _raise(400, f"{key} must be epoch seconds") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _raise(400, f"{key} must be epoch seconds")
    return value


def _choice(query: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str | None:
    value = query.get(key) or None
    if value is not None and value not in choices:
        raise _raise(400, f"{key} must be one of {', '.join(choices)}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _message_out(smsc: Smsc, row: dict[str, Any], now: float) -> dict[str, Any]:
    row["effective_state"] = smsc.effective_state(row, now)
    row.pop("body", None)
    row["extra"] = loads(row.get("extra"))
    return row


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


async def _upsert(
    request: web.Request, name: str, change: dict[str, Any], event: str
) -> web.Response:
    """Store one settings change and let listeners (HTTP push binds) follow it."""
    smsc = request.app[SMSC]
    loop = asyncio.get_running_loop()
    try:
        acc, _created = await loop.run_in_executor(
            None, smsc.accounts.upsert, {"name": name, **change}
        )
    except ConfigError as exc:
        log.info("event=%s_refused account=%s key=%s reason=%s", event, name, exc.key, exc.message)
        return _error(400, exc.message, key=exc.key)
    await smsc.accounts_changed()
    log.info("event=%s account=%s", event, name)
    return _json(acc.public())


async def account_balance(request: web.Request) -> web.Response:
    """Top up (``{"add": n}``, n may be negative) or set (``{"set": n|null}``) a balance."""
    smsc = request.app[SMSC]
    acc = _account(request)
    data = await _body(request)
    if ("add" in data) == ("set" in data):
        return _error(400, 'give exactly one of "add" or "set"')
    old = acc.balance
    new: int | None
    if "add" in data:
        n = data["add"]
        if not _is_int(n):
            return _error(400, "add must be an integer")
        if old is None:
            return _error(400, 'the balance is unlimited; use "set" to give it a number')
        if old + n < 0:
            return _error(400, f"the balance would fall below 0 ({old} {n:+d})")
        new = old + n
    else:
        new = data["set"]
        if new is not None and (not _is_int(new) or new < 0):
            return _error(400, "set must be an integer >= 0, or null for unlimited")
    if new is not None and new > MAX_BALANCE:
        return _error(400, f"the balance may be at most {MAX_BALANCE}")
    try:
        await smsc.change_balance(acc, new)
    except Exception as exc:  # noqa: BLE001 - storage down: the core undid it; say so
        log.error("event=balance_store_failed account=%s error=%r", acc.name, exc)
        return _error(503, "could not store the balance", detail=repr(exc))
    return _json({"name": acc.name, "balance": acc.balance})


async def account_callbacks(request: web.Request) -> web.Response:
    """Replace the push URLs; the account's HTTP push bind appears or goes with them."""
    acc = _account(request)
    data = await _body(request)
    callbacks = {"report_url": "", "mo_url": "", "dialect": "", **data}
    return await _upsert(request, acc.name, {"callbacks": callbacks}, "callbacks_changed")


async def account_ip_whitelist(request: web.Request) -> web.Response:
    acc = _account(request)
    data = await _json_body(request)
    if isinstance(data, dict):
        data = data.get("ip_whitelist")
    if not isinstance(data, list):
        return _error(
            400, 'body must be a JSON array of addresses or networks (or {"ip_whitelist": [...]})'
        )
    return await _upsert(request, acc.name, {"ip_whitelist": data}, "ip_whitelist_changed")


# -- signatures and templates (review workflow) ---------------------------------------------


def _review_status(acc: Account) -> str:
    return "approved" if acc.review == "auto" else "pending"


def _sid(request: web.Request) -> int:
    text = request.match_info["sid"]
    if not text.isdigit():
        raise _raise(404, "no such signature")
    return int(text)


def _str_field(
    data: Mapping[str, Any], key: str, default: str | None = None, max_len: int | None = None
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise _raise(400, f"{key} is required" if default is None else f"{key} must be a string")
    if max_len is not None and len(value) > max_len:
        raise _raise(400, f"{key} must be at most {max_len} characters")
    return value


def _refused(what: str, acc: Account, exc: CatalogueError) -> web.Response:
    log.info("event=%s_refused account=%s reason=%s", what, acc.name, exc)
    return _error(400, str(exc))


async def signatures_list(request: web.Request) -> web.Response:
    acc = _account(request)
    return _json([s.public() for s in request.app[SMSC].catalogue.signatures(acc.name)])


async def signature_add(request: web.Request) -> web.Response:
    acc = _account(request)
    data = await _body(request)
    text = _str_field(data, "text")
    source = _str_field(data, "source", "", max_len=64)
    scenario = _str_field(data, "scenario", "general")
    try:
        sig = await request.app[SMSC].catalogue.add_signature(
            acc.name, text, status=_review_status(acc), source=source, scenario=scenario
        )
    except CatalogueError as exc:
        return _refused("signature", acc, exc)
    log.info("event=signature_added account=%s id=%d status=%s", acc.name, sig.id, sig.status)
    return _json(sig.public(), status=201)


async def _review_signature(request: web.Request, status: str, reason: str) -> web.Response:
    acc = _account(request)
    try:
        sig = await request.app[SMSC].catalogue.review_signature(
            acc.name, _sid(request), status, reason
        )
    except CatalogueError as exc:
        return _refused("signature_review", acc, exc)
    if sig is None:
        return _error(404, "no such signature")
    log.info("event=signature_%s account=%s id=%d", status, acc.name, sig.id)
    return _json(sig.public())


async def signature_approve(request: web.Request) -> web.Response:
    data = await _optional_body(request)
    return await _review_signature(request, "approved", _str_field(data, "reason", ""))


async def signature_reject(request: web.Request) -> web.Response:
    data = await _optional_body(request)
    return await _review_signature(request, "rejected", _str_field(data, "reason"))


async def signature_cancel(request: web.Request) -> web.Response:
    """注销 (vendor-apis §5.2): a cancelled signature no longer sends; approve reactivates it."""
    data = await _optional_body(request)
    return await _review_signature(request, "cancelled", _str_field(data, "reason", ""))


async def signature_delete(request: web.Request) -> web.Response:
    acc = _account(request)
    if not await request.app[SMSC].catalogue.delete_signature(acc.name, _sid(request)):
        return _error(404, "no such signature")
    log.info("event=signature_deleted account=%s id=%s", acc.name, request.match_info["sid"])
    return _json({"deleted": True})


async def templates_list(request: web.Request) -> web.Response:
    acc = _account(request)
    return _json([t.public() for t in request.app[SMSC].catalogue.templates(acc.name)])


async def template_add(request: web.Request) -> web.Response:
    acc = _account(request)
    data = await _body(request)
    text = _str_field(data, "text")
    kind = _str_field(data, "kind", "general")
    tid = data.get("id")
    if tid is not None and (
        not isinstance(tid, str) or not 1 <= len(tid) <= 32 or "/" in tid or tid != tid.strip()
    ):
        return _error(400, "id must be 1..32 characters without / or surrounding blanks")
    try:
        tpl = await request.app[SMSC].catalogue.add_template(
            acc.name, text, kind, template_id=tid, status=_review_status(acc)
        )
    except CatalogueError as exc:
        return _refused("template", acc, exc)
    log.info(
        "event=template_added account=%s id=%s status=%s", acc.name, tpl.template_id, tpl.status
    )
    return _json(tpl.public(), status=201)


async def template_edit(request: web.Request) -> web.Response:
    """A new text (and kind) sends the template back to review, as the vendors' consoles do."""
    acc = _account(request)
    data = await _body(request)
    text = _str_field(data, "text")
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        return _error(400, f"kind must be one of {', '.join(KINDS)}")
    tid = request.match_info["tid"]
    try:
        tpl = await request.app[SMSC].catalogue.edit_template(acc.name, tid, text, kind)
    except CatalogueError as exc:
        return _refused("template", acc, exc)
    if tpl is None:
        return _error(404, "no such template")
    log.info("event=template_edited account=%s id=%s", acc.name, tid)
    return _json(tpl.public())


async def _review_template(request: web.Request, status: str, reason: str) -> web.Response:
    acc = _account(request)
    tid = request.match_info["tid"]
    try:
        tpl = await request.app[SMSC].catalogue.review_template(acc.name, tid, status, reason)
    except CatalogueError as exc:
        return _refused("template_review", acc, exc)
    if tpl is None:
        return _error(404, "no such template")
    log.info("event=template_%s account=%s id=%s", status, acc.name, tid)
    return _json(tpl.public())


async def template_approve(request: web.Request) -> web.Response:
    data = await _optional_body(request)
    return await _review_template(request, "approved", _str_field(data, "reason", ""))


async def template_reject(request: web.Request) -> web.Response:
    data = await _optional_body(request)
    return await _review_template(request, "rejected", _str_field(data, "reason"))


async def template_delete(request: web.Request) -> web.Response:
    acc = _account(request)
    tid = request.match_info["tid"]
    if not await request.app[SMSC].catalogue.delete_template(acc.name, tid):
        return _error(404, "no such template")
    log.info("event=template_deleted account=%s id=%s", acc.name, tid)
    return _json({"deleted": True})


# -- binds, messages, MO -------------------------------------------------------------------------------


async def binds_list(request: web.Request) -> web.Response:
    return _json([b.info() for b in request.app[SMSC].binds.all()])


async def messages_search(request: web.Request) -> web.Response:
    """Single records (单条记录): by account, number, time and signature."""
    q = request.query
    smsc = request.app[SMSC]
    rows = await smsc.records.messages(
        account=q.get("account") or None,
        destination=q.get("destination") or None,
        source=q.get("source") or None,
        since=_epoch(q, "since"),
        until=_epoch(q, "until"),
        sign=(q.get("sign") or "").strip("【】[] ") or None,
        limit=_limit(q),
    )
    now = smsc.clock()
    return _json([_message_out(smsc, r, now) for r in rows])


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


def _extension(smsc: Smsc, row: Mapping[str, Any]) -> str | None:
    """What follows the account's (longest) service code in an MO's destination."""
    acc = smsc.accounts.get(row["account"]) if row["account"] else None
    destination = row["destination"]
    if acc is None or not any(destination.startswith(c) for c in acc.service_codes):
        return None
    return routing.extension(acc.service_codes, destination)


async def mo_list(request: web.Request) -> web.Response:
    """MO replies (短信回复): by account, sender mobile, extension number and time."""
    q = request.query
    smsc = request.app[SMSC]
    account = q.get("account") or None
    extension = q.get("extension")
    destinations: list[str] | None = None
    if extension:
        if not extension.isdigit():
            return _error(400, "extension must be digits")
        owners = [smsc.accounts.get(account)] if account else smsc.accounts.all()
        destinations = [c + extension for a in owners if a for c in a.service_codes]
    rows = await smsc.records.mo(
        account=account,
        source=q.get("source") or None,
        destinations=destinations,
        since=_epoch(q, "since"),
        until=_epoch(q, "until"),
        limit=_limit(q),
    )
    for r in rows:
        r["extension"] = _extension(smsc, r)
    return _json(rows)


# -- send records (batches) and the push log ---------------------------------------------------


def _batch_out(row: dict[str, Any]) -> dict[str, Any]:
    row["extra"] = loads(row.get("extra"))
    return row


async def batches_list(request: web.Request) -> web.Response:
    """Batch records (批次记录): one row per accepted vendor API call."""
    q = request.query
    rows = await request.app[SMSC].records.batches(
        q.get("account") or None,
        since=_epoch(q, "since"),
        until=_epoch(q, "until"),
        vendor=q.get("vendor") or None,
        batch_id=q.get("batch_id") or None,
        held=q.get("held") in ("1", "true"),
        limit=_limit(q),
    )
    return _json([_batch_out(r) for r in rows])


async def _batch(request: web.Request) -> dict[str, Any]:
    batch = await request.app[SMSC].records.batch(
        request.match_info["batch_id"], request.query.get("account") or None
    )
    if batch is None:
        raise _raise(404, "no such batch")
    return batch


async def batch_show(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    batch = _batch_out(await _batch(request))
    messages = await smsc.records.batch_messages(batch)
    now = smsc.clock()
    batch["messages"] = [_message_out(smsc, r, now) for r in messages]
    return _json(batch)


async def batch_cancel(request: web.Request) -> web.Response:
    """Cancel what is not delivered yet of a batch (a scheduled send) and refund it."""
    batch = await _batch(request)
    cancelled, refunded = await request.app[SMSC].sends.cancel_batch(batch)
    return _json({"batch_id": batch["batch_id"], "cancelled": cancelled, "refunded": refunded})


async def _batch_review(request: web.Request, approve: bool) -> web.Response:
    """A reviewer's decision on a batch held for manual review (Chuangrui 人工审核)."""
    data = await _optional_body(request)
    reason = data.get("reason", "")
    if not isinstance(reason, str) or (not approve and not reason.strip()):
        return _error(400, "reason is required" if not approve else "reason must be a string")
    batch = await _batch(request)
    released, refunded = await request.app[SMSC].sends.review_batch(batch, approve, reason)
    return _json({"batch_id": batch["batch_id"], "released": released, "refunded": refunded})


async def batch_approve(request: web.Request) -> web.Response:
    return await _batch_review(request, True)


async def batch_reject(request: web.Request) -> web.Response:
    return await _batch_review(request, False)


async def pushes_list(request: web.Request) -> web.Response:
    """The outbox: status reports and MO waiting, delivered or given up (HTTP pushes and binds)."""
    q = request.query
    rows = await request.app[SMSC].records.outbox(
        account=q.get("account") or None,
        kind=_choice(q, "kind", ("receipt", "mo")),
        protocol=q.get("protocol") or None,
        state=_choice(q, "state", PUSH_STATES),
        limit=_limit(q),
    )
    return _json(rows)


async def events_list(request: web.Request) -> web.Response:
    """The event log (cancels, MO, balance changes, low-balance alerts, reviews)."""
    q = request.query
    rows = await request.app[SMSC].records.events(
        account=q.get("account") or None, kind=q.get("kind") or None, limit=_limit(q)
    )
    return _json(rows)


# -- blacklist ---------------------------------------------------------------------------------------


async def blacklist_list(request: web.Request) -> web.Response:
    account = request.query.get("account")
    entries = request.app[SMSC].blacklist
    return _json(
        [
            {"account": e.account, "number": e.number}
            for e in entries
            if account is None or (e.account or "") == account
        ]
    )


def _blacklist_account(smsc: Smsc, account: Any) -> str | None:
    """None (or "") is the global list; a name must be an account."""
    if account in (None, ""):
        return None
    if not isinstance(account, str) or smsc.accounts.get(account) is None:
        raise _raise(400, f"no such account {account!r}")
    return account


async def blacklist_add(request: web.Request) -> web.Response:
    """Numbers are compared as given (a leading + ignored); vendor APIs compare 13800138000."""
    smsc = request.app[SMSC]
    data = await _body(request)
    number = data.get("number")
    if not isinstance(number, str) or not number.strip().lstrip("+"):
        return _error(400, "number is required")
    reason = _str_field(data, "reason", "admin", max_len=64)
    account = _blacklist_account(smsc, data.get("account"))
    added = await smsc.blacklist_add(account, number.strip(), reason)
    log.info("event=blacklist_add account=%s number=%s added=%s", account, number, added)
    return _json({"added": added}, status=201 if added else 200)


async def blacklist_remove(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    number = request.match_info["number"]
    account = _blacklist_account(smsc, request.query.get("account"))
    removed = await smsc.blacklist_remove(account, number)
    log.info("event=blacklist_remove account=%s number=%s removed=%s", account, number, removed)
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


async def openapi(request: web.Request) -> web.Response:
    return _json(OPENAPI)


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
    app.add_routes(ROUTES)
    return app


ACCOUNT = "/api/accounts/{name}"
SIGNATURE = ACCOUNT + "/signatures/{sid}"
TEMPLATE = ACCOUNT + "/templates/{tid}"
ROUTES = [
    web.get("/health", health),
    web.get("/metrics", metrics),
    web.get("/api/openapi.json", openapi),
    web.get("/api/stats", stats),
    web.get("/api/accounts", accounts_list),
    web.post("/api/accounts", account_put),
    web.get(ACCOUNT, account_show),
    web.put(ACCOUNT, account_put),
    web.post(ACCOUNT + "/disable", account_disable),
    web.post(ACCOUNT + "/balance", account_balance),
    web.put(ACCOUNT + "/callbacks", account_callbacks),
    web.put(ACCOUNT + "/ip_whitelist", account_ip_whitelist),
    web.get(ACCOUNT + "/signatures", signatures_list),
    web.post(ACCOUNT + "/signatures", signature_add),
    web.delete(SIGNATURE, signature_delete),
    web.post(SIGNATURE + "/approve", signature_approve),
    web.post(SIGNATURE + "/reject", signature_reject),
    web.post(SIGNATURE + "/cancel", signature_cancel),
    web.get(ACCOUNT + "/templates", templates_list),
    web.post(ACCOUNT + "/templates", template_add),
    web.put(TEMPLATE, template_edit),
    web.delete(TEMPLATE, template_delete),
    web.post(TEMPLATE + "/approve", template_approve),
    web.post(TEMPLATE + "/reject", template_reject),
    web.get("/api/binds", binds_list),
    web.get("/api/messages", messages_search),
    web.get("/api/messages/{message_id}", message_show),
    web.get("/api/batches", batches_list),
    web.get("/api/batches/{batch_id}", batch_show),
    web.post("/api/batches/{batch_id}/cancel", batch_cancel),
    web.post("/api/batches/{batch_id}/approve", batch_approve),
    web.post("/api/batches/{batch_id}/reject", batch_reject),
    web.get("/api/mo", mo_list),
    web.post("/api/mo", mo_inject),
    web.get("/api/mo/unrouted", mo_unrouted),
    web.get("/api/pushes", pushes_list),
    web.get("/api/events", events_list),
    web.get("/api/blacklist", blacklist_list),
    web.post("/api/blacklist", blacklist_add),
    web.delete("/api/blacklist/{number}", blacklist_remove),
    web.get("/api/carrier", carrier_show),
    web.put("/api/carrier/rules", rules_replace),
]
