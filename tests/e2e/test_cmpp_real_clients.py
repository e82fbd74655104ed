"""Third-party CMPP clients from PyPI against a real server: pycmpp (2.0) and cmppy (3.0)."""

from __future__ import annotations

import logging
import threading
import time

import cmppy
import pytest
from pycmpp.cmpp import Cmpp


def _stored(server, n: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        _, rows = server.admin("/api/messages?account=acme")
        if len(rows) >= n:
            break
        time.sleep(0.1)
    return rows


def test_cmppy_30_connect_and_submit(server) -> None:
    client = cmppy.Cmppy("127.0.0.1", server.ports["cmpp"], "901234", "s3cret")
    res = client.request(
        cmppy.SubmitReq(
            "901234", "你好，世界", src_id="1069000017", dest_terminal_id=["13800138000"]
        )
    )
    assert res is not None and res.result == 0 and res.msg_id != 0
    rows = _stored(server, 1)
    assert [r["message_id"] for r in rows] == [str(res.msg_id)]
    assert rows[0]["text"] == "你好，世界" and rows[0]["source"] == "1069000017"


# pycmpp's receive thread loops on its socket forever and dies when the test closes it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_pycmpp_20_connect_and_submit(server) -> None:
    client = Cmpp(
        "127.0.0.1", server.ports["cmpp"], "901234", "s3cret", "106900001", client_heartbeat=False
    )
    client.connect()
    threading.Thread(target=client.receive, daemon=True).start()
    client.auth()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # wait for the CONNECT_RESP to bind the account
        _, binds = server.admin("/api/binds")
        if binds:
            break
        time.sleep(0.05)
    assert binds and binds[0]["protocol"] == "cmpp" and binds[0]["version"] == 0x21
    client.submit("hello from pycmpp", ["13800138000"])
    rows = _stored(server, 1)
    assert len(rows) == 1
    assert rows[0]["text"] == "hello from pycmpp"
    assert rows[0]["source"] == "106900001"  # pycmpp sends an empty Src_Id: the SP code is used
    client.terminate()
    # its thread then logs a recv error on the closed socket every 10 s until the process
    # exits (stderr noise after the suite): nothing of ours to report
    logging.getLogger("pycmpp.cmpp").disabled = True
    client.close()
