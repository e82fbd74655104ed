"""The compiled hot path is used only whole and only when built from the current sources
(``storage/native.py``); otherwise every native module loads from its ``.py``."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from storage import native
from storage.native import MANIFEST, NATIVE_MODULES, PURE_ENV, ROOT, check, digest

MODULES = ("pkg.fast", "pkg.sub.faster")
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _tree(root: Path) -> Path:
    """Two 'compiled' modules (sources, stand-in extensions) and a record of their sources."""
    for name in MODULES:
        src = native.source_path(root, name)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"NAME = {name!r}\n")
        src.with_suffix(SUFFIX).write_bytes(b"\x7fELF")
    manifest = root / MANIFEST
    record = {"modules": {n: digest(native.source_path(root, n)) for n in MODULES}}
    manifest.write_text(json.dumps(record))
    return manifest


def test_a_current_build_is_used(tmp_path: Path) -> None:
    assert check(tmp_path, _tree(tmp_path), MODULES) is None


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    manifest = _tree(tmp_path)
    src = native.source_path(tmp_path, "pkg.sub.faster")
    src.write_text(src.read_text() + "# edited\n")
    why = check(tmp_path, manifest, MODULES)
    assert why is not None and "pkg.sub.faster" in why and "changed" in why


def test_a_missing_extension_or_record_means_source(tmp_path: Path) -> None:
    manifest = _tree(tmp_path)
    native.source_path(tmp_path, "pkg.fast").with_suffix(SUFFIX).unlink()
    why = check(tmp_path, manifest, MODULES)
    assert why is not None and "pkg.fast" in why and "no compiled module" in why
    manifest.unlink()
    assert "not compiled" in (check(tmp_path, manifest, MODULES) or "")
    manifest.write_text("{not json")
    assert "unreadable" in (check(tmp_path, manifest, MODULES) or "")


def _is_extension(path: str) -> bool:
    return any(path.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)


def test_this_process_runs_all_compiled_or_all_source() -> None:
    import importlib

    files = [importlib.import_module(name).__file__ or "" for name in NATIVE_MODULES]
    verdict = native.status()
    if verdict["compiled"]:
        assert all(_is_extension(f) for f in files), files
    else:
        assert all(f.endswith(".py") for f in files), files
    # and the verdict is the one the build record gives (the suite runs without the switch)
    if not os.environ.get(PURE_ENV):
        assert verdict["compiled"] == (check(ROOT, ROOT / "storage" / MANIFEST) is None)


_PROBE = (
    "import importlib, json, sys\n"
    "from storage.native import NATIVE_MODULES, status\n"
    "files = [importlib.import_module(n).__file__ for n in NATIVE_MODULES]\n"
    "print(json.dumps({'status': status(), 'files': files}))\n"
)


def _probe(root: Path, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n" + _PROBE],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    for f in result["files"]:  # type: ignore[attr-defined]
        assert str(f).startswith(str(root)), f  # the copy was imported, not an installed tree
    return result


def test_the_switch_loads_every_module_from_source() -> None:
    result = _probe(ROOT, **{PURE_ENV: "1"})
    assert result["status"] == {"compiled": False, "reason": f"{PURE_ENV} is set"}
    assert all(str(f).endswith(".py") for f in result["files"])  # type: ignore[attr-defined]


def test_an_edited_copy_runs_its_sources_not_its_stale_extensions(tmp_path: Path) -> None:
    """A copy of the installed tree (extensions and record included, if this machine built
    them) with one source edited: the process must run source for every native module."""
    for package in ("smsc", "protocols", "storage"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for lib in ROOT.glob("smsc_native__mypyc*"):
        shutil.copy2(lib, tmp_path / lib.name)
    edited = native.source_path(tmp_path, "smsc.rules")
    edited.write_text(edited.read_text() + "\nEDITED_AFTER_THE_BUILD = True\n")
    result = _probe(tmp_path, **{PURE_ENV: ""})
    assert result["status"]["compiled"] is False  # type: ignore[index]
    if native.status()["compiled"]:  # built here: the edit is what turned the copy to source
        assert "smsc.rules" in result["status"]["reason"]  # type: ignore[index]
    assert all(str(f).endswith(".py") for f in result["files"])  # type: ignore[attr-defined]


def test_an_extension_left_by_an_older_build_is_found(tmp_path: Path) -> None:
    """An extension beside a module no longer compiled would shadow its source (and its code
    is not in the current group library): ``activate`` loads such modules from source."""
    (tmp_path / "protocols" / "smpp").mkdir(parents=True)
    for name in ("protocols.smpp.codec", "protocols.smpp.session"):
        src = native.source_path(tmp_path, name)
        src.write_text("")
        src.with_suffix(SUFFIX).write_bytes(b"\x7fELF")
    orphan = tmp_path / "protocols" / "ghost"
    orphan.with_suffix(SUFFIX).write_bytes(b"\x7fELF")  # no source beside it: not ours to judge
    assert native.stray_extensions(tmp_path, ("protocols.smpp.session",)) == [
        "protocols.smpp.codec"
    ]
    assert native.stray_extensions(tmp_path, NATIVE_MODULES) == ["protocols.smpp.codec"]
