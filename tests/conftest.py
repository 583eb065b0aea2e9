"""Shared fixtures: a fresh study storage of each kind (SQLite, journal file, PostgreSQL), and
a small grid table for replayed comparisons.

PostgreSQL runs when MOBENCH_TEST_POSTGRES_URL names a server whose role may create databases
(`.ci/run` starts one); each test gets its own database, dropped afterwards. Without it those
tests skip with the reason `.ci/run` left in MOBENCH_TEST_POSTGRES_SKIP, or a default one.
"""

from __future__ import annotations

import json
import os
import re
import uuid

import numpy as np
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


#: the grid of `replay_table`: 24 configs
REPLAY_GRID = {"units_0": [32, 64, 128, 256], "num_layers": [1, 2, 3],
               "learning_rate": [0.001, 0.01]}


@pytest.fixture
def replay_table(tmp_path):
    """A grid table of REPLAY_GRID for replay: accuracy rises with width and depth, time too;
    one config failed."""
    import csv

    from mobench.compare.tabular import config_key, grid_configs
    from mobench.documents import write_json
    from mobench.records import SCHEMA_VERSION

    path = tmp_path / "t.csv"
    write_json(path.with_suffix(".json"), {"schema_version": SCHEMA_VERSION, "kind": "table",
                                           "suite": "mnist-mlp", "suite_version": 1,
                                           "grid": REPLAY_GRID})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, ["config_id", "config", "status", "reason", "val_accuracy",
                               "val_accuracy_repeats", "train_time", "train_time_repeats"])
        w.writeheader()
        for i, c in enumerate(grid_configs(REPLAY_GRID)):
            acc = 0.5 + 0.1 * np.log2(c["units_0"] / 32) / 3 + 0.05 * c["num_layers"]
            acc -= 0.1 if c["learning_rate"] == 0.01 else 0.0
            t = c["units_0"] * c["num_layers"] / 100
            failed = c["units_0"] == 256 and c["num_layers"] == 3 and c["learning_rate"] == 0.01
            w.writerow({"config_id": i, "config": config_key(c),
                        "status": "failed" if failed else "ok",
                        "reason": "loss became NaN" if failed else "",
                        "val_accuracy": "" if failed else acc,
                        "val_accuracy_repeats": "" if failed else json.dumps([acc - .01,
                                                                              acc + .01]),
                        "train_time": "" if failed else t,
                        "train_time_repeats": "" if failed else json.dumps([t, t])})
    return path
