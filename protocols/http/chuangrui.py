"""Vendor 003 创瑞 Chuangrui, old platform (vendor-apis.md §4): send, balance, DLR and MO pushes.

One URL (``http.chuangrui_path``, default ``/sms``; the real one is "ask support") serves
both operations, told apart by ``type`` (``pt`` send, ``balance``). GET query and POST form
both work, and bodies may carry raw UTF-8 (the seed's C# and Java samples do not encode).
Every answer is one comma-separated line, ``text/plain;charset=utf-8``, HTTP 200.

Checks run in the order of §7.6, the first failure answering ``code,msg``:
format of the call (``type``, ``name``/``pwd`` present) → account and ``pwd`` (10) → IP (13)
→ enabled (12) → parameters (14: ``content``/``mobile``/``sign`` missing, ``extno`` not
digits or too long for a source address, ``stime`` not ``yyyy-MM-dd H:mm:ss``) → signature
(14 with ``strict_sign`` when not approved; 2 sensitive word) → content (1 sensitive word,
4 SQL, 14 over 500 characters) → recipients (14 over ``max_recipients``; 3 none given or
none valid left) → balance → stored.

Our decisions beyond §4 (besides those it marks):
- Insufficient balance is ``-1,余额不足``: the code table has no balance code, and it is a
  refusal by the platform, not a fault of the request's format.
- Every recipient blacklisted is ``3,没有号码`` ("nothing remains"), like no valid number.
- A missing ``mobile`` parameter is 14 (required parameter); a present but empty one is 3.
- Balance calls missing ``name`` or ``pwd`` get 10: the balance table has no 14.
- An unlimited balance (no balance set) reads ``0,999999999``.
- ``space_after_code`` (A003-5) applies to the send success line only, the seed's one example.
- Account cancelled (11) is not modelled; disabled accounts get 12.
- MO content (A003-6): every ``#@`` becomes ``# @`` (this breaks both ``#@#`` and ``#@@#``),
  and a leading ``@@#`` gets a space in front so it cannot join the preceding ``#@#``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from collections.abc import Sequence
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
from smsc import mobiles, routing, textrules
from smsc.accounts import Account
from smsc.model import OutboxItem
from smsc.sends import Refusal, SendRefused, SendRequest

log = logging.getLogger("smsc.http.chuangrui")

VENDOR = "chuangrui"
CONTENT_TYPE = "text/plain;charset=utf-8"
STIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # strptime's %H takes "8" as well as "08" (§4.9)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_CONTENT = 500
MAX_SOURCE = 20  # digits of service code + extension (SMPP/CMPP source address)
UNLIMITED_BALANCE = "999999999"
_ALNUM = string.ascii_letters + string.digits

# §4.5 / §4.4 wire texts (simplified, §0).
SEND_TEXT = {
    "0": "提交成功",
    "1": "含有敏感词汇",
    "2": "含有敏感词汇",
    "3": "没有号码",
    "4": "包含sql语句",
    "10": "账号不存在",
    "11": "账号注销",
    "12": "账号停用",
    "13": "IP鉴权失败",
    "14": "格式错误",
    "-1": "系统异常",
}
BALANCE_TEXT = {**SEND_TEXT, "10": "账户不存在"}
NO_BALANCE_TEXT = "余额不足"


class Refused(Exception):
    """A business refusal: answered as ``code,msg`` and logged with the reason."""

    def __init__(self, code: str, reason: str, msg: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.msg = msg


def _line(text: str) -> web.Response:
    return web.Response(body=text.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})


def routes(ctx: HttpContext) -> list[web.RouteDef]:
    path = ctx.http.chuangrui_path
    return [web.get(path, handle, allow_head=False), web.post(path, handle)]


async def handle(request: web.Request) -> web.Response:
    """Dispatch on ``type``; never a 500: a bug answers ``-1,系统异常`` and is logged."""
    ctx = request.app[CONTEXT]
    texts = SEND_TEXT
    account = ""
    try:
        try:
            params = await form_params(request)
        except Exception as exc:  # noqa: BLE001 - undecodable body: a format error
            raise Refused("14", f"unreadable request: {exc!r}") from None
        kind = params.get("type", "").strip()
        account = params.get("name", "")
        if kind == "pt":
            return _line(await _send(ctx, request, params))
        if kind == "balance":
            texts = BALANCE_TEXT
            return _line(_balance(ctx, request, params))
        raise Refused("14", f"type {kind!r} is neither pt nor balance")
    except Refused as exc:
        log.info(
            "event=chuangrui_refused account=%s ip=%s code=%s reason=%r",
            account,
            client_ip(request),
            exc.code,
            exc.reason,
        )
        return _line(f"{exc.code},{exc.msg or texts[exc.code]}")
    except Exception:  # noqa: BLE001 - a bug must still answer in the vendor's format
        log.exception("event=chuangrui_error account=%s", account)
        return _line(f"-1,{texts['-1']}")


def _authenticate(
    ctx: HttpContext, request: web.Request, params: dict[str, str], *, missing: str
) -> Account:
    """Account by ``name``, then ``pwd`` (10), client IP (13), enabled (12)."""
    name = params.get("name", "")
    pwd = params.get("pwd", "")
    if not name or not pwd:
        raise Refused(missing, "name or pwd missing")
    acc = ctx.smsc.accounts.by_http(VENDOR, name)
    if acc is None:
        raise Refused("10", f"unknown name {name!r}")
    if not acc.check_http_secret(VENDOR, "pwd", pwd):
        raise Refused("10", "wrong pwd")
    ip = client_ip(request)
    if not acc.ip_allowed(ip):
        raise Refused("13", f"ip {ip} not allowed")
    if not acc.enabled:
        raise Refused("12", "account disabled")
    return acc


def _settings(acc: Account) -> dict[str, Any]:
    return acc.http.get(VENDOR) or {}


def new_sendid(now: float) -> str:
    """``yyyyMMddHHmmssSSS`` in Beijing time plus 9 random digits: 26 digits (§7.5)."""
    ms = int(now * 1000)
    stamp = beijing(ms // 1000, "%Y%m%d%H%M%S")
    return f"{stamp}{ms % 1000:03d}{secrets.randbelow(10**9):09d}"


def _words(configured: Sequence[str], default: Sequence[str]) -> Sequence[str]:
    return configured or default


async def _send(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> str:
    acc = _authenticate(ctx, request, params, missing="14")
    settings = _settings(acc)
    content = params.get("content", "")
    mobile = params.get("mobile")
    sign = textrules.bare_signature(params.get("sign", ""))
    stime = params.get("stime", "").strip()
    extno = params.get("extno", "").strip()
    if not content.strip():
        raise Refused("14", "content missing")
    if mobile is None:
        raise Refused("14", "mobile missing")
    if not sign:
        raise Refused("14", "sign missing")
    if extno and not (extno.isascii() and extno.isdigit()):
        raise Refused("14", f"extno {extno!r} is not digits")
    extension = str(settings.get("system_ext") or "") + extno
    if len(ctx.smsc.sends.source_for(acc, extension)) > MAX_SOURCE:
        raise Refused("14", f"extno {extno!r} makes the source longer than {MAX_SOURCE} digits")
    schedule_at = None
    if stime:
        schedule_at = parse_beijing(stime, STIME_FORMAT)
        if schedule_at is None:
            raise Refused("14", f"stime {stime!r} is not yyyy-MM-dd HH:mm:ss")

    if settings.get("strict_sign"):
        catalogue = ctx.smsc.catalogue
        found = catalogue.signature(acc.name, sign)
        if found is not None and textrules.fold(found.text) != textrules.fold(sign):
            # sign is a signature's text; digits that happen to be an id name nothing bound
            raise Refused("14", f"sign {sign!r} is not a bound signature")
        # Auto review approves what is new or pending; a rejection or cancellation stands.
        if acc.review == "auto" and (found is None or found.status == "pending"):
            found = await catalogue.approve_on_use_signature(acc.name, sign)
        if found is None or found.status != "approved":
            raise Refused("14", f"sign {sign!r} is not an approved signature")
    words = _words(ctx.http.sensitive_words, textrules.DEFAULT_SENSITIVE_WORDS)
    if hit := textrules.sensitive_hit(sign, words):
        raise Refused("2", f"sensitive word {hit!r} in sign")
    if hit := textrules.sensitive_hit(content, words):
        raise Refused("1", f"sensitive word {hit!r} in content")
    patterns = _words(ctx.http.sql_patterns, textrules.DEFAULT_SQL_PATTERNS)
    if hit := textrules.sql_hit(content, patterns):
        raise Refused("4", f"SQL {hit!r} in content")
    if len(content) > MAX_CONTENT:
        raise Refused("14", f"content is {len(content)} characters, at most {MAX_CONTENT}")

    numbers = mobiles.split_numbers(mobile)
    if not numbers:
        raise Refused("3", "mobile is empty")
    limit = int(settings.get("max_recipients") or 0)
    if limit and len(numbers) > limit:
        raise Refused("14", f"{len(numbers)} numbers, at most {limit}")
    text = f"【{sign}】{content}"
    sendid = new_sendid(ctx.clock())
    req = SendRequest(
        vendor=VENDOR,
        recipients=[(n, text) for n in numbers],
        sign=sign,
        extension=extension,
        schedule_at=schedule_at,
        batch_id=sendid,
        blacklisted="reject",
        # A003-1: manual review when the account asks for it, small sends released at once
        hold=bool(settings.get("review_messages"))
        and len(numbers) > int(settings.get("review_threshold") or 0),
    )
    try:
        result = await ctx.smsc.sends.send(acc, req)
    except SendRefused as exc:
        raise _refusal(exc) from None
    sep = ", " if settings.get("space_after_code") else ","
    log.info(
        "event=chuangrui_sent account=%s sendid=%s accepted=%d invalid=%d blacklisted=%d",
        acc.name,
        sendid,
        len(result.accepted),
        len(result.invalid),
        len(result.blacklisted),
    )
    return (
        f"0{sep}{sendid},{len(result.invalid)},{len(result.accepted)},"
        f"{len(result.blacklisted)},{SEND_TEXT['0']}"
    )


def _refusal(exc: SendRefused) -> Refused:
    if exc.reason in (Refusal.NO_RECIPIENTS, Refusal.BLACKLISTED):
        return Refused("3", exc.message)
    if exc.reason is Refusal.DISABLED:
        return Refused("12", exc.message)
    if exc.reason is Refusal.NO_BALANCE:
        return Refused("-1", exc.message, NO_BALANCE_TEXT)
    return Refused("-1", f"{exc.reason}: {exc.message}")


def _balance(ctx: HttpContext, request: web.Request, params: dict[str, str]) -> str:
    acc = _authenticate(ctx, request, params, missing="10")
    return f"0,{UNLIMITED_BALANCE if acc.balance is None else acc.balance}"


# -- pushes (§4.6, §4.7) ---------------------------------------------------------------------------


def _sendid(item: OutboxItem) -> str:
    p = item.payload
    return str((p.get("extra") or {}).get("batch") or p.get("message_id") or "")


def merge_key(item: OutboxItem) -> tuple[Any, ...] | None:
    """Reports of one send with one state merge into one push; MO merge into batches."""
    if item.kind == "receipt":
        return (_sendid(item), str(item.payload.get("state") or ""))
    if item.kind == "mo":
        return ("mo",)
    return None


def sign_name(access_secret: str, random: str, timestamp: str) -> str:
    """The DLR ``name`` in ``signed`` mode: lower-hex MD5(AccessSecret + random + timestamp)."""
    return hashlib.md5((access_secret + random + timestamp).encode("utf-8")).hexdigest()


def render_report(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """One form POST for the items (same sendid and state): numbers comma-joined (§4.6)."""
    first = items[0].payload
    settings = _settings(account)
    numbers = list(dict.fromkeys(str(i.payload.get("destination") or "") for i in items))
    done = first.get("done_at") or first.get("submitted_at") or ctx.clock()
    signed = settings.get("dlr_auth_mode", "signed") != "static"
    random = "".join(secrets.choice(_ALNUM) for _ in range(16))
    timestamp = str(int(ctx.clock() * 1000))
    if signed:
        name = sign_name(account.http_secret(VENDOR, "access_secret"), random, timestamp)
    else:
        name = str(settings.get("dlr_name") or "")
    form = {
        "name": name,
        "pwd": account.http_secret(VENDOR, "dlr_pwd"),
        "sendid": _sendid(items[0]),
        "time": beijing(float(done), TIME_FORMAT),
        "mobile": ",".join(numbers),
        "state": str(first.get("state") or first.get("stat") or "UNKNOWN"),
    }
    if signed:
        form["random"] = random
        form["timestamp"] = timestamp
    return PushRequest(url="", data=form)


def mo_content(text: str) -> str:
    """MO text safe inside ``args`` (A003-6): no ``#@#`` or ``#@@#`` can survive or form."""
    text = text.replace("#@", "# @")
    if text.startswith("@@#"):
        text = " " + text
    return text


def render_mo(ctx: HttpContext, account: Account, items: list[OutboxItem]) -> PushRequest:
    """``args`` = ``mobile#@#content#@#time#@#ext`` per MO, joined by ``#@@#`` (§4.7)."""
    settings = _settings(account)
    records = []
    for item in items:
        p = item.payload
        received = p.get("received_at") or ctx.clock()
        records.append(
            "#@#".join(
                (
                    mobiles.normalize(str(p.get("source") or "")),
                    mo_content(str(p.get("text") or "")),
                    beijing(float(received), TIME_FORMAT),
                    routing.extension(account.service_codes, str(p.get("destination") or "")),
                )
            )
        )
    form = {
        "name": str(settings.get("mo_name") or ""),
        "pwd": account.http_secret(VENDOR, "mo_pwd"),
        "args": "#@@#".join(records),
    }
    return PushRequest(url="", data=form)
