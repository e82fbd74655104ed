import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsc.mobiles import (
    Recipients,
    classify,
    is_mobile,
    is_phs,
    normalize,
    split_numbers,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        (" 13800138000\t", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        # A bare 86 is a country code only when a mobile follows.
        ("86123", "86123"),
        ("8602012345678", "8602012345678"),
        ("861380013800", "861380013800"),
        ("", ""),
        ("abc", "abc"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "number", ["13800138000", "19912345678", "+8613800138000", "008615000000000", "8617000000000"]
)
def test_is_mobile_accepts_mainland_mobiles(number: str) -> None:
    assert is_mobile(number)


@pytest.mark.parametrize(
    "number",
    [
        "12800138000",  # second digit 2
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "1380013800a",
        "13800138000\n1",
        "１３８００１３８０００",  # full-width digits are not routable
        "",
        "02012345678",
    ],
)
def test_is_mobile_refuses_others(number: str) -> None:
    assert not is_mobile(number)


def test_is_phs() -> None:
    assert is_phs("02012345678")
    assert is_phs("0201234567")
    assert is_phs("020123456789")
    assert not is_phs("020123456")  # too short
    assert not is_phs("0201234567890")  # too long
    assert not is_phs("13800138000")


def test_split_numbers_drops_blank_items() -> None:
    assert split_numbers("13800138000, 13900139000,,") == ["13800138000", "13900139000"]
    assert split_numbers("") == []
    assert split_numbers("a;b ; ", sep=";") == ["a", "b"]


def test_classify_normalizes_deduplicates_and_keeps_order() -> None:
    result = classify(
        ["13900139000", "+8613800138000", "bogus ", "13800138000", "8613900139000", "bogus"]
    )
    assert result == Recipients(
        valid=("13900139000", "13800138000"), invalid=("bogus", "bogus"), duplicates=2
    )


def test_classify_phs_only_when_allowed() -> None:
    numbers = ["02012345678", "13800138000"]
    assert classify(numbers).invalid == ("02012345678",)
    assert classify(numbers, allow_phs=True).valid == ("02012345678", "13800138000")


def test_classify_empty() -> None:
    assert classify([]) == Recipients(valid=(), invalid=(), duplicates=0)


@given(st.lists(st.text()))
def test_classify_never_raises_and_accounts_for_every_number(numbers: list[str]) -> None:
    result = classify(numbers)
    assert len(result.valid) + len(result.invalid) + result.duplicates == len(numbers)
    assert len(set(result.valid)) == len(result.valid)
    assert all(is_mobile(number) and normalize(number) == number for number in result.valid)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086", "86"]))
def test_prefixed_mobile_normalizes_to_itself(mobile: str, prefix: str) -> None:
    assert normalize(prefix + mobile) == mobile
    assert normalize(normalize(prefix + mobile)) == mobile
