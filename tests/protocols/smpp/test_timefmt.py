"""SMPP 3.4 time formats (smpp.md §3.5 examples) and receipt dates (§7.2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.smpp.timefmt import (
    TimeFormatError,
    format_absolute,
    format_receipt_date,
    format_relative,
    parse_absolute,
    parse_receipt_date,
    parse_relative,
    parse_time,
    receipt_date,
)


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


NOW = ts(2024, 1, 15, 12, 0, 0)


def test_spec_examples() -> None:
    assert parse_absolute("240115123100000+") == ts(2024, 1, 15, 12, 31)
    assert parse_absolute("240115133100004+") == ts(2024, 1, 15, 12, 31)  # UTC+01:00
    assert parse_absolute("240115113100004-") == ts(2024, 1, 15, 12, 31)  # UTC-01:00
    assert parse_relative("000001000000000R", NOW) == NOW + 86400
    assert parse_relative("000000003000000R", NOW) == NOW + 1800


def test_tenths_and_quarter_hour_offsets() -> None:
    assert parse_absolute("240115123100500+") == ts(2024, 1, 15, 12, 31) + 0.5
    assert parse_absolute("240115150100010+") == ts(2024, 1, 15, 12, 31)  # +02:30
    assert parse_absolute("240116003100048+") == ts(2024, 1, 15, 12, 31)  # +12:00


def test_relative_months_and_years_are_calendar_steps() -> None:
    jan31 = ts(2024, 1, 31, 10, 0)
    assert parse_relative("000100000000000R", jan31) == ts(2024, 2, 29, 10, 0)
    assert parse_relative("010000000000000R", jan31) == ts(2025, 1, 31, 10, 0)
    assert parse_relative("001100000000000R", ts(2024, 3, 1)) == ts(2025, 2, 1)


def test_parse_time_dispatch_and_null() -> None:
    assert parse_time("", NOW) is None
    assert parse_time("000000000010000R", NOW) == NOW + 10
    assert parse_time("240115123100000+", NOW) == ts(2024, 1, 15, 12, 31)


@pytest.mark.parametrize(
    "bad",
    [
        "2401151231000+",  # 14 chars
        "240115123100000",  # 15 chars
        "240115123100000*",  # bad sign
        "241315123100000+",  # month 13
        "240230123100000+",  # 30 Feb
        "240115243100000+",  # hour 24
        "240115126000000+",  # minute 60
        "240115123100049+",  # offset > 48
        "24011512310000a+",  # non-digit
        "２40115123100000+",  # non-ASCII digit
    ],
)
def test_bad_absolute_times(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time(bad, NOW)


@pytest.mark.parametrize("bad", ["000001000000001R", "00000100000000R", "0000010000000a0R"])
def test_bad_relative_times(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time(bad, NOW)


def test_format_absolute() -> None:
    assert format_absolute(ts(2024, 1, 15, 12, 31)) == "240115123100000+"
    assert format_absolute(ts(2024, 1, 15, 12, 31), 4) == "240115133100004+"
    assert format_absolute(ts(2024, 1, 15, 12, 31), -4) == "240115113100004-"
    assert format_absolute(ts(2024, 1, 15, 12, 31) + 0.7) == "240115123100700+"
    with pytest.raises(TimeFormatError):
        format_absolute(ts(2124, 1, 1))
    with pytest.raises(TimeFormatError):
        format_absolute(NOW, 49)


def test_format_relative() -> None:
    assert format_relative(86400) == "000001000000000R"
    assert format_relative(1800) == "000000003000000R"
    assert format_relative(90061) == "000001010101000R"
    with pytest.raises(TimeFormatError):
        format_relative(-1)
    with pytest.raises(TimeFormatError):
        format_relative(100 * 86400)


def test_receipt_dates() -> None:
    t = ts(2024, 1, 15, 12, 30, 5)
    assert format_receipt_date(t) == "2401151230"
    assert format_receipt_date(t, seconds=True) == "240115123005"
    assert parse_receipt_date("2401151230") == ts(2024, 1, 15, 12, 30)
    assert parse_receipt_date("240115123005") == t
    for bad in ("240115123", "2401151260", "24011512300a", "2413151230"):
        with pytest.raises(TimeFormatError):
            parse_receipt_date(bad)


_TIMES = st.integers(ts(2000, 1, 2), ts(2099, 12, 30)).map(lambda s: s / 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(int(ts(2000, 1, 2)) * 10, int(ts(2099, 12, 30)) * 10), st.integers(-48, 48))
def test_absolute_round_trip(tenths: int, qh: int) -> None:
    t = tenths / 10
    assert parse_absolute(format_absolute(t, qh)) == pytest.approx(t, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 99 * 86400 + 86399), _TIMES)
def test_relative_round_trip(seconds: int, now: float) -> None:
    assert parse_relative(format_relative(seconds), now) == now + seconds


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_arbitrary_text_raises_only_time_format_error(value: str) -> None:
    try:
        parse_time(value, NOW)
    except TimeFormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=946684800, max_value=4102444799))
def test_format_parse_round_trip_floats(epoch: float) -> None:
    back = parse_time(format_absolute(epoch), NOW)
    assert back is not None and epoch - 0.1 < back <= epoch


def test_receipt_date_alias() -> None:
    assert receipt_date(ts(2024, 1, 15, 12, 31)) == "2401151231"
