from __future__ import annotations

import calendar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.smpp.timefmt import TimeFormatError, format_absolute, parse_time, receipt_date

NOW = 1_700_000_000.0


def test_empty_is_none() -> None:
    assert parse_time("", NOW) is None


def test_absolute_utc_and_offset() -> None:
    utc = calendar.timegm((2024, 1, 15, 12, 31, 0, 0, 0, 0))
    assert parse_time("240115123100000+", NOW) == utc
    assert parse_time("240115133100004+", NOW) == utc  # same instant written in UTC+01:00
    assert parse_time("240115113100004-", NOW) == utc


def test_relative() -> None:
    assert parse_time("000001000000000R", NOW) == NOW + 86400
    assert parse_time("000000003000000R", NOW) == NOW + 1800


@pytest.mark.parametrize(
    "bad", ["2401151231", "240115123100000X", "241315123100000+", "240230123100000+", "24011512310000a+"]
)
def test_bad(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time(bad, NOW)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=946684800, max_value=4102444799))
def test_format_parse_round_trip(epoch: float) -> None:
    back = parse_time(format_absolute(epoch), NOW)
    assert back is not None and abs(back - epoch) < 0.11


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_arbitrary_text_only_raises_time_error(text: str) -> None:
    try:
        parse_time(text, NOW)
    except TimeFormatError:
        pass


def test_receipt_date() -> None:
    assert receipt_date(calendar.timegm((2024, 1, 15, 12, 31, 0, 0, 0, 0))) == "2401151231"
