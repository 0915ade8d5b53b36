"""Crash safety: a writer killed with SIGKILL in the middle of a large
transaction leaves a sound database holding exactly what was committed."""
import os
import signal
import subprocess
import sys

from conftest import EXT, connect, rows

WRITER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[2], isolation_level=None)
conn.enable_load_extension(True)
conn.load_extension(sys.argv[1])
conn.execute("PRAGMA journal_mode = " + sys.argv[3])
conn.execute("PRAGMA busy_timeout = 10000")
conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0)")
conn.execute("BEGIN")
conn.executemany("INSERT INTO mem(namespace, key, value) VALUES ('done', ?, 'v')",
                 [(f"k{i}",) for i in range(500)])
conn.execute("COMMIT")
conn.execute("BEGIN")
i = 0
while True:  # a transaction that never ends: killed in the middle
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('lost', ?, ?)",
                 (f"k{i}", "x" * 500))
    i += 1
    if i == 2000:
        print("ready", flush=True)
"""


def crash_writer(path, journal_mode):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, EXT, str(path), journal_mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def check_after_crash(path):
    conn = connect(str(path))
    assert rows(conn, "PRAGMA integrity_check") == [("ok",)]
    assert rows(conn, "SELECT namespace, count(*) FROM mem_data GROUP BY 1") == [
        ("done", 500)]
    assert rows(conn, "SELECT namespace, keys, writes_today FROM mem_usage "
                      "ORDER BY 1") == [("done", 500, 500)]
    # And the table takes writes again.
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('lost', 'k0', 'v')")
    assert rows(conn, "SELECT count(*) FROM mem WHERE namespace = 'lost'") == [(1,)]


def test_kill_during_transaction_wal(tmp_path):
    crash_writer(tmp_path / "wal.db", "WAL")
    check_after_crash(tmp_path / "wal.db")


def test_kill_during_transaction_rollback_journal(tmp_path):
    crash_writer(tmp_path / "delete.db", "DELETE")
    check_after_crash(tmp_path / "delete.db")
