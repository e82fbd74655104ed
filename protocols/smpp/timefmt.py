"""SMPP 3.4 time formats (§7.1.1; smpp.md §3.5): absolute and relative times, receipt dates.

``YYMMDDhhmmsstnnp``: absolute when p is ``+``/``-`` (nn quarter-hours ahead of / behind UTC),
relative when p is ``R`` (an interval from now). An empty string means "not given".
"""

from __future__ import annotations

import calendar
import time


class TimeFormatError(ValueError):
    """The text is not a valid SMPP time."""


def parse_time(text: str, now: float) -> float | None:
    """Absolute UTC epoch seconds for an SMPP time, ``None`` for the empty string."""
    if not text:
        return None
    if len(text) != 16 or not text[:15].isdigit() or text[15] not in "+-R":
        raise TimeFormatError(f"{text!r} is not 16 characters YYMMDDhhmmsstnnp")
    yy, mo, dd, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 12, 2))
    tenths = int(text[12])
    nn = int(text[13:15])
    p = text[15]
    if p == "R":
        # relative: years/months approximated as 365/30 days, as SMSCs do
        seconds = ((yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss
        return now + seconds
    if not (1 <= mo <= 12 and 1 <= dd <= 31 and hh <= 23 and mi <= 59 and ss <= 59 and nn <= 48):
        raise TimeFormatError(f"{text!r} has a field out of range")
    try:
        base = calendar.timegm((2000 + yy, mo, dd, hh, mi, ss, 0, 0, 0))
    except (OverflowError, ValueError) as exc:
        raise TimeFormatError(f"{text!r}: {exc}") from None
    if time.gmtime(base)[:3] != (2000 + yy, mo, dd):
        raise TimeFormatError(f"{text!r} is not a calendar date")
    offset = nn * 15 * 60
    return base + tenths / 10 + (-offset if p == "+" else offset)


def format_absolute(epoch: float) -> str:
    """An absolute SMPP time in UTC (``…000+``), as used in query_sm_resp final_date."""
    t = time.gmtime(epoch)
    tenths = int((epoch % 1) * 10)
    return time.strftime("%y%m%d%H%M%S", t) + f"{tenths}00+"


def receipt_date(epoch: float) -> str:
    """``YYMMDDhhmm`` for the receipt text's submit date / done date (Appendix B)."""
    return time.strftime("%y%m%d%H%M", time.gmtime(epoch))
