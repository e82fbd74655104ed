"""The ``smsc`` command as a user runs it (subprocesses, a throwaway SQLite file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONTRACT = """
[storage]
url = "sqlite:///{db}"

[listeners]
smpp  = {{ host = "0.0.0.0", port = 2775 }}
cmpp  = {{ host = "0.0.0.0", port = 7890 }}
http  = {{ host = "0.0.0.0", port = 8080 }}
admin = {{ host = "127.0.0.1", port = 8081 }}

[[accounts]]
name = "acme"
service_codes = ["106900001"]      # MO to 106900001 + extension routes here
ip_whitelist = []                  # empty = any address
max_binds = 8
window = 100
throughput = 0                     # msg/s, 0 = unlimited
smpp = {{ system_id = "acme", password = "secret" }}
cmpp = {{ sp_id = "901234", secret = "s3cret" }}
"""


def smsc(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "admin.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "smsc.toml"
    path.write_text(CONTRACT.format(db=tmp_path / "smsc.db"))
    return path


def test_config_show_masks_secrets(cfg: Path) -> None:
    out = smsc("config", "show", "--config", str(cfg), cwd=cfg.parent)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["accounts"][0]["smpp"] == {"system_id": "acme", "password": "****"}
    assert ': "secret"' not in out.stdout and "s3cret" not in out.stdout


def test_unknown_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[listeners]\nsmpp = { host = "0.0.0.0", port = 2775, colour = "red" }\n')
    out = smsc("serve", "--config", str(path), cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "listeners.smpp.colour" in lines[0]


def test_wrong_type_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[listeners]\nsmpp = { host = "0.0.0.0", port = "x" }\n')
    out = smsc("serve", "--config", str(path), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        line for line in out.stderr.strip().splitlines() if "listeners.smpp.port" in line
    ]
    env_out = smsc("serve", cwd=tmp_path, env={"SMSC_LISTENERS__SMPP__PORT": "x"})
    assert env_out.returncode == 2 and "listeners.smpp.port" in env_out.stderr


def test_account_lifecycle(cfg: Path) -> None:
    d = cfg.parent
    c = ["--config", str(cfg)]
    assert smsc("db", "upgrade", *c, cwd=d).returncode == 0
    add = smsc(
        "account",
        "add",
        "beta",
        "--system-id",
        "beta",
        "--password",
        "pw",
        "--service-code",
        "1069002",
        "--window",
        "10",
        *c,
        cwd=d,
    )
    assert add.returncode == 0, add.stderr
    assert "pw" not in add.stdout
    listed = json.loads(smsc("account", "list", "--json", *c, cwd=d).stdout)
    assert [a["name"] for a in listed] == ["beta"]
    assert smsc("account", "add", "beta", *c, cwd=d).returncode == 1
    assert smsc("account", "set", "beta", "--window", "20", *c, cwd=d).returncode == 0
    shown = json.loads(smsc("account", "show", "beta", *c, cwd=d).stdout)
    assert shown["window"] == 20 and shown["service_codes"] == ["1069002"]
    assert smsc("account", "disable", "beta", *c, cwd=d).returncode == 0
    shown = json.loads(smsc("account", "show", "beta", *c, cwd=d).stdout)
    assert shown["enabled"] is False
    assert smsc("account", "show", "nobody", *c, cwd=d).returncode == 1


def test_serve_creates_config_accounts(make_server, tmp_path: Path) -> None:
    server = make_server()
    out = smsc("account", "list", "--config", str(server.config_path), cwd=server.workdir)
    assert out.returncode == 0 and "acme" in out.stdout


@pytest.mark.parametrize(
    "cmd",
    [
        ["--help"],
        ["serve", "--help"],
        ["account", "add", "--help"],
        ["db", "upgrade", "--help"],
        ["config", "show", "--help"],
        ["segment", "--help"],
        ["mo", "send", "--help"],
    ],
)
def test_help(cmd: list[str], tmp_path: Path) -> None:
    out = smsc(*cmd, cwd=tmp_path)
    assert out.returncode == 0 and "usage:" in out.stdout


def test_mo_send_via_running_server(make_server) -> None:
    server = make_server()
    out = smsc(
        "mo",
        "send",
        "--from",
        "13800138000",
        "--to",
        "106900001123",
        "hi",
        "--admin",
        f"http://127.0.0.1:{server.ports['admin']}",
        cwd=server.workdir,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["account"] == "acme"
