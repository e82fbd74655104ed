"""The thin Twisted adapter for SMPP: bytes and timers in, bytes out, back-pressure.

All protocol logic lives in the sans-IO session and ``SmppBind``; this module only connects
them to a TCP transport. Reading pauses while the ESME has a full window of unanswered
requests (``IPushProducer.pauseProducing``) and resumes as responses go out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from twisted.internet import protocol
from twisted.python.failure import Failure

from protocols.smpp.binding import SmppBind
from smsc.segmentation import ReferenceAllocator


class SmppProtocol(protocol.Protocol):
    def __init__(self, factory: SmppFactory) -> None:
        self.factory = factory
        self.bind: SmppBind | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._loop = asyncio.get_event_loop()

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        peer = self.transport.getPeer()
        self.bind = SmppBind(
            self.factory.smsc,
            self.factory.config,
            f"{peer.host}:{peer.port}",
            self.transport.write,
            self.transport.loseConnection,
            self._set_reading,
            self._arm,
            self.factory.counters,
            self.factory.refs,
        )
        self.factory.connections.add(self)
        self.transport.setTcpNoDelay(True)
        if self.factory.paused:
            self.transport.pauseProducing()
        self._arm(self.bind.session.next_deadline())

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        assert self.bind is not None
        self.bind.data_received(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:  # noqa: N802
        self.factory.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.bind is not None:
            self.bind.connection_lost(reason.getErrorMessage())

    def _set_reading(self, reading: bool) -> None:
        if self.factory.paused:
            return
        if reading:
            self.transport.resumeProducing()
        else:
            self.transport.pauseProducing()

    def _arm(self, deadline: float | None) -> None:
        """Keep one timer at the session's next deadline (monotonic time)."""
        if deadline is None:
            return
        if self._timer is not None and self._timer_due is not None and self._timer_due <= deadline:
            return  # an earlier timer will tick and re-arm
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = deadline
        self._timer = self._loop.call_at(
            self._loop.time() + max(0.0, deadline - _monotonic()), self._fire
        )

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = None
        if self.bind is not None:
            self.bind.timer_fired()


def _monotonic() -> float:
    import time

    return time.monotonic()


class SmppFactory(protocol.Factory):
    def __init__(self, smsc: Any, config: Any, counters: dict[str, int]) -> None:
        self.smsc = smsc
        self.config = config
        self.counters = counters
        self.refs = ReferenceAllocator()
        self.connections: set[SmppProtocol] = set()
        self.paused = False

    def buildProtocol(self, addr: Any) -> SmppProtocol:  # noqa: N802 - Twisted API
        return SmppProtocol(self)

    def pause_all(self) -> None:
        """Shutdown step 1: read no more requests (in-flight ones are still answered)."""
        self.paused = True
        for conn in self.connections:
            conn.transport.pauseProducing()

    async def unbind_all(self, timeout: float) -> None:
        """Shutdown step 2: unbind every peer, wait for them to go, then cut the rest."""
        binds = [c.bind for c in list(self.connections) if c.bind is not None]
        for bind in binds:
            bind.close("SMSC shutting down")
        waiting = [b.closed_future for b in binds if not b.closed_future.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout)
        for conn in list(self.connections):
            conn.transport.abortConnection()


def make_factory(smsc: Any, config: Any, counters: dict[str, int]) -> SmppFactory:
    return SmppFactory(smsc, config, counters)
