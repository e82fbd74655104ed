"""Storage fixtures: every storage test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL cases use the throwaway database from ``tests/conftest.py::pg_url`` and are skipped,
with the reason, when no server answers on 127.0.0.1:5432.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage.db import make_engine, upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database that does not exist yet (make_engine creates it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'smsc.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fully migrated database; disposed before the database is dropped."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
