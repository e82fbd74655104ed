"""Vendor 002 中国东信 (CAIH): ``POST /sendsms``, ``POST /varsms`` and the JSON status push.

vendor-apis.md §3. Requests are a JSON object in UTF-8 authenticated by
``password = md5(token + timestamp)`` with a 50-minute timestamp window; answers are JSON
objects whose values are all strings, keys in the documented order. Every business outcome
is HTTP 200 with a negative ``code`` (§3.6 "Our decision on when each code fires"), checked
in the order of §7.6. One ``msgid`` (a UUID) names the whole request and comes back in
every status report together with the phone (A002-6).

Decisions beyond the reference, all logged with the refusal:

- the IP allow-list and a disabled account answer the authentication code (-5), the
  vendor having no code of its own for them;
- a verification-code hourly cap or the throughput limit answer -7, a storage failure HTTP
  503 with code -1 (a transport-level failure the client should retry);
- every send asks for DTBLACK receipts for unsubscribed numbers (``blacklisted="receipt"``,
  §7.9), so the customer always learns about them from the status push;
- in ``varsms`` ``failnum`` is the number of non-blank groups minus ``successnum``: malformed
  groups, repeated phones and numbers the core left out all count as failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from protocols.http.common import (
    CONTEXT,
    HttpContext,
    beijing,
    client_ip,
    parse_beijing,
)
from protocols.http.push import PushRequest
from smsc import mobiles, routing, textrules
from smsc.accounts import Account
from smsc.catalogue import Template
from smsc.model import OutboxItem
from smsc.sends import Refusal, SendRefused, SendRequest, new_uuid
from smsc.textrules import Syntax

log = logging.getLogger("smsc.http.caih")

VENDOR = "caih"
CONTENT_TYPE = "application/json;charset=utf-8"
WINDOW_S = 50 * 60  # §3.2: a timestamp is valid for 50 minutes (either side, our decision)
MAX_RECIPIENTS = 1000
MAX_CONTENT = 500  # whole content including 【signature】 (A002-9)
MAX_ID = 60  # uid, batchid
MAX_VARIABLES = 10
SIGN_MIN, SIGN_MAX = 2, 12  # the send API's bounds (A002-3)
VAR = "{$var}"
TIMESTAMP_FMT = "%Y%m%d%H%M%S"
TIME_FMT = "%Y-%m-%d %H:%M:%S"

# §3.6 wire column (simplified); success uses the examples' 发送成功.
MESSAGES = {
    "0": "发送成功",
    "-1": "json格式错误",
    "-2": "解析json失败",
    "-3": "账号余额不足",
    "-4": "账号不存在",
    "-5": "鉴权失败",
    "-6": "未找到签名",
    "-7": "无效的参数值",
    "-8": "短信内容编码错误",
    "-9": "模板参数超长",
    "-10": "发送号码数量超过1000个",
    "-11": "资费信息不存在",
    "-12": "未匹配到模板",
    "-13": "模板参数不匹配",
}
AUTH_FAILED_COMPAT = "鉴权失败（帐号或密码错误）"  # A002-1: the seed example's -2 text
STORAGE_MSG = "系统繁忙"

_TIMESTAMP = re.compile(r"[0-9]{14}\Z")
_SENDTIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")
_EXTEND = re.compile(r"[0-9]{1,4}\Z")
_AUTH = ("account", "password", "appId", "timestamp")
_OPTIONAL = ("sendtime", "extend", "uid", "batchid")

_REFUSALS = {
    Refusal.NO_BALANCE: "-3",
    Refusal.NO_RECIPIENTS: "-7",
    Refusal.BLACKLISTED: "-7",
    Refusal.HOURLY_CAP: "-7",
    Refusal.THROTTLED: "-7",
    Refusal.DISABLED: "-5",
}


class Refused(Exception):
    """A request answered with a negative code; ``reason`` goes to the log only."""

    def __init__(self, code: str, reason: str, account: Account | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.account = account
        self.uid: str | None = None  # the echoed uid, when the body was readable that far


@dataclass(slots=True)
class Parsed:
    body: dict[str, str]
    uid: str


def md5_password(token: str, timestamp: str) -> str:
    return hashlib.md5((token + timestamp).encode("utf-8")).hexdigest()


# Default separators give the seed's `{"code": "0", "msg": ...}` spacing. One encoder: json.dumps
# with non-default arguments builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _reply(fields: dict[str, str], status: int = 200) -> web.Response:
    body = _encode(fields).encode("utf-8")
    return web.Response(status=status, body=body, headers={"Content-Type": CONTENT_TYPE})


def _failure(code: str, uid: str, account: Account | None) -> web.Response:
    msg = MESSAGES[code]
    if code == "-5" and account is not None:
        if account.http.get(VENDOR, {}).get("auth_failure_code") == "-2":
            code, msg = "-2", AUTH_FAILED_COMPAT
    return _reply({"code": code, "msg": msg, "msgid": new_uuid(), "uid": uid})


def _has_surrogate(text: str) -> bool:
    """Lone surrogates (JSON "\\ud800") cannot be stored or echoed as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse(raw: bytes, target: str) -> Parsed:
    """Body → string fields; -2 unparseable, -8 not UTF-8, -1 wrong shape (§3.6)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    utf8 = True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = False
        text = raw.decode("utf-8", errors="surrogateescape")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("-2", "not_json") from None
    if not isinstance(data, dict):
        raise Refused("-1", "not_an_object")
    uid = data.get("uid")
    uid = uid if isinstance(uid, str) and not _has_surrogate(uid) else ""
    try:
        return Parsed(_fields(data, target, utf8), uid)
    except Refused as exc:
        exc.uid = uid
        raise


def _fields(data: dict[str, Any], target: str, utf8: bool) -> dict[str, str]:
    if not utf8:
        raise Refused("-8", "not_utf8")
    body: dict[str, str] = {}
    for key in (*_AUTH, target, "content", *_OPTIONAL):
        value = data.get(key)
        if value is None:
            if key in _OPTIONAL:
                continue
            raise Refused("-1", f"missing_{key}")
        if not isinstance(value, str):
            raise Refused("-1", f"wrong_type_{key}")
        if _has_surrogate(value):
            raise Refused("-8", f"bad_unicode_{key}")
        if key not in _OPTIONAL and not value.strip():
            raise Refused("-1", f"missing_{key}")
        body[key] = value
    return body


def _authenticate(ctx: HttpContext, request: web.Request, body: dict[str, str]) -> Account:
    """§3.2 and §7.6: account, appId, timestamp window, MD5 password, IP, state, tariff."""
    account = ctx.smsc.accounts.by_http(VENDOR, body["account"])
    if account is None:
        raise Refused("-4", "unknown_account")
    settings = account.http.get(VENDOR, {})
    if not hmac.compare_digest(
        str(settings.get("app_id", "")).encode(), body["appId"].encode("utf-8")
    ):
        raise Refused("-5", "app_id", account)
    stamp = body["timestamp"]
    when = parse_beijing(stamp, TIMESTAMP_FMT) if _TIMESTAMP.match(stamp) else None
    if when is None:
        raise Refused("-5", "timestamp_format", account)
    if abs(ctx.clock() - when) > WINDOW_S:
        raise Refused("-5", "timestamp_window", account)
    token = account.http_secret(VENDOR, "token")
    expected = md5_password(token, stamp)
    if not token or not hmac.compare_digest(expected.encode(), body["password"].encode("utf-8")):
        raise Refused("-5", "password", account)
    if not account.ip_allowed(client_ip(request)):
        raise Refused("-5", "ip", account)
    if not account.enabled:
        raise Refused("-5", "disabled", account)
    if not settings.get("priced", True):
        raise Refused("-11", "not_priced", account)
    return account


@dataclass(slots=True)
class Options:
    extend: str
    schedule_at: float | None
    uid: str | None
    batchid: str | None


def _options(ctx: HttpContext, body: dict[str, str], account: Account) -> Options:
    """Parameter formats (-7): extend, sendtime, uid, batchid, content length."""
    extend = body.get("extend", "").strip()
    if extend and not _EXTEND.match(extend):
        raise Refused("-7", "extend", account)
    sendtime = body.get("sendtime", "").strip()
    schedule_at = None
    if sendtime:
        schedule_at = parse_beijing(sendtime, TIME_FMT) if _SENDTIME.match(sendtime) else None
        if schedule_at is None:
            raise Refused("-7", "sendtime", account)
        if schedule_at <= ctx.clock():
            schedule_at = None  # ≤ now means immediately (§3.3)
    uid = body.get("uid")
    batchid = body.get("batchid")
    if uid is not None and len(uid) > MAX_ID:
        raise Refused("-7", "uid_length", account)
    if batchid is not None and len(batchid) > MAX_ID:
        raise Refused("-7", "batchid_length", account)
    if len(body["content"].strip()) > MAX_CONTENT:
        raise Refused("-7", "content_length", account)
    return Options(extend, schedule_at, uid, batchid)


@dataclass(slots=True)
class Content:
    sign: str
    body: str
    sign_first: bool
    pending_sign: bool  # review = "auto": record the signature as approved when sending

    def full(self, text: str) -> str:
        return f"【{self.sign}】{text}" if self.sign_first else f"{text}【{self.sign}】"


def _signature(ctx: HttpContext, account: Account, content: str) -> Content:
    """The 【signature】 must be there, 2–12 characters, and approved (-6)."""
    sign, rest = textrules.split_signature(content)
    if sign is None:
        raise Refused("-6", "no_signature", account)
    sign = sign.strip()
    if not SIGN_MIN <= len(sign) <= SIGN_MAX:
        raise Refused("-6", "signature_length", account)
    found = ctx.smsc.catalogue.signature(account.name, sign)
    if found is not None and textrules.fold(found.text) != textrules.fold(sign):
        found = None  # 【12】 is the text "12", never the signature with id 12
    pending = False
    if found is None or found.status != "approved":
        # Auto review approves what is new or pending; a reviewer's rejection or a
        # cancellation (注销) still refuses (§7.12).
        reviewed = found is not None and found.status != "pending"
        if (
            account.review != "auto"
            or reviewed
            or textrules.signature_problem(sign, max_len=SIGN_MAX)
        ):
            raise Refused("-6", "signature_not_approved", account)
        pending = True
    return Content(sign, rest, content.strip().startswith("【"), pending)


def _check_values(ctx: HttpContext, account: Account, tpl: Template, values: list[str]) -> None:
    """Variable rules (-13) then the configured length limit (-9)."""
    for value in values:
        if VAR in value or "【" in value or "】" in value:
            raise Refused("-13", "variable_value", account)
        if tpl.kind == "verification" and not textrules.verification_value_ok(value):
            raise Refused("-13", "verification_value", account)
    limit = ctx.http.max_variable_length
    if any(len(value) > limit for value in values):
        raise Refused("-9", "variable_length", account)


async def _approve(ctx: HttpContext, account: Account, content: Content) -> None:
    if content.pending_sign:
        await ctx.smsc.catalogue.approve_on_use_signature(account.name, content.sign)
        content.pending_sign = False


async def _send(
    ctx: HttpContext,
    account: Account,
    opts: Options,
    content: Content,
    tpl: Template | None,
    recipients: list[tuple[str, str]],
    batch_id: str,
) -> list[str]:
    """Record auto-review approvals, then hand over to the shared send rules."""
    await _approve(ctx, account, content)
    catalogue = ctx.smsc.catalogue
    if tpl is None:  # review = "auto": the text as used becomes an approved template
        tpl = await catalogue.approve_on_use_template(account.name, content.body)
    elif tpl.status != "approved":  # review = "auto": the pending template it fits
        tpl = await catalogue.approve_on_use_template(account.name, tpl.text, tpl.template_id)
    req = SendRequest(
        vendor=VENDOR,
        recipients=recipients,
        sign=content.sign,
        template_id=tpl.template_id,
        kind=tpl.kind,
        extension=opts.extend,
        schedule_at=opts.schedule_at,
        uid=opts.uid,
        client_batch=opts.batchid,
        batch_id=batch_id,
        blacklisted="receipt",
    )
    try:
        result = await ctx.smsc.sends.send(account, req)
    except SendRefused as exc:
        if exc.reason is Refusal.STORAGE:
            raise
        raise Refused(_REFUSALS.get(exc.reason, "-7"), str(exc.reason), account) from None
    return result.accepted


def _template_for(ctx: HttpContext, account: Account, text: str) -> tuple[Template, list[str]]:
    if not text:
        raise Refused("-12", "empty_text", account)
    found = ctx.smsc.catalogue.match(account.name, text)
    if found is None:
        raise Refused("-12", "no_template", account)
    return found


def _auto_template(
    ctx: HttpContext, account: Account, text: str, values: list[str]
) -> tuple[Template | None, list[str]]:
    """``review = "auto"`` and no approved template fits: a pending one that fits is used
    (approved when sending), a rejected one refuses (-12), else the text becomes new."""
    for tpl in ctx.smsc.catalogue.templates(account.name):
        if tpl.status == "approved":
            continue
        syntax = tpl.syntax
        if syntax is None:
            got = [] if textrules.fold(tpl.text) == textrules.fold(text) else None
        else:
            got = textrules.match(tpl.text, syntax, text)
        if got is None:
            continue
        if tpl.status != "pending":
            raise Refused("-12", f"template_{tpl.status}", account)
        return tpl, got
    return None, values


async def _sendsms(ctx: HttpContext, request: web.Request, parsed: Parsed) -> dict[str, str]:
    body = parsed.body
    account = _authenticate(ctx, request, body)
    opts = _options(ctx, body, account)
    content = _signature(ctx, account, body["content"])
    tpl: Template | None
    try:
        tpl, values = _template_for(ctx, account, content.body)
    except Refused:
        if account.review != "auto" or not content.body:
            raise
        tpl, values = _auto_template(ctx, account, content.body, [])
    if tpl is not None:
        _check_values(ctx, account, tpl, values)
    numbers = mobiles.split_numbers(body["phone"])
    if len(numbers) > MAX_RECIPIENTS:
        raise Refused("-10", f"phones={len(numbers)}", account)
    rec = mobiles.classify(numbers)
    if rec.invalid or not rec.valid:
        raise Refused("-7", "phone", account)
    text = body["content"].strip()
    batch_id = new_uuid()
    accepted = await _send(ctx, account, opts, content, tpl, [(n, text) for n in numbers], batch_id)
    log.info(
        "event=caih_sendsms account=%s msgid=%s accepted=%d",
        account.name,
        batch_id,
        len(accepted),
    )
    return {"code": "0", "msg": MESSAGES["0"], "msgid": batch_id, "uid": parsed.uid}


async def _varsms(ctx: HttpContext, request: web.Request, parsed: Parsed) -> dict[str, str]:
    body = parsed.body
    account = _authenticate(ctx, request, body)
    opts = _options(ctx, body, account)
    content = _signature(ctx, account, body["content"])
    slots = textrules.slot_count(content.body, Syntax.DOLLAR)
    if slots > MAX_VARIABLES:
        raise Refused("-7", f"variables={slots}", account)
    tpl: Template | None
    try:
        tpl, values = _template_for(ctx, account, content.body)
    except Refused:
        if account.review != "auto" or not content.body:
            raise
        tpl, values = _auto_template(ctx, account, content.body, [VAR] * slots)
    # The content must be the template itself: every slot left as {$var} (A002-5).
    if (tpl is not None and tpl.slots != slots) or any(v != VAR for v in values):
        raise Refused("-13", "content_slots", account)
    groups = [g.strip() for g in body["params"].split(";")]
    groups = [g for g in groups if g]
    if len(groups) > MAX_RECIPIENTS:
        raise Refused("-10", f"groups={len(groups)}", account)
    recipients: list[tuple[str, list[str]]] = []
    right_count = False
    for group in groups:
        phone, *given = (part.strip() for part in group.split(","))
        if len(given) != slots:
            continue
        right_count = True
        if not mobiles.is_mobile(phone) or any(not v for v in given):
            continue
        recipients.append((phone, given))
    if not right_count:
        raise Refused("-13", "no_group_fits", account)
    if not recipients:
        raise Refused("-7", "phone", account)
    if tpl is not None:
        for _, given in recipients:
            _check_values(ctx, account, tpl, given)
    texts = [
        (p, content.full(textrules.fill(content.body, Syntax.DOLLAR, v))) for p, v in recipients
    ]
    batch_id = new_uuid()
    accepted = await _send(ctx, account, opts, content, tpl, texts, batch_id)
    success = len(accepted)
    log.info(
        "event=caih_varsms account=%s msgid=%s groups=%d accepted=%d",
        account.name,
        batch_id,
        len(groups),
        success,
    )
    return {
        "code": "0",
        "msg": MESSAGES["0"],
        "failnum": str(len(groups) - success),
        "successnum": str(success),
        "msgid": batch_id,
        "uid": parsed.uid,
    }


def _handler(target: str, operation: Any) -> Any:
    async def handle(request: web.Request) -> web.Response:
        ctx = request.app[CONTEXT]
        uid = ""
        try:
            parsed = _parse(await request.read(), target)
            uid = parsed.uid
            return _reply(await operation(ctx, request, parsed))
        except Refused as exc:
            uid = exc.uid if exc.uid is not None else uid
            log.info(
                "event=caih_refused path=%s account=%s ip=%s code=%s reason=%s",
                request.path,
                exc.account.name if exc.account else "-",
                client_ip(request),
                exc.code,
                exc.reason,
            )
            return _failure(exc.code, uid, exc.account)
        except SendRefused as exc:  # storage: the only refusal left unmapped
            log.error("event=caih_store_failed path=%s error=%s", request.path, exc.message)
            fields = {"code": "-1", "msg": STORAGE_MSG, "msgid": new_uuid(), "uid": uid}
            return _reply(fields, status=503)

    return handle


def routes(ctx: HttpContext) -> list[web.RouteDef]:
    return [
        web.post("/sendsms", _handler("phone", _sendsms)),
        web.post("/varsms", _handler("params", _varsms)),
    ]


# -- pushes ------------------------------------------------------------------------------------


def _auth_fields(ctx: HttpContext, account: Account) -> dict[str, str]:
    """account, password, appId, timestamp: the request's own block, recomputed for now."""
    settings = account.http.get(VENDOR, {})
    stamp = beijing(ctx.clock(), TIMESTAMP_FMT)
    return {
        "account": str(settings.get("account", "")),
        "password": md5_password(account.http_secret(VENDOR, "token"), stamp),
        "appId": str(settings.get("app_id", "")),
        "timestamp": stamp,
    }


def _json_push(fields: dict[str, str]) -> PushRequest:
    data = json.dumps(fields, ensure_ascii=False).encode("utf-8")
    return PushRequest(url="", data=data, headers={"Content-Type": CONTENT_TYPE})


def render_report(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """§3.5: one report per request; HTTP 200 is the acknowledgement (the default ``ok``)."""
    p = items[0].payload
    extra = p.get("extra") or {}
    state = str(p.get("state") or "")
    done_at = p.get("done_at") or ctx.clock()
    fields = _auth_fields(ctx, account)
    fields.update(
        msgid=str(p.get("message_id", "")),
        uid=str(extra.get("uid") or ""),
        phone=str(p.get("destination", "")),
        status="SUCCESS" if state == "DELIVRD" else "FAIL",
        desc=state,
        reporttime=beijing(float(done_at), TIME_FMT),
    )
    return _json_push(fields)


def render_mo(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """Not faithful: 002 documents no MO push, so this mirrors the report's JSON style.

    ``extend`` is the destination after the account's longest matching service code.
    """
    p = items[0].payload
    destination = str(p.get("destination", ""))
    extend = routing.extension(account.service_codes, destination)
    received = p.get("received_at") or ctx.clock()
    fields = _auth_fields(ctx, account)
    fields.update(
        phone=str(p.get("source", "")),
        content=str(p.get("text", "")),
        extend=extend,
        motime=beijing(float(received), TIME_FMT),
    )
    return _json_push(fields)
