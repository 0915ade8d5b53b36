"""memory_sync() attacked from outside: regressions for defects found by
review (names, races with another connection, ...). See test_sync.py for
the contract's own tests."""
import sqlite3

import pytest

from conftest import connect, rows
from test_sync import LIST, local_values, put, remote_values, sync


@pytest.mark.parametrize("name", ["confusing", '"using"', '"a using memory b"',
                                  "[fusing]", 'x /* using */'])
def test_a_local_table_whose_name_holds_using_is_found(db, server, name):
    # The module was found as the word after the first "using" anywhere in
    # the CREATE statement, the table's own name included.
    db.execute(f"CREATE VIRTUAL TABLE {name} USING memory")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    stored = rows(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                      "AND sql LIKE 'CREATE VIRTUAL TABLE%' AND name <> 'hosted'")[0][0]
    db.execute(f'INSERT INTO "{stored}"(namespace, key, value) VALUES (\'ns\', \'a\', \'1\')')
    s = db.execute("SELECT memory_sync(?, 'hosted', 'ns')", (stored,)).fetchone()[0]
    assert '"pushed":1' in s
    assert remote_values(server) == {"a": "1"}


def test_a_local_write_between_the_sync_reading_rows_and_state_is_kept(tmp_path, server):
    # The sync read the entries, then the sync state, in two read
    # transactions: another connection's write between them was seen in
    # the state (dirty, new version) but not in the value, so the key
    # looked unchanged locally and the server's value overwrote the write.
    path = str(tmp_path / "race.db")
    a, b = connect(path), connect(path)
    a.execute("PRAGMA journal_mode = WAL")  # b writes while a reads
    a.execute("CREATE VIRTUAL TABLE mem USING memory")
    a.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', retries=0)")
    a.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', 'v0')")
    sync(a)
    put(server, "a", "remote")
    written = []

    def write_from_b(sql):
        if not written and "SELECT key, base_at, base_hash" in sql:
            written.append(1)
            b.execute("UPDATE mem SET value = 'local v1' WHERE key = 'a'")
    a.set_trace_callback(write_from_b)
    sync(a)
    a.set_trace_callback(None)
    assert written == [1]
    sync(a)
    # server-wins: the server's value kept, the local write in conflicts
    assert local_values(a) == remote_values(server) == {"a": "remote"}
    assert rows(a, "SELECT key, value, side FROM mem_conflicts") == [("a", "local v1", "local")]
    a.close()
    b.close()


@pytest.fixture
def pair(db, server):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0)")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "retries=0, timeout_ms=3000, concurrency=4)")
    return db


@pytest.mark.parametrize("method,fault", [
    ("PUT", {"kind": "garbage"}),
    ("PUT", {"kind": "body", "body": '{"namespace": "ns", "key": "other", "stored": true, "bytes": 1}'}),
    ("DELETE", {"kind": "garbage"}),
    ("DELETE", {"kind": "body", "body": '{"detail": "ok"}'})])
def test_a_write_answered_200_with_something_else_is_not_taken_as_stored(pair, server, method, fault):
    # A 200 that is not the API's answer (a proxy's page, a lie) was taken
    # as stored: the key was marked clean, and the listing after the push,
    # showing the server's old value of the same length, made it the base,
    # so both sides stayed different for good.
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    sync(pair)
    if method == "PUT":
        pair.execute("UPDATE mem SET value = '2'")
    else:
        pair.execute("DELETE FROM mem")
    server.faults(dict(fault, method=method, path="/memory/ns/a"))
    with pytest.raises(sqlite3.OperationalError) as e:
        sync(pair)
    assert str(e.value) == (
        "memory: sync of namespace 'ns' between 'mem' and 'hosted' failed at step "
        f"'{method.lower() if method == 'PUT' else 'delete'}' for key 'a': the "
        "answer is not the API's answer for this entry: HTTP 200: " +
        ("<html>this is not JSON</html>" if fault["kind"] == "garbage" else fault["body"]) +
        "; what was done is kept on both sides and nothing is lost: run "
        "memory_sync again to finish")
    sync(pair)
    assert local_values(pair) == remote_values(server) == ({"a": "2"} if method == "PUT" else {})
    server.clear_log()
    sync(pair)
    assert server.requests() == [LIST]
