"""Tables written by earlier versions open, keep their data and settings,
and are upgraded in place to the current on-disk format."""
import os
import shutil
import sqlite3

import pytest

from conftest import ROOT, connect, rows

V010 = os.path.join(ROOT, "tests", "data", "v0.1.0.db")


@pytest.fixture
def old_db(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(V010, path)
    return str(path)


def config(conn, table):
    return dict(rows(conn, f"SELECT name, value FROM {table}_config"))


def test_the_fixture_is_a_0_1_0_database(old_db):
    plain = sqlite3.connect(old_db)
    assert "format" not in dict(plain.execute("SELECT name, value FROM mem_config"))
    plain.close()


def test_a_0_1_0_local_table_opens_upgraded_with_its_rows(old_db):
    conn = connect(old_db)
    assert rows(conn, "SELECT namespace, key, value, updated_at, created_at "
                      "FROM mem ORDER BY namespace, key") == [
        ("user-42", "conversation_history",
         '[{"role":"user","content":"I want a refund"},'
         '{"role":"assistant","content":"Refund issued."}]',
         1700000100.5, 1700000050.25),
        ("user-42", "user_name", "Sarah", 1700000000.125, 1700000000.125),
        ("user-7", "city", "Lisbon", 1700000200.0, 1700000200.0)]
    assert config(conn, "mem")["format"] == 3
    conn.close()
    # The upgrade was committed: another connection sees it.
    plain = sqlite3.connect(old_db)
    assert dict(plain.execute("SELECT name, value FROM mem_config"))["format"] == 3
    plain.close()


def test_an_upgraded_table_keeps_its_limits_and_totals(old_db):
    conn = connect(old_db)
    conn.execute("PRAGMA table_info(capped)")  # opens (connects) the table
    assert config(conn, "capped") == {
        "format": 3, "mode": "local", "max_value_bytes": 200,
        "max_namespace_bytes": 1000, "max_writes_per_day": 5}
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO capped VALUES ('a', 'big', ?, NULL)", ("x" * 201,))
    assert "over max_value_bytes=200" in str(e.value)
    # Five writes a day (two of them on the day the fixture was made) and
    # 1000 bytes: whatever today is, the sixth insert is refused.
    with pytest.raises(sqlite3.IntegrityError) as e:
        for i in range(3, 9):
            conn.execute("INSERT INTO capped VALUES ('a', ?, ?, NULL)",
                         (f"k{i}", "x" * 199))
    assert "memory: quota" in str(e.value)
    # The running totals carried over from 0.1.0 still match the rows.
    assert rows(conn, "SELECT keys, bytes FROM capped_usage WHERE namespace = 'a'") == \
        rows(conn, "SELECT count(*), sum(length(value)) FROM capped WHERE namespace = 'a'")
    conn.close()


def test_a_0_1_0_remote_table_keeps_its_settings(old_db):
    conn = connect(old_db)
    conn.execute("PRAGMA table_info(hosted)")  # opens (connects) the table
    cfg = config(conn, "hosted")
    assert cfg == {"format": 3, "mode": "remote", "remote": "http://127.0.0.1:9",
                   "timeout_ms": 2000, "retries": 3, "concurrency": 4,
                   "max_value_bytes": 100000}
    conn.close()


def test_a_read_only_old_database_is_read_without_upgrading(old_db):
    os.chmod(old_db, 0o444)
    try:
        conn = sqlite3.connect(f"file:{old_db}?mode=ro", uri=True,
                               isolation_level=None)
        conn.enable_load_extension(True)
        conn.load_extension(os.path.join(ROOT, os.environ.get("MEMORY_EXT", "dist/memory")))
        assert rows(conn, "SELECT key FROM mem WHERE namespace = 'user-42' "
                          "ORDER BY key") == [("conversation_history",), ("user_name",)]
        assert "format" not in config(conn, "mem")
        conn.close()
    finally:
        os.chmod(old_db, 0o644)


def test_a_newer_format_is_refused_with_what_to_do(tmp_path):
    path = str(tmp_path / "new.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute("UPDATE mem_config SET value = 99 WHERE name = 'format'")
    conn.close()
    conn = connect(path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM mem")
    assert str(e.value) == (
        "memory: table 'mem' was written by a newer version of this extension "
        "(on-disk format 99; this is 0.2.0, which reads formats up to 3): load "
        "the newer version")


def test_a_0_1_0_table_with_a_stored_token_is_refused_and_can_be_repaired(old_db):
    conn = connect(old_db)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("PRAGMA table_info(hosted_tok)")
    assert str(e.value) == (
        "memory: table 'hosted_tok' keeps a token in plain text in "
        "hosted_tok_config (an older version stored it there and in its CREATE "
        "statement); tokens now come from an environment variable: run DELETE "
        "FROM \"hosted_tok_config\" WHERE name = 'token', then DROP TABLE and "
        "create the table again with token_env='VARIABLE'")
    conn.close()
    conn = connect(old_db)  # what the message says, in a fresh connection
    conn.execute("DELETE FROM \"hosted_tok_config\" WHERE name = 'token'")
    conn.execute("DROP TABLE hosted_tok")
    assert rows(conn, "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                      "'hosted_tok%'") == [(0,)]


def test_a_table_opened_inside_a_transaction_stays_old_and_passes_integrity_check(old_db):
    """Opened inside the user's transaction, a 0.1.0 table is not upgraded
    (the private connection cannot take its lock); it works in its old
    format, which has no expiry index to miss."""
    conn = connect(old_db)
    conn.execute("BEGIN IMMEDIATE")
    assert rows(conn, "SELECT key FROM mem WHERE namespace = 'user-7'") == [("city",)]
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('n', 'k', 'v')")
    conn.execute("COMMIT")
    assert "format" not in config(conn, "mem")  # 0.1.0 stored none
    conn.close()
    conn = connect(old_db)  # opened outside a transaction: upgraded
    assert rows(conn, "SELECT key FROM mem WHERE namespace = 'n'") == [("k",)]
    assert config(conn, "mem")["format"] == 3
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
