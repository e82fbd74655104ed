"""What every vendor dialect needs: request decoding, client address, Beijing time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
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


_DIRECTIVES = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
_FIELDS = ("%Y", "%m", "%d", "%H", "%M", "%S")


@lru_cache(maxsize=32)
def _time_pattern(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regex for a strptime-style ``fmt`` (only %Y %m %d %H %M %S; others are literal).

    ``strptime`` costs ~10 µs a call (locale lookups, a regex per call); vendors put a
    timestamp in every request, so formats are compiled once. Like strptime, a field next to
    a separator may have one digit (``2012-08-01 8:20:23``); in a run of digits it has its
    full width (``20191101090000``).
    """
    parts = re.split(r"(%[A-Za-z])", fmt)
    regex, order = "", []
    for i, part in enumerate(parts):
        if part in _DIRECTIVES:
            width = _DIRECTIVES[part]
            # parts alternate literal, directive, literal…: an empty literal between two
            # directives means they touch
            after_directive = i >= 3 and parts[i - 1] == ""
            before_directive = i + 2 < len(parts) and parts[i + 1] == ""
            compact = after_directive or before_directive
            regex += rf"([0-9]{{{width}}})" if compact or width == 4 else rf"([0-9]{{1,{width}}})"
            order.append(part)
        elif part.startswith("%"):
            raise ValueError(f"unsupported directive {part} in {fmt!r}")
        else:
            regex += re.escape(part)
    return re.compile(regex), tuple(order)


def parse_beijing(text: str, fmt: str) -> float | None:
    """Epoch seconds of a Beijing-time string, or None when it does not fit ``fmt``."""
    pattern, order = _time_pattern(fmt)
    m = pattern.fullmatch(text.strip())
    if m is None:
        return None
    values = dict(zip(order, map(int, m.groups()), strict=True))
    try:
        when = datetime(
            values.get("%Y", 1900),
            values.get("%m", 1),
            values.get("%d", 1),
            values.get("%H", 0),
            values.get("%M", 0),
            values.get("%S", 0),
            tzinfo=BEIJING,
        )
    except ValueError:
        return None
    return when.timestamp()
