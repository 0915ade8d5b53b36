"""Local mode: the `memory` table over its backing table, end to end."""
import sqlite3

import pytest

from conftest import connect, rows, shell

DUP = ("memory: user-42/user_name already exists; use INSERT OR REPLACE to "
       "overwrite it or INSERT OR IGNORE to keep it")


def test_version_and_functions(db):
    assert rows(db, "SELECT memory_version()") == [("0.2.0",)]
    assert rows(db, "SELECT memory_namespace('user-42'), "
                    "memory_namespace('sarah@example.com'), "
                    "memory_key('notes/2024.txt'), memory_key('a.b'), "
                    "memory_namespace(NULL)") == [
        ("user-42", "sarah__40example__2ecom", "notes__2f2024.txt", "a.b", None)]


def test_memory_namespace_is_valid_short_and_distinct(db):
    ids = ["a.b", "a_b@", "a@b", "ü", "", "x" * 500, "550e8400.e29b.41d4",
           "../../etc/passwd", "a\nb"]
    out = [db.execute("SELECT memory_namespace(?)", (i,)).fetchone()[0]
           for i in ids]
    assert len(set(out)) == len(ids)
    for name in out:
        assert 1 <= len(name) <= 64
        assert db.execute("SELECT ? GLOB '*[^a-zA-Z0-9_-]*'",
                          (name,)).fetchone() == (0,)
    assert out[0] == "a__2eb"
    # Stable across calls: the mapping is a pure function.
    assert db.execute("SELECT memory_namespace('a.b')").fetchone()[0] == out[0]


def test_interface_examples(mem):
    mem.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
                "VALUES ('user-42', 'user_name', 'Sarah')")
    assert rows(mem, "SELECT value FROM mem WHERE namespace = 'user-42' "
                     "AND key = 'user_name'") == [("Sarah",)]
    mem.execute("INSERT INTO mem(namespace, key, value, updated_at) "
                "VALUES ('user-42', 'city', 'Oslo', 100.5)")
    assert rows(mem, "SELECT key, updated_at FROM mem WHERE namespace = "
                     "'user-42' ORDER BY updated_at DESC")[1] == ("city", 100.5)
    history = ('[{"role": "user", "content": "hi"}, '
               '{"role": "assistant", "content": "hello"}, '
               '{"role": "user", "content": "bye"}]')
    for ns in ("user-42", "user-7"):
        mem.execute("INSERT INTO mem(namespace, key, value) VALUES "
                    "(?, 'conversation_history', ?)", (ns, history))
    assert rows(mem, """
        SELECT m.namespace, j.value ->> 'role' AS role, count(*)
          FROM mem AS m, json_each(m.value) AS j
         WHERE m.key = 'conversation_history' GROUP BY 1, 2""") == [
        ("user-42", "assistant", 1), ("user-42", "user", 2),
        ("user-7", "assistant", 1), ("user-7", "user", 2)]


def test_insert_conflict_modes(mem):
    mem.execute("INSERT INTO mem(namespace, key, value, created_at) "
                "VALUES ('user-42', 'user_name', 'Sarah', 10)")
    with pytest.raises(sqlite3.IntegrityError) as e:
        mem.execute("INSERT INTO mem(namespace, key, value) "
                    "VALUES ('user-42', 'user_name', 'Sam')")
    assert str(e.value) == DUP
    mem.execute("INSERT OR IGNORE INTO mem(namespace, key, value) "
                "VALUES ('user-42', 'user_name', 'Sam')")
    assert rows(mem, "SELECT value FROM mem") == [("Sarah",)]
    mem.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
                "VALUES ('user-42', 'user_name', 'Sam')")
    # OR REPLACE overwrites the value and keeps when the key was created.
    assert rows(mem, "SELECT value, created_at, updated_at > 1.7e9 FROM mem") \
        == [("Sam", 10.0, 1)]
    assert rows(mem, "SELECT keys, bytes, writes_today FROM mem_usage") == [
        (1, 3, 2)]


def test_update_and_move(mem):
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                    [("a", "k1", "one"), ("a", "k2", "two"), ("b", "k1", "b1")])
    before = rows(mem, "SELECT updated_at FROM mem WHERE key = 'k1' AND "
                       "namespace = 'a'")[0][0]
    mem.execute("UPDATE mem SET value = 'uno' WHERE namespace = 'a' AND key = 'k1'")
    after = rows(mem, "SELECT value, updated_at FROM mem WHERE key = 'k1' AND "
                      "namespace = 'a'")[0]
    assert after[0] == "uno" and after[1] > before
    mem.execute("UPDATE mem SET namespace = 'c', key = 'moved' WHERE "
                "namespace = 'a' AND key = 'k2'")
    assert rows(mem, "SELECT namespace, key, value FROM mem ORDER BY 1, 2") == [
        ("a", "k1", "uno"), ("b", "k1", "b1"), ("c", "moved", "two")]
    with pytest.raises(sqlite3.IntegrityError) as e:
        mem.execute("UPDATE mem SET namespace = 'b' WHERE namespace = 'a'")
    assert str(e.value) == ("memory: b/k1 already exists; UPDATE OR REPLACE "
                            "overwrites it, or DELETE it first")
    mem.execute("UPDATE OR IGNORE mem SET namespace = 'b' WHERE namespace = 'a'")
    assert rows(mem, "SELECT namespace, value FROM mem WHERE key = 'k1' "
                     "ORDER BY 1") == [("a", "uno"), ("b", "b1")]
    mem.execute("UPDATE OR REPLACE mem SET namespace = 'b' WHERE namespace = 'a'")
    assert rows(mem, "SELECT namespace, key, value FROM mem ORDER BY 1, 2") == [
        ("b", "k1", "uno"), ("c", "moved", "two")]
    # Running totals follow every move and replacement exactly.
    assert rows(mem, "SELECT namespace, keys, bytes FROM mem_usage "
                     "ORDER BY 1") == [("a", 0, 0), ("b", 1, 3), ("c", 1, 3)]


def test_update_only_time_keeps_value(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'k', 'v', 5)")
    mem.execute("UPDATE mem SET updated_at = 7 WHERE key = 'k'")
    assert rows(mem, "SELECT value, updated_at, created_at FROM mem") == [
        ("v", 7.0, 5.0)]


def test_delete(mem):
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                    [("a", "k1", "one"), ("a", "k2", "two")])
    mem.execute("DELETE FROM mem WHERE key = 'k1'")
    assert rows(mem, "SELECT key FROM mem") == [("k2",)]
    assert rows(mem, "SELECT keys, bytes, writes_today FROM mem_usage") == [
        (1, 3, 2)]


def test_value_types(mem):
    mem.execute("INSERT INTO mem(namespace, key, value) VALUES "
                "('a', 'int', 42), ('a', 'real', 1.5), ('a', 'json', json('{\"x\": 1}'))")
    assert rows(mem, "SELECT key, value, typeof(value) FROM mem ORDER BY key") == [
        ("int", "42", "text"), ("json", '{"x":1}', "text"), ("real", "1.5", "text")]
    assert rows(mem, "SELECT value ->> '$.x' FROM mem WHERE key = 'json'") == [(1,)]


@pytest.mark.parametrize("sql,params,message", [
    ("INSERT INTO mem VALUES ('a', 'k', NULL, NULL)", (),
     "memory: value of a/k must not be NULL; to forget a key, DELETE it"),
    ("INSERT INTO mem VALUES ('a', 'k', x'00ff', NULL)", (),
     "memory: value of a/k is a BLOB; store text (JSON, or base64 of the bytes)"),
    ("INSERT INTO mem VALUES (NULL, 'k', 'v', NULL)", (),
     "memory: namespace must not be NULL"),
    ("INSERT INTO mem VALUES ('a', x'00', 'v', NULL)", (),
     "memory: key must be text, not a BLOB"),
    ("INSERT INTO mem VALUES (?, 'k', 'v', NULL)", ("user@example.com",),
     "memory: invalid namespace 'user@example.com': use 1-64 characters from "
     "a-z A-Z 0-9 _ - (memory_namespace() turns any id into a valid one)"),
    ("INSERT INTO mem VALUES (?, 'k', 'v', NULL)", ("ok\x00../x",),
     "memory: invalid namespace 'ok?../x': use 1-64 characters from "
     "a-z A-Z 0-9 _ - (memory_namespace() turns any id into a valid one)"),
    ("INSERT INTO mem VALUES ('a', ?, 'v', NULL)", ("../etc",),
     "memory: invalid key '../etc': use 1-128 characters from a-z A-Z 0-9 _ - . "
     "(memory_key() turns any id into a valid one)"),
    ("INSERT INTO mem VALUES ('a', ?, 'v', NULL)", ("",),
     "memory: invalid key '': use 1-128 characters from a-z A-Z 0-9 _ - . "
     "(memory_key() turns any id into a valid one)"),
    ("INSERT INTO mem VALUES (?, 'k', 'v', NULL)", ("n" * 65,),
     "memory: invalid namespace '" + "n" * 40 + "'...: use 1-64 characters "
     "from a-z A-Z 0-9 _ - (memory_namespace() turns any id into a valid one)"),
])
def test_bad_rows_are_refused(mem, sql, params, message):
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute(sql, params)
    assert str(e.value) == message
    assert rows(mem, "SELECT count(*) FROM mem") == [(0,)]
    # Bad input is an error even under OR IGNORE: nothing is dropped silently.
    with pytest.raises(sqlite3.OperationalError):
        mem.execute(sql.replace("INSERT", "INSERT OR IGNORE"), params)


def test_max_value_bytes_edge_and_multibyte(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'ok', ?, NULL)", ("x" * 100000,))
    mem.execute("INSERT INTO mem VALUES ('a', 'utf8', ?, NULL)", ("é" * 50000,))
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("INSERT INTO mem VALUES ('a', 'big', ?, NULL)", ("x" * 100001,))
    assert str(e.value) == ("memory: value of a/big is 100001 bytes, over "
                            "max_value_bytes=100000; store less, or split it "
                            "over several keys")
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("INSERT INTO mem VALUES ('a', 'big', ?, NULL)",
                    ("é" * 50000 + "x",))
    assert "is 100001 bytes" in str(e.value)
    assert rows(mem, "SELECT key, length(value) FROM mem ORDER BY key") == [
        ("ok", 100000), ("utf8", 50000)]


def test_namespace_bytes_quota(db):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=10)")
    db.execute("INSERT INTO mem VALUES ('a', 'k1', '12345', NULL)")
    with pytest.raises(sqlite3.IntegrityError) as e:
        db.execute("INSERT INTO mem VALUES ('a', 'k2', 'éééx', NULL)")  # 7 bytes
    assert str(e.value) == (
        "memory: quota max_namespace_bytes exceeded for namespace 'a': at most "
        "10 bytes of values; delete or shorten entries, or raise the limit: "
        "INSERT INTO \"mem\"(\"mem\", value) VALUES ('max_namespace_bytes', "
        "<n>) (0 = no limit)")
    db.execute("INSERT INTO mem VALUES ('a', 'k2', 'ééx', NULL)")  # 5: exactly 10
    db.execute("INSERT INTO mem VALUES ('b', 'k2', 'ééx', NULL)")  # other namespace
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE mem SET value = '123456' WHERE namespace = 'a' AND key = 'k1'")
    with pytest.raises(sqlite3.IntegrityError):  # moving in counts too
        db.execute("UPDATE mem SET namespace = 'a', key = 'k3' WHERE namespace = 'b'")
    # Shrinking is always allowed, and frees room.
    db.execute("UPDATE mem SET value = '1' WHERE namespace = 'a' AND key = 'k1'")
    db.execute("INSERT INTO mem VALUES ('a', 'k3', '1234', NULL)")
    assert rows(db, "SELECT namespace, keys, bytes, max_namespace_bytes FROM "
                    "mem_usage ORDER BY 1") == [("a", 3, 10, 10), ("b", 1, 5, 10)]
    # Under OR IGNORE a quota error is still reported, never silently dropped.
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT OR IGNORE INTO mem VALUES ('a', 'k4', 'x', NULL)")
    assert str(e.value).startswith("memory: quota max_namespace_bytes exceeded")


def test_writes_per_day_edge(mem):
    mem.execute("BEGIN")
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES ('a', ?, 'v')",
                    [(f"k{i}",) for i in range(999)])
    mem.execute("COMMIT")
    mem.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
                "VALUES ('a', 'k0', 'w')")  # the 1000th write passes
    with pytest.raises(sqlite3.IntegrityError) as e:
        mem.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'x', 'v')")
    assert str(e.value) == (
        "memory: quota max_writes_per_day exceeded for namespace 'a': at most "
        "1000 writes per UTC day; wait for the next UTC day, or raise the "
        "limit: INSERT INTO \"mem\"(\"mem\", value) VALUES "
        "('max_writes_per_day', <n>) (0 = no limit)")
    with pytest.raises(sqlite3.IntegrityError):
        mem.execute("UPDATE mem SET value = 'z' WHERE namespace = 'a' AND key = 'k1'")
    mem.execute("DELETE FROM mem WHERE namespace = 'a' AND key = 'k5'")  # not a write
    mem.execute("INSERT INTO mem(namespace, key, value) VALUES ('b', 'x', 'v')")
    assert rows(mem, "SELECT namespace, keys, writes_today, max_writes_per_day "
                     "FROM mem_usage ORDER BY 1") == [
        ("a", 998, 1000, 1000), ("b", 1, 1, 1000)]
    # A new UTC day starts a new count (simulated by ageing the counter).
    mem.execute("UPDATE mem_quota SET day = '2000-01-01' WHERE namespace = 'a'")
    assert rows(mem, "SELECT writes_today FROM mem_usage WHERE namespace = 'a'") \
        == [(0,)]
    mem.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'x', 'v')")
    assert rows(mem, "SELECT writes_today FROM mem_usage WHERE namespace = 'a'") \
        == [(1,)]


def test_no_limit_with_zero(db):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0, "
               "max_namespace_bytes=0)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO mem(namespace, key, value) VALUES ('a', ?, 'v')",
                   [(f"k{i}",) for i in range(1500)])
    db.execute("COMMIT")
    assert rows(db, "SELECT writes_today, max_writes_per_day FROM mem_usage") == [
        (1500, 0)]


def test_statement_is_all_or_nothing(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'k0', 'v', NULL)")
    with pytest.raises(sqlite3.IntegrityError):
        mem.execute("INSERT INTO mem(namespace, key, value) VALUES "
                    "('a', 'k1', 'v'), ('a', 'k2', 'v'), ('a', 'k0', 'v')")
    with pytest.raises(sqlite3.OperationalError):
        mem.execute("INSERT INTO mem(namespace, key, value) VALUES "
                    "('a', 'k1', 'v'), ('a', 'bad key', 'v')")
    assert rows(mem, "SELECT key FROM mem") == [("k0",)]
    assert rows(mem, "SELECT keys, bytes, writes_today FROM mem_usage") == [
        (1, 1, 1)]


def test_rollback_undoes_writes(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'keep', 'v', NULL)")
    mem.execute("BEGIN")
    mem.execute("INSERT INTO mem VALUES ('a', 'gone', 'v', NULL)")
    mem.execute("UPDATE mem SET value = 'changed' WHERE key = 'keep'")
    assert rows(mem, "SELECT count(*) FROM mem") == [(2,)]
    mem.execute("ROLLBACK")
    assert rows(mem, "SELECT key, value FROM mem") == [("keep", "v")]
    assert rows(mem, "SELECT keys, writes_today FROM mem_usage") == [(1, 1)]


def test_explicit_times_are_kept(mem):
    mem.execute("INSERT INTO mem(namespace, key, value, updated_at, created_at) "
                "VALUES ('a', 'k', 'v', 1700000000.25, 1600000000.5)")
    mem.execute("INSERT INTO mem(namespace, key, value, updated_at) "
                "VALUES ('a', 'k2', 'v', 1700000000.25)")
    assert rows(mem, "SELECT key, updated_at, created_at FROM mem ORDER BY key") \
        == [("k", 1700000000.25, 1600000000.5), ("k2", 1700000000.25, 1700000000.25)]


def test_settings_persist(tmp_path):
    path = str(tmp_path / "p.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=2, "
                 "max_value_bytes=5)")
    conn.execute("INSERT INTO mem VALUES ('a', 'k1', 'v', NULL)")
    conn.close()
    conn = connect(path)
    conn.execute("INSERT INTO mem VALUES ('a', 'k2', 'v', NULL)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO mem VALUES ('a', 'k3', 'v', NULL)")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO mem VALUES ('b', 'k3', '123456', NULL)")
    assert "over max_value_bytes=5" in str(e.value)
    assert rows(conn, "SELECT name, value FROM mem_config ORDER BY name") == [
        ("format", 3), ("history", 0), ("history_days", 30),
        ("max_namespace_bytes", 52428800), ("max_value_bytes", 5),
        ("max_writes_per_day", 2), ("mode", "local"), ("search", 0),
        ("ttl_seconds", 0)]


@pytest.mark.parametrize("args,message", [
    ("foo=1", "memory: unknown argument 'foo'; known: remote, token_env, "
              "max_value_bytes, max_namespace_bytes, max_writes_per_day, search, "
              "ttl_seconds, history, history_days, timeout_ms, retries, "
              "concurrency"),
    ("max_writes_per_day=-1", "memory: max_writes_per_day must be a whole "
                              "number from 0 to 1125899906842624, not '-1'"),
    ("max_value_bytes=abc", "memory: max_value_bytes must be a whole number "
                            "from 1 to 100000000, not 'abc'"),
    ("max_value_bytes", "memory: max_value_bytes must be a whole number "
                        "from 1 to 100000000, not ''"),
    ("timeout_ms=5", "memory: timeout_ms applies to remote tables only; add "
                     "remote='<url>'"),
    ("remote='ftp://example.com'", "memory: remote URL 'ftp://example.com' "
                                   "must start with http:// or https://"),
    ("remote, max_writes_per_day=5", "memory: max_writes_per_day applies to "
     "local tables only; the hosted service enforces its own quotas"),
])
def test_bad_arguments(db, args, message):
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(f"CREATE VIRTUAL TABLE bad USING memory({args})")
    assert str(e.value) == message
    assert rows(db, "SELECT name FROM sqlite_schema") == []


def test_quoted_arguments(db):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day='7', "
               " max_value_bytes = 9 )")
    assert rows(db, "SELECT name, value FROM mem_config WHERE name LIKE 'max_%' "
                    "ORDER BY 1") == [
        ("max_namespace_bytes", 52428800), ("max_value_bytes", 9),
        ("max_writes_per_day", 7)]


def test_rename_and_drop_cover_every_object(mem):
    mem.execute("INSERT INTO mem VALUES ('a', 'k', 'v', NULL)")
    mem.execute("ALTER TABLE mem RENAME TO agent")
    assert rows(mem, "SELECT type, name FROM sqlite_schema ORDER BY name") == [
        ("table", "agent"), ("table", "agent_config"), ("table", "agent_data"),
        ("table", "agent_quota"),
        ("trigger", "agent_quota_delete"), ("trigger", "agent_quota_insert"),
        ("trigger", "agent_quota_update"), ("view", "agent_usage"),
        # An index keeps its name through ALTER TABLE RENAME (and cannot be
        # made again while a statement runs): it is found by its table.
        ("index", "mem_expiry"), ("index", "sqlite_autoindex_agent_data_1")]
    mem.execute("INSERT INTO agent VALUES ('a', 'k2', 'v', NULL)")
    assert rows(mem, "SELECT keys, writes_today FROM agent_usage") == [(2, 2)]
    # The old name is free again; its index takes the next free name.
    mem.execute("CREATE VIRTUAL TABLE mem USING memory")
    assert rows(mem, "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' "
                     "AND name LIKE 'mem_expiry%' ORDER BY 1") == [
        ("mem_expiry", "agent_data"), ("mem_expiry_2", "mem_data")]
    mem.execute("INSERT INTO agent(agent) VALUES ('integrity-check')")
    mem.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    mem.execute("DROP TABLE agent")
    mem.execute("DROP TABLE mem")
    assert rows(mem, "SELECT name FROM sqlite_schema") == []


def test_defensive_mode_protects_backing_tables(tmp_path):
    out, err = shell(tmp_path / "d.db", """
CREATE VIRTUAL TABLE mem USING memory;
INSERT INTO mem VALUES ('a', 'k', 'v', NULL);
.dbconfig defensive on
INSERT INTO mem_data(namespace, key, value, updated_at, created_at) VALUES ('a', 'x', 'v', 0, 0);
UPDATE mem_quota SET bytes = 0;
INSERT INTO mem VALUES ('a', 'k2', 'v', NULL);
SELECT namespace, key FROM mem ORDER BY key;
SELECT keys, bytes FROM mem_usage;
""", check=False)
    assert out.splitlines()[-3:] == ["a|k", "a|k2", "2|2"]
    assert "table mem_data may not be modified" in err
    assert "table mem_quota may not be modified" in err


def test_query_plans(mem):
    def plan(sql):
        return [r[3] for r in mem.execute("EXPLAIN QUERY PLAN " + sql)]
    assert plan("SELECT value FROM mem WHERE namespace = 'a' AND key = 'b'") == [
        "SCAN mem VIRTUAL TABLE INDEX 7:WHERE (expires_at IS NULL OR expires_at > "
        ":now) AND namespace = :a1 AND key = :a2"]
    assert plan("SELECT key FROM mem WHERE namespace = 'a' ORDER BY namespace, "
                "key LIMIT 5 OFFSET 2") == [
        "SCAN mem VIRTUAL TABLE INDEX 2051:WHERE (expires_at IS NULL OR expires_at "
        "> :now) AND namespace = :a1 ORDER BY namespace, key"]
    assert plan("SELECT key FROM mem WHERE namespace IN ('a', 'b') AND "
                "key GLOB 'user*'") == [
        "SCAN mem VIRTUAL TABLE INDEX 2051:WHERE (expires_at IS NULL OR expires_at "
        "> :now) AND namespace IN (SELECT value FROM "
        "json_each(:in1)) AND key >= :a2 AND key < :a3 AND key >= :gl4 AND "
        "key < :gh4"]  # SQLite derives the first range from GLOB itself
    assert plan("SELECT * FROM mem WHERE updated_at > 5") == [
        "SCAN mem VIRTUAL TABLE INDEX 2063:WHERE (expires_at IS NULL OR "
        "expires_at > :now) AND updated_at > :a1"]
    # The backing query (as readSql() builds it) of a (namespace, key)
    # lookup is an index seek, and of a namespace scan a range of the index.
    backing = ('EXPLAIN QUERY PLAN SELECT id, namespace, key, value, updated_at, '
               'NULL FROM "main"."mem_data" WHERE (expires_at IS NULL OR '
               'expires_at > 0) AND ')
    assert [r[3] for r in mem.execute(
        backing + "namespace = :a1 AND key = :a2", ("a", "b"))] == [
        "SEARCH main.mem_data USING INDEX sqlite_autoindex_mem_data_1 "
        "(namespace=? AND key=?)"]
    assert [r[3] for r in mem.execute(
        backing + "namespace = :a1 ORDER BY namespace, key", ("a",))] == [
        "SEARCH main.mem_data USING INDEX sqlite_autoindex_mem_data_1 "
        "(namespace=?)"]


def test_pushdown_matches_a_plain_table(mem):
    """Every pushed-down constraint must give exactly what SQLite's own
    evaluation gives on a plain table holding the same rows."""
    data = []
    for ns in ["Alpha", "alpha", "beta", "beta_2", "b-3", "user-1", "user-10",
               "user-2", "USER-3", "x"]:
        for i, key in enumerate(["a", "A.b", "user_name", "user.x", "k-1",
                                 "k10", "k2", "z_9"]):
            data.append((ns, key, f"{ns}:{key}", 1000.0 + len(data), 5.0 + i))
    mem.execute("CREATE TABLE plain(namespace TEXT, key TEXT, value TEXT, "
                "updated_at REAL, created_at REAL, PRIMARY KEY(namespace, key))")
    mem.execute("BEGIN")
    mem.executemany("INSERT INTO mem(namespace, key, value, updated_at, "
                    "created_at) VALUES (?, ?, ?, ?, ?)", data)
    mem.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?)", data)
    mem.execute("COMMIT")
    wheres = [
        "namespace = 'beta'", "namespace = 'beta' AND key = 'k2'",
        "namespace IN ('x', 'beta', 'nope', NULL)",
        "namespace IN (SELECT 'alpha' UNION SELECT 'x') AND key IN ('a', 'k2')",
        "namespace > 'beta' AND namespace <= 'user-2'", "namespace < 'b'",
        "namespace >= 'user'", "key = 'a'", "key > 'k' AND key < 'user'",
        "namespace LIKE 'user%'", "namespace LIKE 'al_ha'",
        "namespace LIKE 'B%' AND key LIKE 'K1%'", "namespace LIKE '%a'",
        "namespace GLOB 'user*'", "namespace GLOB 'U*'", "key GLOB '*_*'",
        "key GLOB 'k[0-9]*'", "namespace LIKE 'ü%'", "namespace GLOB ''",
        "updated_at > 1040 AND updated_at <= 1050", "created_at = 7",
        "namespace = 'alpha' COLLATE NOCASE", "namespace = 1", "key IS NULL",
        "value LIKE '%x:k%'", "1",
    ]
    orders = ["", " ORDER BY namespace, key", " ORDER BY namespace DESC, key",
              " ORDER BY updated_at DESC", " ORDER BY key, namespace LIMIT 3",
              " ORDER BY namespace, key LIMIT 4 OFFSET 3",
              " ORDER BY namespace, key LIMIT -1 OFFSET 70"]
    for where in wheres:
        for order in orders:
            q = f"SELECT namespace, key, value, updated_at, created_at FROM {{}} WHERE {where}{order}"
            got = rows(mem, q.format("mem"))
            want = rows(mem, q.format("plain"))
            if not order:
                got, want = sorted(got), sorted(want)
            assert got == want, q


def test_self_join_and_nested_cursors(mem):
    mem.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                    [("a", "k1", "x"), ("b", "k1", "y"), ("a", "k2", "z")])
    assert rows(mem, "SELECT m1.namespace, m2.namespace, m1.key FROM mem m1 "
                     "JOIN mem m2 ON m1.key = m2.key AND m1.namespace < m2.namespace") \
        == [("a", "b", "k1")]
    assert rows(mem, "SELECT key, (SELECT count(*) FROM mem m2 WHERE "
                     "m2.namespace = m.namespace) FROM mem m WHERE namespace = 'a' "
                     "ORDER BY key") == [("k1", 2), ("k2", 2)]


def test_copy_between_local_tables(mem):
    mem.execute("CREATE VIRTUAL TABLE other USING memory")
    mem.execute("INSERT INTO mem VALUES ('user-42', 'a', '1', 50), "
                "('user-42', 'b', '2', 60), ('user-7', 'c', '3', 70)")
    mem.execute("INSERT OR REPLACE INTO other SELECT * FROM mem WHERE "
                "namespace = 'user-42'")
    assert rows(mem, "SELECT * FROM other ORDER BY key") == [
        ("user-42", "a", "1", 50.0), ("user-42", "b", "2", 60.0)]


def test_join_with_more_plans_than_cached_statements(mem):
    # A join whose WHERE terms need eleven distinct plans, more than the
    # statement cache's eight slots, so cached statements are evicted and
    # re-prepared while cursors hold others: every row must still match a
    # plain table. (Cursors own their cached statement until they let go of
    # it; SQLite's "busy" flag is false once a statement reaches its end.)
    mem.executemany("INSERT INTO mem(namespace, key, value, updated_at) VALUES (?, ?, 'v', ?)",
                    [(ns, f"k{i}", float(i)) for ns in "abc" for i in range(4)])
    terms = ["namespace = a.namespace", "key = a.key", "namespace > a.namespace",
             "namespace < a.namespace", "key > a.key", "key < a.key",
             "updated_at > a.updated_at", "updated_at < a.updated_at",
             "namespace = a.namespace AND key >= a.key"]
    where = " AND ".join(f"(SELECT count(*) FROM {{t}} WHERE {w}) >= 0" for w in terms)
    sql = ("SELECT a.namespace, a.key, x.key FROM {t} AS a JOIN {t} AS x "
           "ON x.namespace = a.namespace WHERE " + where + " ORDER BY 1, 2, 3")
    mem.execute("CREATE TABLE plain AS SELECT namespace, key, value, updated_at FROM mem")
    got = rows(mem, sql.format(t="mem"))
    assert got == rows(mem, sql.format(t="plain")) and len(got) == 48


def test_a_new_table_whose_name_differs_only_in_case_from_a_renamed_one(db):
    """Found by fuzz_sql: SQLite's names ignore ASCII case, so the renamed
    table's index "t_expiry" holds the name "T_expiry" too. Creating "T"
    failed with SQLite's bare "vtable constructor failed: T"."""
    db.execute("CREATE VIRTUAL TABLE t USING memory")
    db.execute("ALTER TABLE t RENAME TO t2")
    db.execute('CREATE VIRTUAL TABLE "T" USING memory')
    assert rows(db, "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' "
                    "AND name LIKE '%expiry%' ORDER BY 1") == [
        ("T_expiry_2", "T_data"), ("t_expiry", "t2_data")]
    db.execute("INSERT INTO \"T\"(namespace, key, value, expires_at) "
               "VALUES ('n', 'k', '1', 1)")
    db.execute("INSERT INTO t2 VALUES ('n', 'k', '2', NULL)")
    assert rows(db, 'SELECT value FROM "T"') == []       # expired
    assert rows(db, "SELECT value FROM t2") == [("2",)]
    for t in ('"T"', "t2"):
        db.execute(f"INSERT INTO {t}({t}) VALUES ('integrity-check')")
