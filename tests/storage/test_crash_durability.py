"""Every id reported as committed survives a SIGKILL of the writing process.

Runs ``bench/crash_durability.py`` (a real child process, a real kill) with a small stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "crash_durability.py"


def run_crash(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.stdout.strip(), proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == {True: 0, False: 1}[result["missing"] == 0] or not result["killed"]
    return result


@pytest.mark.parametrize(
    ("mode", "seed"), [("served", 1), ("served", 2), ("thread", 3), ("on_loop", 4), ("process", 5)]
)
def test_sigkill_mid_stream_loses_no_reported_row_sqlite(
    tmp_path: Path, mode: str, seed: int
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    result = run_crash(
        "--url", url, "--rows", "3000", "--writers", "16", "--seed", str(seed), "--mode", mode
    )
    assert result["killed"], result  # the kill landed mid-stream, not after the child finished
    assert 0 < int(result["reported"]) < 3000  # type: ignore[call-overload]
    assert result["missing"] == 0, result
    assert int(result["found"]) >= int(result["reported"])  # type: ignore[call-overload]
    assert result["ok"] is True


@pytest.mark.postgres
def test_sigkill_mid_stream_loses_no_reported_row_postgres(pg_url: str) -> None:
    result = run_crash("--url", pg_url, "--rows", "3000", "--writers", "16", "--seed", "7")
    assert result["killed"], result
    assert result["missing"] == 0, result
