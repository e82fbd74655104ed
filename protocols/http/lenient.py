"""Accept raw (unescaped) non-ASCII bytes in request URLs, as legacy SMS clients send them.

The vendor documents print URLs with Chinese in the query (``…/gsend.asp?…&msg=你好嗎``) and
old ASP/VB clients, or curl with such a URL pasted in, send those bytes unescaped. aiohttp's
C HTTP parser refuses them with 400 before any handler runs; its pure-Python parser accepts
them (the query string then holds the bytes as latin-1 characters, which
``common.decode_form`` turns back into bytes and decodes as UTF-8 or GBK).

The Python parser costs ~6 % of a request, so a connection keeps the C parser until a chunk
that starts a request has a non-ASCII request line; from then on that connection uses the
Python parser. Bodies may hold any bytes either way (CAIH's JSON is UTF-8 Chinese).

This swaps the parser a ``RequestHandler`` made for itself, which relies on aiohttp
internals (``_parser``, ``_read_bufsize``); ``tests/http/test_lenient.py`` guards it, and the
dependency range pins aiohttp 3.x.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_server import Server


class SniffingRequestHandler(RequestHandler):
    __slots__ = ("_lenient",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lenient = False

    def data_received(self, data: bytes) -> None:
        # A chunk that starts with a method token starts a request (clients that are not
        # pipelining send each request in its own segment): look at its request line only.
        if not self._lenient and data[:1].isupper():
            end = data.find(b"\r\n")
            line = data if end < 0 else data[:end]
            if not line.isascii():
                self._use_python_parser()
        super().data_received(data)

    def _use_python_parser(self) -> None:
        self._lenient = True
        self._parser = HttpRequestParserPy(
            self,
            self._loop,
            self._read_bufsize,
            max_line_size=self.max_line_size,
            max_field_size=self.max_field_size,
            max_headers=self.max_headers,
            payload_exception=RequestPayloadError,
        )


class LenientServer(Server):
    __slots__ = ()

    def __call__(self) -> RequestHandler:
        return SniffingRequestHandler(self, loop=self._loop, **self._kwargs)


class LenientAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections accept raw non-ASCII request lines."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = LenientServer  # same layout; only the handler factory differs
        return server
