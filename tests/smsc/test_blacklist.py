import pytest

from smsc.blacklist import Blacklist, BlacklistEntry, normalise_number


def test_normalise_strips_one_leading_plus_and_blanks_only() -> None:
    assert normalise_number("+8613800000001") == "8613800000001"
    assert normalise_number(" 13800000001 ") == "13800000001"
    # Country codes are not guessed away: that is routing's job.
    assert normalise_number("8613800000001") == "8613800000001"
    assert normalise_number("008613800000001") == "008613800000001"


def test_global_entry_applies_to_every_account() -> None:
    bl = Blacklist()
    assert bl.add(None, "13800000001")
    assert bl.contains("acme", "13800000001")
    assert bl.contains("other", "13800000001")
    assert bl.contains(None, "13800000001")
    assert not bl.contains("acme", "13800000002")


def test_account_entry_applies_to_that_account_only() -> None:
    bl = Blacklist()
    bl.add("acme", "13800000001")
    assert bl.contains("acme", "13800000001")
    assert not bl.contains("other", "13800000001")
    assert not bl.contains(None, "13800000001")


def test_plus_prefix_is_the_same_number() -> None:
    bl = Blacklist()
    bl.add(None, "+447700900123")
    assert bl.contains("acme", "447700900123")
    assert bl.contains("acme", "+447700900123")
    assert not bl.add(None, "447700900123")
    assert len(bl) == 1


def test_remove_is_exact() -> None:
    bl = Blacklist([(None, "1"), ("acme", "1")])
    assert len(bl) == 2
    assert bl.remove("acme", "1")
    # The global entry still blacklists it for acme.
    assert bl.contains("acme", "1")
    assert not bl.remove("acme", "1")
    assert not bl.remove("nobody", "1")
    assert bl.remove(None, "+1")
    assert not bl.contains("acme", "1")
    assert len(bl) == 0


def test_iteration_in_insertion_order_and_membership_operator() -> None:
    bl = Blacklist()
    bl.add("acme", "2")
    bl.add(None, "1")
    bl.add("acme", "3")
    assert list(bl) == [
        BlacklistEntry("acme", "2"),
        BlacklistEntry("acme", "3"),
        BlacklistEntry(None, "1"),
    ]
    assert ("acme", "1") in bl
    assert ("zeta", "2") not in bl
    assert "1" not in bl
    bl.clear()
    assert list(bl) == []


def test_empty_number_is_refused() -> None:
    with pytest.raises(ValueError):
        Blacklist().add(None, " + ")
