"""SMPP 3.4 end to end with python-smpplib against a real server process."""

from __future__ import annotations

import socket
import struct
import time

import pytest
import smpplib.consts
import smpplib.exceptions

from storage.native import MANIFEST, PURE_ENV
from storage.native import ROOT as native_root
from storage.native import check as native_check
from tests.e2e.smpp_client import Collector, _s

FAST = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 200 }
"""

CHINESE_150 = "你好，这是一条用于测试长短信拆分与重组的中文消息。" * 6


@pytest.mark.parametrize("hot_path", ["as-installed", "source"])
def test_bind_submit_receipts_unbind(make_server, hot_path: str) -> None:
    """Also with the hot path forced to source (``SMSC_PURE_PYTHON``): where the install
    compiled it, both builds must behave the same on the wire."""
    source = hot_path == "source"
    server = make_server(FAST, env={PURE_ENV: "1" if source else ""})
    # the server decides from the build record (this process may itself run with the switch)
    compiled = not source and native_check(native_root, native_root / "storage" / MANIFEST) is None
    assert f"event=hot_path compiled={str(compiled).lower()} " in server.log()
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.submit("Hello World")
        long_text = CHINESE_150[:150]
        sent = c.submit(long_text)
        assert len(sent) == 3  # smpplib cuts 150 UCS2 chars into 3 UDH parts
        c.read_until(lambda: len(c.message_ids()) == 4)
        ids = c.message_ids()
        assert len(set(ids)) == 4, "each part gets its own message_id"
        c.read_until(lambda: len(c.receipts()) == 4)
        got = {_s(r.receipted_message_id): r for r in c.receipts()}
        assert set(got) == set(ids)
        for mid, r in got.items():
            text = _s(r.short_message)
            assert text.startswith(f"id:{mid} sub:001 dlvrd:001 ")
            assert "stat:DELIVRD err:000" in text
            assert int(r.message_state) == 2
        resp = c.client.unbind()  # everything owed has arrived: the next PDU is its answer
        assert (resp.command, resp.status) == ("unbind_resp", 0)
    finally:
        c.close()
    status, view = server.admin(f"/api/messages/{ids[1]}")
    assert status == 200
    assert view["parts"][0]["group_total"] == 3
    assert view["receipts"][0]["state"] == "DELIVRD"
    # the receipt's record is its outbox row: it also says when the ESME acknowledged it
    deadline = time.monotonic() + 10
    while view["receipts"][0]["acknowledged_at"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
        view = server.admin(f"/api/messages/{ids[1]}")[1]
    assert view["receipts"][0]["acknowledged_at"] is not None
    assert view["receipts"][0]["message_pk"] == view["parts"][0]["id"]
    assert len(view["receipts"]) == 1


def test_sar_parts_and_message_payload_each_get_an_id_and_a_receipt(make_server) -> None:
    """The other two long-message forms over the wire: sar_* TLVs (smpplib sends them as
    optional parameters) and one message_payload TLV with an empty short_message."""
    server = make_server(FAST)
    c = Collector(server.ports["smpp"]).connect("transceiver")
    common = {
        "source_addr_ton": smpplib.consts.SMPP_TON_INTL,
        "source_addr_npi": smpplib.consts.SMPP_NPI_ISDN,
        "source_addr": "106900001",
        "dest_addr_ton": smpplib.consts.SMPP_TON_INTL,
        "dest_addr_npi": smpplib.consts.SMPP_NPI_ISDN,
        "destination_addr": "13800138000",
        "registered_delivery": True,
    }
    payload = "A" * 300  # more than short_message's 254 octets
    try:
        for seq, half in ((1, b"first half, "), (2, b"second half")):
            c.client.send_message(
                short_message=half,
                sar_msg_ref_num=0x0102,
                sar_total_segments=2,
                sar_segment_seqnum=seq,
                **common,
            )
        c.client.send_message(short_message=b"", message_payload=payload.encode(), **common)
        c.read_until(lambda: len(c.message_ids()) == 3)
        ids = c.message_ids()
        assert len(set(ids)) == 3
        c.read_until(lambda: len(c.receipts()) == 3)
        assert {_s(r.receipted_message_id) for r in c.receipts()} == set(ids)
    finally:
        c.close()
    for mid, seq in ((ids[0], 1), (ids[1], 2)):
        part = server.admin(f"/api/messages/{mid}")[1]["parts"][0]
        assert (part["group_ref"], part["group_total"], part["group_seq"]) == (0x0102, 2, seq)
    whole = server.admin(f"/api/messages/{ids[2]}")[1]["parts"][0]
    assert whole["text"] == payload and whole["group_total"] is None


def test_wrong_password_is_rinvpaswd(server) -> None:
    c = Collector(server.ports["smpp"])
    with pytest.raises(smpplib.exceptions.PDUError) as err:
        c.connect(password="nope")
    assert err.value.args[1] == 0x0000000E
    c.client.disconnect()


def test_unknown_system_id_is_rinvsysid(server) -> None:
    c = Collector(server.ports["smpp"])
    with pytest.raises(smpplib.exceptions.PDUError) as err:
        c.connect(system_id="nobody")
    assert err.value.args[1] == 0x0000000F
    c.client.disconnect()


def test_submit_on_receiver_bind_is_rinvbndsts(server) -> None:
    c = Collector(server.ports["smpp"]).connect("receiver")
    try:
        c.client.set_error_pdu_handler(c._sent)
        # smpplib refuses locally to submit on a receiver bind; make it send anyway so the
        # server's answer is what we test.
        c.client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX
        c.submit("hi")
        c.read_until(lambda: len(c.resps) >= 1)
        assert c.resps[0].command == "submit_sm_resp"
        assert c.resps[0].status == 0x00000004
    finally:
        c.close()


def test_command_length_8_gets_nack_and_others_keep_working(server) -> None:
    port = server.ports["smpp"]
    good = Collector(port).connect("transceiver")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as bad:
            bad.sendall(struct.pack(">IIII", 8, 0x00000004, 0, 7))
            data = b""
            try:
                while len(data) < 16:
                    chunk = bad.recv(64)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            if data:  # generic_nack ESME_RINVCMDLEN (then the server closes)
                length, cid, status, _seq = struct.unpack(">IIII", data[:16])
                assert (length, cid, status) == (16, 0x80000000, 0x00000002)
        good.submit("still here")
        good.read_until(lambda: len(good.message_ids()) == 1)
    finally:
        good.close()
