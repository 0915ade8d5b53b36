"""Regression tests for the defects an outside review found in remote tables
(issue "Trustworthy", defects 10-22). Each failed before its fix."""
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, connect, rows


def run_child(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests")))


# 10. A DROP TABLE that fails must leave the table working.
def test_a_failed_drop_leaves_the_remote_table_working(tmp_path, server):
    proc = run_child(f"""
from conftest import connect
c = connect({str(tmp_path / 'd.db')!r})
c.execute("CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
c.execute("CREATE TABLE t(x)")
c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
cur = c.execute("SELECT x FROM t")
cur.fetchone()  # a statement still active
try:
    c.execute("DROP TABLE hosted")
    print("dropped")
except Exception as e:
    print("refused:", e)
cur.fetchall()
c.execute("INSERT INTO hosted VALUES ('n', 'k', 'v', NULL)")
print(c.execute("SELECT value FROM hosted WHERE namespace = 'n'").fetchall())
""")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[('v',)]"


# 12. LIMIT -1 is no limit; huge LIMIT + OFFSET must not overflow.
def test_negative_and_huge_limits(hosted, server):
    hosted.executemany("INSERT OR REPLACE INTO hosted VALUES ('n', ?, 'v', NULL)",
                       [(f"k{i}",) for i in range(6)])
    assert len(rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n' "
                            "LIMIT -1 OFFSET 2")) == 4
    assert len(rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n' "
                            "LIMIT 9223372036854775807 OFFSET 5")) == 1
    server.clear_log()
    assert len(rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n' "
                            "LIMIT 2 OFFSET 3")) == 2
    assert server.requests() == [("GET", "/memory/n?limit=5")]


# 16. A value with U+0000 round-trips.
def test_a_value_with_nul_round_trips(hosted):
    value = "before\x00after \u00e9 \U0001f600"
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k', ?, NULL)", (value,))
    assert rows(hosted, "SELECT value FROM hosted WHERE namespace = 'n' AND key = 'k'") \
        == [(value,)]
    assert rows(hosted, "SELECT value FROM hosted WHERE namespace = 'n'") == [(value,)]


# 17. Answers without namespace/key are refused.
def test_an_answer_without_names_is_refused(hosted, server):
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k', 'v', NULL)")
    server.faults({"kind": "body", "method": "GET", "status": 200,
                   "body": json.dumps({"value": "stale", "created_at": 1.0,
                                       "updated_at": 1.0})})
    with pytest.raises(sqlite3.OperationalError) as e:
        rows(hosted, "SELECT value FROM hosted WHERE namespace = 'n' AND key = 'k'")
    assert str(e.value) == (
        f"memory: could not read n/k at {server.url}: the answer does not name "
        "the entry asked for (its \"namespace\" and \"key\")")


# 22. A listing of 1000 keys cannot be known to be whole: fail loudly.
def test_a_full_listing_is_an_error_not_a_partial_answer(hosted, server):
    hosted.execute("INSERT INTO hosted(hosted, value) VALUES ('concurrency', 64)")
    server.call("POST", "/_test/bulk", {"namespace": "big", "count": 1001})
    for sql in ["SELECT count(*) FROM hosted WHERE namespace = 'big'",
                "DELETE FROM hosted WHERE namespace = 'big'"]:
        with pytest.raises(sqlite3.OperationalError) as e:
            hosted.execute(sql).fetchall()
        assert "lists at most 1000 keys" in str(e.value)
    assert len(rows(hosted, "SELECT key FROM hosted WHERE namespace = 'big' "
                            "LIMIT 1000")) == 1000


# 15. Overlapping lookups give each entry once; the rowid map stays bounded.
def test_overlapping_lookups_give_each_entry_once(hosted):
    hosted.execute("INSERT INTO hosted VALUES ('b', 'k1', 'v1', NULL)")
    hosted.execute("INSERT INTO hosted VALUES ('b', 'k2', 'v2', NULL)")
    assert rows(hosted, "SELECT key FROM hosted WHERE (namespace = 'b' AND key = 'k1') "
                        "OR (namespace = 'b' AND key IN ('k1', 'k2')) ORDER BY key") == \
        [("k1",), ("k2",)]


def test_rowids_stay_stable_and_few_on_a_reading_connection(hosted):
    hosted.execute("INSERT INTO hosted VALUES ('b', 'k1', 'v1', NULL)")
    for _ in range(300):
        got = rows(hosted, "SELECT rowid FROM hosted WHERE namespace = 'b' AND key = 'k1'")
    assert got == [(1,)]
    hosted.execute("BEGIN")
    a = rows(hosted, "SELECT rowid FROM hosted WHERE namespace = 'b' AND key = 'k1'")
    b = rows(hosted, "SELECT rowid FROM hosted WHERE namespace = 'b'")
    assert a == b == [(1,)]
    hosted.execute("UPDATE hosted SET value = 'v2' WHERE namespace = 'b' AND key = 'k1'")
    hosted.execute("COMMIT")
    assert rows(hosted, "SELECT value FROM hosted WHERE namespace = 'b'") == [("v2",)]


# 13. Savepoints stay meaningful after a read sent the pending writes, and a
# failed send fails the transaction.
def test_rollback_to_after_a_flush_discards_later_writes(hosted, server):
    hosted.execute("BEGIN")
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k1', 'v', NULL)")
    rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n'")  # sends k1
    hosted.execute("SAVEPOINT s")
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k2', 'v', NULL)")
    hosted.execute("ROLLBACK TO s")
    hosted.execute("COMMIT")
    assert server.call("GET", "/memory/n?limit=10")["count"] == 1


def test_rollback_to_past_sent_writes_makes_commit_fail(hosted, server):
    hosted.execute("BEGIN")
    hosted.execute("SAVEPOINT s")
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k1', 'v', NULL)")
    rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n'")  # sends k1
    hosted.execute("INSERT INTO hosted VALUES ('n', 'k2', 'v', NULL)")
    hosted.execute("ROLLBACK TO s")
    with pytest.raises(sqlite3.OperationalError) as e:
        hosted.execute("COMMIT")
    assert str(e.value).startswith(
        "memory: writes to remote table 'hosted' made after a savepoint were "
        f"already sent to {server.url} (a read of the table in the transaction "
        "sends them first) and cannot be taken back by ROLLBACK TO")
    assert hosted.in_transaction is False  # the failed COMMIT rolled it back
    keys = [k["key"] for k in server.call("GET", "/memory/n?limit=10")["keys"]]
    assert keys == ["k1"]  # k2 was never sent


def test_a_failed_send_during_a_read_fails_the_commit(db, server):
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', retries=0)")
    db.execute("CREATE TABLE local_log(x)")
    db.execute("BEGIN")
    db.execute("INSERT INTO local_log VALUES ('written with k1')")
    db.execute("INSERT OR REPLACE INTO hosted VALUES ('n', 'k1', 'v', NULL)")
    server.faults({"kind": "status", "status": 500, "method": "PUT"})
    with pytest.raises(sqlite3.OperationalError):
        rows(db, "SELECT key FROM hosted WHERE namespace = 'n'")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("COMMIT")
    assert str(e.value).startswith("memory: could not store n/k1")
    assert db.in_transaction is False  # the failed COMMIT rolled it back
    assert rows(db, "SELECT count(*) FROM local_log") == [(0,)]


# Found by the remote helper's review.
def test_a_404_that_is_not_the_apis_is_an_error_not_an_empty_row(hosted, server):
    server.faults({"kind": "raw", "method": "GET",
                   "raw": "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n"
                          "Content-Length: 9\r\n\r\nno route!"})
    with pytest.raises(sqlite3.OperationalError) as e:
        rows(hosted, "SELECT value FROM hosted WHERE namespace = 'n' AND key = 'k'")
    assert "HTTP 404: no route!" in str(e.value)


@pytest.mark.parametrize("listing", [
    '{"namespace": "n", "count": 2, "keys": [{"key": "a", "updated_at": 1}, 5]}',
    '{"namespace": "n", "count": 2, "keys": [{"key": "a", "updated_at": 1}, '
    '{"key": "a", "updated_at": 2}]}',
])
def test_a_listing_with_a_bad_entry_or_a_key_twice_is_refused(hosted, server, listing):
    server.faults({"kind": "body", "method": "GET", "body": listing})
    with pytest.raises(sqlite3.OperationalError) as e:
        rows(hosted, "SELECT key FROM hosted WHERE namespace = 'n'")
    assert "the answer is not a listing of at most 1000 keys of this namespace" in str(e.value)


def test_an_existence_check_needs_the_answer_for_that_entry(hosted, server):
    server.faults({"kind": "body", "method": "GET",
                   "body": '{"namespace": "n", "key": "other", "value": "v"}'})
    with pytest.raises(sqlite3.OperationalError) as e:
        hosted.execute("INSERT OR IGNORE INTO hosted VALUES ('n', 'k', 'v', NULL)")
    assert "the answer does not name the entry asked for" in str(e.value)
    assert server.call("GET", "/memory/n?limit=10")["count"] == 0


def test_drop_table_with_unsent_writes_fails_and_loses_nothing(hosted, server):
    hosted.execute("BEGIN")
    hosted.execute("INSERT OR REPLACE INTO hosted VALUES ('n', 'k', 'v', NULL)")
    with pytest.raises(sqlite3.OperationalError):
        hosted.execute("DROP TABLE hosted")
    hosted.execute("COMMIT")
    assert server.call("GET", "/memory/n/k")["value"] == "v"
    hosted.execute("DROP TABLE hosted")
