"""Memory in time: expiry (expires_at, ttl_seconds, sweep) and history
(history=on, <table>_history, as_of) on local tables. The tests set the
clock the extension sees with memory_test_clock(), which exists only when
$MEMORY_TEST_CLOCK is set when the extension loads."""
import os
import sqlite3

import pytest

os.environ["MEMORY_TEST_CLOCK"] = "1"
from conftest import connect, rows  # noqa: E402

T0 = 1795300000.0


@pytest.fixture
def clock():
    """Set the extension's clock; the real clock is back afterwards."""
    conns = []

    def set_to(t):
        conn = conns[0]
        conn.execute("SELECT memory_test_clock(?)", (t,))
    conns.append(connect())
    set_to(T0)
    yield set_to
    set_to(0)
    conns[0].close()


@pytest.fixture
def ttl(tmp_path, clock):
    conn = connect(str(tmp_path / "t.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(ttl_seconds=60, "
                 "max_writes_per_day=0)")
    yield conn
    conn.close()


def keys(conn, ns="s"):
    return [k for (k,) in conn.execute(
        "SELECT key FROM mem WHERE namespace = ? ORDER BY key", (ns,))]


# --- expiry ------------------------------------------------------------------

def test_an_entry_is_gone_from_every_read_the_moment_it_expires(ttl, clock):
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'one'), "
                "('s', 'b', 'two')")
    ttl.execute("INSERT INTO mem(namespace, key, value, expires_at) VALUES "
                "('s', 'c', 'three', ?)", (T0 + 600,))
    assert rows(ttl, "SELECT key, expires_at FROM mem ORDER BY key") == [
        ("a", T0 + 60), ("b", T0 + 60), ("c", T0 + 600)]
    clock(T0 + 59.999)
    assert keys(ttl) == ["a", "b", "c"]
    clock(T0 + 60)
    reads = {
        "point get": "SELECT key FROM mem WHERE namespace = 's' AND key = 'a'",
        "scan": "SELECT key FROM mem WHERE namespace = 's'",
        "in list": "SELECT key FROM mem WHERE namespace = 's' AND key IN ('a', 'b', 'c')",
        "range": "SELECT key FROM mem WHERE namespace = 's' AND key > ''",
        "prefix": "SELECT key FROM mem WHERE namespace = 's' AND key LIKE 'a%'",
        "full scan": "SELECT key FROM mem",
        "times": "SELECT key FROM mem WHERE updated_at >= 0",
    }
    for name, sql in reads.items():
        assert [k for (k,) in ttl.execute(sql)] in ([], ["c"]), name
    assert rows(ttl, "SELECT count(*) FROM mem") == [(1,)]
    # Not deleted yet: the quotas still count them (said in the README).
    assert rows(ttl, "SELECT keys FROM mem_usage") == [(3,)]


def test_an_entry_that_expires_between_two_statements_of_a_transaction(ttl, clock):
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x')")
    ttl.execute("BEGIN")
    first = keys(ttl)
    clock(T0 + 61)
    second = keys(ttl)
    # Inserting it again is no conflict: the expired entry is out of the way.
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'y')")
    third = rows(ttl, "SELECT value, created_at FROM mem WHERE namespace = 's'")
    ttl.execute("ROLLBACK")
    assert (first, second, third) == (["a"], [], [("y", T0 + 61)])
    # ROLLBACK brought back the expired entry, still expired.
    assert keys(ttl) == []
    assert rows(ttl, "SELECT keys FROM mem_usage") == [(1,)]


def test_writes_refresh_expiry_unless_they_name_it(ttl, clock):
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x')")
    clock(T0 + 30)
    ttl.execute("UPDATE mem SET value = 'y' WHERE namespace = 's' AND key = 'a'")
    assert rows(ttl, "SELECT expires_at FROM mem") == [(T0 + 90,)]
    ttl.execute("UPDATE mem SET expires_at = NULL WHERE key = 'a'")
    assert rows(ttl, "SELECT expires_at FROM mem") == [(None,)]
    ttl.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('s', 'a', 'z')")
    assert rows(ttl, "SELECT expires_at FROM mem") == [(T0 + 90,)]
    ttl.execute("UPDATE mem SET value = 'w', expires_at = ? WHERE key = 'a'", (T0 + 5,))
    assert rows(ttl, "SELECT expires_at FROM mem") == []  # already passed


def test_a_write_deletes_a_bounded_number_of_expired_entries(ttl, clock):
    ttl.executemany("INSERT INTO mem(namespace, key, value) VALUES ('s', ?, 'x')",
                    [(f"k{i:02}",) for i in range(20)])
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('other', 'k', 'x')")
    clock(T0 + 61)
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'new', 'x')")
    # 8 expired entries deleted by the write, their bytes freed.
    assert rows(ttl, "SELECT namespace, keys, bytes FROM mem_usage ORDER BY 1") == [
        ("other", 1, 1), ("s", 13, 13)]
    ttl.execute("INSERT INTO mem(mem) VALUES ('sweep')")
    assert rows(ttl, "SELECT namespace, keys, bytes FROM mem_usage ORDER BY 1") == [
        ("other", 0, 0), ("s", 1, 1)]
    assert rows(ttl, "SELECT key FROM mem_data") == [("new",)]
    ttl.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_the_purge_seeks_the_expiry_index(ttl):
    plan = [r[3] for r in ttl.execute(
        'EXPLAIN QUERY PLAN SELECT id FROM "main"."mem_data" WHERE namespace = ?1 '
        'AND expires_at <= ?2 ORDER BY expires_at LIMIT 8', ("s", 0))]
    assert plan == ["SEARCH main.mem_data USING COVERING INDEX mem_expiry "
                    "(namespace=? AND expires_at<?)"]


def test_a_move_onto_an_expired_entry_is_no_conflict(ttl, clock):
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'old', 'x')")
    clock(T0 + 30)
    ttl.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'b', 'y')")
    clock(T0 + 61)
    ttl.execute("UPDATE mem SET key = 'old' WHERE namespace = 's' AND key = 'b'")
    assert rows(ttl, "SELECT key, value FROM mem") == [("old", "y")]
    ttl.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_search_hides_expired_entries_and_sweep_keeps_the_index_exact(tmp_path, clock):
    conn = connect(str(tmp_path / "s.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on, ttl_seconds=10)")
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'refund please')")
    conn.execute("INSERT INTO mem(namespace, key, value, expires_at) VALUES "
                 "('s', 'b', 'refund later', ?)", (T0 + 100,))
    clock(T0 + 10)
    assert rows(conn, "SELECT key FROM mem WHERE mem MATCH 'refund'") == [("b",)]
    conn.execute("INSERT INTO mem(mem) VALUES ('sweep')")
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert rows(conn, "SELECT key FROM mem WHERE mem MATCH 'refund'") == [("b",)]


def test_bad_expiry_input_says_what_to_do(ttl):
    with pytest.raises(sqlite3.OperationalError) as e:
        ttl.execute("INSERT INTO mem(namespace, key, value, expires_at) VALUES "
                    "('s', 'a', 'x', 'tomorrow')")
    assert str(e.value) == ("memory: expires_at must be a time in Unix epoch "
                            "seconds (a number) or NULL, not 'tomorrow'")
    with pytest.raises(sqlite3.OperationalError) as e:
        ttl.execute("INSERT INTO mem(namespace, key, value, as_of) VALUES "
                    "('s', 'a', 'x', 5)")
    assert str(e.value) == ("memory: as_of is for reading the past "
                            "(WHERE as_of = <time>); a write cannot set it")
    assert rows(ttl, "SELECT count(*) FROM mem_data") == [(0,)]


def test_remote_tables_cannot_expire(server):
    conn = connect()
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute(f"CREATE VIRTUAL TABLE h USING memory(remote='{server.url}', "
                     "ttl_seconds=5)")
    assert "ttl_seconds applies to local tables only" in str(e.value)
    assert "the hosted API cannot expire entries" in str(e.value)
    conn.execute(f"CREATE VIRTUAL TABLE h USING memory(remote='{server.url}')")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO h(namespace, key, value, expires_at) VALUES "
                     "('s', 'a', 'x', 5)")
    assert str(e.value).startswith("memory: remote table 'h' cannot expire entries")
    conn.execute("INSERT INTO h(namespace, key, value) VALUES ('s', 'a', 'x')")
    assert rows(conn, "SELECT key, expires_at FROM h WHERE namespace = 's'") == [
        ("a", None)]
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM h WHERE namespace = 's' AND as_of = 5").fetchall()
    assert str(e.value).startswith("memory: remote table 'h' has no past versions")


# --- history -----------------------------------------------------------------

@pytest.fixture
def hist(tmp_path, clock):
    conn = connect(str(tmp_path / "h.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, "
                 "max_writes_per_day=0)")
    yield conn
    conn.close()


def test_history_keeps_every_version_and_as_of_reads_the_past(hist, clock):
    hist.execute("INSERT INTO mem(namespace, key, value) VALUES ('user-42', 'plan', 'free')")
    clock(T0 + 10)
    hist.execute("INSERT INTO mem(namespace, key, value) VALUES ('user-42', 'city', 'Paris')")
    clock(T0 + 20)
    hist.execute("UPDATE mem SET value = 'pro' WHERE key = 'plan'")
    clock(T0 + 30)
    hist.execute("DELETE FROM mem WHERE key = 'city'")
    clock(T0 + 40)
    hist.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES "
                 "('user-42', 'plan', 'team')")
    assert rows(hist, "SELECT key, value, valid_from - ?, valid_to - ?, op FROM "
                      "mem_history ORDER BY key, valid_from", (T0, T0)) == [
        ("city", "Paris", 10.0, 30.0, "insert"),
        ("city", None, 30.0, None, "delete"),
        ("plan", "free", 0.0, 20.0, "insert"),
        ("plan", "pro", 20.0, 40.0, "update"),
        ("plan", "team", 40.0, None, "update")]

    def as_of(t):
        return rows(hist, "SELECT key, value FROM mem WHERE namespace = 'user-42' "
                          "AND as_of = ? ORDER BY key", (t,))
    assert as_of(T0 - 1) == []
    assert as_of(T0 + 5) == [("plan", "free")]
    assert as_of(T0 + 25) == [("city", "Paris"), ("plan", "pro")]
    assert as_of(T0 + 35) == [("plan", "pro")]
    assert as_of(T0 + 45) == [("plan", "team")]
    assert rows(hist, "SELECT value, as_of FROM mem WHERE namespace = 'user-42' "
                      "AND key = 'plan' AND as_of = ?", (T0 + 25,)) == [("pro", T0 + 25)]
    hist.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_as_of_reads_use_the_versions_index(hist):
    plan = [r[3] for r in hist.execute(
        "EXPLAIN QUERY PLAN SELECT key FROM mem WHERE namespace = 'a' AND as_of = 5")]
    assert plan == ["SCAN mem VIRTUAL TABLE INDEX 2691:WHERE updated_at <= :t1 AND "
                    "(valid_to IS NULL OR valid_to > :t1) AND value IS NOT NULL AND "
                    "(expires_at IS NULL OR expires_at > :t1) AND namespace = :a2"]
    backing = [r[3] for r in hist.execute(
        'EXPLAIN QUERY PLAN SELECT id FROM "main"."mem_versions" AS d WHERE '
        'updated_at <= 5 AND (valid_to IS NULL OR valid_to > 5) AND value IS NOT '
        "NULL AND namespace = 'a' AND key = 'k'")]
    assert backing == ["SEARCH d USING INDEX mem_versions_key "
                       "(namespace=? AND key=? AND updated_at<?)"]


def test_rows_read_as_of_cannot_be_changed(hist):
    hist.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x')")
    for sql in ["DELETE FROM mem WHERE namespace = 's' AND as_of = ?",
                "UPDATE mem SET value = 'y' WHERE namespace = 's' AND as_of = ?"]:
        with pytest.raises(sqlite3.OperationalError) as e:
            hist.execute(sql, (T0 + 1,))
        assert str(e.value).startswith("memory: rows read as_of a past time are history")
    assert rows(hist, "SELECT value FROM mem") == [("x",)]


def test_as_of_errors_say_what_to_do(mem):
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("SELECT * FROM mem WHERE namespace = 'a' AND as_of = 5").fetchall()
    assert str(e.value) == (
        "memory: as_of reads past versions, and table 'mem' keeps none; turn "
        "history on with INSERT INTO \"mem\"(\"mem\", value) VALUES ('history', "
        "'on') (versions are kept from then on)")
    mem.execute("INSERT INTO mem(mem, value) VALUES ('history', 'on')")
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("SELECT * FROM mem WHERE as_of > 5").fetchall()
    assert str(e.value) == ("memory: as_of takes one point in time: "
                            "WHERE as_of = <Unix epoch seconds>")
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("SELECT * FROM mem WHERE as_of = 'last tuesday'").fetchall()
    assert str(e.value) == ("memory: as_of must be a time in Unix epoch seconds "
                            "(a number), not 'last tuesday'")


def test_turning_history_on_keeps_the_current_entries_as_first_versions(mem):
    mem.execute("INSERT INTO mem(namespace, key, value, updated_at) VALUES "
                "('s', 'a', 'x', 100)")
    mem.execute("INSERT INTO mem(mem, value) VALUES ('history', 'on')")
    mem.execute("INSERT INTO mem(mem, value) VALUES ('history', 'on')")  # keeps it
    assert rows(mem, "SELECT key, value, valid_from, valid_to, op FROM mem_history") == [
        ("a", "x", 100.0, None, "insert")]
    assert rows(mem, "SELECT value FROM mem WHERE namespace = 's' AND as_of = 150") == [
        ("x",)]
    mem.execute("INSERT INTO mem(mem, value) VALUES ('history', 'off')")
    assert rows(mem, "SELECT count(*) FROM mem_versions") == [(0,)]
    mem.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_expiry_is_a_version_dated_when_it_expired(tmp_path, clock):
    conn = connect(str(tmp_path / "e.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, ttl_seconds=60)")
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'code', '1234')")
    clock(T0 + 30)
    assert rows(conn, "SELECT valid_to FROM mem_history") == [(None,)]
    clock(T0 + 100)
    assert rows(conn, "SELECT valid_to - ? FROM mem_history", (T0,)) == [(60.0,)]
    assert rows(conn, "SELECT value FROM mem WHERE namespace = 's' AND as_of = ?",
                (T0 + 59,)) == [("1234",)]
    assert rows(conn, "SELECT value FROM mem WHERE namespace = 's' AND as_of = ?",
                (T0 + 61,)) == []
    conn.execute("INSERT INTO mem(mem) VALUES ('sweep')")
    assert rows(conn, "SELECT value, valid_from - ?, valid_to - ?, op FROM "
                      "mem_history ORDER BY valid_from", (T0, T0)) == [
        ("1234", 0.0, 60.0, "insert"), (None, 60.0, None, "expire")]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_history_is_pruned_after_history_days_a_few_per_write(tmp_path, clock):
    conn = connect(str(tmp_path / "p.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, history_days=1, "
                 "max_writes_per_day=0)")
    for i in range(10):
        conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES "
                     "('s', 'k', ?)", (str(i),))
    assert rows(conn, "SELECT count(*) FROM mem_versions") == [(10,)]
    clock(T0 + 86400 + 1)
    conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('s', 'k', 'x')")
    # 9 closed versions old enough, 4 pruned by this write; 2 current ones.
    assert rows(conn, "SELECT count(*) FROM mem_versions") == [(10 - 4 + 1,)]
    conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('s', 'k', 'y')")
    conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('s', 'k', 'z')")
    assert rows(conn, "SELECT value FROM mem_history ORDER BY valid_from") == [
        ("9",), ("x",), ("y",), ("z",)]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_history_does_not_count_toward_the_namespace_quota(tmp_path, clock):
    conn = connect(str(tmp_path / "q.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, "
                 "max_namespace_bytes=10, max_writes_per_day=0)")
    for i in range(20):
        conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES "
                     "('s', 'k', '0123456789')")
    assert rows(conn, "SELECT keys, bytes FROM mem_usage") == [(1, 10)]
    assert rows(conn, "SELECT count(*) FROM mem_history") == [(20,)]


def test_history_survives_rename_rollback_and_drop(hist, clock):
    hist.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x')")
    hist.execute("BEGIN")
    hist.execute("SAVEPOINT sp")
    hist.execute("UPDATE mem SET value = 'y'")
    hist.execute("ROLLBACK TO sp")
    hist.execute("COMMIT")
    assert rows(hist, "SELECT value, op FROM mem_history") == [("x", "insert")]
    hist.execute("ALTER TABLE mem RENAME TO agent")
    hist.execute("UPDATE agent SET value = 'z'")
    assert rows(hist, "SELECT value, op FROM agent_history ORDER BY valid_from") == [
        ("x", "insert"), ("z", "update")]
    hist.execute("INSERT INTO agent(agent) VALUES ('integrity-check')")
    hist.execute("DROP TABLE agent")
    assert rows(hist, "SELECT name FROM sqlite_schema") == []


def test_integrity_check_names_a_history_that_drifted_and_rebuild_repairs(hist):
    hist.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x')")
    hist.execute("UPDATE mem_versions SET value = 'forged'")
    with pytest.raises(sqlite3.DatabaseError) as e:
        hist.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert str(e.value) == (
        "memory: integrity-check of 'mem' failed: entry s/a has no current version "
        "in the history; run INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    hist.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    hist.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    hist.execute("DROP TRIGGER mem_history_update")
    with pytest.raises(sqlite3.OperationalError) as e:
        hist.execute("UPDATE mem SET value = 'y'")
    assert str(e.value).startswith("memory: a history trigger of table 'mem' is missing")
    hist.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    hist.execute("UPDATE mem SET value = 'y'")


HISTORY_WRITER = r"""
import sqlite3, sys
ext, path, who = sys.argv[1], sys.argv[2], sys.argv[3]
conn = sqlite3.connect(path, isolation_level=None, timeout=60)
conn.enable_load_extension(True)
conn.load_extension(ext)
conn.execute("PRAGMA busy_timeout = 60000")
for i in range(150):
    conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value, expires_at) "
                 "VALUES ('shared', ?, ?, CASE WHEN ? % 3 = 0 THEN unixepoch() - 1 END)",
                 (f"k{i % 10}", f"{who}{i}", i))
"""


def test_concurrent_writers_in_wal_keep_history_and_totals_exact(tmp_path):
    import subprocess
    import sys
    from conftest import EXT
    path = str(tmp_path / "w.db")
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, ttl_seconds=3600, "
                 "max_writes_per_day=0)")
    procs = [subprocess.Popen([sys.executable, "-c", HISTORY_WRITER, EXT, path, who])
             for who in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    # Every write made one version (300), and what is current equals the
    # live rows.
    versions = dict(rows(conn, "SELECT op, count(*) FROM mem_history GROUP BY op"))
    assert versions.get("insert", 0) + versions.get("update", 0) == 300
    # Expired entries deleted by later writes became 'expire' markers, one
    # per entry deleted: markers + live rows = versions whose key went on.
    assert versions.get("expire", 0) > 0
    assert rows(conn, "SELECT count(*) FROM mem_versions WHERE valid_to IS NULL "
                      "AND value IS NOT NULL") == rows(conn, "SELECT count(*) FROM mem_data")
    assert sorted(rows(conn, "SELECT key, value FROM mem")) == sorted(rows(
        conn, "SELECT key, value FROM mem WHERE namespace = 'shared' AND as_of = ?",
        (rows(conn, "SELECT memory_now()")[0][0],)))


CRASHER = r"""
import os, signal, sqlite3, sys
ext, path = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(path, isolation_level=None)
conn.enable_load_extension(True)
conn.load_extension(ext)
conn.execute("BEGIN")
for i in range(50):
    conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value, expires_at) "
                 "VALUES ('s', ?, 'during', unixepoch() - 1)", (f"k{i % 5}",))
conn.execute("INSERT INTO mem(mem) VALUES ('sweep')")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_crash_mid_transaction_leaves_history_and_expiry_as_they_were(tmp_path):
    import subprocess
    import sys
    from conftest import EXT
    path = str(tmp_path / "c.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, ttl_seconds=3600)")
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'k0', 'before')")
    before = rows(conn, "SELECT * FROM mem_versions ORDER BY id")
    conn.close()
    proc = subprocess.run([sys.executable, "-c", CRASHER, EXT, path])
    assert proc.returncode == -9
    conn = connect(path)
    assert rows(conn, "SELECT key, value FROM mem") == [("k0", "before")]
    assert rows(conn, "SELECT * FROM mem_versions ORDER BY id") == before
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_history_days_and_ttl_change_in_place_for_every_connection(tmp_path, clock):
    path = str(tmp_path / "c.db")
    a, b = connect(path), connect(path)
    a.execute("CREATE VIRTUAL TABLE mem USING memory(history=on, max_writes_per_day=0)")
    for i in range(3):
        a.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('s', 'k', ?)",
                  (str(i),))
    clock(T0 + 2 * 86400)
    a.execute("INSERT INTO mem(mem, value) VALUES ('history_days', 1)")
    a.execute("INSERT INTO mem(mem, value) VALUES ('ttl_seconds', 10)")
    # The other connection writes with the new settings: old versions pruned,
    # its entry expires after 10 s.
    b.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'x', 'y')")
    assert rows(b, "SELECT value FROM mem_history WHERE key = 'k' ORDER BY valid_from") == [
        ("2",)]
    assert rows(b, "SELECT expires_at - ? FROM mem WHERE key = 'x'", (T0 + 2 * 86400,)) == [
        (10.0,)]
    a.close()
    b.close()


def test_writes_purge_what_another_connection_or_this_transaction_let_expire(tmp_path, clock):
    """A table where nothing expires skips the purge's seek, knowing so for
    one write transaction: another connection's expiring entries, and this
    transaction's own, are still purged."""
    path = str(tmp_path / "x.db")
    a, b = connect(path), connect(path)
    a.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0)")
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'plain', 'x')")
    b.execute("INSERT INTO mem(namespace, key, value, expires_at) VALUES ('s', 'b', 'x', ?)",
              (T0 - 1,))
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a2', 'x')")
    assert rows(a, "SELECT key FROM mem_data ORDER BY key") == [("a2",), ("plain",)]
    a.execute("BEGIN")
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('t', 'k1', 'x')")
    a.execute("INSERT INTO mem(namespace, key, value, expires_at) VALUES ('t', 'k2', 'x', ?)",
              (T0 - 1,))
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('t', 'k3', 'x')")
    a.execute("COMMIT")
    assert rows(a, "SELECT key FROM mem_data WHERE namespace = 't' ORDER BY key") == [
        ("k1",), ("k3",)]
    a.close()
    b.close()


def test_a_scan_of_a_table_where_nothing_expired_yet_still_hides_what_expires(tmp_path, clock):
    """Scans skip the expiry test when the expiry index is empty; the look
    is taken at each scan, so an entry given an expiry since is hidden."""
    path = str(tmp_path / "s.db")
    a, b = connect(path), connect(path)
    a.execute("CREATE VIRTUAL TABLE mem USING memory")
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('s', 'a', 'x'), ('s', 'b', 'y')")
    assert keys(a) == ["a", "b"]
    b.execute("UPDATE mem SET expires_at = ? WHERE key = 'b'", (T0 + 1,))
    assert keys(a) == ["a", "b"]
    clock(T0 + 1)
    assert keys(a) == ["a"]
    assert rows(a, "SELECT count(*) FROM mem") == [(1,)]
    a.close()
    b.close()
