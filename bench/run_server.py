"""Start ``smsc serve`` on ephemeral 127.0.0.1 ports with a throwaway SQLite DB, for benchmarks.

Why a copy of the small ``tests/conftest.py`` ServerProcess logic instead of an import: the
conftest imports pytest and is a test-suite fixture module; a benchmark should not depend on
the test harness's import path. The config is the tests' BASE_CONFIG plus an explicit carrier
(``DELIVRD`` after ``--carrier-delay-ms``) so receipts flow during the load, as they would on a
real SMSC, and the storage keys spelled out so the README can say what was measured.

As a script it starts one server, prints its ready JSON (``pid`` and the bound ports) on one
line and keeps it running until Ctrl-C, SIGTERM or ``--lifetime`` seconds, whichever comes first (a
bench helper must stop by itself). ``bench_smpp.py --spawn`` uses ``BenchServer`` directly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent

CONFIG = """
[storage]
url = "sqlite:///{db}"
sqlite_synchronous = "{synchronous}"
commit_max_wait_ms = {commit_max_wait_ms}

[logging]
level = "{log_level}"

[listeners]
smpp  = {{ host = "127.0.0.1", port = 0 }}
cmpp  = {{ host = "127.0.0.1", port = 0 }}
sgip  = {{ host = "127.0.0.1", port = 0 }}
smgp  = {{ host = "127.0.0.1", port = 0 }}
http  = {{ host = "127.0.0.1", port = 0 }}
admin = {{ host = "127.0.0.1", port = 0 }}

[carrier]
default = {{ outcome = "DELIVRD", delay_ms = {delay_ms} }}

[[accounts]]
name = "acme"
service_codes = ["106900001"]
window = {window}
smpp = {{ system_id = "acme", password = "secret" }}
"""


# ``python -c`` wrapper for the diagnostic knobs: set them, then run ``admin.cli`` as ``-m``
# would. Lets a benchmark show what an interpreter setting is worth without a server change.
_PRELUDE = (
    "import gc, runpy, sys; {0}; sys.argv[0] = 'smsc'; "
    "runpy.run_module('admin.cli', run_name='__main__', alter_sys=True)"
)


class BenchServer:
    """``smsc serve`` in a subprocess with its own temp directory; a context manager.

    The directory (config, SQLite DB, server log) is removed on exit unless ``keep`` is set,
    so repeated benchmark runs do not fill /tmp.
    """

    def __init__(
        self,
        *,
        carrier_delay_ms: int = 1000,
        synchronous: str = "FULL",
        commit_max_wait_ms: float = 0.0,
        window: int = 100,
        log_level: str = "INFO",
        keep: bool = False,
        python: str = sys.executable,
        switch_interval: float | None = None,
        gc_threshold: tuple[int, ...] | None = None,
        gc_freeze: bool = False,
        extra: str = "",
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="smsc-bench-"))
        self.config_text = extra + CONFIG.format(
            db=self.workdir / "smsc.db",
            synchronous=synchronous,
            commit_max_wait_ms=commit_max_wait_ms,
            log_level=log_level,
            delay_ms=carrier_delay_ms,
            window=window,
        )
        self.config_path = self.workdir / "smsc.toml"
        self.config_path.write_text(self.config_text)
        self.ready_path = self.workdir / "ready.json"
        self.log_path = self.workdir / "server.log"
        self.keep = keep
        self.python = python
        self.prelude: list[str] = []
        if switch_interval is not None:
            self.prelude.append(f"sys.setswitchinterval({switch_interval!r})")
        if gc_freeze:  # import the server's modules, then move them out of the collector's way
            self.prelude.append("import admin.cli, admin.server; gc.collect(); gc.freeze()")
        if gc_threshold is not None:
            # the server sets its own thresholds once it is up (admin.server.tune_gc): replace
            # the ones it will set, not only the ones it starts with
            values = ", ".join(map(str, gc_threshold))
            self.prelude.append(
                f"import admin.server; admin.server.GC_THRESHOLDS = ({values},); "
                f"gc.set_threshold({values})"
            )
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> BenchServer:
        """Start the server and wait for its ready file (the bound ports)."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        serve = ["serve", "--config", str(self.config_path), "--ready-file", str(self.ready_path)]
        if not self.prelude:
            argv = [self.python, "-m", "admin.cli", *serve]
        else:
            argv = [self.python, "-c", _PRELUDE.format("; ".join(self.prelude)), *serve]
        self.proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_path.exists() and self.ready_path.read_text().strip():
                self.ports = json.loads(self.ready_path.read_text())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful: the writer commits what is queued), SIGKILL after ``timeout``."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.cleanup()


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The server knobs shared by this script and ``bench_smpp.py --spawn``."""
    parser.add_argument(
        "--carrier-delay-ms",
        type=int,
        default=1000,
        help="carrier default delay before the DELIVRD receipt (default 1000)",
    )
    parser.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite synchronous pragma (default FULL, the server's default)",
    )
    parser.add_argument(
        "--commit-max-wait-ms",
        type=float,
        default=0.0,
        help="group-commit max wait (default 0, the server's default)",
    )
    parser.add_argument(
        "--server-window", type=int, default=100, help="account acme's window (default 100)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (config, DB, server log)"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="diagnostic: sys.setswitchinterval() in the server (default: Python's 0.005 s)",
    )
    parser.add_argument(
        "--gc-threshold",
        type=_thresholds,
        metavar="G0[,G1[,G2]]",
        help="diagnostic: gc.set_threshold() in the server (0 = automatic GC off)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="diagnostic: gc.freeze() after importing the server's modules",
    )


def server_from_args(args: argparse.Namespace) -> BenchServer:
    return BenchServer(
        carrier_delay_ms=args.carrier_delay_ms,
        synchronous=args.synchronous,
        commit_max_wait_ms=args.commit_max_wait_ms,
        window=args.server_window,
        keep=args.keep,
        switch_interval=args.switch_interval,
        gc_threshold=args.gc_threshold,
        gc_freeze=args.gc_freeze,
    )


def _thresholds(text: str) -> tuple[int, ...]:
    values = tuple(int(x) for x in text.split(","))
    if not 1 <= len(values) <= 3 or min(values) < 0:
        raise argparse.ArgumentTypeError("1 to 3 non-negative integers, e.g. 700,10,10")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_options(parser)
    parser.add_argument(
        "--lifetime",
        type=float,
        default=600.0,
        help="stop the server after this many seconds (default 600)",
    )
    args = parser.parse_args(argv)
    # SIGTERM stops it like Ctrl-C (a background job of a script ignores SIGINT).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = server_from_args(args)
    server.start()
    info: dict[str, Any] = {**server.ports, "workdir": str(server.workdir)}
    print(json.dumps(info), flush=True)
    try:
        deadline = time.monotonic() + args.lifetime
        while time.monotonic() < deadline and server.proc is not None:
            if server.proc.poll() is not None:
                print(f"server exited with {server.proc.returncode}", file=sys.stderr)
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        server.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
