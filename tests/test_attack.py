"""Regression tests for defects found by attacking the command column,
search and upgrades (attack branch). Each fails on the code it was written
against; see the report for the reproducers."""
import os
import shutil
import sqlite3

import pytest

from conftest import ROOT, connect, rows

V010 = os.path.join(ROOT, "tests", "data", "v0.1.0.db")


def config(conn, table):
    return dict(rows(conn, f"SELECT name, value FROM {table}_config"))


# --- remote settings changed through the command column ------------------

def test_remote_setting_change_rolls_back_with_its_transaction(db, server):
    """ROLLBACK restores the stored setting; the table must obey it too."""
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "max_value_bytes=10)")
    db.execute("BEGIN")
    db.execute("INSERT INTO hosted(hosted, value) VALUES ('max_value_bytes', 100)")
    db.execute("ROLLBACK")
    assert config(db, "hosted")["max_value_bytes"] == 10
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO hosted(namespace, key, value) VALUES ('a', 'k', ?)",
                   ("x" * 20,))
    assert str(e.value) == ("memory: value of a/k is 20 bytes, over "
                            "max_value_bytes=10; store less, or split it over "
                            "several keys")
    assert server.requests() == []


def test_remote_setting_change_holds_at_once_for_other_connections(tmp_path, server):
    """interface.md: a changed setting holds at once for every connection."""
    path = str(tmp_path / "h.db")
    a = connect(path)
    b = connect(path)
    try:
        a.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
                  "max_value_bytes=10)")
        assert rows(b, "SELECT key FROM hosted WHERE namespace = 'a'") == []  # b has it open
        a.execute("INSERT INTO hosted(hosted, value) VALUES ('max_value_bytes', 100)")
        b.execute("INSERT INTO hosted(namespace, key, value) VALUES ('a', 'k', ?)",
                  ("x" * 20,))
        assert rows(b, "SELECT value FROM hosted WHERE namespace = 'a' AND key = 'k'") == \
            [("x" * 20,)]
        a.execute("INSERT INTO hosted(hosted, value) VALUES ('max_value_bytes', 5)")
        with pytest.raises(sqlite3.OperationalError) as e:
            b.execute("INSERT INTO hosted(namespace, key, value) VALUES ('a', 'k2', "
                      "'123456')")
        assert str(e.value) == ("memory: value of a/k2 is 6 bytes, over "
                                "max_value_bytes=5; store less, or split it over "
                                "several keys")
    finally:
        a.close()
        b.close()


def test_a_failed_token_env_change_in_a_transaction_changes_nothing(tmp_path, server):
    """The command fails (variable unset) but its row stayed in
    hosted_config; after COMMIT the table could no longer be opened."""
    path = str(tmp_path / "h.db")
    os.environ.pop("MEMORY_ATTACK_UNSET", None)
    conn = connect(path)
    conn.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO hosted(hosted, value) VALUES ('token_env', "
                     "'MEMORY_ATTACK_UNSET')")
    assert str(e.value).startswith("memory: environment variable MEMORY_ATTACK_UNSET "
                                   "(token_env of table 'hosted') is not set")
    conn.execute("COMMIT")
    assert "token_env" not in config(conn, "hosted")
    conn.close()
    conn = connect(path)
    assert rows(conn, "SELECT key FROM hosted WHERE namespace = 'a'") == []
    conn.close()


# --- command names ----------------------------------------------------------

@pytest.mark.parametrize("cmd", ["max_writes_per_day\x00junk",
                                 "integrity-check\x00junk"])
def test_a_command_name_with_a_nul_byte_is_refused(mem, cmd):
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("INSERT INTO mem(mem, value) VALUES (?, 7)", (cmd,))
    assert str(e.value).startswith("memory: unknown command or setting ")
    assert config(mem, "mem")["max_writes_per_day"] == 1000


def test_the_unknown_command_message_names_every_setting(mem, db, server):
    with pytest.raises(sqlite3.OperationalError) as e:
        mem.execute("INSERT INTO mem(mem, value) VALUES ('bogus', 1)")
    assert "search" in str(e.value)  # a local setting the message leaves out
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO hosted(hosted, value) VALUES ('bogus', 1)")
    assert "token_env" in str(e.value)  # a remote setting it leaves out


# --- search -------------------------------------------------------------------

@pytest.fixture
def s(tmp_path):
    conn = connect(str(tmp_path / "s.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on, "
                 "max_namespace_bytes=40)")
    conn.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)", [
        ("a", "k1", "hello world"), ("a", "k2", "hello"),
        ("b", "k1", "bye world"), ("b", "k3", "bye")])
    yield conn
    conn.close()


def test_a_replace_refused_by_a_quota_in_a_transaction_keeps_the_index(s):
    s.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError) as e:
        s.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
                  "VALUES ('a', 'k2', ?)", ("hello " + "x" * 40,))
    assert str(e.value).startswith("memory: quota max_namespace_bytes exceeded "
                                   "for namespace 'a'")
    assert rows(s, "SELECT key FROM mem WHERE mem MATCH 'hello' ORDER BY key") == \
        [("k1",), ("k2",)]
    s.execute("COMMIT")
    s.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_two_match_terms_both_apply(s):
    """A plain FTS5 table answers this; memory failed with SQLite's
    'unable to use function MATCH in the requested context'."""
    assert rows(s, "SELECT namespace, key FROM mem WHERE mem MATCH 'hello' "
                   "AND mem MATCH 'world'") == [("a", "k1")]


def test_match_inside_or(s):
    """A plain FTS5 table answers `f MATCH 'x' OR rowid = 3`; memory failed
    with a non-memory: error."""
    assert sorted(rows(s, "SELECT namespace, key FROM mem WHERE mem MATCH 'hello' "
                          "OR key = 'k3'")) == \
        [("a", "k1"), ("a", "k2"), ("b", "k3")]


# --- upgrades -------------------------------------------------------------------

def test_an_upgrade_blocked_by_a_reader_leaves_no_transaction_open(tmp_path):
    """Opening a 0.1.0 table while another connection holds a read lock
    (rollback journal) left this connection inside the upgrade's savepoint:
    every later write sat in a transaction nobody committed, and was lost
    at close."""
    path = str(tmp_path / "old.db")
    shutil.copy(V010, path)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM mem_data").fetchall()
    conn = connect(path, timeout=0)
    try:
        assert rows(conn, "SELECT key FROM mem WHERE namespace = 'user-7'") == [("city",)]
        assert not conn.in_transaction
        reader.execute("COMMIT")
        conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('n', 'k', 'v')")
        assert not conn.in_transaction
    finally:
        conn.close()
        reader.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT key FROM mem_data WHERE namespace = 'n'").fetchall() == \
        [("k",)]
    check.close()
