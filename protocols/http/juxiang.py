"""Vendor 001 巨象 Juxiang (巨象企信通): the ``/send/*.asp`` URL interface (vendor-apis.md §2).

Every operation is a GET (form POST accepted too) with ``name`` + ``pwd`` in the clear, and
answers a plain ``key=value&key=value`` body with no HTML. Values are written raw, exactly as
the seed's examples show (no percent-encoding), in the examples' key order. Bodies are GBK
(``text/html;charset=gbk``, a legacy ASP site) unless the account sets
``juxiang.charset = "utf-8"``; characters GBK cannot hold become ``?``.

Decisions beyond the seed (the seed's own are in vendor-apis.md §2.10 and §7):

- Validation order (§7.6): unknown ``name`` 6001 → ``pwd`` 6003 → IP 6012 → disabled 6002, so
  a caller without the password learns nothing about the account's state.
- ``gsend``: ``sender`` problems of any kind (non-digits, too long, not registered) are 6021.
  Content: empty 6014; the 60 (PHS 40) / 240 (``txt=ccdx``) limits apply to ``msg`` as sent by
  the customer, then ``【short】`` is prefixed and billed (70/67 rule on the final text).
  ``txt=ccdx`` on an account without ``juxiang.long_sms`` keeps the 60-character limit but
  refuses longer text with 6015 instead of truncating, since the caller asked for the whole
  text. Sensitive words (6005) are checked on the text actually sent. When no number can be
  sent, ``errid`` is the reason of the first failing number (6008 invalid, 6004 protected,
  6009 blacklisted). Throughput or storage failures answer 6007 (no channel available).
- ``checkcontent``: 6022 (SP-like content) when the text names 点播 or 包月, or asks to reply
  to subscribe (回复 … 订购/定制); ``err`` says which rule. Over 540 characters is 6015.
- ``getfee``: an unlimited balance is shown as 999999999.
- ``readsms``: failures are ``id=0&err=<reason>`` (the seed's table has no ``errid``);
  ``juxiang.min_poll_s`` is measured from the previous *answered* poll, so a client polling
  too fast still gets a message every ``min_poll_s``.
- Report push: the seed has none. For an account that configures a ``report_url`` anyway we
  send a GET with ``msgid``, ``mobile``, ``stat``, ``time`` acknowledged like an MO (body
  ``0``). **Not faithful**: our own shape.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from protocols.http.common import (
    CONTEXT,
    HttpContext,
    beijing,
    client_ip,
    form_params,
    parse_beijing,
)
from protocols.http.push import PushRequest
from smsc import mobiles, textrules
from smsc.accounts import Account
from smsc.model import OutboxItem
from smsc.sends import Refusal, SendRefused, SendRequest, service_code

log = logging.getLogger("smsc.http.juxiang")

VENDOR = "juxiang"

# §2.9, wire text (simplified column).
OK = "成功"
SENT = "发送成功"
ERRORS: dict[int, str] = {
    6001: "该企业用户无效",
    6002: "此用户账号已经被停用",
    6003: "此用户密码错误",
    6004: "目标手机号码在保护名单内",
    6005: "发送内容中含非法字符",
    6006: "发送通道不能对用户代收费",
    6007: "未找到合适通道给用户发短信",
    6008: "无效的手机号码",
    6009: "手机号码是黑名单",
    6010: "企业用户验证失败",
    6011: "企业不具备发送此号码的权限",
    6012: "该企业用户设置了ip限制",
    6013: "该企业用户余额不足",
    6014: "发送短信内容不能为空",
    6015: "短信内容超过了最大长度限制",
    6016: "企业密码必须大于4个字符",
    6017: "查询企业用户余额失败",
    6018: "用户没有开通SDK功能或测试已过期",
    6019: "此接口已经停止使用",
    6020: "此接口为vip客户专用接口",
    6021: "扩展号码未备案",
    6022: "短信内容疑似SP短信",
}

MAX_RECIPIENTS = 99  # "请少于100个号码" (A001-4)
MAX_TEXT = 60
MAX_TEXT_PHS = 40
MAX_LONG_TEXT = 240
MAX_CHECK_TEXT = 540
MAX_FULL_SOURCE = 16  # service code + sender must be < 17
UNLIMITED_BALANCE = 999999999
TIME_FORMAT = "%Y%m%d%H%M"
_TWELVE_DIGITS = re.compile(r"[0-9]{12}\Z")
_DIGITS = re.compile(r"[0-9]+\Z")

# checkcontent's SP (premium-service) heuristic: (pattern on folded text, rule shown in err).
SP_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile("点播"), "含点播业务用语"),
    (re.compile("包月"), "含包月业务用语"),
    (re.compile("回复.{0,20}(?:订购|定制)", re.DOTALL), "含回复订购业务用语"),
)


class Refused(Exception):
    """A business refusal: the vendor's ``errid`` and the ``err`` text to print."""

    def __init__(self, errid: int, err: str | None = None, detail: str = "") -> None:
        super().__init__(detail or ERRORS.get(errid, ""))
        self.errid = errid
        self.err = ERRORS.get(errid, "") if err is None else err
        self.detail = detail


# --- plumbing -------------------------------------------------------------------------------

Pairs = list[tuple[str, object]]  # a response body's keys and values, in order


def _charset(account: Account | None) -> str:
    if account is None:
        return "gbk"
    return "utf-8" if _settings(account).get("charset") == "utf-8" else "gbk"


def _settings(account: Account) -> dict[str, Any]:
    return account.http.get(VENDOR) or {}


def _reply(pairs: Pairs, account: Account | None) -> web.Response:
    """``k=v&k=v`` with raw values (as the seed prints them), in the account's charset."""
    charset = _charset(account)
    text = "&".join(f"{key}={value}" for key, value in pairs)
    return web.Response(
        body=text.encode(charset, errors="replace"),
        headers={"Content-Type": f"text/html;charset={charset}"},
    )


def _authenticate(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> Account:
    """§2.2 in the order of §7.6; returns the account or raises :class:`Refused`."""
    name = params.get("name", "").strip()
    account = ctx.smsc.accounts.by_http(VENDOR, name) if name else None
    if account is None:
        raise Refused(6001, detail=f"unknown name {name!r}")
    if not account.check_http_secret(VENDOR, "pwd", params.get("pwd", "")):
        raise Refused(6003, detail="wrong pwd")
    ip = client_ip(request)
    if not account.ip_allowed(ip):
        raise Refused(6012, detail=f"ip {ip} not allowed")
    if not account.enabled:
        raise Refused(6002, detail="account disabled")
    return account


Handler = Callable[[HttpContext, web.Request, dict[str, str]], Awaitable[web.Response]]


def _operation(op: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap a handler: decode parameters once; a crash becomes a 6007 body, never a 500."""

    async def handle(request: web.Request) -> web.Response:
        ctx = request.app[CONTEXT]
        try:
            params = await form_params(request)
        except Exception:  # noqa: BLE001 - an unreadable body is just an empty request
            log.info("event=juxiang_bad_body op=%s ip=%s", op, client_ip(request))
            params = {}
        try:
            return await handler(ctx, request, params)
        except Exception:  # noqa: BLE001 - the vendor answers in its body, always HTTP 200
            log.exception("event=juxiang_error op=%s", op)
            return _reply(FAILURES[op](params, Refused(6007)), None)

    return handle


def _refused(op: str, params: dict[str, str], exc: Refused, account: Account | None) -> None:
    log.info(
        "event=juxiang_refused op=%s name=%s account=%s errid=%d reason=%r",
        op,
        params.get("name", ""),
        account.name if account else "",
        exc.errid,
        exc.detail or exc.err,
    )


# --- gsend.asp (§2.3) -----------------------------------------------------------------------


def _extension(account: Account, sender: str) -> str:
    """The registered extension ``sender`` (digits, < 9, full number < 17), or 6021."""
    if not sender:
        return ""
    if not _DIGITS.match(sender) or len(sender) >= 9:
        raise Refused(6021, detail=f"sender {sender!r} is not 1-8 digits")
    code = service_code(account)
    if len(code) + len(sender) > MAX_FULL_SOURCE:
        raise Refused(6021, detail=f"full number {code}{sender} is 17 digits or more")
    registered = _settings(account).get("extensions") or ()
    if "*" not in registered and sender not in registered:
        raise Refused(6021, detail=f"sender {sender!r} is not registered")
    return sender


def _schedule(raw: str) -> float | None:
    """``YYYYMMDDHHMM`` Beijing time; anything else means "send now" (§2.3)."""
    raw = raw.strip()
    if not _TWELVE_DIGITS.match(raw):
        return None
    return parse_beijing(raw, TIME_FORMAT)


def _content(account: Account, msg: str, long_sms: bool, phs: bool) -> str:
    """The final text: ``msg`` cut to its limit (or refused), ``【short】`` prefixed (§2.10)."""
    if not msg.strip():
        raise Refused(6014, detail="msg is empty")
    settings = _settings(account)
    if long_sms:
        limit = MAX_LONG_TEXT if settings.get("long_sms", True) else MAX_TEXT
        if len(msg) > limit:
            raise Refused(6015, detail=f"msg is {len(msg)} characters, txt=ccdx allows {limit}")
    else:
        msg = msg[: MAX_TEXT_PHS if phs else MAX_TEXT]
    short = str(settings.get("short") or "")
    return f"【{short}】{msg}" if short else msg


def _sensitive_words(ctx: HttpContext) -> tuple[str, ...]:
    return ctx.http.sensitive_words or textrules.DEFAULT_SENSITIVE_WORDS


_SEND_REFUSALS = {
    Refusal.NO_BALANCE: 6013,
    Refusal.BLACKLISTED: 6009,
    Refusal.NO_RECIPIENTS: 6008,
    Refusal.DISABLED: 6002,
}


async def gsend(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> web.Response:
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
        return await _gsend(ctx, account, params)
    except Refused as exc:
        _refused("gsend", params, exc, account)
        return _reply(_gsend_failure(params, exc), account)


async def _gsend(ctx: HttpContext, account: Account, params: dict[str, str]) -> web.Response:
    given = mobiles.split_numbers(params.get("dst", ""))
    extension = _extension(account, params.get("sender", "").strip())
    schedule_at = _schedule(params.get("time", ""))
    head, tail = given[:MAX_RECIPIENTS], given[MAX_RECIPIENTS:]
    has_phs = any(mobiles.is_phs(n) for n in head)
    long_sms = params.get("txt", "").strip().lower() == "ccdx"
    text = _content(account, params.get("msg", ""), long_sms, has_phs)
    if word := textrules.sensitive_hit(text, _sensitive_words(ctx)):
        raise Refused(6005, detail=f"sensitive word {word!r}")
    # A recipient rule, so after the content rules (§7.6).
    if has_phs and any(mobiles.is_mobile(n) for n in head):
        raise Refused(6008, detail="PHS and mobile numbers mixed in one request")

    protected = {mobiles.normalize(n) for n in _settings(account).get("protected") or ()}
    is_blacklisted = ctx.smsc.sends.is_blacklisted
    shown: dict[str, str] = {}  # normalized -> as given, for the success list
    failed: list[tuple[str, int]] = []  # (as given, errid) in request order
    for number in head:
        norm = mobiles.normalize(number)
        if not (mobiles.MOBILE.match(norm) or mobiles.PHS.match(norm)):
            failed.append((number, 6008))
        elif norm in protected:
            failed.append((number, 6004))
        elif is_blacklisted(account.name, norm):
            failed.append((number, 6009))
        else:
            shown.setdefault(norm, number)
    if not shown:
        first = failed[0][1] if failed else 6008
        raise Refused(first, detail="no number can be sent to")

    req = SendRequest(
        vendor=VENDOR,
        recipients=[(norm, text) for norm in shown],
        extension=extension,
        schedule_at=schedule_at,
        allow_phs=has_phs,
    )
    try:
        result = await ctx.smsc.sends.send(account, req)
    except SendRefused as exc:
        raise Refused(_SEND_REFUSALS.get(exc.reason, 6007), detail=exc.message) from None
    accepted = set(result.accepted)
    faile = [n for n in head if mobiles.normalize(n) not in accepted] + tail
    success = [shown[n] for n in result.accepted if n in shown]
    log.info(
        "event=juxiang_gsend account=%s batch=%s sent=%d failed=%d scheduled=%s",
        account.name,
        result.batch_id,
        len(success),
        len(faile),
        schedule_at is not None,
    )
    return _reply(
        [
            ("num", len(success)),
            ("success", ",".join(success)),
            ("faile", ",".join(faile)),
            ("err", SENT),
            ("errid", 0),
        ],
        account,
    )


# --- checkcontent.asp (§2.4) ----------------------------------------------------------------


def sp_rule(text: str) -> str | None:
    """The SP-content rule ``text`` breaks (shown in ``err`` with 6022), or None."""
    folded = textrules.fold(text)
    for pattern, rule in SP_RULES:
        if pattern.search(folded):
            return rule
    return None


async def checkcontent(
    ctx: HttpContext, request: web.Request, params: dict[str, str]
) -> web.Response:
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
        content = params.get("content", "")
        if not content.strip():
            raise Refused(6014, detail="content is empty")
        if len(content) > MAX_CHECK_TEXT:
            raise Refused(6015, detail=f"content is {len(content)} characters")
        if word := textrules.sensitive_hit(content, _sensitive_words(ctx)):
            raise Refused(6005, err=word, detail=f"sensitive word {word!r}")
        if rule := sp_rule(content):
            raise Refused(6022, err=f"{ERRORS[6022]}:{rule}", detail=rule)
    except Refused as exc:
        _refused("checkcontent", params, exc, account)
        return _reply(_status_failure(params, exc), account)
    return _reply([("errid", 0), ("err", OK)], account)


# --- getfee.asp (§2.5) ----------------------------------------------------------------------


async def getfee(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> web.Response:
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
    except Refused as exc:
        _refused("getfee", params, exc, account)
        return _reply(_getfee_failure(params, exc), account)
    balance = UNLIMITED_BALANCE if account.balance is None else account.balance
    short = str(_settings(account).get("short") or "")
    return _reply([("id", balance), ("err", OK), ("errid", 0), ("short", short)], account)


# --- readsms.asp (§2.6) ---------------------------------------------------------------------


async def readsms(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> web.Response:
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
    except Refused as exc:
        _refused("readsms", params, exc, account)
        return _reply(_readsms_failure(params, exc), account)
    min_poll = float(_settings(account).get("min_poll_s") or 0.0)
    polls: dict[str, float] = ctx.state.setdefault("juxiang_polls", {})
    now = ctx.clock()
    last = polls.get(account.name)
    if min_poll > 0 and last is not None and now - last < min_poll:
        log.info("event=juxiang_poll_too_soon account=%s since=%.1f", account.name, now - last)
        return _reply([("id", 0), ("err", "")], account)
    polls[account.name] = now
    row = await ctx.smsc.sends.pull_mo(account.name)
    if row is None:
        return _reply([("id", 0), ("err", "")], account)
    return _reply(
        [
            ("id", row["id"]),
            ("err", OK),
            ("src", row["source"]),
            ("msg", row["text"]),
            ("dst", row["destination"]),
            ("time", beijing(row["received_at"], TIME_FORMAT)),
        ],
        account,
    )


# --- cpwd.asp (§2.7) ------------------------------------------------------------------------


async def cpwd(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> web.Response:
    account: Account | None = None
    try:
        account = _authenticate(ctx, request, params)
        newpwd = params.get("newpwd", "")
        if not 4 < len(newpwd) < 20:
            raise Refused(6016, detail=f"newpwd is {len(newpwd)} characters")
        store = ctx.smsc.accounts
        loop = asyncio.get_running_loop()
        changed = await loop.run_in_executor(
            None, store.set_http_secret, account.name, VENDOR, "pwd", newpwd
        )
        if not changed:
            raise Refused(6001, detail="account vanished")
    except Refused as exc:
        _refused("cpwd", params, exc, account)
        return _reply(_status_failure(params, exc), account)
    log.info("event=juxiang_password_changed account=%s", account.name)
    return _reply([("errid", 0), ("err", OK)], account)


# --- routes ---------------------------------------------------------------------------------


def _gsend_failure(params: dict[str, str], exc: Refused) -> Pairs:
    """A refused send: nothing sent, every number given in ``faile`` (§2.3, our decision)."""
    given = mobiles.split_numbers(params.get("dst", ""))
    return [
        ("num", 0),
        ("success", ""),
        ("faile", ",".join(given)),
        ("err", exc.err),
        ("errid", exc.errid),
    ]


def _status_failure(params: dict[str, str], exc: Refused) -> Pairs:
    return [("errid", exc.errid), ("err", exc.err)]


def _getfee_failure(params: dict[str, str], exc: Refused) -> Pairs:
    return [("id", -9999), ("err", exc.err), ("errid", exc.errid), ("short", "")]


def _readsms_failure(params: dict[str, str], exc: Refused) -> Pairs:
    return [("id", 0), ("err", exc.err)]


FAILURES: dict[str, Callable[[dict[str, str], Refused], Pairs]] = {
    "gsend": _gsend_failure,
    "checkcontent": _status_failure,
    "getfee": _getfee_failure,
    "readsms": _readsms_failure,
    "cpwd": _status_failure,
}

OPERATIONS: dict[str, Handler] = {
    "gsend": gsend,
    "checkcontent": checkcontent,
    "getfee": getfee,
    "readsms": readsms,
    "cpwd": cpwd,
}


def routes(ctx: HttpContext) -> list[web.RouteDef]:
    """GET and form POST on each ``/send/<op>.asp`` (§7.1)."""
    out: list[web.RouteDef] = []
    for op, handler in OPERATIONS.items():
        wrapped = _operation(op, handler)
        path = f"/send/{op}.asp"
        out += [web.get(path, wrapped), web.post(path, wrapped)]
    return out


# --- pushes (§2.8) --------------------------------------------------------------------------


def _acknowledged(status: int, body: bytes) -> bool:
    """The customer page prints only ``0`` when it took the message (negative otherwise)."""
    return body.strip() == b"0"


def render_mo(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """One MO per GET ``?src=&dst=&msg=`` (UTF-8 percent-encoded); never merged."""
    payload = items[0].payload
    return PushRequest(
        url="",
        method="GET",
        params={
            "src": str(payload.get("source", "")),
            "dst": str(payload.get("destination", "")),
            "msg": str(payload.get("text", "")),
        },
        ok=_acknowledged,
    )


def render_report(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """Not faithful: 001 documents no report push; our GET ``msgid, mobile, stat, time``."""
    payload = items[0].payload
    done = payload.get("done_at") or ctx.clock()
    return PushRequest(
        url="",
        method="GET",
        params={
            "msgid": str(payload.get("message_id", "")),
            "mobile": str(payload.get("destination", "")),
            "stat": str(payload.get("stat") or payload.get("state", "")),
            "time": beijing(float(done), TIME_FORMAT),
        },
        ok=_acknowledged,
    )
