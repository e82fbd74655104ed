"""Time the CMPP codec: decode/encode of a SUBMIT and of a status-report DELIVER, fast path
(protocols.cmpp.codec, generated from the declarations) vs the declared Construct path.

Messages are the cmpp.md §7.4 SUBMIT (UCS2, one destination) and §7.8 report DELIVER, in the
layout chosen by ``--version``. Each sample times ``--inner`` calls; the median of
``--samples`` samples is printed in µs per call as one JSON line. Also times the session
hot path: one SUBMIT in, one SUBMIT_RESP out (``session_submit_roundtrip_us``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocols.cmpp import CommandId, Pdu, StatusReport, codec  # noqa: E402
from protocols.cmpp.pdu import decode_declared, encode_declared  # noqa: E402
from protocols.cmpp.session import CmppSession  # noqa: E402


def sample_pdus(version: int) -> dict[str, Pdu]:
    submit = Pdu.make(
        CommandId.SUBMIT,
        2,
        registered_delivery=1,
        service_id="TEST01",
        fee_usertype=2,
        msg_fmt=8,
        msg_src="901234",
        feetype="01",
        feecode="000000",
        src_id="106900001234",
        dest_terminal_id=["13800138000"],
        msg_content="你好世界".encode("utf-16-be"),
    )
    report = StatusReport(
        0xBB29E14134FD0001, "DELIVRD", "2511221030", "2511221031", "13800138000", 12345
    )
    deliver = Pdu.make(
        CommandId.DELIVER,
        101,
        msg_id=0xBB29F1C134FD0003,
        dest_id="106900001234",
        service_id="TEST01",
        src_terminal_id="13800138000",
        registered_delivery=1,
        msg_content=codec.encode_report(report, version),
    )
    return {"submit": submit, "deliver_report": deliver}


def median_us(fn: Callable[[], object], samples: int, inner: int) -> float:
    fn()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner * 1e6)
    return statistics.median(times)


def session_roundtrip(version: int, wire: bytes) -> Callable[[], object]:
    s = CmppSession("ismg", window=1 << 30)
    connect = codec.encode(
        Pdu.make(CommandId.CONNECT, 1, source_addr="901234", version=version), version
    )
    (ev,) = s.receive_data(connect, 0.0)
    s.accept_connect(ev.pdu, b"\x00" * 16)
    s.data_to_send()
    counter = iter(range(2, 1 << 31))

    def once() -> object:
        seq = next(counter)
        frame = wire[:8] + seq.to_bytes(4, "big") + wire[12:]
        (req,) = s.receive_data(frame, 1.0)
        s.send_response(req.pdu, msg_id=seq, result=0)
        return s.data_to_send()

    return once


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--version",
        type=lambda x: int(x, 0),
        default=0x30,
        help="CMPP version byte, 0x20 or 0x30 (default 0x30)",
    )
    ap.add_argument("--samples", type=int, default=30, help="timed samples (default 30)")
    ap.add_argument("--inner", type=int, default=2000, help="calls per fast sample (default 2000)")
    ap.add_argument(
        "--declared-inner", type=int, default=50, help="calls per declared-path sample (default 50)"
    )
    args = ap.parse_args(argv)
    ver = args.version
    result: dict[str, object] = {"bench": "cmpp.codec", "version": hex(ver)}
    for name, pdu in sample_pdus(ver).items():
        wire = codec.encode(pdu, ver)
        assert encode_declared(pdu, ver) == wire and decode_declared(wire, ver) == pdu
        n, d = args.inner, args.declared_inner
        result[f"{name}_bytes"] = len(wire)
        result[f"{name}_decode_fast_us"] = round(
            median_us(lambda w=wire: codec.decode(w, ver), args.samples, n), 2
        )
        result[f"{name}_encode_fast_us"] = round(
            median_us(lambda p=pdu: codec.encode(p, ver), args.samples, n), 2
        )
        result[f"{name}_decode_declared_us"] = round(
            median_us(lambda w=wire: decode_declared(w, ver), args.samples, d), 2
        )
        result[f"{name}_encode_declared_us"] = round(
            median_us(lambda p=pdu: encode_declared(p, ver), args.samples, d), 2
        )
    submit_wire = codec.encode(sample_pdus(ver)["submit"], ver)
    result["session_submit_roundtrip_us"] = round(
        median_us(session_roundtrip(ver, submit_wire), args.samples, args.inner), 2
    )
    result["samples"] = args.samples
    result["inner"] = args.inner
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
