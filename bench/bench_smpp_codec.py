"""Benchmark the SMPP 3.4 codec: generated fast path vs plain Construct declarations.

Prints ONE JSON line: median µs per operation over ``--rounds`` rounds of ``--number`` calls,
for decode and encode of a submit_sm with two TLVs, a submit_sm_resp and a deliver_sm receipt
(smpp.md §8.6), on both paths; plus the sans-IO session cost per submit_sm
(receive_data of a 100-PDU chunk + send_response + data_to_send, per PDU).

    .venv/bin/python bench/bench_smpp_codec.py [--rounds 15] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocols.smpp.pdu import (  # noqa: E402
    CommandId,
    Pdu,
    Tag,
    decode,
    decode_declared,
    encode,
    encode_declared,
)
from protocols.smpp.session import RequestReceived, Role, SmppSession  # noqa: E402

RECEIPT_HEX = (
    "000000b600000005000000000000000100010134343737303039303031323300050041434d4500"
    "0400000000000000007169643a31323334353637383930207375623a30303120646c7672643a30"
    "3031207375626d697420646174653a3234303131353132333020646f6e6520646174653a323430"
    "3131353132333120737461743a44454c49565244206572723a30303020746578743a48656c6c6f"
    "20576f726c64001e000b31323334353637383930000427000102"
)


def samples() -> dict[str, Pdu]:
    submit = Pdu.make(
        CommandId.submit_sm,
        sequence=6,
        source_addr_ton=5,
        source_addr="ACME",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        esm_class=0,
        registered_delivery=1,
        validity_period="000001000000000R",
        short_message=b"Hello World, this is a benchmark message of typical size.",
    )
    submit.set_tlv(Tag.sar_msg_ref_num, 42)
    submit.set_tlv(Tag.sar_total_segments, 2)
    resp = Pdu.make(CommandId.submit_sm_resp, sequence=6, message_id="0A1B2C3D4E5F6071")
    return {
        "submit_sm": submit,
        "submit_sm_resp": resp,
        "deliver_sm_receipt": decode(bytes.fromhex(RECEIPT_HEX)),
    }


def median_us(fn: Callable[[], Any], rounds: int, number: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(number):
            fn()
        times.append((time.perf_counter_ns() - t0) / number / 1000)
    return round(statistics.median(times), 3)


def session_us(rounds: int, number: int) -> float:
    """Per-PDU cost of the SMSC session on a stream of submit_sm (100 per chunk)."""
    frame = encode(samples()["submit_sm"])
    batch = 100
    chunk = b"".join(frame[:12] + (i + 1).to_bytes(4, "big") + frame[16:] for i in range(batch))
    bind = encode(
        Pdu.make(CommandId.bind_transceiver, sequence=1, system_id="a", interface_version=0x34)
    )
    times = []
    for _ in range(rounds):
        s = SmppSession(Role.SMSC, window=batch)
        [ev] = s.receive_data(bind, 0.0)
        s.accept_bind(ev.pdu, system_id="SMSC")
        s.data_to_send()
        loops = max(1, number // batch)
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            for ev in s.receive_data(chunk, 1.0):
                if type(ev) is RequestReceived:
                    s.send_response(ev.pdu, message_id="0A1B2C3D4E5F6071")
            s.data_to_send()
        times.append((time.perf_counter_ns() - t0) / (loops * batch) / 1000)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15, help="timed rounds; the median is reported")
    ap.add_argument("--number", type=int, default=2000, help="calls per round (fast path)")
    ap.add_argument(
        "--declared-number", type=int, default=100, help="calls per round (declared path)"
    )
    args = ap.parse_args(argv)
    result: dict[str, Any] = {
        "bench": "smpp_codec",
        "python": platform.python_version(),
        "unit": "us_median",
    }
    for name, pdu in samples().items():
        raw = encode(pdu)
        assert decode(raw) == decode_declared(raw) and encode_declared(pdu) == raw
        result[f"decode_{name}_fast"] = median_us(lambda r=raw: decode(r), args.rounds, args.number)
        result[f"encode_{name}_fast"] = median_us(lambda p=pdu: encode(p), args.rounds, args.number)
        result[f"decode_{name}_declared"] = median_us(
            lambda r=raw: decode_declared(r), args.rounds, args.declared_number
        )
        result[f"encode_{name}_declared"] = median_us(
            lambda p=pdu: encode_declared(p), args.rounds, args.declared_number
        )
    result["session_submit_sm_per_pdu"] = session_us(args.rounds, args.number)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
