"""Time ``smsc.segmentation.split`` on 1,000-character texts; print one JSON line of medians.

Cases: Chinese (UCS2, 15 parts), GSM-7 plain ASCII letters (7 parts) and GSM-7 with escape
characters (``€{}``, exercising the escape-pair boundary rule). Each sample times ``--inner``
splits; the median of ``--samples`` samples is reported in µs per split. Target: <= 200 µs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smsc.segmentation import split  # noqa: E402

CASES = {
    "ucs2_zh_1000": ("短信分段测试，您的验证码是一二三四五六。" * 60)[:1000],
    "gsm7_ascii_1000": ("The quick brown fox jumps over the lazy dog. " * 30)[:1000],
    "gsm7_escapes_1000": ("Price: 5€ {promo} [code] ok. " * 40)[:1000],
}


def median_us(text: str, samples: int, inner: int) -> float:
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            split(text, ref=0x2A)
        times.append((time.perf_counter() - t0) / inner * 1e6)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=50, help="timed samples (default 50)")
    ap.add_argument("--inner", type=int, default=200, help="splits per sample (default 200)")
    args = ap.parse_args(argv)
    result: dict[str, object] = {"bench": "segmentation.split"}
    for name, text in CASES.items():
        split(text)  # warm up
        result[f"{name}_parts"] = len(split(text).parts)
        result[f"{name}_median_us"] = round(median_us(text, args.samples, args.inner), 2)
    result["samples"] = args.samples
    result["inner"] = args.inner
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
