"""SMPP 3.4 time formats (smpp.md §3.5) and the receipt date format (§7.2).

schedule_delivery_time / validity_period / final_date are empty or 16 characters:

* absolute ``YYMMDDhhmmsstnnp``: local time plus the offset from UTC in quarter hours ``nn``
  (00-48); ``p`` is ``+`` when local time is ahead of UTC, ``-`` when behind. Year = 20YY.
* relative ``YYMMDDhhmmss000R``: an interval from *now*. Years and months are calendar steps
  (clamped to the month's last day, e.g. Jan 31 + 1 month = Feb 28/29); days, hours, minutes
  and seconds are fixed lengths, so ``000001000000000R`` is exactly 86 400 s.

Everything returns or takes UTC epoch seconds (float); nothing reads the clock. Malformed input
raises ``TimeFormatError``; the caller maps it to ESME_RINVSCHED / ESME_RINVEXPIRY.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime, timedelta

__all__ = [
    "TimeFormatError",
    "format_absolute",
    "format_receipt_date",
    "format_relative",
    "parse_absolute",
    "parse_receipt_date",
    "parse_relative",
    "parse_time",
    "receipt_date",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TimeFormatError(ValueError):
    """A time string that is not a valid SMPP 3.4 absolute/relative time (§3.5)."""


def _digits(value: str, what: str) -> list[int]:
    if len(value) != 16:
        raise TimeFormatError(f"{what} must be 16 characters, got {len(value)}: {value!r}")
    if not value[:15].isascii() or not value[:15].isdigit():
        raise TimeFormatError(f"{what} must start with 15 digits: {value!r}")
    return [int(value[i : i + 2]) for i in range(0, 12, 2)]


def parse_absolute(value: str) -> float:
    """``YYMMDDhhmmsstnnp`` -> UTC epoch seconds (tenths kept)."""
    yy, mo, dd, hh, mi, ss = _digits(value, "absolute time")
    tenths, nn, sign = int(value[12]), int(value[13:15]), value[15]
    if sign not in "+-":
        raise TimeFormatError(f"absolute time must end in '+' or '-': {value!r}")
    if nn > 48:
        raise TimeFormatError(f"UTC offset {nn} quarter hours > 48: {value!r}")
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=UTC)
    except ValueError as exc:
        raise TimeFormatError(f"invalid date/time {value!r}: {exc}") from None
    offset = timedelta(minutes=15 * nn)
    utc = local - offset if sign == "+" else local + offset
    return (utc - _EPOCH).total_seconds() + tenths / 10


def parse_relative(value: str, now: float) -> float:
    """``YYMMDDhhmmss000R`` -> ``now`` plus that interval, as UTC epoch seconds."""
    years, months, days, hours, minutes, seconds = _digits(value, "relative time")
    if value[12:] != "000R":
        raise TimeFormatError(f"relative time must end in '000R': {value!r}")
    start = _EPOCH + timedelta(seconds=now)
    total_months = start.month - 1 + months + 12 * years
    year, month = start.year + total_months // 12, total_months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    moved = start.replace(year=year, month=month, day=day)
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return (moved + delta - _EPOCH).total_seconds()


def parse_time(value: str, now: float) -> float | None:
    """Either format; ``""`` (the NULL time: immediate / SMSC default) -> ``None``."""
    if value == "":
        return None
    if value.endswith("R"):
        return parse_relative(value, now)
    return parse_absolute(value)


def format_absolute(ts: float, quarter_hours: int = 0) -> str:
    """UTC epoch seconds -> ``YYMMDDhhmmsstnnp`` written in UTC+``quarter_hours``×15 min
    (negative for zones behind UTC). Years 2000-2099 only."""
    if not -48 <= quarter_hours <= 48:
        raise TimeFormatError(f"UTC offset {quarter_hours} quarter hours out of -48..48")
    tenths_total = math.floor(ts * 10)  # truncate: never write a later instant than given
    local = _EPOCH + timedelta(seconds=tenths_total // 10, minutes=15 * quarter_hours)
    if not 2000 <= local.year <= 2099:
        raise TimeFormatError(f"year {local.year} cannot be written as YY")
    sign = "-" if quarter_hours < 0 else "+"
    return f"{local:%y%m%d%H%M%S}{tenths_total % 10}{abs(quarter_hours):02d}{sign}"


def format_relative(seconds: int) -> str:
    """A whole number of seconds -> ``000DDhhmmss000R`` (days, hours, minutes, seconds)."""
    if seconds < 0:
        raise TimeFormatError("relative time cannot be negative")
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days > 99:
        raise TimeFormatError(f"{days} days does not fit the DD field")
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def format_receipt_date(ts: float, *, seconds: bool = False) -> str:
    """UTC epoch seconds -> receipt ``YYMMDDhhmm`` (``YYMMDDhhmmss`` with ``seconds``), §7.2."""
    dt = _EPOCH + timedelta(seconds=int(ts // 1))
    return f"{dt:%y%m%d%H%M%S}" if seconds else f"{dt:%y%m%d%H%M}"


def parse_receipt_date(value: str) -> float:
    """Receipt ``YYMMDDhhmm`` or ``YYMMDDhhmmss`` (§7.3 variant) -> UTC epoch seconds."""
    if len(value) not in (10, 12) or not value.isascii() or not value.isdigit():
        raise TimeFormatError(f"receipt date must be 10 or 12 digits: {value!r}")
    parts = [int(value[i : i + 2]) for i in range(0, len(value), 2)]
    try:
        dt = datetime(2000 + parts[0], *parts[1:], tzinfo=UTC)  # type: ignore[misc, arg-type]
    except ValueError as exc:
        raise TimeFormatError(f"invalid receipt date {value!r}: {exc}") from None
    return (dt - _EPOCH).total_seconds()


def receipt_date(ts: float) -> str:
    """``YYMMDDhhmm`` for the receipt text's submit date / done date (§7.2)."""
    return format_receipt_date(ts)
