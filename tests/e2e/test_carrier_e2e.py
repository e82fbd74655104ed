"""Carrier emulation, extension routing and MO injection, end to end (SMPP and CMPP)."""

from __future__ import annotations

import time
from datetime import datetime

import smpplib.consts

from conformance.cmpp_client import CmppTestClient
from smsc.charsets import decode
from smsc.segmentation import parse_udh
from tests.e2e.smpp_client import Collector, _s

# The configuration contract from the carrier-emulation issue, verbatim.
CONTRACT = """
[carrier]
seed = 42                                  # one seeded RNG: the same run gives the same outcomes
default = { outcome = "DELIVRD", delay_ms = 1000 }
echo_number = "10086000"                   # MT to it comes back as MO (loopback self-test)
unsubscribe_words = ["TD", "TN", "0000"]
blacklisted = "receipt"                    # or "reject": refuse the submit itself

[[carrier.rules]]                          # global rules; [[accounts.rules]] (same shape) go first
match = { destination_suffix = "0001" }    # destination_prefix / destination_regex / content_regex / protocol
outcome = "UNDELIV"                        # DELIVRD UNDELIV EXPIRED REJECTD DELETED UNKNOWN DTBLACK
smpp_err = 1                               # receipt err: and network_error_code
cmpp_stat = "MK:0001"                      # Stat in CMPP/SGIP/SMGP reports (default: the outcome)
probability = 1.0
delay_ms = 0                               # or { uniform = [100, 500] } or { exponential_mean = 200 }
enroute = false                            # also send an intermediate ENROUTE receipt
"""


def _stat(receipt) -> str:
    return _s(receipt.short_message).split("stat:")[1].split()[0]


def _cmpp_report(c: CmppTestClient, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = c.read_deliver(timeout=1.0)
        if d is not None and d["report"] is not None:
            return d
    raise AssertionError("no CMPP status report")


def test_contract_suffix_rule_smpp_and_cmpp(make_server) -> None:
    server = make_server(CONTRACT)
    smpp = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        smpp.submit("fail me", destination="13800000001")
        smpp.submit("deliver me", destination="13800000002")
        smpp.read_until(lambda: len(smpp.receipts()) == 2)
        by_dest = {_s(r.source_addr): r for r in smpp.receipts()}
        failed = _s(by_dest["13800000001"].short_message)
        assert "stat:UNDELIV err:001" in failed
        assert int(by_dest["13800000001"].message_state) == 5
        assert "stat:DELIVRD err:000" in _s(by_dest["13800000002"].short_message)
    finally:
        smpp.close()
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x30) as c:
        assert c.connect("901234", "s3cret") == 0
        assert c.submit("13900000001", "fail me", src_id="106900001")[0] == 0
        assert _cmpp_report(c)["report"]["stat"] == "MK:0001"
        assert c.submit("13900000002", "deliver me", src_id="106900001")[0] == 0
        assert _cmpp_report(c)["report"]["stat"] == "DELIVRD"


PROBABILITY = """
[carrier]
seed = 7
default = { outcome = "DELIVRD", delay_ms = 50 }

[[carrier.rules]]
outcome = "UNDELIV"
probability = 0.3
"""


def test_probability_with_seed_repeats(make_server) -> None:
    sequences = []
    for _ in range(2):
        server = make_server(PROBABILITY)
        c = Collector(server.ports["smpp"]).connect("transmitter")
        for i in range(30):
            c.submit(f"m{i}", destination=f"1380000{i:04d}", receipt=False)
            c.read_until(lambda c=c, i=i: len(c.message_ids()) == i + 1)
        c.close()
        _, rows = server.admin("/api/messages?account=acme&limit=100")
        sequences.append([r["outcome"] for r in sorted(rows, key=lambda r: r["id"])])
        server.stop()
    assert sequences[0] == sequences[1]
    assert 3 <= sequences[0].count("UNDELIV") <= 18  # 0.3 of 30, not all or nothing


DELAY = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 2500 }
"""


def test_delay_shows_in_done_date(make_server) -> None:
    server = make_server(DELAY, env={"SMSC_SMPP__RECEIPT_SECONDS": "true"})
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.submit("slow")
        c.read_until(lambda: len(c.receipts()) == 1)
        text = _s(c.receipts()[0].short_message)
        submit = datetime.strptime(text.split("submit date:")[1][:12], "%y%m%d%H%M%S")
        done = datetime.strptime(text.split("done date:")[1][:12], "%y%m%d%H%M%S")
        assert (done - submit).total_seconds() >= 2
    finally:
        c.close()


EXPIRY = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 5000 }
"""


def test_expired_validity_gives_expired(make_server) -> None:
    server = make_server(EXPIRY)
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.client.send_message(
            source_addr="106900001",
            destination_addr="13800138000",
            short_message=b"late",
            registered_delivery=True,
            validity_period="000000000001000R",
        )
        c.read_until(lambda: len(c.receipts()) == 1, timeout=10)
        assert _stat(c.receipts()[0]) == "EXPIRED"
        assert int(c.receipts()[0].message_state) == 3
    finally:
        c.close()


SCHEDULE = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 100 }
"""


def test_scheduled_message_waits_for_its_time(make_server) -> None:
    server = make_server(SCHEDULE)
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        sent_at = time.monotonic()
        c.client.send_message(
            source_addr="106900001",
            destination_addr="13800138000",
            short_message=b"later",
            registered_delivery=True,
            schedule_delivery_time="000000000003000R",
        )
        c.read_until(lambda: len(c.message_ids()) == 1)
        _, rows = server.admin("/api/messages?account=acme")
        assert rows[0]["effective_state"] == "ENROUTE"
        c.read_until(lambda: len(c.receipts()) == 1, timeout=15)
        assert time.monotonic() - sent_at >= 2.9
        assert _stat(c.receipts()[0]) == "DELIVRD"
    finally:
        c.close()


def test_mo_routed_by_extension_to_receiver_bind(make_server) -> None:
    server = make_server(CONTRACT)
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        status, body = server.admin(
            "/api/mo", {"from": "13800138000", "to": "106900001123", "text": "hello"}
        )
        assert status == 201 and body["account"] == "acme"
        rx.read_until(lambda: len(rx.delivers) == 1)
        mo = rx.delivers[0]
        assert _s(mo.destination_addr) == "106900001123"
        assert _s(mo.source_addr) == "13800138000"
        assert int(mo.esm_class) == 0 and bytes(mo.short_message) == b"hello"
    finally:
        rx.close()


def test_mo_for_unbound_account_waits_and_unrouted_is_listed(make_server) -> None:
    server = make_server(CONTRACT)
    assert (
        server.admin("/api/mo", {"from": "13800138000", "to": "1069000019", "text": "kept"})[0]
        == 201
    )
    status, body = server.admin("/api/mo", {"from": "13800138000", "to": "95555", "text": "lost?"})
    assert status == 202 and body["routed"] is False
    _, unrouted = server.admin("/api/mo/unrouted")
    assert [u["destination"] for u in unrouted] == ["95555"]
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        rx.read_until(lambda: len(rx.delivers) == 1)
        assert bytes(rx.delivers[0].short_message) == b"kept"
    finally:
        rx.close()


def test_td_blacklists_and_next_mt_gets_dtblack(make_server) -> None:
    server = make_server(CONTRACT)
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        server.admin("/api/mo", {"from": "13812345678", "to": "106900001", "text": "TD"})
        c.read_until(lambda: len(c.delivers) == 1)
        c.submit("promo", destination="13812345678")
        c.read_until(lambda: len(c.receipts()) == 1)
        r = c.receipts()[0]
        assert _stat(r) == "DTBLACK" and int(r.message_state) == 8
    finally:
        c.close()
    _, entries = server.admin("/api/blacklist")
    assert {"account": "acme", "number": "13812345678"} in entries


def test_long_chinese_mo_arrives_in_three_udh_parts(make_server) -> None:
    server = make_server(CONTRACT)
    text = ("这是一条很长的上行短信，用来检验长短信的拆分和重组是否正确。" * 6)[:150]
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        server.admin("/api/mo", {"from": "13800138000", "to": "106900001", "text": text})
        rx.read_until(lambda: len(rx.delivers) == 3)
        parts = []
        for pdu in rx.delivers:
            assert int(pdu.esm_class) & smpplib.consts.SMPP_GSMFEAT_UDHI
            assert int(pdu.data_coding) == 8
            concat, payload = parse_udh(bytes(pdu.short_message))
            assert concat is not None and concat.total == 3
            parts.append((concat.seq, concat.ref, payload))
        assert sorted(p[0] for p in parts) == [1, 2, 3]
        assert len({p[1] for p in parts}) == 1
        assert decode(b"".join(p[2] for p in sorted(parts)), "ucs2") == text
    finally:
        rx.close()


def test_echo_number_loops_back_as_mo(make_server) -> None:
    server = make_server(CONTRACT)
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.submit("ping", destination="10086000", source="106900001", receipt=False)
        c.read_until(lambda: len(c.delivers) == 1)
        mo = c.delivers[0]
        assert _s(mo.source_addr) == "10086000" and bytes(mo.short_message) == b"ping"
    finally:
        c.close()


def test_rules_replaced_at_run_time(make_server) -> None:
    server = make_server(CONTRACT)
    status, body = server.admin(
        "/api/carrier/rules",
        [{"match": {"destination_prefix": "139"}, "outcome": "REJECTD", "delay_ms": 0}],
        method="PUT",
    )
    assert status == 200 and body["rules"][0]["outcome"] == "REJECTD"
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.submit("x", destination="13900000000")
        c.read_until(lambda: len(c.receipts()) == 1)
        assert _stat(c.receipts()[0]) == "REJECTD"
        mid = c.message_ids()[0]
    finally:
        c.close()
    _, view = server.admin(f"/api/messages/{mid}")
    assert view["events"][0]["detail"]["outcome"] == "REJECTD"
    assert "rules[0]" in view["events"][0]["detail"]["rule"] or view["events"][0]["detail"]["rule"]
