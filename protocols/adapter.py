"""The thin Twisted adapter every binary protocol shares: bytes and timers in, bytes out.

A protocol package supplies a *bind* object (``protocols.<p>.binding``) that owns its sans-IO
session and its SMSC behaviour; this module only connects it to a TCP transport. Reading
pauses while the peer has a full window of unanswered requests (``pauseProducing``) and
resumes as responses go out; one timer per connection follows the session's next deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import protocol
from twisted.python.failure import Failure


class BindLike(Protocol):
    """What the adapter drives (``SmppBind``, ``CmppBind``, …)."""

    closed_future: asyncio.Future[None]

    def data_received(self, data: bytes) -> None: ...
    def timer_fired(self) -> None: ...
    def connection_lost(self, reason: str) -> None: ...
    def close(self, reason: str) -> None: ...


# make_bind(peer, write, close_transport, set_reading, arm_timer) -> (bind, first deadline)
MakeBind = Callable[..., BindLike]


class BindProtocol(protocol.Protocol):
    def __init__(self, factory: BindFactory) -> None:
        self.factory = factory
        self.bind: BindLike | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._loop = asyncio.get_event_loop()

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        peer = self.transport.getPeer()
        self.factory.connections.add(self)
        self.transport.setTcpNoDelay(True)
        if self.factory.paused:
            self.transport.pauseProducing()
        self.bind = self.factory.make_bind(
            peer=f"{peer.host}:{peer.port}",
            write=self._write,
            close_transport=self.transport.loseConnection,
            set_reading=self._set_reading,
            arm_timer=self._arm,
        )

    def _write(self, data: bytes) -> None:
        """Send at once when nothing is queued; Twisted's buffer takes only what the socket won't.

        ``transport.write`` always buffers and registers the socket for writability, so each
        answer cost two epoll_ctl calls and one more loop iteration before it left. Sending
        directly keeps Twisted's ordering: we only do it when its buffer is empty.
        """
        t = self.transport
        sock = getattr(t, "socket", None)
        if (
            sock is None
            or not t.connected
            or t.disconnecting
            or t._tempDataLen
            or len(t.dataBuffer) > t.offset
        ):
            t.write(data)
            return
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            t.write(data)  # let Twisted see the error and close the connection its way
            return
        if sent < len(data):
            t.write(data[sent:])

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        if self.bind is not None:
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
        """Keep one timer at the session's next deadline (``time.monotonic`` seconds)."""
        if deadline is None:
            return
        if self._timer is not None and self._timer_due is not None and self._timer_due <= deadline:
            return  # an earlier timer will fire, tick the session and re-arm
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = deadline
        delay = max(0.0, deadline - time.monotonic())
        self._timer = self._loop.call_at(self._loop.time() + delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = None
        if self.bind is not None:
            self.bind.timer_fired()


class BindFactory(protocol.Factory):
    def __init__(self, make_bind: MakeBind) -> None:
        self.make_bind = make_bind
        self.connections: set[BindProtocol] = set()
        self.paused = False

    def buildProtocol(self, addr: Any) -> BindProtocol:  # noqa: N802 - Twisted API
        return BindProtocol(self)

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
