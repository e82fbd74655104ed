"""Which build of the hot path runs: the modules compiled by mypyc at install, or their source.

``setup.py`` compiles ``NATIVE_MODULES`` (the per-message path of SMPP and CMPP: sessions,
binds, the SMSC core, carrier rules, receipts, outbox, group-commit writer) into C extensions
and records each source's SHA-256 in ``_native_build.json``. An extension shadows its ``.py``,
and compiled modules call each other directly in C, so an edited source with a stale
extension beside it would silently run old code, and a mix of compiled and source modules
would run both. ``activate`` (called by the ``smsc``, ``protocols`` and ``storage`` packages
before any of their modules loads) therefore takes all of them compiled or none: when any
source differs from what was compiled, an extension is missing, or ``SMSC_PURE_PYTHON`` is
set, every one of them is loaded from its ``.py``. Reinstalling (``pip install -e .``)
compiles again. This module imports nothing of the project, so it can run first; it lives in
``storage``, the lowest layer, because all three packages must call it and dependencies only
point down.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

NATIVE_MODULES = (
    "protocols.events",
    "protocols.bindbase",
    "protocols.smpp.session",
    "protocols.smpp.validation",
    "protocols.smpp.render",
    "protocols.smpp.binding",
    "protocols.cmpp.session",
    "protocols.cmpp.binding",
    "smsc.model",
    "smsc.charsets",
    "smsc.core",
    "smsc.rules",
    "smsc.receipts",
    "smsc.outbox",
    "smsc.binds",
    "storage.writer",
    "storage.commit_link",
)
MANIFEST = "_native_build.json"  # beside this file: {"modules": {name: sha256 of its source}}
# Left out on purpose: the SMPP codec (its per-PDU work is generated source, run by ``exec``)
# and the account store (built from admin API JSON: a compiled class rejects at run time a
# value of another type than annotated, e.g. 10.0 for an int, which Python let through).
PURE_ENV = "SMSC_PURE_PYTHON"
ROOT = Path(__file__).resolve().parent.parent  # the directory holding the three packages

_status: dict[str, Any] | None = None


def source_path(root: Path, name: str) -> Path:
    return root.joinpath(*name.split(".")).with_suffix(".py")


def extension_path(root: Path, name: str) -> Path | None:
    """The compiled module beside ``name``'s source, if there is one."""
    src = source_path(root, name)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = src.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


def pure_requested() -> bool:
    """``SMSC_PURE_PYTHON`` set to anything but empty or 0 (at install: compile nothing)."""
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(root: Path, manifest: Path, modules: tuple[str, ...] = NATIVE_MODULES) -> str | None:
    """None when every module has an extension compiled from its current source, else why not."""
    try:
        recorded = json.loads(manifest.read_text())["modules"]
    except FileNotFoundError:
        return "not compiled (no build record)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable build record: {exc!r}"
    for name in modules:
        if extension_path(root, name) is None:
            return f"{name}: no compiled module"
        if recorded.get(name) != digest(source_path(root, name)):
            return f"{name}: source changed since it was compiled (reinstall to compile again)"
    return None


def stray_extensions(root: Path, modules: tuple[str, ...] = NATIVE_MODULES) -> list[str]:
    """Modules of the three packages with an extension beside them that is not in the list:
    left by an earlier build that compiled them (it would shadow the source, and its code is
    no longer in the current group library)."""
    out: list[str] = []
    for package in ("smsc", "protocols", "storage"):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            for ext in (root / package).rglob(f"*{suffix}"):
                name = ".".join(ext.relative_to(root).with_name(ext.name[: -len(suffix)]).parts)
                if name not in modules and ext.with_name(name.rpartition(".")[2] + ".py").exists():
                    out.append(name)
    return sorted(out)


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads the native modules from their ``.py`` even where an extension shadows it."""

    def __init__(self, root: Path, modules: tuple[str, ...]) -> None:
        self.root = root
        self.modules = frozenset(modules)

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(self.root, fullname))


def activate() -> dict[str, Any]:
    """Decide once per process (before the first native module loads) and return the verdict."""
    global _status
    if _status is None:
        if pure_requested():
            why: str | None = f"{PURE_ENV} is set"
        else:
            why = check(ROOT, Path(__file__).with_name(MANIFEST))
        strays = tuple(stray_extensions(ROOT))
        if why is not None:
            sys.meta_path.insert(0, _SourceFirst(ROOT, NATIVE_MODULES + strays))
        elif strays:
            sys.meta_path.insert(0, _SourceFirst(ROOT, strays))
        _status = {"compiled": why is None, "reason": why or "compiled from the current sources"}
    return _status


def status() -> dict[str, Any]:
    """``{"compiled": bool, "reason": str}`` for this process (the server logs it at start)."""
    return activate()
