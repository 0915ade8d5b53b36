"""Shared fixtures: load the extension into Python's sqlite3 and drive the
sqlite3 shell.

MEMORY_EXT names the build under test (default dist/memory); `make test` runs
the suite once more with dist/memory-asan and libasan preloaded.
"""
import os
import sqlite3
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, os.environ.get("MEMORY_EXT", "dist/memory"))
TESTS = os.path.join(ROOT, "tests")
sys.path.insert(0, TESTS)


def connect(path=":memory:", **kwargs):
    """A Python sqlite3 connection with the extension loaded."""
    conn = sqlite3.connect(path, isolation_level=None, **kwargs)
    conn.enable_load_extension(True)
    conn.load_extension(EXT)
    conn.enable_load_extension(False)
    return conn


def shell(db, sql, check=True, env=None):
    """Run `sql` in the sqlite3 shell on file `db` with the extension
    loaded; return (stdout, stderr)."""
    script = f".load {EXT}\n{sql}\n"
    proc = subprocess.run(["sqlite3", "-batch", str(db)], input=script,
                          capture_output=True, text=True, timeout=120,
                          env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"sqlite3 failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout, proc.stderr


@pytest.fixture
def db(tmp_path):
    conn = connect(str(tmp_path / "mem.db"))
    yield conn
    conn.close()


@pytest.fixture
def mem(db):
    """A connection with a local table `mem` created with the defaults."""
    db.execute("CREATE VIRTUAL TABLE mem USING memory")
    return db


def rows(conn, sql, params=()):
    return conn.execute(sql, params).fetchall()
