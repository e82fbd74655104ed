"""In-memory blacklist index: which destination numbers the emulated carrier refuses.

The database is the source of truth; the integrator loads its entries into a :class:`Blacklist`
at start-up and mirrors every admin change into both, so the hot path (one ``contains`` per
submitted message) never touches storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


def normalise_number(number: str) -> str:
    """Return ``number`` without surrounding blanks and without one leading ``+``.

    Deliberately conservative: ``+8613800000000`` and ``8613800000000`` are the same number,
    but ``13800000000`` is not folded into them, because stripping a country code ("86",
    "0086") needs numbering-plan knowledge that belongs to routing, and a wrong guess would
    blacklist numbers the tester never named.
    """
    number = number.strip()
    return number[1:] if number.startswith("+") else number


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    """One blacklisted number; ``account`` None means it applies to every account."""

    account: str | None
    number: str


class Blacklist:
    """Set of (account or None, number) with global entries applying to every account."""

    __slots__ = ("_by_account",)

    def __init__(self, entries: Iterable[tuple[str | None, str]] = ()) -> None:
        # dict-as-ordered-set keeps iteration in insertion order, which makes admin listings
        # and test expectations stable.
        self._by_account: dict[str | None, dict[str, None]] = {}
        for account, number in entries:
            self.add(account, number)

    def add(self, account: str | None, number: str) -> bool:
        """Blacklist ``number`` for ``account`` (None: globally); True if it was new."""
        normalised = normalise_number(number)
        if not normalised:
            raise ValueError("a blacklisted number must not be empty")
        numbers = self._by_account.setdefault(account, {})
        if normalised in numbers:
            return False
        numbers[normalised] = None
        return True

    def remove(self, account: str | None, number: str) -> bool:
        """Remove exactly this entry (a global entry is not removed by an account's call)."""
        numbers = self._by_account.get(account)
        if numbers is None:
            return False
        try:
            del numbers[normalise_number(number)]
        except KeyError:
            return False
        if not numbers:
            del self._by_account[account]
        return True

    def contains(self, account: str | None, number: str) -> bool:
        """True if ``number`` is blacklisted globally or for ``account``."""
        if not self._by_account:  # asked for every message; usually nobody is blacklisted
            return False
        normalised = normalise_number(number)
        global_numbers = self._by_account.get(None)
        if global_numbers is not None and normalised in global_numbers:
            return True
        if account is None:
            return False
        numbers = self._by_account.get(account)
        return numbers is not None and normalised in numbers

    def clear(self) -> None:
        """Drop every entry (used when reloading from storage)."""
        self._by_account.clear()

    def __contains__(self, item: object) -> bool:
        """``(account, number) in blacklist`` is :meth:`contains`."""
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        account, number = item
        return self.contains(account, number)

    def __iter__(self) -> Iterator[BlacklistEntry]:
        for account, numbers in list(self._by_account.items()):
            for number in list(numbers):
                yield BlacklistEntry(account, number)

    def __len__(self) -> int:
        return sum(len(numbers) for numbers in self._by_account.values())

    def __repr__(self) -> str:
        return f"Blacklist({len(self)} entries)"
