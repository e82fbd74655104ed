"""Helpers around python-smpplib (a real third-party client) for end-to-end tests."""

from __future__ import annotations

import time
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.gsm


class Collector:
    """Binds with smpplib and records every submit_sm_resp and deliver_sm it sees."""

    def __init__(self, port: int, *, timeout: float = 5.0) -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=timeout, allow_unknown_opt_params=True
        )
        self.resps: list[Any] = []
        self.delivers: list[Any] = []
        self.client.set_message_sent_handler(self._sent)
        self.client.set_message_received_handler(self._received)

    def _sent(self, pdu: Any) -> None:
        self.resps.append(pdu)

    def _received(self, pdu: Any) -> int:
        self.delivers.append(pdu)
        return 0  # deliver_sm_resp status

    def connect(
        self, how: str = "transceiver", system_id: str = "acme", password: str = "secret"
    ) -> Collector:
        self.client.connect()
        getattr(self.client, f"bind_{how}")(system_id=system_id, password=password)
        return self

    def submit(
        self,
        text: str,
        destination: str = "13800138000",
        *,
        source: str = "106900001",
        receipt: bool = True,
    ) -> list[Any]:
        parts, coding, esm = smpplib.gsm.make_parts(text)
        sent = []
        for part in parts:
            sent.append(
                self.client.send_message(
                    source_addr_ton=smpplib.consts.SMPP_TON_INTL,
                    source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    source_addr=source,
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    destination_addr=destination,
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm,
                    registered_delivery=receipt,
                )
            )
        return sent

    def read_until(self, predicate: Any, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out: {len(self.resps)} resps, {len(self.delivers)} delivers"
                )
            try:
                self.client.read_once()
            except smpplib.exceptions.ConnectionError:
                raise
            except OSError:  # socket timeout: smpplib raises socket.timeout → keep polling
                continue

    def message_ids(self) -> list[str]:
        return [_s(p.message_id) for p in self.resps if p.command == "submit_sm_resp"]

    def receipts(self) -> list[Any]:
        return [p for p in self.delivers if int(p.esm_class) & 0x04]

    def close(self) -> None:
        try:
            self.client.unbind()
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
        self.client.disconnect()


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def submit_batched(c: Collector, n: int, batch: int = 50, **kw: Any) -> list[str]:
    """Submit ``n`` short messages keeping at most ``batch`` unanswered; returns the ids."""
    start = len(c.message_ids())
    for i in range(0, n, batch):
        for j in range(i, min(n, i + batch)):
            c.submit(f"msg {j}", **kw)
        want = start + min(n, i + batch)
        c.read_until(lambda want=want: len(c.message_ids()) >= want, timeout=30)
    return c.message_ids()[start:]
