"""Mainland China recipient numbers as the HTTP vendor dialects see them (vendor-apis §7.7).

Every vendor takes numbers as text typed by a customer, so the same handset arrives as
``13800138000``, ``+8613800138000`` or ``008613800138000``; :func:`normalize` maps those to one
form so validation, duplicate removal and the blacklist agree on what "the same number" is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# ASCII digits only and ``\Z`` rather than ``$``: ``\d`` would accept full-width or Arabic-Indic
# digits and ``$`` a trailing newline, neither of which a carrier would route.
MOBILE = re.compile(r"^1[3-9][0-9]{9}\Z")
PHS = re.compile(r"^0[0-9]{9,11}\Z")  # 小灵通 numbers (vendor 001, §2.10)

_MOBILE_AFTER_86 = re.compile(r"1[0-9]{10}")


def normalize(number: str) -> str:
    """Strip blanks and a mainland country code; anything else is returned as it is.

    ``+86`` and ``0086`` are unambiguous prefixes. A bare ``86`` is removed only when an
    11-digit mobile follows, because a number merely starting with 86 may be something else.
    """
    number = number.strip()
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :].lstrip()
    if number.startswith("86") and _MOBILE_AFTER_86.fullmatch(number[2:]):
        return number[2:]
    return number


def is_mobile(number: str) -> bool:
    """True for a valid mainland mobile once normalized."""
    return MOBILE.match(normalize(number)) is not None


def is_phs(number: str) -> bool:
    """True for a PHS (小灵通) number once normalized; only vendor 001 accepts these."""
    return PHS.match(normalize(number)) is not None


def split_numbers(raw: str, sep: str = ",") -> list[str]:
    """Split a vendor's number list; blank items vanish so a trailing separator is harmless."""
    return [item for item in (part.strip() for part in raw.split(sep)) if item]


@dataclass(frozen=True, slots=True)
class Recipients:
    """Outcome of :func:`classify`, in the shape the vendors' success/failure counts need."""

    valid: tuple[str, ...]  # normalized, each once, in first-seen order
    invalid: tuple[str, ...]  # as given (stripped), every occurrence
    duplicates: int  # repeats of valid numbers that were dropped


def classify(numbers: Iterable[str], *, allow_phs: bool = False) -> Recipients:
    """Sort numbers into valid and invalid; a number named twice is sent once (§7.7).

    ``allow_phs`` lets PHS numbers count as valid (vendor 001); whether a request may mix
    them with mobiles is the caller's rule, not this function's.
    """
    valid: dict[str, None] = {}
    invalid: list[str] = []
    duplicates = 0
    for given in numbers:
        number = normalize(given)
        if MOBILE.match(number) or (allow_phs and PHS.match(number)):
            if number in valid:
                duplicates += 1
            else:
                valid[number] = None
        else:
            invalid.append(given.strip())
    return Recipients(valid=tuple(valid), invalid=tuple(invalid), duplicates=duplicates)
