"""Live binds: who is connected, for which account, and who can take receipts and MO.

A protocol adapter registers a ``Bind`` when a peer authenticates and removes it when the
connection ends. The outbox asks the registry for an account's receivers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

from smsc.model import OutboxItem


class Bind(Protocol):
    """What the core needs from a protocol's connection (implemented by each adapter)."""

    bind_id: str
    account: str
    protocol: str  # "smpp" | "cmpp" | ...
    receives: bool  # may carry receipts and MO (SMPP RX/TRX, CMPP connections)
    # A fallback receiver (HTTP push) takes an account's MO only when no other receiver can.
    fallback: bool

    def takes(self, kind: str) -> bool:
        """Whether this bind carries items of ``kind`` ("receipt", "mo") at all."""

    def capacity(self) -> int:
        """How many more outbox items may be sent now (free outbound window)."""

    def send_item(self, item: OutboxItem) -> None:
        """Render and send ``item``; report back with ``Outbox.acked``/``failed``."""

    def close(self, reason: str) -> None:
        """Unbind politely (shutdown, account disabled)."""

    def info(self) -> dict[str, Any]:
        """Shown by the admin API: peer, bind type, counters."""


class BindRegistry:
    def __init__(self) -> None:
        self._by_account: dict[str, list[Bind]] = defaultdict(list)
        self._rr: dict[tuple[str, str | None], int] = defaultdict(int)

    def add(self, bind: Bind) -> None:
        self._by_account[bind.account].append(bind)

    def remove(self, bind: Bind) -> None:
        binds = self._by_account.get(bind.account)
        if binds and bind in binds:
            binds.remove(bind)

    def count(self, account: str) -> int:
        return len(self._by_account.get(account, ()))

    def of(self, account: str) -> list[Bind]:
        return list(self._by_account.get(account, ()))

    def all(self) -> list[Bind]:
        return [b for binds in self._by_account.values() for b in binds]

    def has_receiver(self, account: str, protocol: str | None) -> bool:
        return any(
            b.receives and (protocol is None or b.protocol == protocol)
            for b in self._by_account.get(account, ())
        )

    def pick_receiver(
        self, account: str, protocol: str | None, kind: str | None = None
    ) -> Bind | None:
        """Round-robin over the account's receivers (of ``protocol`` if given) with free window.

        Fallback receivers (HTTP pushes) are considered only when no other receiver that
        takes ``kind`` exists at all: an MO waits for a busy bind rather than leave by HTTP.
        """
        binds = self._by_account.get(account)
        if not binds:
            return None
        n = len(binds)
        key = (account, protocol)
        start = self._rr[key]
        fallback: Bind | None = None
        regular_exists = False
        for i in range(n):
            b = binds[(start + i) % n]
            if not b.receives or (protocol is not None and b.protocol != protocol):
                continue
            if kind is not None and not b.takes(kind):
                continue
            if b.fallback:
                if fallback is None and b.capacity() > 0:
                    fallback = b
                continue
            regular_exists = True
            if b.capacity() > 0:
                self._rr[key] = (start + i + 1) % n
                return b
        return None if regular_exists else fallback
