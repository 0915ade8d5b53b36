"""Regression tests for the defects an outside review found in local tables
(issue "Trustworthy", defects 1-7). Each failed before its fix."""
import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import EXT, ROOT, connect, rows


@pytest.fixture
def m(tmp_path):
    conn = connect(str(tmp_path / "m.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.executemany("INSERT INTO mem(namespace, key, value) VALUES ('n', ?, 'v')",
                     [(f"k{i:02d}",) for i in range(20)])
    yield conn
    conn.close()


def run_child(code):
    """Run code in a child Python (a crash there is a failed test, not a dead
    test run)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests")))


# 1. ALTER TABLE RENAME while a cursor still reads the table.
def test_rename_with_a_cursor_open_leaves_it_working(tmp_path):
    proc = run_child(f"""
from conftest import connect
c = connect({str(tmp_path / 'r.db')!r})
c.execute("CREATE VIRTUAL TABLE mem USING memory")
c.executemany("INSERT INTO mem(namespace, key, value) VALUES ('n', ?, 'v')",
              [(f"k{{i:02d}}",) for i in range(50)])
cur = c.execute("SELECT key FROM mem WHERE namespace = 'n' ORDER BY key")
first = [cur.fetchone()[0] for _ in range(5)]
c.execute("ALTER TABLE mem RENAME TO renamed")
rest = [r[0] for r in cur.fetchall()]
print(len(first + rest), (first + rest)[-1])
print(c.execute("SELECT count(*) FROM renamed").fetchone()[0])
c.execute("INSERT INTO renamed(renamed) VALUES ('integrity-check')")
""")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["50", "k49", "50"]


# 2. UPDATE OR REPLACE moving onto an existing key, then failing on a quota,
# inside a transaction that commits. A one-row (unique) UPDATE gets no
# statement journal from SQLite: whatever xUpdate wrote before the failure
# stayed (the entry in the way was deleted).
@pytest.mark.parametrize("where", ["namespace = 'b' AND key = 'mover'", "namespace = 'b'"])
def test_a_failed_update_or_replace_deletes_nothing(tmp_path, where):
    conn = connect(str(tmp_path / "q.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=2, search=on)")
    conn.execute("INSERT INTO mem VALUES ('a', 'keep', 'one', NULL)")
    conn.execute("INSERT INTO mem VALUES ('a', 'x', 'two', NULL)")
    conn.execute("INSERT INTO mem VALUES ('b', 'mover', 'three', NULL)")
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError) as e:
        conn.execute(f"UPDATE OR REPLACE mem SET namespace = 'a', key = 'keep' WHERE {where}")
    assert "quota max_writes_per_day exceeded for namespace 'a'" in str(e.value)
    conn.execute("COMMIT")
    assert rows(conn, "SELECT namespace, key, value FROM mem ORDER BY 1, 2") == [
        ("a", "keep", "one"), ("a", "x", "two"), ("b", "mover", "three")]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_a_failed_one_row_write_leaves_the_index_whole(tmp_path):
    conn = connect(str(tmp_path / "s.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=10, search=on)")
    conn.execute("INSERT INTO mem VALUES ('a', 'keep', 'hello', NULL)")
    conn.execute("BEGIN")
    for sql in ["INSERT OR REPLACE INTO mem VALUES ('a', 'keep', 'hello world big', NULL)",
                "UPDATE mem SET value = 'hello world big' WHERE namespace = 'a' AND key = 'keep'"]:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
        conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    conn.execute("COMMIT")
    assert rows(conn, "SELECT key FROM mem WHERE mem MATCH 'hello'") == [("keep",)]


def test_update_or_replace_onto_an_entry_keeps_the_moved_times(tmp_path):
    conn = connect(str(tmp_path / "t.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on)")
    conn.execute("INSERT INTO mem(namespace, key, value, updated_at, created_at) "
                 "VALUES ('a', 'keep', 'old text', 10.0, 5.0)")
    conn.execute("INSERT INTO mem(namespace, key, value, updated_at, created_at) "
                 "VALUES ('b', 'mover', 'moved text', 20.0, 15.0)")
    conn.execute("UPDATE OR REPLACE mem SET namespace = 'a', key = 'keep', "
                 "updated_at = 30.0 WHERE namespace = 'b'")
    assert rows(conn, "SELECT namespace, key, value, updated_at, created_at FROM mem") == [
        ("a", "keep", "moved text", 30.0, 15.0)]
    assert rows(conn, "SELECT key FROM mem WHERE mem MATCH 'moved'") == [("keep",)]
    assert rows(conn, "SELECT key FROM mem WHERE mem MATCH 'old'") == []
    assert rows(conn, "SELECT namespace, keys, bytes FROM mem_usage ORDER BY 1") == [
        ("a", 1, 10), ("b", 0, 0)]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


# 3. IN behaves exactly as = for every column and value type.
def test_in_on_times_matches_every_digit(m):
    m.execute("INSERT INTO mem(namespace, key, value, updated_at) VALUES "
              "('t', 'x', 'v', 1795389377.5015712)")
    assert rows(m, "SELECT key FROM mem WHERE updated_at IN "
                   "(SELECT updated_at FROM mem WHERE key = 'x')") == [("x",)]
    assert rows(m, "SELECT key FROM mem WHERE created_at IN "
                   "(SELECT created_at FROM mem WHERE key = 'x')") == [("x",)]
    m.execute("DELETE FROM mem WHERE updated_at IN "
              "(SELECT updated_at FROM mem WHERE namespace = 't')")
    assert rows(m, "SELECT count(*) FROM mem WHERE namespace = 't'") == [(0,)]


@pytest.mark.parametrize("in_list", ["(x'6b3031')", "(1)", "(NULL)", "(1.0)",
                                     "('k01', x'6b3032')", "('k01', 'k01')"])
def test_in_on_names_is_what_equals_is(m, in_list):
    m.execute("CREATE TABLE plain AS SELECT namespace, key FROM mem")
    m.execute("INSERT INTO mem VALUES ('n', '1', 'v', NULL)")
    m.execute("INSERT INTO plain VALUES ('n', '1')")
    want = rows(m, f"SELECT key FROM plain WHERE key IN {in_list} ORDER BY key")
    assert rows(m, f"SELECT key FROM mem WHERE key IN {in_list} ORDER BY key") == want
    assert rows(m, f"SELECT key FROM mem WHERE namespace = 'n' AND key IN {in_list} "
                   "ORDER BY key") == want


# 7. A rename onto taken names says which; loading twice just works.
def test_rename_onto_a_taken_name_says_which(m):
    m.execute("CREATE TABLE other_data(x)")
    with pytest.raises(sqlite3.OperationalError) as e:
        m.execute("ALTER TABLE mem RENAME TO other")
    assert str(e.value) == ("memory: cannot rename 'mem' to 'other': the name "
                            "'other_data' is taken; drop or rename that first")
    assert rows(m, "SELECT count(*) FROM mem") == [(20,)]
    m.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_loading_twice_just_works(m):
    m.enable_load_extension(True)
    m.load_extension(EXT)
    assert rows(m, "SELECT count(*) FROM mem") == [(20,)]
    m.execute("INSERT INTO mem VALUES ('n', 'again', 'v', NULL)")


# 4. A quota trigger dropped by plain SQL: writes are refused until repaired.
def test_a_dropped_quota_trigger_stops_writes_until_rebuild(m):
    m.execute("DROP TRIGGER mem_quota_insert")
    with pytest.raises(sqlite3.OperationalError) as e:
        m.execute("INSERT INTO mem VALUES ('n', 'new', 'v', NULL)")
    assert str(e.value) == (
        "memory: a quota trigger of table 'mem' is missing (dropped by plain "
        "SQL?), so its quotas would not hold; writes are refused until it is "
        "repaired: INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    with pytest.raises(sqlite3.DatabaseError) as e:
        m.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert "trigger 'mem_quota_insert' is missing" in str(e.value)
    assert rows(m, "SELECT count(*) FROM mem") == [(20,)]  # reads still work
    m.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    m.execute("INSERT INTO mem VALUES ('n', 'new', 'v', NULL)")
    assert rows(m, "SELECT keys FROM mem_usage") == [(21,)]


def test_a_dropped_trigger_is_noticed_by_another_connection(tmp_path):
    path = str(tmp_path / "o.db")
    a, b = connect(path), connect(path)
    a.execute("CREATE VIRTUAL TABLE mem USING memory")
    b.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    a.execute("DROP TRIGGER mem_quota_update")
    with pytest.raises(sqlite3.OperationalError) as e:
        b.execute("UPDATE mem SET value = 'w'")
    assert "a quota trigger of table 'mem' is missing" in str(e.value)


# Found by the SQL fuzzer (tests/fuzz/fuzz_sql.c).
def test_in_with_a_nul_in_text_matches_nothing(m):
    assert rows(m, "SELECT count(*) FROM mem WHERE namespace IN ('n' || char(0) || 'x', 'zz')") == [(0,)]
    assert rows(m, "SELECT count(*) FROM mem WHERE namespace = 'n' AND key IN "
                   "('k01' || char(0), 'zz')") == [(0,)]


def test_limit_with_a_filter_sqlite_keeps_is_right(m):
    m.execute("INSERT INTO mem VALUES ('a', 'a', 'v', NULL), ('b', 'b', 'v', NULL), "
              "('a', 'b', 'v', NULL)")
    assert rows(m, "SELECT namespace, key FROM mem WHERE namespace = key "
                   "ORDER BY namespace, key LIMIT 1 OFFSET 1") == [("b", "b")]
    assert rows(m, "SELECT namespace, key FROM mem WHERE namespace = key LIMIT 2") == \
        [("a", "a"), ("b", "b")]


def test_a_damaged_table_says_so_with_the_prefix(m):
    m.execute("DROP TABLE mem_quota")
    with pytest.raises(sqlite3.OperationalError) as e:
        m.execute("INSERT INTO mem VALUES ('n', 'x', 'v', NULL)")
    assert str(e.value).startswith(
        "memory: cannot write to 'mem': no such table: main.mem_quota")


# 6. Persistent views over a local table work under trusted_schema=OFF; a
# remote table stays direct-only.
def test_views_over_a_local_table_work_with_an_untrusted_schema(tmp_path, server):
    path = str(tmp_path / "v.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    conn.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    conn.execute("CREATE VIEW mem_view AS SELECT key, value FROM mem WHERE namespace = 'n'")
    conn.execute("CREATE VIEW hosted_view AS SELECT key FROM hosted WHERE namespace = 'n'")
    conn.close()
    conn = connect(path)
    conn.execute("PRAGMA trusted_schema=OFF")
    assert rows(conn, "SELECT * FROM mem_view") == [("k", "v")]
    with pytest.raises(sqlite3.OperationalError) as e:
        rows(conn, "SELECT * FROM hosted_view")
    assert "unsafe use of virtual table" in str(e.value)


# 5. A remote table claims only names it really has: the two names SQLite
# claims for every memory table are taken by placeholders, visibly.
def test_a_users_table_never_silently_becomes_a_remote_tables_shadow(tmp_path):
    path = str(tmp_path / "s.db")
    conn = connect(path)
    conn.execute("CREATE TABLE mine_data(x)")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("CREATE VIRTUAL TABLE mine USING memory(remote='http://127.0.0.1:9')")
    assert str(e.value) == (
        "memory: cannot create remote table 'mine': the name 'mine_data' is taken, "
        "and SQLite would treat that table as this one's own (read-only in "
        "defensive mode); rename it, or name the remote table otherwise")
    assert rows(conn, "SELECT name FROM sqlite_schema ORDER BY 1") == [("mine_data",)]
    conn.execute("CREATE VIRTUAL TABLE hosted USING memory(remote='http://127.0.0.1:9')")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("CREATE TABLE hosted_data(x)")
    assert "already exists" in str(e.value)
    conn.execute("ALTER TABLE hosted RENAME TO cloud")
    assert rows(conn, "SELECT name FROM sqlite_schema WHERE name LIKE 'cloud%' ORDER BY 1") \
        == [("cloud",), ("cloud_config",), ("cloud_data",), ("cloud_quota",)]
    conn.execute("DROP TABLE cloud")
    assert rows(conn, "SELECT name FROM sqlite_schema ORDER BY 1") == [("mine_data",)]
    out = subprocess.run(["sqlite3", path], input=f""".load {EXT}
.dbconfig defensive on
CREATE TABLE hosted_data(x);
CREATE VIRTUAL TABLE other USING memory(remote='http://127.0.0.1:9');
INSERT INTO hosted_data VALUES (1);
SELECT count(*) FROM hosted_data;
""", capture_output=True, text=True, timeout=60)
    assert out.stderr == "" and out.stdout.splitlines()[-1] == "1"


def test_a_trigger_dropped_inside_the_writing_transaction_stops_the_next_write(tmp_path):
    """The triggers are checked once per write transaction; DDL of this very
    connection in the middle of it must still be noticed."""
    from conftest import connect
    conn = connect(str(tmp_path / "t.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=2)")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'k1', 'v')")
    conn.execute("DROP TRIGGER mem_quota_insert")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'k2', 'v')")
    assert str(e.value).startswith("memory: a quota trigger of table 'mem' is missing")
    conn.execute("ROLLBACK")
    conn.close()
