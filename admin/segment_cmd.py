"""``smsc segment TEXT``: show how the SMSC would encode and split a text (segmentation.md §3).

An operator's and integration tester's tool: the hex printed is exactly the ``short_message`` /
``Msg_Content`` of each part (UDH ‖ payload, GSM-7 unpacked), so it can be pasted into traces.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from smsc.segmentation import SegmentationError, split

ENCODINGS = ("auto", "gsm7", "latin1", "ucs2", "ascii", "gbk")
UDH_MODES = ("8", "16", "sar", "payload")


def add_parser(subparsers: Any) -> None:
    """Register the ``segment`` sub-command on an argparse subparsers object."""
    p = subparsers.add_parser(
        "segment",
        help="show the encoding and parts a text is split into",
        description="Encode and split TEXT the way the SMSC does; print each part as hex.",
    )
    p.add_argument("text", metavar="TEXT", help="message text")
    p.add_argument("--encoding", choices=ENCODINGS, default="auto", help="default: auto")
    p.add_argument(
        "--udh",
        choices=UDH_MODES,
        default="8",
        help="8/16-bit reference UDH, SMPP sar_* TLVs, or one message_payload (default: 8)",
    )
    p.add_argument("--ref", type=_ref, default=1, help="concatenation reference (default: 1)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=run)


def _ref(value: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None


def run(args: argparse.Namespace) -> int:
    """Print the split; 0 on success, 2 when the text cannot be segmented as asked."""
    try:
        result = split(args.text, encoding=args.encoding, udh=args.udh, ref=args.ref)
    except SegmentationError as exc:
        print(f"segment: {exc}", file=sys.stderr)
        return 2
    hexes = [p.short_message.hex().upper() for p in result.parts]
    if args.json:
        print(
            json.dumps(
                {
                    "encoding": result.encoding,
                    "data_coding": result.data_coding,
                    "parts": hexes,
                    "billing_count": result.billing_count,
                }
            )
        )
        return 0
    print(f"encoding: {result.encoding}")
    print(f"data_coding: {result.data_coding}")
    print(f"parts: {len(result.parts)}")
    for seq, (part, hx) in enumerate(zip(result.parts, hexes, strict=True), 1):
        sar = f" sar={part.sar[0]}/{part.sar[1]}/{part.sar[2]}" if part.sar else ""
        print(f"  {seq}: udh={len(part.udh)} payload={len(part.payload)}{sar} {hx}")
    print(f"billing_count: {result.billing_count}")
    return 0
