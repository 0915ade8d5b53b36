"""Regression tests for the outside review of local tables, written by a
second reviewer against the first version (each failed there): the ones
that hold for this design, kept beside tests/test_regress_local.py. They
compare failing statements in every conflict mode with a plain table."""
import sqlite3
import time

import pytest

from conftest import EXT, connect, rows, shell

QUOTA_A = ("memory: quota max_namespace_bytes exceeded for namespace 'a': at "
           "most 10 bytes of values; delete or shorten entries, or raise the "
           "limit: INSERT INTO \"{t}\"(\"{t}\", value) VALUES "
           "('max_namespace_bytes', <n>) (0 = no limit)")


def usage_matches_rows(conn, t="mem"):
    """The running totals equal what the rows add up to."""
    got = rows(conn, f"SELECT namespace, keys, bytes FROM {t}_usage "
                     "WHERE keys > 0 ORDER BY 1")
    want = rows(conn, f"SELECT namespace, count(*), "
                      f"sum(length(CAST(value AS BLOB))) FROM {t} "
                      "GROUP BY 1 ORDER BY 1")
    return got == want


# ---------------------------------------------------------------------------
# 1. ALTER TABLE RENAME while a cursor is being read


def test_rename_while_a_cursor_reads_keeps_the_cursor_working(mem):
    keys = [f"k{i:02d}" for i in range(20)]
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES ('a', ?, 'v')",
                    [(k,) for k in keys])
    cur = mem.execute("SELECT key FROM mem WHERE namespace = 'a' ORDER BY key")
    first = [cur.fetchone()[0] for _ in range(3)]
    mem.execute("ALTER TABLE mem RENAME TO u")
    assert first + [r[0] for r in cur] == keys
    # The same plan, prepared again under the new name, and writes.
    assert [r[0] for r in mem.execute(
        "SELECT key FROM u WHERE namespace = 'a' ORDER BY key")] == keys
    mem.execute("INSERT INTO u(namespace, key, value) VALUES ('a', 'new', 'v')")
    assert rows(mem, "SELECT keys FROM u_usage") == [(21,)]


def test_rename_while_a_nested_cursor_reads(mem):
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, 'v')",
                    [(ns, f"k{i}") for ns in "ab" for i in range(5)])
    cur = mem.execute("SELECT m.namespace, m.key, (SELECT count(*) FROM mem AS x "
                      "WHERE x.namespace = m.namespace) FROM mem AS m "
                      "ORDER BY m.namespace, m.key")
    got = [cur.fetchone() for _ in range(2)]
    mem.execute("ALTER TABLE mem RENAME TO u")
    got += cur.fetchall()
    assert got == [(ns, f"k{i}", 5) for ns in "ab" for i in range(5)]


# ---------------------------------------------------------------------------
# 7. Rename onto taken names; loading the extension twice


def test_load_extension_twice_on_one_connection(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'k', 'v', NULL)")
    mem.enable_load_extension(True)
    mem.load_extension(EXT)
    # From SQL, with a statement running: functions cannot be replaced then.
    mem.execute("SELECT load_extension(?)", (EXT,))
    mem.execute("SELECT load_extension(?)", (EXT,))
    assert rows(mem, "SELECT memory_version(), key FROM mem") == [("0.2.0", "k")]
    mem.execute("CREATE VIRTUAL TABLE m2 USING memory")
    mem.execute("INSERT INTO m2 SELECT * FROM mem")
    assert rows(mem, "SELECT key FROM m2") == [("k",)]


def test_load_extension_twice_in_the_shell(tmp_path):
    out, err = shell(tmp_path / "x.db", f"SELECT load_extension('{EXT}');\n"
                                        f"SELECT load_extension('{EXT}');\n"
                                        "SELECT memory_version();")
    assert out.splitlines()[-1] == "0.2.0" and err == ""


# ---------------------------------------------------------------------------
# 2. A failing statement changes nothing (ABORT), under every conflict mode,
# as on a plain table with a UNIQUE constraint and a RAISE(ABORT) quota.

PLAIN = """
CREATE TABLE plain(namespace TEXT, key TEXT, value TEXT, UNIQUE(namespace, key));
CREATE TRIGGER plain_ins AFTER INSERT ON plain
WHEN (SELECT sum(length(CAST(value AS BLOB))) FROM plain
       WHERE namespace = NEW.namespace) > 10
BEGIN SELECT RAISE(ABORT, 'quota'); END;
CREATE TRIGGER plain_upd AFTER UPDATE ON plain
WHEN (NEW.namespace <> OLD.namespace
      OR length(CAST(NEW.value AS BLOB)) > length(CAST(OLD.value AS BLOB)))
 AND (SELECT sum(length(CAST(value AS BLOB))) FROM plain
       WHERE namespace = NEW.namespace) > 10
BEGIN SELECT RAISE(ABORT, 'quota'); END;
"""

START = [("a", "k1", "aaaa"), ("a", "k2", "aa"), ("a", "k3", "a"),
         ("b", "k1", "bbbbbbb"), ("b", "k4", "b")]

STATEMENTS = [
    # a duplicate in the middle of a multi-row INSERT
    "INSERT {c} INTO {t}(namespace, key, value) VALUES ('a', 'n1', 'x'), "
    "('a', 'k2', 'y'), ('a', 'n2', 'z')",
    # a quota failure in the middle of a multi-row INSERT
    "INSERT {c} INTO {t}(namespace, key, value) VALUES ('b', 'n1', 'x'), "
    "('b', 'n2', 'xx'), ('b', 'n3', 'x')",
    "INSERT {c} INTO {t}(namespace, key, value) SELECT 'a', 'n' || value, "
    "'xx' FROM json_each('[1, 2, 3]')",
    # single rows (no statement journal in SQLite)
    "INSERT {c} INTO {t}(namespace, key, value) VALUES ('a', 'k1', 'zz')",
    "INSERT {c} INTO {t}(namespace, key, value) VALUES ('a', 'n1', 'zzzz')",
    # multi-row UPDATE failing part way on the quota
    "UPDATE {c} {t} SET value = value || 'xx' WHERE namespace = 'a'",
    "UPDATE {c} {t} SET value = 'abc' WHERE namespace IN ('a', 'b')",
    # one-pass moves onto an existing entry, with and without a quota failure
    "UPDATE {c} {t} SET key = 'k2' WHERE namespace = 'a' AND key = 'k1'",
    "UPDATE {c} {t} SET namespace = 'a' WHERE namespace = 'b' AND key = 'k1'",
    "UPDATE {c} {t} SET namespace = 'a', value = 'x' WHERE namespace = 'b' "
    "AND key = 'k1'",
    "UPDATE {c} {t} SET namespace = 'b' WHERE namespace = 'a' AND key = 'k1'",
    # multi-row moves onto each other and onto existing entries
    "UPDATE {c} {t} SET key = 'k3' WHERE namespace = 'a'",
    "UPDATE {c} {t} SET namespace = 'b' WHERE key IN ('k1', 'k3')",
    "UPDATE {c} {t} SET namespace = 'b', value = 'v' WHERE key IN ('k1', 'k3')",
    "DELETE FROM {t} WHERE namespace = 'a'",
]
CONFLICTS = ["", "OR ABORT", "OR FAIL", "OR IGNORE", "OR REPLACE", "OR ROLLBACK"]


def run_scenario(conn, table, sql, txn):
    if txn:
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table}(namespace, key, value) VALUES "
                     "('c', 'in-txn', 'c')")
    try:
        conn.execute(sql)
        failed = False
    except sqlite3.Error:
        failed = True
    if conn.in_transaction:
        conn.execute("COMMIT")
    return failed, rows(conn, f"SELECT namespace, key, value FROM {table} "
                              "ORDER BY 1, 2")


@pytest.mark.parametrize("txn", [False, True], ids=["autocommit", "begin"])
@pytest.mark.parametrize("conflict", CONFLICTS)
def test_failing_statements_match_a_plain_table(tmp_path, conflict, txn):
    for i, template in enumerate(STATEMENTS):
        conn = connect(str(tmp_path / f"s{i}{conflict}{txn}.db"))
        conn.execute("CREATE VIRTUAL TABLE mem USING memory("
                     "max_namespace_bytes=10, max_writes_per_day=0)")
        conn.executescript(PLAIN)
        for t in ("mem", "plain"):
            conn.executemany(f"INSERT INTO {t}(namespace, key, value) "
                             "VALUES (?, ?, ?)", START)
        got = run_scenario(conn, "mem", template.format(c=conflict, t="mem"), txn)
        want = run_scenario(conn, "plain", template.format(c=conflict, t="plain"), txn)
        assert got == want, template.format(c=conflict, t="mem")
        assert usage_matches_rows(conn), template
        conn.close()


def test_update_or_replace_move_over_quota_loses_nothing(mem):
    # The report: the entry a move would replace was deleted, and the
    # statement's failure did not bring it back inside a transaction.
    mem.execute("CREATE VIRTUAL TABLE q USING memory(max_namespace_bytes=10)")
    mem.execute("INSERT INTO q(namespace, key, value) VALUES ('a', 'k1', 'aaaa'), "
                "('a', 'k2', 'aaaa'), ('b', 'k1', 'bbbbbbbbb')")
    mem.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError) as e:
        mem.execute("UPDATE OR REPLACE q SET namespace = 'a' "
                    "WHERE namespace = 'b' AND key = 'k1'")
    assert str(e.value) == QUOTA_A.format(t="q")
    mem.execute("COMMIT")
    assert rows(mem, "SELECT namespace, key, value FROM q ORDER BY 1, 2") == [
        ("a", "k1", "aaaa"), ("a", "k2", "aaaa"), ("b", "k1", "bbbbbbbbb")]
    assert usage_matches_rows(mem, "q")


@pytest.mark.parametrize("conflict", ["OR FAIL", "OR ROLLBACK", "OR IGNORE"])
def test_quota_error_aborts_the_statement_whatever_the_conflict_mode(db, conflict):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=10)")
    db.execute("INSERT INTO mem VALUES ('a', 'k0', 'aaaa', NULL)")
    db.execute("BEGIN")
    db.execute("INSERT INTO mem VALUES ('b', 'k0', 'b', NULL)")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(f"INSERT {conflict} INTO mem(namespace, key, value) VALUES "
                   "('a', 'k1', 'aa'), ('a', 'k2', 'aaaaaa')")
    assert str(e.value) == QUOTA_A.format(t="mem")
    assert db.in_transaction  # only the statement was undone
    db.execute("COMMIT")
    assert rows(db, "SELECT namespace, key FROM mem ORDER BY 1, 2") == [
        ("a", "k0"), ("b", "k0")]


# ---------------------------------------------------------------------------
# 3. IN behaves exactly as = does, for every column and value type


def test_in_on_times_keeps_every_digit(mem):
    now = time.time()
    mem.executemany("INSERT INTO mem(namespace, key, value, updated_at, "
                    "created_at) VALUES ('a', ?, 'v', ?, ?)",
                    [(f"k{i}", now + i / 7, now - i / 3) for i in range(6)])
    assert rows(mem, "SELECT count(*) FROM mem WHERE updated_at IN "
                     "(SELECT updated_at FROM mem)") == [(6,)]
    assert rows(mem, "SELECT count(*) FROM mem WHERE created_at IN "
                     "(SELECT created_at FROM mem)") == [(6,)]
    mem.execute("DELETE FROM mem WHERE updated_at IN (SELECT updated_at FROM mem "
                "WHERE key IN ('k1', 'k4'))")
    assert rows(mem, "SELECT key FROM mem ORDER BY key") == [
        ("k0",), ("k2",), ("k3",), ("k5",)]


def test_in_with_a_blob_matches_nothing(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'k1', 'v', NULL)")
    assert rows(mem, "SELECT key FROM mem WHERE key = x'6b31'") == []
    assert rows(mem, "SELECT key FROM mem WHERE key IN (x'6b31', x'6b32')") == []
    assert rows(mem, "SELECT key FROM mem WHERE namespace IN (x'61', 'b')") == []


VALUES = [1, 2, 1.5, 100.0, 1700000000.1234567, "1", "1.5", "100", "100.0",
          "a", "A", "k1", "1700000000.1234567", b"a", b"k1", b"1", None]


def test_in_matches_equality_and_a_plain_table(mem):
    data = [("a", "k1", 1.0, 100.0), ("a", "1", 1.5, 1700000000.1234567),
            ("1", "1.5", 100.0, 2.0), ("A", "100", 1700000000.1234567, 1.5),
            ("b", "100.0", 2.0, 1.0), ("b", "a", 1.0000000000000002, 3.0)]
    mem.execute("CREATE TABLE plain(namespace TEXT, key TEXT, value TEXT, "
                "updated_at REAL, created_at REAL, UNIQUE(namespace, key))")
    for t in ("mem", "plain"):
        mem.executemany(f"INSERT INTO {t}(namespace, key, value, updated_at, "
                        "created_at) VALUES (?, ?, 'v', ?, ?)", data)
    cols = ["namespace", "key", "updated_at", "created_at"]
    for col in cols:
        for v in VALUES:
            for w in VALUES:
                for where in (f"{col} = ?1 AND ?2 IS ?2", f"{col} IN (?1, ?2)",
                              f"{col} IN (SELECT ?1 UNION ALL SELECT ?2)"):
                    q = ("SELECT namespace, key FROM {} WHERE " + where +
                         " ORDER BY namespace, key")
                    got = rows(mem, q.format("mem"), (v, w))
                    assert got == rows(mem, q.format("plain"), (v, w)), (q, v, w)
    # IN with ORDER BY, LIMIT and OFFSET pushed down alongside.
    for q in ["SELECT key FROM {} WHERE namespace IN ('b', 'a', 1) "
              "ORDER BY namespace DESC, key DESC LIMIT 3 OFFSET 1",
              "SELECT key FROM {} WHERE key IN ('a', 'k1', '1', 1.5) "
              "ORDER BY updated_at, namespace LIMIT 2",
              "SELECT key FROM {} WHERE namespace IN ('a', 'b') AND key IN "
              "('a', '1', 'k1') ORDER BY key LIMIT -1 OFFSET 1"]:
        assert rows(mem, q.format("mem")) == rows(mem, q.format("plain")), q


# ---------------------------------------------------------------------------
# 4. The quota triggers cannot be dropped, replaced or bypassed by plain SQL

MISSING = ("memory: trigger 'mem_quota_insert' of table 'mem' is missing, so "
           "its quotas would not be enforced; writes are refused until it is "
           "restored: run INSERT INTO mem(mem) VALUES('rebuild'), or reopen "
           "the database")


def test_trusted_schema_off_allows_views_and_triggers_over_local_tables(tmp_path):
    path = str(tmp_path / "t.db")
    conn = connect(path)
    conn.executescript("""
CREATE VIRTUAL TABLE mem USING memory;
CREATE VIEW recent AS SELECT key, memory_namespace(namespace) FROM mem;
CREATE TABLE inbox(k);
CREATE TRIGGER inbox_ins AFTER INSERT ON inbox BEGIN
  INSERT INTO mem(namespace, key, value) VALUES ('a', NEW.k, 'v');
END;
""")
    conn.close()
    conn = connect(path)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("INSERT INTO inbox VALUES ('k1')")
    assert rows(conn, "SELECT * FROM recent") == [("k1", "a")]
    assert rows(conn, "SELECT keys FROM mem_usage") == [(1,)]


def test_trusted_schema_off_still_keeps_remote_tables_out_of_views(db):
    db.execute("CREATE VIRTUAL TABLE hosted USING memory(remote='http://127.0.0.1:9')")
    db.execute("CREATE VIEW hv AS SELECT * FROM hosted WHERE namespace = 'a'")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("SELECT * FROM hv")
    assert str(e.value) == 'unsafe use of virtual table "hosted"'


# ---------------------------------------------------------------------------
# 8. max_value_bytes is capped at what SQLite can store in a row


def test_largest_value_allowed_is_stored_by_every_write(db):
    db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100000)
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_value_bytes=98976)")
    big = "x" * 98976
    db.execute("INSERT INTO mem VALUES ('a', 'k1', ?, NULL)", (big,))
    db.execute("INSERT OR REPLACE INTO mem VALUES ('a', 'k1', ?, NULL)", (big,))
    db.execute("INSERT INTO mem SELECT 'a', 'k2', value, NULL FROM mem")
    db.execute("UPDATE mem SET value = ?, key = key || '-x'", (big,))
    db.execute("UPDATE OR REPLACE mem SET key = 'k2-x' WHERE key = 'k1-x'")
    assert rows(db, "SELECT key, length(value) FROM mem") == [("k2-x", 98976)]


def test_insert_with_an_explicit_rowid_is_refused(mem):
    # It used to be ignored silently: rowid 99 became 1, and a later
    # WHERE rowid = 99 matched nothing.
    for sql in ["INSERT INTO mem(rowid, namespace, key, value) VALUES (99, 'a', 'k', 'v')",
                "INSERT OR REPLACE INTO mem(rowid, namespace, key, value) "
                "SELECT 7, 'a', 'k', 'v'"]:
        with pytest.raises(sqlite3.OperationalError) as e:
            mem.execute(sql)
        assert str(e.value) == ("memory: the rowid of an entry is chosen by "
                                "the table; leave rowid out of the INSERT")
    assert rows(mem, "SELECT count(*) FROM mem") == [(0,)]
    mem.execute("INSERT INTO mem(rowid, namespace, key, value) VALUES (NULL, 'a', 'k', 'v')")
    assert rows(mem, "SELECT rowid, key FROM mem") == [(1, "k")]


def test_update_or_replace_chain_keeps_the_last_move(mem):
    # Each row of a two-pass UPDATE OR REPLACE moved onto the key the one
    # before had just taken; the row the first move replaced was then
    # "updated" in turn and replaced the survivor: the namespace emptied.
    mem.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'k1', '1'), "
                "('a', 'k2', '2'), ('a', 'k3', '3'), ('b', 'k1', 'b')")
    mem.execute("UPDATE OR REPLACE mem SET key = 'k3' WHERE namespace = 'a'")
    assert rows(mem, "SELECT namespace, key, value FROM mem ORDER BY 1, 2") == [
        ("a", "k3", "2"), ("b", "k1", "b")]
    assert usage_matches_rows(mem)
