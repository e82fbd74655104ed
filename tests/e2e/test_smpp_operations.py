"""SMPP operations beyond bind/submit: query_sm, cancel_sm, replace_sm, submit_multi, data_sm,
and the account limits (throughput, max_binds, IP whitelist, balance), over a real socket.

smpplib has no cancel_sm, replace_sm or submit_multi, so these tests drive the sans-IO session
in the ESME role over a plain blocking socket.
"""

from __future__ import annotations

import socket
import time

import pytest

from protocols.smpp import session as ss
from protocols.smpp.pdu import CommandId as C
from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.pdu import Pdu, SmeAddress

SLOW = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 5000 }
"""


class Esme:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.session = ss.SmppSession(ss.Role.ESME, now=time.monotonic())
        self.delivers: list[Pdu] = []

    def request(self, pdu: Pdu, timeout: float = 10.0) -> Pdu:
        seq = self.session.send_request(pdu, time.monotonic())
        self.sock.sendall(self.session.data_to_send())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for ev in self.session.receive_data(data, time.monotonic()):
                if isinstance(ev, ss.RequestReceived):
                    self.delivers.append(ev.pdu)
                    self.session.send_response(ev.pdu)
                elif isinstance(ev, ss.ResponseReceived) and ev.pdu.sequence == seq:
                    out = self.session.data_to_send()
                    if out:
                        self.sock.sendall(out)
                    return ev.pdu
            out = self.session.data_to_send()
            if out:
                self.sock.sendall(out)
        raise TimeoutError(f"no response to {pdu.name}")

    def bind(self, system_id: str = "acme", password: str = "secret") -> Pdu:
        return self.request(
            Pdu.make(
                C.bind_transceiver, system_id=system_id, password=password, interface_version=0x34
            )
        )

    def submit(self, dest: str = "13800138000", text: bytes = b"hello", **params) -> Pdu:
        return self.request(
            Pdu.make(
                C.submit_sm,
                **{
                    "source_addr": "106900001",
                    "dest_addr_ton": 1,
                    "dest_addr_npi": 1,
                    "destination_addr": dest,
                    "short_message": text,
                    **params,
                },
            )
        )

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def esme(make_server):
    server = make_server(SLOW)
    client = Esme(server.ports["smpp"])
    assert client.bind().command_status == 0
    yield server, client
    client.close()


def test_query_cancel_and_query_again(esme) -> None:
    server, c = esme
    mid = c.submit().message_id
    q = c.request(Pdu.make(C.query_sm, message_id=mid, source_addr="106900001"))
    assert q.command_status == 0 and q.message_state == 1 and q.final_date == ""
    assert c.request(Pdu.make(C.cancel_sm, message_id=mid)).command_status == 0
    q = c.request(Pdu.make(C.query_sm, message_id=mid, source_addr="106900001"))
    assert q.message_state == 4 and len(q.final_date) == 16
    again = c.request(Pdu.make(C.cancel_sm, message_id=mid))
    assert again.command_status == S.ESME_RCANCELFAIL
    unknown = c.request(Pdu.make(C.query_sm, message_id="999999999"))
    assert unknown.command_status == S.ESME_RQUERYFAIL


def test_replace_pending_message(esme) -> None:
    server, c = esme
    mid = c.submit(text=b"first").message_id
    r = c.request(
        Pdu.make(C.replace_sm, message_id=mid, source_addr="106900001", short_message=b"second")
    )
    assert r.command_status == 0
    _, view = server.admin(f"/api/messages/{mid}")
    assert view["parts"][0]["text"] == "second"
    assert c.request(Pdu.make(C.replace_sm, message_id="424242")).command_status == (
        S.ESME_RREPLACEFAIL
    )


def test_submit_multi_reports_bad_destinations(esme) -> None:
    server, c = esme
    resp = c.request(
        Pdu.make(
            C.submit_multi,
            source_addr="106900001",
            dest_address=[
                SmeAddress(1, 1, "13800000001"),
                SmeAddress(1, 1, "not-a-number"),
                SmeAddress(1, 1, "13800000002"),
            ],
            short_message=b"to many",
        )
    )
    assert resp.command_status == 0 and resp.message_id
    assert [(u.destination_addr, u.error_status_code) for u in resp.unsuccess_sme] == [
        ("not-a-number", S.ESME_RINVDSTADR)
    ]
    _, view = server.admin(f"/api/messages/{resp.message_id}")
    assert sorted(p["destination"] for p in view["parts"]) == ["13800000001", "13800000002"]


def test_data_sm_is_stored(esme) -> None:
    server, c = esme
    pdu = Pdu.make(
        C.data_sm,
        source_addr="106900001",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="13800138000",
    )
    pdu.set_tlv(0x0424, b"payload text")  # message_payload
    resp = c.request(pdu)
    assert resp.command_status == 0 and resp.message_id
    _, view = server.admin(f"/api/messages/{resp.message_id}")
    assert view["parts"][0]["text"] == "payload text"


def test_validation_codes(esme) -> None:
    _, c = esme
    assert c.submit(dest="").command_status == S.ESME_RINVDSTADR
    assert c.submit(dest_addr_ton=9).command_status == S.ESME_RINVDSTTON
    assert c.submit(registered_delivery=0x80).command_status == S.ESME_RINVREGDLVFLG
    assert c.submit(esm_class=0x04).command_status == S.ESME_RINVESMCLASS
    assert c.submit(validity_period="bogus-time-16ch!").command_status == S.ESME_RINVEXPIRY


def test_throughput_limit_throttles(esme) -> None:
    server, c = esme
    assert server.admin("/api/accounts/acme", {"throughput": 2}, method="PUT")[0] == 200
    statuses = [c.submit().command_status for _ in range(8)]
    assert S.ESME_RTHROTTLED in statuses and 0 in statuses


def test_max_binds_whitelist_and_balance(esme) -> None:
    server, c = esme
    port = server.ports["smpp"]
    assert server.admin("/api/accounts/acme", {"max_binds": 1}, method="PUT")[0] == 200
    second = Esme(port)
    assert second.bind().command_status == S.ESME_RBINDFAIL
    second.close()
    server.admin(
        "/api/accounts/acme", {"max_binds": 8, "ip_whitelist": ["10.0.0.0/8"]}, method="PUT"
    )
    third = Esme(port)
    assert third.bind().command_status == S.ESME_RBINDFAIL
    third.close()
    server.admin("/api/accounts/acme", {"ip_whitelist": [], "balance": 1}, method="PUT")
    assert c.submit().command_status == 0
    assert c.submit().command_status == S.ESME_RSUBMITFAIL
