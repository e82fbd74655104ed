"""Accept raw (unescaped) non-ASCII bytes in request URLs, as legacy SMS clients send them.

The vendor documents print URLs with Chinese in the query (``…/gsend.asp?…&msg=你好嗎``) and
old ASP/VB clients, or curl with such a URL pasted in, send those bytes unescaped. aiohttp's
C HTTP parser refuses them with 400 before any handler runs; its pure-Python parser accepts
them (the query string then holds the bytes as latin-1 characters, which
``common.decode_form`` turns back into bytes and decodes as UTF-8 or GBK). So the vendor
listeners use the Python parser; the admin API keeps the default one.

This replaces the parser a ``RequestHandler`` made for itself, which relies on aiohttp
internals (``_parser``, ``_read_bufsize``); ``tests/http/test_lenient.py`` guards it, and
the dependency range pins aiohttp 3.x.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_server import Server


class LenientServer(Server):
    __slots__ = ()

    def __call__(self) -> RequestHandler:
        handler = super().__call__()
        handler._parser = HttpRequestParserPy(  # type: ignore[assignment]
            handler,
            handler._loop,
            handler._read_bufsize,
            max_line_size=handler.max_line_size,
            max_field_size=handler.max_field_size,
            max_headers=handler.max_headers,
            payload_exception=RequestPayloadError,
        )
        return handler


class LenientAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections parse requests with the lenient parser."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = LenientServer  # same layout; only the handler factory differs
        return server
