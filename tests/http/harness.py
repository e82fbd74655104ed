"""In-process vendor-API harness: the real core, storage and app behind aiohttp's test client.

``vendor_env(toml)`` builds everything ``smsc serve`` builds (SQLite file, group-commit
writer, core, catalogue seeded from the config, the vendor app with its push manager) on
the running asyncio loop and serves the app on a real socket on 127.0.0.1, so tests can
use aiohttp's ``TestClient`` or any HTTP client. ``Receiver`` is a customer's push
endpoint that records what it gets and answers from a script.

Tests are plain functions running ``asyncio.run(main())`` (see ``run``).
"""

from __future__ import annotations

import asyncio
import tempfile
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from protocols.http.app import PUSHES, make_app
from protocols.http.lenient import LenientAppRunner
from smsc.config import Config, parse_config
from smsc.core import Smsc
from storage import db
from storage.writer import GroupCommitWriter

BASE = """
[http]
push_retry_s = [0.2, 0.2, 0.2]
merge_window_s = 0.2
push_timeout_s = 2.0

[carrier]
default = { outcome = "DELIVRD", delay_ms = 100 }
"""


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async test body on a fresh loop."""
    return asyncio.run(coro())  # type: ignore[arg-type]


class LenientTestServer(TestServer):
    """The test server with the vendor listener's parser (raw non-ASCII URLs accepted)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return LenientAppRunner(self.app, **kwargs)


@dataclass
class VendorEnv:
    client: TestClient
    smsc: Smsc
    config: Config
    app: web.Application

    @property
    def base_url(self) -> str:
        return str(self.client.make_url(""))

    def account(self, name: str = "acme") -> Any:
        acc = self.smsc.accounts.get(name)
        assert acc is not None
        return acc

    async def mo(self, source: str, destination: str, text: str) -> dict[str, Any]:
        return await self.smsc.inject_mo(source, destination, text)

    async def messages(self, account: str = "acme") -> list[dict[str, Any]]:
        return await self.smsc.search_messages(account=account, limit=10_000)


@asynccontextmanager
async def vendor_env(
    toml_text: str, *, clock: Callable[[], float] | None = None, base: str = BASE
) -> AsyncIterator[VendorEnv]:
    """The whole server minus the binary listeners, configured by ``base`` + ``toml_text``."""
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        raw = tomllib.loads(base + toml_text)
        raw.setdefault("storage", {})["url"] = f"sqlite:///{Path(tmp) / 'smsc.db'}"
        config = parse_config(raw)
        engine = db.make_engine(config.storage.url, sqlite_synchronous="NORMAL")
        db.upgrade(engine)
        writer = GroupCommitWriter(engine, loop)
        writer.start()
        kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
        smsc = Smsc(engine, writer, loop, config.carrier, **kwargs)
        for acc in config.accounts:
            smsc.accounts.upsert(acc.to_dict(mask_secrets=False))
        smsc.start()
        for acc in config.accounts:
            smsc.catalogue.seed(acc.name, acc.signatures, acc.templates)
        app = make_app(smsc, config, clock=clock)
        client = TestClient(LenientTestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield VendorEnv(client, smsc, config, app)
        finally:
            await client.close()
            smsc.stop()
            await writer.stop()
            engine.dispose()


@dataclass
class Receiver:
    """A customer's push endpoint on 127.0.0.1: records requests, answers from ``script``.

    ``script`` is a list of (status, body) used in order; when it runs out, ``default``.
    """

    script: list[tuple[int, str]] = field(default_factory=list)
    default: tuple[int, str] = (200, "ok")
    got: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    _event: asyncio.Event | None = None

    async def start(self) -> Receiver:
        self._event = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "raw_query": request.rel_url.raw_query_string,
                "headers": dict(request.headers),
                "body": body,
                "content_type": request.content_type,
            }
        )
        status, text = self.script.pop(0) if self.script else self.default
        assert self._event is not None
        self._event.set()
        return web.Response(status=status, text=text)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` requests arrived (or fail after ``timeout``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.got) < count:
            assert self._event is not None
            self._event.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"expected {count} pushes, got {len(self.got)}: {self.got}")
            try:
                await asyncio.wait_for(self._event.wait(), left)
            except TimeoutError:
                pass
        return self.got

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def pushes(env: VendorEnv) -> Any:
    return env.app[PUSHES]
