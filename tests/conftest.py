"""Shared fixtures: a real ``smsc serve`` process on ephemeral ports, and storage URLs.

End-to-end tests talk to the server over real sockets on 127.0.0.1 with real clients
(smpplib, the spec-written CMPP client); the server runs as a subprocess exactly as a user
runs it, so signals, restarts and crashes can be tested too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_BASE = os.environ.get("SMSC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason to skip."""
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable on 127.0.0.1:5432 as postgres ({exc.__class__.__name__}: {exc})"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"smsc_test_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE}/{name}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BASE_CONFIG = """
[storage]
url = "{url}"

[listeners]
smpp  = {{ host = "127.0.0.1", port = 0 }}
cmpp  = {{ host = "127.0.0.1", port = 0 }}
sgip  = {{ host = "127.0.0.1", port = 0 }}
smgp  = {{ host = "127.0.0.1", port = 0 }}
http  = {{ host = "127.0.0.1", port = 0 }}
admin = {{ host = "127.0.0.1", port = 0 }}

[smpp]
retry_initial_s = 0.5
retry_max_s = 2.0

[[accounts]]
name = "acme"
service_codes = ["106900001"]
window = 100
smpp = {{ system_id = "acme", password = "secret" }}
cmpp = {{ sp_id = "901234", secret = "s3cret" }}
"""


class ServerProcess:
    """``smsc serve`` in a subprocess with its own working directory and config."""

    def __init__(self, workdir: Path, config_text: str, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.config_path = workdir / "smsc.toml"
        self.config_path.write_text(config_text)
        self.ready = workdir / "ready.json"
        self.log_path = workdir / "server.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.ready.unlink(missing_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "admin.cli",
                "serve",
                "--config",
                str(self.config_path),
                "--ready-file",
                str(self.ready),
            ],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready.exists() and self.ready.read_text().strip():
                self.ports = json.loads(self.ready.read_text())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"server did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def admin(self, path: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.ports['admin']}{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            url,
            data=data,
            method=method or ("POST" if data else "GET"),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    """Factory: ``make_server(extra_toml="", url=None)`` → a started ServerProcess."""
    started: list[ServerProcess] = []

    def make(
        extra: str = "",
        url: str | None = None,
        env: dict[str, str] | None = None,
        base: str = BASE_CONFIG,
    ) -> ServerProcess:
        workdir = tmp_path / f"srv{len(started)}"
        workdir.mkdir(exist_ok=True)
        db_url = url or f"sqlite:///{workdir / 'smsc.db'}"
        server = ServerProcess(workdir, base.format(url=db_url) + extra, env)
        started.append(server)
        return server.start()

    yield make
    for s in started:
        if s.proc is not None and s.proc.poll() is None:
            s.stop(signal.SIGKILL)


@pytest.fixture
def server(make_server: Any) -> ServerProcess:
    return make_server()
