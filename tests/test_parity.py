"""One scenario suite, run against a local table and a remote table on the
test server (the `t` fixture): the same SQL must give the same rows and the
same errors."""
import sqlite3

import pytest

from conftest import rows


def entries(db, ns="a"):
    return rows(db, "SELECT namespace, key, value FROM t WHERE namespace = ? "
                    "ORDER BY key", (ns,))


def test_insert_and_point_read(t):
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k1', 'one'), "
              "('a', 'k2', 42), ('b', 'k1', 1.5)")
    assert rows(t, "SELECT value FROM t WHERE namespace = 'a' AND key = 'k1'") == [
        ("one",)]
    assert entries(t) == [("a", "k1", "one"), ("a", "k2", "42")]
    assert rows(t, "SELECT key, value FROM t WHERE namespace IN ('a', 'b') AND "
                   "key IN ('k1', 'nope') ORDER BY namespace") == [
        ("k1", "one"), ("k1", "1.5")]
    assert rows(t, "SELECT value FROM t WHERE namespace = 'a' AND key = 'nope'") == []
    assert rows(t, "SELECT typeof(updated_at), updated_at > 1.7e9 FROM t WHERE "
                   "namespace = 'a' AND key = 'k1'") == [("real", 1)]


def test_conflict_modes(t):
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k', 'first')")
    with pytest.raises(sqlite3.IntegrityError) as e:
        t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k', 'second')")
    assert str(e.value) == ("memory: a/k already exists; use INSERT OR REPLACE "
                            "to overwrite it or INSERT OR IGNORE to keep it")
    t.execute("INSERT OR IGNORE INTO t(namespace, key, value) VALUES ('a', 'k', 'third')")
    assert entries(t) == [("a", "k", "first")]
    t.execute("INSERT OR REPLACE INTO t(namespace, key, value) VALUES ('a', 'k', 'fourth')")
    assert entries(t) == [("a", "k", "fourth")]


def test_update_move_delete(t):
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k1', 'one'), "
              "('a', 'k2', 'two')")
    t.execute("UPDATE t SET value = 'uno' WHERE namespace = 'a' AND key = 'k1'")
    assert entries(t) == [("a", "k1", "uno"), ("a", "k2", "two")]
    t.execute("UPDATE t SET key = 'k3' WHERE namespace = 'a' AND key = 'k2'")
    assert entries(t) == [("a", "k1", "uno"), ("a", "k3", "two")]
    with pytest.raises(sqlite3.IntegrityError) as e:
        t.execute("UPDATE t SET key = 'k1' WHERE namespace = 'a' AND key = 'k3'")
    assert str(e.value) == ("memory: a/k1 already exists; UPDATE OR REPLACE "
                            "overwrites it, or DELETE it first")
    t.execute("UPDATE t SET namespace = 'b' WHERE namespace = 'a' AND key = 'k3'")
    assert entries(t, "b") == [("b", "k3", "two")]
    t.execute("DELETE FROM t WHERE namespace = 'a' AND key = 'k1'")
    t.execute("DELETE FROM t WHERE namespace = 'a' AND key = 'never-there'")
    assert entries(t) == []


@pytest.mark.parametrize("values,message", [
    ("('a', 'k', NULL)", "memory: value of a/k must not be NULL; to forget a "
                         "key, DELETE it"),
    ("('a b', 'k', 'v')", "memory: invalid namespace 'a b': use 1-64 characters "
                          "from a-z A-Z 0-9 _ - (memory_namespace() turns any "
                          "id into a valid one)"),
    ("('a', 'k/../x', 'v')", "memory: invalid key 'k/../x': use 1-128 characters "
                             "from a-z A-Z 0-9 _ - . (memory_key() turns any id "
                             "into a valid one)"),
    ("('a', 'k', x'01')", "memory: value of a/k is a BLOB; store text (JSON, or "
                          "base64 of the bytes)"),
])
def test_bad_rows_change_nothing(t, values, message):
    with pytest.raises(sqlite3.OperationalError) as e:
        t.execute("INSERT OR REPLACE INTO t(namespace, key, value) VALUES "
                  f"('a', 'ok1', 'v'), {values}, ('a', 'ok2', 'v')")
    assert str(e.value) == message
    assert entries(t) == []


def test_value_too_large(t):
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'max', ?)",
              ("é" * 50000,))
    with pytest.raises(sqlite3.OperationalError) as e:
        t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'big', ?)",
                  ("é" * 50000 + "x",))
    assert str(e.value) == ("memory: value of a/big is 100001 bytes, over "
                            "max_value_bytes=100000; store less, or split it "
                            "over several keys")
    assert rows(t, "SELECT key, length(value) FROM t WHERE namespace = 'a'") == [
        ("max", 50000)]


def test_transactions(t):
    t.execute("BEGIN")
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k1', 'v1')")
    # A query sees the table's own earlier writes.
    assert entries(t) == [("a", "k1", "v1")]
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k2', 'v2')")
    t.execute("COMMIT")
    t.execute("BEGIN")
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k3', 'v3')")
    t.execute("ROLLBACK")
    assert entries(t) == [("a", "k1", "v1"), ("a", "k2", "v2")]
    # A failing statement inside a transaction is undone; the rest commits.
    t.execute("BEGIN")
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k4', 'v4')")
    with pytest.raises(sqlite3.OperationalError):
        t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k5', 'v5'), "
                  "('a', 'bad key', 'v')")
    t.execute("COMMIT")
    assert [r[1] for r in entries(t)] == ["k1", "k2", "k4"]


def test_newest_first_and_limit(t):
    for i in range(5):
        t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', ?, 'v')",
                  (f"k{i}",))
    assert rows(t, "SELECT key FROM t WHERE namespace = 'a' "
                   "ORDER BY updated_at DESC") == [
        ("k4",), ("k3",), ("k2",), ("k1",), ("k0",)]
    assert rows(t, "SELECT key FROM t WHERE namespace = 'a' "
                   "ORDER BY updated_at DESC LIMIT 2") == [("k4",), ("k3",)]
    assert rows(t, "SELECT key FROM t WHERE namespace = 'a' "
                   "ORDER BY updated_at DESC LIMIT 2 OFFSET 1") == [("k3",), ("k2",)]
    assert rows(t, "SELECT count(*) FROM t WHERE namespace = 'a' AND "
                   "key LIKE 'k%' AND key > 'k2'") == [(2,)]


def test_conversation_analytics(t):
    history = ('[{"role": "user", "content": "hi"}, {"role": "assistant", '
               '"content": "hello"}, {"role": "user", "content": "bye"}]')
    t.executemany("INSERT INTO t(namespace, key, value) VALUES (?, ?, ?)",
                  [("user-42", "conversation_history", history),
                   ("user-7", "conversation_history", history),
                   ("user-7", "user_name", "Sam")])
    assert rows(t, """
        SELECT m.namespace, j.value ->> 'role' AS role, count(*)
          FROM t AS m, json_each(m.value) AS j
         WHERE m.namespace IN ('user-42', 'user-7')
           AND m.key = 'conversation_history'
         GROUP BY 1, 2""") == [
        ("user-42", "assistant", 1), ("user-42", "user", 2),
        ("user-7", "assistant", 1), ("user-7", "user", 2)]


def test_delete_and_update_with_in_lists_touch_every_row(t):
    # Regression: an IN list on key once made the plan "unique", and
    # SQLite's one-pass DELETE stopped after the first row.
    t.execute("INSERT INTO t(namespace, key, value) VALUES ('a', 'k1', '1'), "
              "('a', 'k2', '2'), ('a', 'k3', '3'), ('b', 'k1', '4')")
    t.execute("DELETE FROM t WHERE namespace = 'a' AND key IN ('k1', 'k2')")
    assert entries(t) == [("a", "k3", "3")]
    t.execute("UPDATE t SET value = 'x' WHERE namespace IN ('a', 'b') AND key IN ('k1', 'k3')")
    assert rows(t, "SELECT namespace, key, value FROM t WHERE namespace IN ('a', 'b') "
                   "ORDER BY 1, 2") == [("a", "k3", "x"), ("b", "k1", "x")]
