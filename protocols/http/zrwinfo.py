"""Vendor 000 — 掌榕网 zrwinfo (API host ``api.1cloudsp.com``), vendor-apis.md §1.

Two operations, each on GET (query string) and POST (form body), UTF-8:

- ``/api/v2/single_send`` (§1.3): ``accesskey`` + ``secret``, an approved ``sign`` (text with
  or without 【】, or its numeric id; A000-2), an approved ``templateId``, exactly one
  ``mobile`` and ``content`` = the template's variable values only, separated by ``##``
  (else ``$$``; A000-1). The final text is ``【sign】`` + the template filled in positionally
  (``{1}…{n}``). Answer: ``{"code":"0","msg":"SUCCESS","smUuid":"<uuid>"}``.
- ``/query/account`` (§1.4, URL only in the seed): ``accesskey`` + ``secret`` →
  ``{"code":"0","msg":"SUCCESS","<http.zrwinfo_balance_field>":"<balance>"}``.

Failures keep the success keys: ``{"code":"<code>","msg":"<reason>","smUuid":""}`` (the
balance query: its balance field ``""``). The vendor's error-code list is named but not
reproduced in the seed, so every code comes from one table (§1.3 "one configuration
table"): the built-in :data:`ERRORS`, with ``http.zrwinfo_errors`` entries
(``"condition=code:message"``) replacing codes one condition at a time, so the vendor's
real list can be swapped in without touching the handlers.

Decisions beyond the reference, all ours:

- Checks run in the order of §7.6: required parameters → accesskey/secret → IP whitelist →
  account enabled → signature → template → variable count → sensitive words → mobile →
  blacklist / hourly cap / balance (``smsc.sends``). A missing accesskey or secret is
  ``missing``, a wrong one ``bad_auth``.
- ``content`` is required only by the template: a template without slots takes an empty or
  absent ``content``; a template with slots and no values is a ``variables`` error.
- ``review = "auto"`` accounts: an unknown or pending signature/template is recorded approved
  at first use. An unknown ``templateId`` is created with the text ``{1}{2}…{n}`` (n = number
  of values sent), so the message is just the values; with no values there is nothing to
  build a template from and the answer is ``template``. A numeric ``sign`` that is not a
  known id is refused (``sign``): an id cannot name a new signature. Rejected or cancelled
  entries stay refused: a reviewer's explicit "no" wins over auto review.
- Sensitive words (``http.sensitive_words``, else the built-in list) are looked for in the
  final text, signature included.
- Balance query of an account with unlimited balance answers ``"-1"``.
- Blacklisted numbers are refused (``blacklist``), not sent with a BLACK report
  (``SendRequest.blacklisted = "reject"``): §1.7 says they are never sent to.

Pushes (§1.5, §7.16) are **NON-FAITHFUL**: the seed says only "HTTP POST to the customer's
URL". Until the vendor's push document is available we POST a JSON array, one item per
request (no merging), acknowledged by HTTP 200:

- status report: ``[{"smUuid","mobile","status","desc","reportTime"}]``; ``status`` is the
  ``DELIVRD``/``UNDELIV``/``EXPIRED``/… family with ``BLACK`` for a blacklisted number
  (DTBLACK, §1.6); ``desc`` is the carrier's own status code when a rule set one (the
  console's 状态码 list, e.g. ``CB:0001``), else a Chinese description of ``status``;
  ``reportTime`` is Beijing time ``yyyy-MM-dd HH:mm:ss``.
- MO: ``[{"mobile","content","extno","moTime"}]``; ``extno`` is the destination minus the
  account's longest matching service code.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from protocols.http.common import (
    CONTEXT,
    HttpContext,
    beijing,
    client_ip,
    form_params,
)
from protocols.http.push import PushRequest
from smsc import mobiles, routing, textrules
from smsc.accounts import Account
from smsc.catalogue import Signature, Template
from smsc.model import OutboxItem
from smsc.sends import Refusal, SendRefused, SendRequest
from smsc.textrules import Syntax

if TYPE_CHECKING:
    from collections.abc import Mapping

    from smsc.config import HttpConfig

log = logging.getLogger("smsc.http.zrwinfo")

VENDOR = "zrwinfo"
SEND_PATH = "/api/v2/single_send"
BALANCE_PATH = "/query/account"
CONTENT_TYPE = "application/json;charset=utf-8"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# condition -> (code, msg). Ours, not the vendor's (its 错误码列表 is not in the seed); a future
# configuration can replace this table wholesale. Codes must stay distinct and never "0".
ERRORS: dict[str, tuple[str, str]] = {
    "missing": ("9000", "缺少必填参数"),
    "bad_auth": ("9001", "accesskey或secret错误"),
    "ip": ("9002", "IP地址不在白名单内"),
    "disabled": ("9003", "账户已停用"),
    "sign": ("9004", "签名不存在或未审核通过"),
    "template": ("9005", "模板不存在或未审核通过"),
    "variables": ("9006", "模板变量个数不匹配"),
    "mobile": ("9007", "手机号码格式错误，只支持单个手机号"),
    "content": ("9008", "短信内容含有敏感词"),
    "blacklist": ("9009", "黑名单号码"),
    "balance": ("9010", "账户余额不足"),
    "hourly_cap": ("9011", "验证码每小时发送量超出限制"),
    "throttled": ("9012", "提交速度过快"),
    "storage": ("9999", "系统错误"),
}

SUCCESS = ("0", "SUCCESS")


def error_table(http: HttpConfig) -> Mapping[str, tuple[str, str]]:
    """:data:`ERRORS` with the ``http.zrwinfo_errors`` overrides applied (ValueError if bad)."""
    return _error_table(tuple(http.zrwinfo_errors))


@lru_cache(maxsize=8)
def _error_table(entries: tuple[str, ...]) -> Mapping[str, tuple[str, str]]:
    table = dict(ERRORS)
    for entry in entries:
        condition, _, rest = entry.partition("=")
        code, _, msg = rest.partition(":")
        if condition not in ERRORS:
            known = ", ".join(ERRORS)
            raise ValueError(f"http.zrwinfo_errors: unknown condition {condition!r} ({known})")
        if not code or code == "0" or not msg:
            raise ValueError(f"http.zrwinfo_errors: {entry!r} needs a non-zero code and a text")
        table[condition] = (code, msg)
    codes = [code for code, _ in table.values()]
    if len(set(codes)) != len(codes):
        twice = sorted({code for code in codes if codes.count(code) > 1})
        raise ValueError(f"http.zrwinfo_errors: codes used twice: {', '.join(twice)}")
    return MappingProxyType(table)


_REFUSALS: dict[Refusal, str] = {
    Refusal.NO_RECIPIENTS: "mobile",
    Refusal.BLACKLISTED: "blacklist",
    Refusal.NO_BALANCE: "balance",
    Refusal.HOURLY_CAP: "hourly_cap",
    Refusal.DISABLED: "disabled",
    Refusal.THROTTLED: "throttled",
    Refusal.STORAGE: "storage",
}

# Report ``desc`` when the carrier gave no code of its own.
STATUS_DESC: dict[str, str] = {
    "DELIVRD": "成功",
    "UNDELIV": "无法送达",
    "EXPIRED": "超时未送达",
    "REJECTD": "被运营商拒绝",
    "BLACK": "黑名单号码",
    "UNKNOWN": "未知状态",
    "DELETED": "已删除",
}


class Refused(Exception):
    """A business error: answered with ``ERRORS[condition]`` and HTTP 200."""

    def __init__(self, condition: str, detail: str) -> None:
        super().__init__(detail)
        self.condition = condition
        self.detail = detail


def _json(body: dict[str, str]) -> web.Response:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(body=raw, headers={"Content-Type": CONTENT_TYPE})


def _failure(ctx: HttpContext, condition: str, id_field: str) -> dict[str, str]:
    code, msg = error_table(ctx.http)[condition]
    return {"code": code, "msg": msg, id_field: ""}


async def _params(request: web.Request) -> dict[str, str]:
    try:
        return await form_params(request)
    except Exception:  # noqa: BLE001 - an unreadable body is a request without parameters
        log.info("event=zrwinfo_bad_body path=%s", request.path)
        return {}


def _authenticate(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> Account:
    """accesskey + secret, IP whitelist, account enabled (§1.2, §7.6)."""
    accesskey = params.get("accesskey", "").strip()
    secret = params.get("secret", "")
    if not accesskey or not secret:
        raise Refused("missing", "accesskey and secret are required")
    account = ctx.smsc.accounts.by_http(VENDOR, accesskey)
    if account is None or not account.check_http_secret(VENDOR, "secret", secret):
        raise Refused("bad_auth", f"accesskey {accesskey!r} unknown or wrong secret")
    ip = client_ip(request)
    if not account.ip_allowed(ip):
        raise Refused("ip", f"account {account.name} does not allow {ip}")
    if not account.enabled:
        raise Refused("disabled", f"account {account.name} is disabled")
    return account


def _refused_log(
    ctx: HttpContext,
    request: web.Request,
    params: dict[str, str],
    account: str | None,
    exc: Refused,
) -> None:
    log.info(
        "event=zrwinfo_refused path=%s account=%s accesskey=%s ip=%s condition=%s code=%s "
        "detail=%r",
        request.path,
        account or "-",
        params.get("accesskey", "-") or "-",
        client_ip(request),
        exc.condition,
        error_table(ctx.http)[exc.condition][0],
        exc.detail,
    )


# -- single_send ---------------------------------------------------------------------------------


async def _signature(ctx: HttpContext, account: Account, sign: str) -> Signature:
    catalogue = ctx.smsc.catalogue
    bare = textrules.bare_signature(sign)
    if not bare:
        raise Refused("sign", "empty signature")
    sig = catalogue.signature(account.name, bare)
    if sig is not None and sig.status == "approved":
        return sig
    auto = account.review == "auto"
    if auto and sig is not None and sig.status == "pending":
        return await catalogue.approve_on_use_signature(account.name, sig.text)
    if auto and sig is None and not bare.isdigit():
        return await catalogue.approve_on_use_signature(account.name, bare)
    state = "unknown" if sig is None else sig.status
    raise Refused("sign", f"signature {sign!r} is {state}")


async def _template(
    ctx: HttpContext, account: Account, template_id: str, values: list[str]
) -> Template:
    catalogue = ctx.smsc.catalogue
    tpl = catalogue.template(account.name, template_id)
    if tpl is not None and tpl.status == "approved":
        return tpl
    if account.review == "auto":
        if tpl is not None and tpl.status == "pending":
            return await catalogue.approve_on_use_template(account.name, tpl.text, template_id)
        if tpl is None and values:
            text = "".join(f"{{{i}}}" for i in range(1, len(values) + 1))
            return await catalogue.approve_on_use_template(account.name, text, template_id)
    state = "unknown" if tpl is None else tpl.status
    raise Refused("template", f"template {template_id!r} is {state}")


async def _single_send(ctx: HttpContext, account: Account, params: dict[str, str]) -> str:
    """Validate and send; returns the smUuid or raises :class:`Refused`."""
    sign = params.get("sign", "").strip()
    template_id = params.get("templateId", "").strip()
    mobile = params.get("mobile", "").strip()
    if not sign or not template_id or not mobile:
        given = (("sign", sign), ("templateId", template_id), ("mobile", mobile))
        raise Refused("missing", "missing: " + ",".join(n for n, v in given if not v))
    values = textrules.split_values(params.get("content", ""))
    sig = await _signature(ctx, account, sign)
    tpl = await _template(ctx, account, template_id, values)
    try:
        body = textrules.fill(tpl.text, tpl.syntax or Syntax.NUMBERED, values)
    except textrules.VariableCountError as exc:
        raise Refused("variables", str(exc)) from None
    text = f"【{sig.text}】{body}"
    words = ctx.http.sensitive_words or textrules.DEFAULT_SENSITIVE_WORDS
    hit = textrules.sensitive_hit(text, words)
    if hit is not None:
        raise Refused("content", f"sensitive word {hit!r}")
    if not mobiles.is_mobile(mobile):
        raise Refused("mobile", f"not one valid mobile: {mobile!r}")
    req = SendRequest(
        vendor=VENDOR,
        recipients=[(mobile, text)],
        sign=sig.text,
        template_id=tpl.template_id,
        kind=tpl.kind,
        per_message_ids=True,
        blacklisted="reject",
    )
    try:
        result = await ctx.smsc.sends.send(account, req)
    except SendRefused as exc:
        raise Refused(_REFUSALS.get(exc.reason, "storage"), exc.message) from None
    return result.message_ids[0]


async def single_send(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await _params(request)
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
        sm_uuid = await _single_send(ctx, account, params)
    except Refused as exc:
        _refused_log(ctx, request, params, account.name if account else None, exc)
        return _json(_failure(ctx, exc.condition, "smUuid"))
    log.info("event=zrwinfo_sent account=%s sm_uuid=%s", account.name, sm_uuid)
    return _json({"code": SUCCESS[0], "msg": SUCCESS[1], "smUuid": sm_uuid})


# -- query/account -------------------------------------------------------------------------------


async def query_account(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    field = ctx.http.zrwinfo_balance_field
    params = await _params(request)
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
    except Refused as exc:
        _refused_log(ctx, request, params, None, exc)
        return _json(_failure(ctx, exc.condition, field))
    balance = "-1" if account.balance is None else str(account.balance)
    return _json({"code": SUCCESS[0], "msg": SUCCESS[1], field: balance})


def routes(ctx: HttpContext) -> list[web.RouteDef]:
    error_table(ctx.http)  # a bad http.zrwinfo_errors stops the listener from starting
    return [
        web.get(SEND_PATH, single_send),
        web.post(SEND_PATH, single_send),
        web.get(BALANCE_PATH, query_account),
        web.post(BALANCE_PATH, query_account),
    ]


# -- pushes (NON-FAITHFUL, see the module docstring) -----------------------------------------------


def merge_key(item: OutboxItem) -> tuple[Any, ...] | None:
    """Never merged: one push per report or MO."""
    return None


def report_status(state: str) -> str:
    return "BLACK" if state == "DTBLACK" else state


def _report(item: OutboxItem) -> dict[str, str]:
    p = item.payload
    state = str(p.get("state") or "UNKNOWN")
    status = report_status(state)
    stat = str(p.get("stat") or "")
    desc = stat if stat and stat != state else STATUS_DESC.get(status, status)
    done = p.get("done_at") or p.get("submitted_at") or 0.0
    return {
        "smUuid": str(p.get("message_id", "")),
        "mobile": str(p.get("destination", "")),
        "status": status,
        "desc": desc,
        "reportTime": beijing(float(done), TIME_FORMAT),
    }


def render_report(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    return PushRequest(url="", json=[_report(item) for item in items])


def _mo(account: Account, item: OutboxItem) -> dict[str, str]:
    p = item.payload
    return {
        "mobile": str(p.get("source", "")),
        "content": str(p.get("text") or ""),
        "extno": routing.extension(account.service_codes, str(p.get("destination", ""))),
        "moTime": beijing(float(p.get("received_at") or 0.0), TIME_FORMAT),
    }


def render_mo(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    return PushRequest(url="", json=[_mo(account, item) for item in items])
