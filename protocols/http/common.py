"""What every vendor dialect needs: request decoding, client address, Beijing time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

if TYPE_CHECKING:
    from smsc.config import Config, HttpConfig
    from smsc.core import Smsc

BEIJING = timezone(timedelta(hours=8))


@dataclass
class HttpContext:
    """Shared by the dialects of one server: the core, the settings, the clock."""

    smsc: Smsc
    config: Config
    clock: Callable[[], float] = time.time
    state: dict[str, Any] = field(default_factory=dict)  # per-dialect scratch (poll times)

    @property
    def http(self) -> HttpConfig:
        return self.config.http


CONTEXT: web.AppKey[HttpContext] = web.AppKey("http_context", HttpContext)


def decode_text(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else GBK (legacy ASP clients; vendor-apis §2.1)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk", errors="replace")


def decode_form(raw: bytes | str) -> dict[str, str]:
    """Parse ``a=1&b=2`` whose values may be percent-encoded UTF-8, GBK, or raw UTF-8.

    Values are unquoted to bytes first and decoded afterwards, so each value picks its own
    charset. The first occurrence of a repeated name wins.
    """
    if isinstance(raw, str):
        # A query string: ASCII from the C parser, or raw bytes as latin-1 characters from the
        # lenient parser (protocols/http/lenient.py). Either way latin-1 restores the bytes.
        try:
            raw = raw.encode("latin-1")
        except UnicodeEncodeError:
            raw = raw.encode("utf-8", "surrogateescape")
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        k = decode_text(key.encode("latin-1"))
        if k not in out:
            out[k] = decode_text(value.encode("latin-1"))
    return out


async def form_params(request: web.Request) -> dict[str, str]:
    """Query-string parameters merged with a form body (body wins); both GET and POST work."""
    params = decode_form(request.rel_url.raw_query_string)
    if request.method == "POST" and request.can_read_body:
        body = await request.read()
        ctype = request.content_type
        if body and ctype in ("application/x-www-form-urlencoded", "text/plain", ""):
            params.update(decode_form(body))
        elif body and ctype != "multipart/form-data":
            params.update(decode_form(body))
        elif body:
            form = await request.post()
            params.update({k: str(v) for k, v in form.items()})
    return params


def client_ip(request: web.Request) -> str:
    return request.remote or ""


def beijing(ts: float, fmt: str) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime(fmt)


def parse_beijing(text: str, fmt: str) -> float | None:
    """Epoch seconds of a Beijing-time string, or None when it does not fit ``fmt``."""
    try:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=BEIJING).timestamp()
    except ValueError:
        return None
