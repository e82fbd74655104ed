"""Build hook: compiles the hot-path modules with mypyc where it can (``storage/native.py``).

Everything else about the package is in ``pyproject.toml``. ``SMSC_PURE_PYTHON=1`` at install
time builds nothing; a machine that cannot compile (no C compiler, mypyc missing or failing)
gets the pure-Python package with a warning, never a failed install. Each source's SHA-256 is
recorded beside the extensions so that a stale extension is never loaded.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from storage.native import (  # noqa: E402 - needs HERE on the path
    MANIFEST,
    NATIVE_MODULES,
    digest,
    extension_path,
    pure_requested,
    source_path,
    stray_extensions,
)

sys.path.pop(0)


def _paths() -> list[str]:
    return [str(source_path(HERE, m).relative_to(HERE)) for m in NATIVE_MODULES]


def _warn(message: str) -> None:
    print(f"smsc-emulator: {message}; installing the pure-Python modules", file=sys.stderr)


# the setuptools commands that build; metadata steps (egg_info, dist_info) need no compiling
_BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def native_extensions() -> list[Any]:
    if pure_requested():
        return []
    if not _BUILDS.intersection(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        _warn(f"mypyc is not available ({exc})")
        return []
    cwd = os.getcwd()
    os.chdir(HERE)  # mypyc names modules by their paths relative to here
    try:
        exts = mypycify(
            [
                # the build environment holds no runtime dependencies: their types are Any
                "--ignore-missing-imports",
                # run from a setup.py, mypyc took this note as a failed type check
                "--disable-error-code=annotation-unchecked",
                *_paths(),
            ],
            group_name="smsc_native",
            opt_level="3",
        )
    except BaseException as exc:  # noqa: BLE001 - mypyc reports type errors with SystemExit
        _warn(f"mypyc failed ({exc!r})")
        return []
    finally:
        os.chdir(cwd)
    for ext in exts:
        ext.optional = True  # a compiler error leaves that module in Python, not the install
    return exts


class BuildNative(build_ext):
    """build_ext that records what it compiled; no record means the sources are used."""

    def run(self) -> None:
        if self.inplace:  # extensions of modules no longer compiled would shadow their source
            for name in stray_extensions(HERE):
                while (ext := extension_path(HERE, name)) is not None:
                    ext.unlink()
        super().run()
        if not self.extensions:
            return
        built = all(Path(self.get_ext_fullpath(e.name)).exists() for e in self.extensions)
        target = (HERE if self.inplace else Path(self.build_lib)) / "storage" / MANIFEST
        if not built:
            _warn("some extensions did not compile")
            target.unlink(missing_ok=True)
            return
        record = {"modules": {m: digest(source_path(HERE, m)) for m in NATIVE_MODULES}}
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=1) + "\n")


setup(ext_modules=native_extensions(), cmdclass={"build_ext": BuildNative})
