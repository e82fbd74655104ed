"""Extension-code routing: a handset reply to service code + extension finds its account.

An account owns service codes such as ``106900001``; an MO to ``106900001123`` belongs to
the account owning the longest service code that prefixes the destination. The destination
is passed on unchanged, extension included, so the SP can tell its extensions apart.
"""

from __future__ import annotations

from collections.abc import Iterable


def extension(service_codes: Iterable[str], destination: str) -> str:
    """What follows the longest of ``service_codes`` prefixing ``destination`` ("" if none).

    Every MO push names it (zrwinfo ``extno``, CAIH ``extend``, Chuangrui's system + custom
    extension), and the admin API lists MO by it.
    """
    best = ""
    for code in service_codes:
        if destination.startswith(code) and len(code) > len(best):
            best = code
    return destination[len(best) :] if best else ""


class ServiceCodeRouter:
    def __init__(self, owners: Iterable[tuple[str, str]] = ()) -> None:
        """``owners``: (service_code, account) pairs."""
        self._codes: dict[str, str] = {}
        self._lengths: list[int] = []
        self.replace(owners)

    def replace(self, owners: Iterable[tuple[str, str]]) -> None:
        self._codes = {code: account for code, account in owners if code}
        self._lengths = sorted({len(c) for c in self._codes}, reverse=True)

    def route(self, destination: str) -> tuple[str, str] | None:
        """(account, service_code) owning ``destination``, longest prefix first; None if unowned."""
        for length in self._lengths:
            if len(destination) >= length:
                account = self._codes.get(destination[:length])
                if account is not None:
                    return account, destination[:length]
        return None

    def owns_source(self, account: str, source: str) -> bool:
        """True when ``source`` starts with one of ``account``'s service codes (CMPP Src_Id rule)."""
        return any(
            source.startswith(code) for code, owner in self._codes.items() if owner == account
        )
