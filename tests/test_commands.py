"""The command column: settings changed in place, integrity-check, rebuild
(interface.md, "Changing a table")."""
import sqlite3

import pytest

from conftest import connect, rows


@pytest.fixture
def two(tmp_path):
    """Two connections to one file holding a local table `mem`."""
    path = str(tmp_path / "mem.db")
    a = connect(path)
    a.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=3, "
              "max_namespace_bytes=100)")
    b = connect(path)
    yield a, b
    a.close()
    b.close()


def settings(conn):
    return dict(rows(conn, "SELECT name, value FROM mem_config "
                           "WHERE name LIKE 'max_%'"))


def test_a_raised_limit_holds_at_once_in_every_connection(two):
    a, b = two
    b.execute("SELECT count(*) FROM mem").fetchall()  # b has the table open
    for i in range(3):
        a.execute("INSERT INTO mem VALUES ('n', ?, 'v', NULL)", (f"k{i}",))
    with pytest.raises(sqlite3.IntegrityError):
        b.execute("INSERT INTO mem VALUES ('n', 'k3', 'v', NULL)")
    a.execute("INSERT INTO mem(mem, value) VALUES ('max_writes_per_day', 0)")
    assert settings(a)["max_writes_per_day"] == 0
    b.execute("INSERT INTO mem VALUES ('n', 'k3', 'v', NULL)")  # b, not reopened
    assert rows(b, "SELECT count(*) FROM mem") == [(4,)]
    assert rows(b, "SELECT max_writes_per_day FROM mem_usage") == [(0,)]


def test_max_value_bytes_changes_for_other_connections_too(two):
    a, b = two
    b.execute("INSERT INTO mem VALUES ('n', 'k', '12345', NULL)")
    a.execute("INSERT INTO mem(mem, value) VALUES ('max_value_bytes', '4')")
    with pytest.raises(sqlite3.OperationalError) as e:
        b.execute("INSERT INTO mem VALUES ('n', 'k2', '12345', NULL)")
    assert "over max_value_bytes=4" in str(e.value)


def test_a_lowered_limit_deletes_nothing_and_refuses_only_growth(two):
    a, _ = two
    a.execute("INSERT INTO mem VALUES ('n', 'k', ?, NULL)", ("x" * 80,))
    a.execute("INSERT INTO mem(mem, value) VALUES ('max_namespace_bytes', 50)")
    assert rows(a, "SELECT length(value) FROM mem") == [(80,)]
    with pytest.raises(sqlite3.IntegrityError) as e:
        a.execute("INSERT INTO mem VALUES ('n', 'k2', 'y', NULL)")
    assert "quota max_namespace_bytes exceeded for namespace 'n': at most 50" in str(e.value)
    a.execute("UPDATE mem SET value = ? WHERE key = 'k'", ("x" * 60,))  # shrinks
    assert rows(a, "SELECT length(value) FROM mem") == [(60,)]


@pytest.mark.parametrize("name,value,message", [
    ("max_writes_per_day", -1, "memory: max_writes_per_day must be a whole number "
                               "from 0 to 1125899906842624, not '-1'; nothing was changed"),
    ("max_writes_per_day", 1.5, "memory: max_writes_per_day must be a whole number "
                                "from 0 to 1125899906842624, not '1.5'; nothing was changed"),
    ("max_writes_per_day", "10abc", "memory: max_writes_per_day must be a whole number "
                                    "from 0 to 1125899906842624, not '10abc'; nothing was changed"),
    ("max_writes_per_day", None, "memory: max_writes_per_day must be a whole number "
                                 "from 0 to 1125899906842624, not NULL; nothing was changed"),
    ("timeout_ms", 5, "memory: timeout_ms applies to remote tables only; 'mem' is local"),
    ("remote", "http://127.0.0.1:1", "memory: remote cannot be changed on an existing "
     "table; create another table and copy the entries (INSERT INTO new SELECT * FROM old)"),
    ("vacuum", None, "memory: unknown command or setting 'vacuum' for local table 'mem'; "
     "commands: integrity-check, rebuild, sweep; settings: max_value_bytes, "
     "max_namespace_bytes, max_writes_per_day, search, ttl_seconds, history, "
     "history_days"),
])
def test_bad_commands_say_what_is_wrong_and_change_nothing(two, name, value, message):
    a, _ = two
    before = rows(a, "SELECT name, value FROM mem_config ORDER BY name")
    with pytest.raises(sqlite3.OperationalError) as e:
        a.execute("INSERT INTO mem(mem, value) VALUES (?, ?)", (name, value))
    assert str(e.value) == message
    assert rows(a, "SELECT name, value FROM mem_config ORDER BY name") == before


def test_a_command_rolls_back_with_its_transaction(two):
    a, b = two
    a.execute("BEGIN")
    a.execute("INSERT INTO mem(mem, value) VALUES ('max_writes_per_day', 7)")
    assert settings(a)["max_writes_per_day"] == 7
    a.execute("ROLLBACK")
    assert settings(a)["max_writes_per_day"] == 3
    assert rows(a, "SELECT max_writes_per_day FROM mem_usage") == []
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    assert rows(b, "SELECT max_writes_per_day FROM mem_usage") == [(3,)]


def test_updating_the_command_column_is_refused(two):
    a, _ = two
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    with pytest.raises(sqlite3.OperationalError) as e:
        a.execute("UPDATE mem SET mem = 'rebuild'")
    assert str(e.value) == ("memory: commands are INSERTed, not UPDATEd: "
                            "INSERT INTO mem(mem, value) VALUES ('<command>', <value>)")


def test_the_command_column_reads_null_and_is_hidden(two):
    a, _ = two
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    assert rows(a, "SELECT mem FROM mem") == [(None,)]
    assert rows(a, "SELECT * FROM mem")[0][:3] == ("n", "k", "v")
    assert len(rows(a, "SELECT * FROM mem")[0]) == 4


def test_integrity_check_passes_then_names_what_differs_and_rebuild_repairs(two):
    a, _ = two
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'abc', NULL)")
    a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    a.execute("UPDATE mem_quota SET bytes = 99")  # not defensive: plain SQL can
    with pytest.raises(sqlite3.DatabaseError) as e:
        a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert str(e.value) == (
        "memory: integrity-check of 'mem' failed: namespace 'n': the running "
        "totals say 1 keys and 99 bytes, the rows hold 1 keys and 3 bytes; run "
        "INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    a.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert rows(a, "SELECT keys, bytes FROM mem_usage") == [(1, 3)]


def test_integrity_check_reports_a_dropped_trigger_and_rebuild_restores_it(two):
    a, _ = two
    a.execute("DROP TRIGGER mem_quota_insert")
    with pytest.raises(sqlite3.DatabaseError) as e:
        a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert "trigger 'mem_quota_insert' is missing" in str(e.value)
    a.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_rebuild_counts_namespaces_whose_rows_are_gone_as_empty(two):
    a, _ = two
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'abc', NULL)")
    a.execute("DELETE FROM mem_data")  # behind the triggers' back? no: they fire
    a.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    a.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    assert rows(a, "SELECT keys, bytes FROM mem_usage") == [(0, 0)]


def test_remote_settings_change_in_place(db, server):
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "retries=0)")
    db.execute("INSERT INTO hosted(hosted, value) VALUES ('retries', 2)")
    assert rows(db, "SELECT value FROM hosted_config WHERE name = 'retries'") == [(2,)]
    server.faults({"kind": "status", "status": 503, "count": 2, "method": "PUT"})
    db.execute("INSERT INTO hosted VALUES ('n', 'k', 'v', NULL)")  # retried twice
    assert rows(db, "SELECT value FROM hosted WHERE namespace = 'n' AND key = 'k'") == [("v",)]
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO hosted(hosted, value) VALUES ('max_writes_per_day', 5)")
    assert str(e.value) == ("memory: max_writes_per_day applies to local tables "
                            "only; 'hosted' is remote")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO hosted(hosted) VALUES ('integrity-check')")
    assert str(e.value).startswith("memory: unknown command or setting "
                                   "'integrity-check' for remote table 'hosted'")


def test_a_limit_of_one_write_is_said_in_the_singular(two):
    a, _ = two
    a.execute("INSERT INTO mem(mem, value) VALUES ('max_writes_per_day', 1)")
    a.execute("INSERT INTO mem VALUES ('n', 'k', 'v', NULL)")
    with pytest.raises(sqlite3.IntegrityError) as e:
        a.execute("INSERT INTO mem VALUES ('n', 'k2', 'v', NULL)")
    assert "at most 1 write per UTC day" in str(e.value)


def test_another_connection_picks_up_a_remote_setting(tmp_path, server):
    path = str(tmp_path / "r.db")
    a = connect(path)
    a.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
              "retries=0)")
    b = connect(path)
    assert rows(b, "SELECT count(*) FROM hosted WHERE namespace = 'n'") == [(0,)]
    a.execute("INSERT INTO hosted(hosted, value) VALUES ('retries', 2)")
    server.faults({"kind": "status", "status": 503, "count": 2, "method": "PUT"})
    b.execute("INSERT INTO hosted VALUES ('n', 'k', 'v', NULL)")  # b retries twice
    assert rows(b, "SELECT value FROM hosted WHERE namespace = 'n'") == [("v",)]


def test_token_env_changes_in_place_and_needs_its_variable(db, server, monkeypatch):
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO hosted(hosted, value) VALUES ('token_env', "
                   "'MEMORY_TEST_UNSET_VAR')")
    assert str(e.value) == (
        "memory: environment variable MEMORY_TEST_UNSET_VAR (token_env of table "
        "'hosted') is not set; set it to the token before opening the table")
    assert rows(db, "SELECT count(*) FROM hosted_config WHERE name = 'token_env'") == [(0,)]
    monkeypatch.setenv("MEMORY_TEST_TOKEN_CMD", "s3cret")
    db.execute("INSERT INTO hosted(hosted, value) VALUES ('token_env', "
               "'MEMORY_TEST_TOKEN_CMD')")
    server.clear_log()
    db.execute("INSERT INTO hosted VALUES ('n', 'k', 'v', NULL)")  # GET, then PUT
    assert [(e["method"], e["authorization"]) for e in server.log()] == [
        ("GET", "Bearer s3cret"), ("PUT", "Bearer s3cret")]
