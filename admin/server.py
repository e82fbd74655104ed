"""``smsc serve``: one process, one asyncio loop, Twisted listeners and aiohttp side by side.

Twisted runs on the asyncio reactor so the binary protocol listeners, the admin API and the
vendor HTTP facade share one loop; database work happens on the group-commit writer thread
and a small executor, never on the loop.

Protocol listeners are plug-ins: ``protocols/<name>/listener.py`` with
``make_factory(smsc, config, counters)``. A protocol without that module is "not
implemented yet": its listener is skipped and the log says so.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import signal
import ssl
import time
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from admin.metrics import SmscCollector
from smsc.config import Config
from smsc.core import Smsc
from storage import db
from storage.native import status as native_status
from storage.writer import GroupCommitWriter

log = logging.getLogger("smsc.server")

BINARY_PROTOCOLS = ("smpp", "cmpp", "sgip", "smgp")
SHUTDOWN_BUDGET_S = 8.0


def install_reactor() -> tuple[asyncio.AbstractEventLoop, Any]:
    """Install Twisted's asyncio reactor on a fresh loop (once per process)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from twisted.internet import asyncioreactor

    asyncioreactor.install(loop)
    from twisted.internet import reactor

    return loop, reactor


def account_specs(config: Config) -> list[dict[str, Any]]:
    """Config accounts as plain specs for ``AccountStore.upsert`` (secrets included)."""
    return [a.to_dict(mask_secrets=False) for a in config.accounts]


class Server:
    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reactor: Any) -> None:
        self.config = config
        self.loop = loop
        self.reactor = reactor
        self.exit_code = 0
        self.ports: dict[str, int] = {}
        self._listening: list[Any] = []
        self._factories: list[Any] = []
        self._runners: list[Any] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.pdu_counters: dict[str, dict[str, int]] = {}
        self._vendor_ports: dict[str, int] = {}
        self.smsc: Smsc | None = None
        self.writer: GroupCommitWriter | None = None
        self.checkpointer: db.Checkpointer | None = None
        self._stopping = False

    async def start(self, ready_file: str | None = None) -> None:
        cfg = self.config
        st = cfg.storage
        engine = await self.loop.run_in_executor(
            None,
            lambda: db.make_engine(
                st.url,
                sqlite_synchronous=st.sqlite_synchronous,
                pool_size=st.pool_size,
                sqlite_autocheckpoint=False,
            ),
        )
        await self.loop.run_in_executor(None, db.upgrade, engine)
        if engine.dialect.name == "sqlite":
            self.checkpointer = db.Checkpointer(engine)
            self.checkpointer.start()
        self.writer = GroupCommitWriter(
            engine,
            self.loop,
            max_wait_ms=st.commit_max_wait_ms,
            max_batch=st.commit_max_batch,
            on_loop=st.commit_on_loop and st.commit_max_wait_ms == 0,
            process=st.commit_process,
        )
        self.writer.start()
        smsc = self.smsc = Smsc(
            engine,
            self.writer,
            self.loop,
            cfg.carrier,
            retry_initial_s=cfg.smpp.retry_initial_s,
            retry_max_s=cfg.smpp.retry_max_s,
        )
        for spec in account_specs(cfg):
            acc, created = await self.loop.run_in_executor(
                None, partial(smsc.accounts.upsert, spec, from_config=True)
            )
            log.info(
                "event=account_%s account=%s source=config",
                "created" if created else "updated",
                acc.name,
            )
        restored = await self.loop.run_in_executor(None, smsc.start)
        for account_cfg in cfg.accounts:
            await self.loop.run_in_executor(
                None,
                smsc.catalogue.seed,
                account_cfg.name,
                account_cfg.signatures,
                account_cfg.templates,
            )
        log.info(
            "event=storage_ready url=%s accounts=%d outbox=%d pending_receipts=%d",
            _safe_url(st.url),
            restored["accounts"],
            restored["outbox"],
            restored["pending_receipts"],
        )
        for name in BINARY_PROTOCOLS:
            self._start_binary(name)
        await self._start_http(smsc)
        self._tasks.append(self.loop.create_task(self._poll_accounts()))
        tune_gc()
        if ready_file:
            Path(ready_file).write_text(json.dumps({"pid": os.getpid(), **self.ports}))
        log.info(
            "event=started pid=%d ports=%s",
            os.getpid(),
            json.dumps(self.ports, separators=(",", ":")),
        )
        native = native_status()
        log.info(
            "event=hot_path compiled=%s reason=%r",
            "true" if native["compiled"] else "false",
            native["reason"],
        )

    def _start_binary(self, name: str) -> None:
        listener = getattr(self.config.listeners, name)
        if not listener.enabled:
            log.info("event=listener_disabled protocol=%s", name)
            return
        try:
            module = importlib.import_module(f"protocols.{name}.listener")
        except ModuleNotFoundError:
            log.info("event=listener_skipped protocol=%s reason=not_implemented_yet", name)
            return
        assert self.smsc is not None
        counters = self.pdu_counters.setdefault(name, {})
        factory = module.make_factory(self.smsc, self.config, counters)
        port = self.reactor.listenTCP(listener.port, factory, interface=listener.host, backlog=256)
        self._factories.append(factory)
        self._listening.append(port)
        self.ports[name] = port.getHost().port
        log.info(
            "event=listening protocol=%s host=%s port=%d", name, listener.host, self.ports[name]
        )

    async def _start_http(self, smsc: Smsc) -> None:
        from aiohttp import web

        from admin.api import make_app

        registry = CollectorRegistry(auto_describe=True)
        registry.register(SmscCollector(smsc, self.pdu_counters))
        apps: list[tuple[str, web.Application]] = [("admin", make_app(smsc, registry))]
        try:
            vendor = importlib.import_module("protocols.http.app")
        except ModuleNotFoundError:
            log.info("event=listener_skipped protocol=http reason=not_implemented_yet")
        else:
            if self.config.listeners.http.enabled:
                http_app = vendor.make_app(smsc, self.config)
                apps.append(("http", http_app))
                for vendor_name, port, app in vendor.vendor_apps(http_app):
                    apps.append((f"http_{vendor_name}", app))
                    self._vendor_ports[f"http_{vendor_name}"] = port
        for name, app in apps:
            listener = getattr(self.config.listeners, name, None)
            if listener is None:  # a vendor on its own port, on the http listener's host
                host, port = self.config.listeners.http.host, self._vendor_ports[name]
            elif not listener.enabled:
                log.info("event=listener_disabled protocol=%s", name)
                continue
            else:
                host, port = listener.host, listener.port
            runner_cls = web.AppRunner if name == "admin" else _vendor_runner()
            runner = runner_cls(app, access_log=None, handle_signals=False)
            await runner.setup()
            tls = None if name == "admin" else self._vendor_tls()
            site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=tls)
            await site.start()
            self._runners.append(runner)
            server = site._server
            assert server is not None and server.sockets
            self.ports[name] = server.sockets[0].getsockname()[1]
            log.info("event=listening protocol=%s host=%s port=%d", name, host, self.ports[name])

    def _vendor_tls(self) -> ssl.SSLContext | None:
        """HTTPS for the vendor listeners when ``http.tls_cert``/``tls_key`` are set."""
        http = self.config.http
        if not http.tls_cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(http.tls_cert, http.tls_key)
        return context

    async def _poll_accounts(self) -> None:
        assert self.smsc is not None
        while True:
            await asyncio.sleep(2.0)
            try:
                if await self.smsc.refresh_accounts():
                    log.info("event=accounts_reloaded")
            except Exception as exc:  # noqa: BLE001 - storage hiccup; /health reports it
                log.warning("event=accounts_reload_failed error=%r", exc)

    async def stop(self) -> None:
        """Stop accepting, answer what is in flight, unbind peers politely, flush storage."""
        if self._stopping:
            return
        self._stopping = True
        started = time.monotonic()
        log.info("event=stopping")
        for task in self._tasks:
            task.cancel()
        for port in self._listening:
            port.stopListening()
        for factory in self._factories:
            factory.pause_all()
        if self.writer is not None:
            try:  # a barrier: everything queued before it is committed and answered
                await asyncio.wait_for(self.writer.write([]), SHUTDOWN_BUDGET_S / 2)
            except Exception as exc:  # noqa: BLE001
                log.error("event=flush_failed error=%r", exc)
        remaining = max(0.5, SHUTDOWN_BUDGET_S - (time.monotonic() - started) - 1.0)
        await asyncio.gather(
            *(f.unbind_all(remaining) for f in self._factories), return_exceptions=True
        )
        for runner in self._runners:
            await runner.cleanup()
        if self.smsc is not None:
            self.smsc.stop()
        if self.writer is not None:
            await self.writer.stop()
            if self.checkpointer is not None:
                await self.loop.run_in_executor(None, self.checkpointer.stop)
            self.writer._engine.dispose()
        log.info("event=stopped seconds=%.2f", time.monotonic() - started)


def _vendor_runner() -> Any:
    """Vendor listeners accept raw non-ASCII URLs like the vendors' legacy clients send."""
    from protocols.http.lenient import LenientAppRunner

    return LenientAppRunner


GC_THRESHOLDS = (50_000, 20, 50)


def tune_gc() -> None:
    """Fewer, later cyclic-GC passes: the hot path makes no reference cycles worth chasing.

    Every message allocates a few dozen short-lived objects, which reference counting frees;
    with CPython's default gen-0 threshold (700) the collector ran hundreds of times a second
    and scanned the long-lived state (pending receipts, outbox) over and over — about 30 % of
    the SMPP benchmark's CPU. Objects that exist once the server is up are frozen out of
    collection altogether.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(config: Config, ready_file: str | None = None) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    loop, reactor = install_reactor()
    from twisted.internet.defer import Deferred

    server = Server(config, loop, reactor)

    def failed(failure: Any) -> None:
        log.error("event=start_failed error=%s", failure.getErrorMessage())
        server.exit_code = 1
        reactor.stop()

    def begin() -> None:
        d = Deferred.fromFuture(loop.create_task(server.start(ready_file)))
        d.addErrback(failed)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("event=signal signal=%s", signal.Signals(signum).name)
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(begin)
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: Deferred.fromFuture(loop.create_task(server.stop()))
    )
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reactor.run(installSignalHandlers=False)
    return server.exit_code
