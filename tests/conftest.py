"""Shared fixtures: a fresh study storage of each kind (SQLite, journal file, PostgreSQL).

PostgreSQL runs when MOBENCH_TEST_POSTGRES_URL names a server whose role may create databases
(`.ci/run` starts one); each test gets its own database, dropped afterwards. Without it those
tests skip with the reason `.ci/run` left in MOBENCH_TEST_POSTGRES_SKIP, or a default one.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

STORAGE_KINDS = ["sqlite", "journal", "postgresql"]


def _postgres_database(base: str):
    import psycopg

    name = f"mobench_t_{uuid.uuid4().hex[:12]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/?]*(\?.*)?$", f"/{name}", base)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=STORAGE_KINDS)
def storage_url(request, tmp_path):
    """A storage URL of each kind, empty, removed after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/studies.sqlite3"
    elif request.param == "journal":
        (tmp_path / "shared").mkdir()
        yield f"journal://{tmp_path}/shared/studies.log"  # journal:///tmp/...
    else:
        base = os.environ.get("MOBENCH_TEST_POSTGRES_URL")
        if not base:
            pytest.skip(os.environ.get("MOBENCH_TEST_POSTGRES_SKIP")
                        or "no PostgreSQL server: set MOBENCH_TEST_POSTGRES_URL (.ci/run does)")
        yield from _postgres_database(base)
