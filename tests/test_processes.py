"""Memory that survives restarts and is shared by processes: the sqlite3
shell and Python on one file, and concurrent writers under WAL."""
import subprocess
import sys

from conftest import EXT, TESTS, connect, rows, shell

WRITER = r"""
import sqlite3, sys
ext, path, ns, first, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
conn = sqlite3.connect(path, isolation_level=None, timeout=60)
conn.enable_load_extension(True)
conn.load_extension(ext)
conn.execute("PRAGMA busy_timeout = 60000")
ok = refused = 0
for i in range(first, first + count):
    try:
        conn.execute("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                     (ns, f"k{i}", f"v{i}"))
        ok += 1
    except sqlite3.IntegrityError as e:
        assert str(e).startswith("memory: quota max_writes_per_day exceeded"), e
        refused += 1
print(ok, refused)
"""


def test_shell_loads_and_answers(tmp_path):
    out, err = shell(tmp_path / "s.db", """
SELECT memory_version();
CREATE VIRTUAL TABLE mem USING memory;
INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('user-42', 'user_name', 'Sarah');
SELECT value FROM mem WHERE namespace = 'user-42' AND key = 'user_name';
INSERT INTO mem(namespace, key, value) VALUES ('user-42', 'user_name', 'x');
""", check=False)
    assert out.splitlines() == ["0.2.0", "Sarah"]
    assert ("memory: user-42/user_name already exists; use INSERT OR REPLACE "
            "to overwrite it or INSERT OR IGNORE to keep it") in err


def test_persists_across_processes_and_clients(tmp_path):
    path = tmp_path / "p.db"
    shell(path, "CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=3);"
                "INSERT INTO mem VALUES ('agent', 'from_shell', 'one', 100);")
    conn = connect(str(path))
    conn.execute("INSERT INTO mem VALUES ('agent', 'from_python', 'two', 200)")
    conn.close()
    out, _ = shell(path, "SELECT key, value, updated_at FROM mem ORDER BY updated_at;"
                         "SELECT writes_today, max_writes_per_day FROM mem_usage;")
    assert out.splitlines() == ["from_shell|one|100.0", "from_python|two|200.0",
                                "2|3"]
    # The quota setting survived too: the 4th write of the day fails.
    shell(path, "INSERT INTO mem VALUES ('agent', 'third', '3', NULL);")
    _, err = shell(path, "INSERT INTO mem VALUES ('agent', 'fourth', '4', NULL);",
                   check=False)
    assert "memory: quota max_writes_per_day exceeded for namespace 'agent'" in err


def run_writers(path, jobs):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, EXT, str(path),
                               ns, str(first), str(count)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for ns, first, count in jobs]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(tuple(int(x) for x in out.split()))
    return results


def make_wal_table(path, args=""):
    conn = connect(str(path))
    assert rows(conn, "PRAGMA journal_mode = WAL") == [("wal",)]
    conn.execute(f"CREATE VIRTUAL TABLE mem USING memory{args}")
    conn.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "c.db"
    make_wal_table(path, "(max_writes_per_day=0)")
    results = run_writers(path, [("shared", i * 150, 150) for i in range(4)])
    assert results == [(150, 0)] * 4
    conn = connect(str(path))
    assert rows(conn, "SELECT count(*), count(DISTINCT key) FROM mem") == [(600, 600)]
    assert rows(conn, "SELECT keys, writes_today FROM mem_usage") == [(600, 600)]


def test_concurrent_writers_enforce_quota_exactly(tmp_path):
    path = tmp_path / "q.db"
    make_wal_table(path)
    results = run_writers(path, [("shared", i * 300, 300) for i in range(4)])
    assert sum(ok for ok, _ in results) == 1000
    assert sum(refused for _, refused in results) == 200
    conn = connect(str(path))
    assert rows(conn, "SELECT count(*) FROM mem") == [(1000,)]
    stored_bytes = rows(conn, "SELECT sum(length(value)) FROM mem")[0][0]
    assert rows(conn, "SELECT keys, bytes, writes_today FROM mem_usage") == [
        (1000, stored_bytes, 1000)]
    assert rows(conn, "PRAGMA integrity_check") == [("ok",)]
