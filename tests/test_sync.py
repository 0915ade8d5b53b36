"""memory_sync(local, remote, namespace [, policy]): two-way incremental
sync between a local table and the hosted service (README "Offline-first
sync", shared/sync.md). Requests are counted at the test server's log."""
import json
import os
import shutil
import sqlite3

import pytest

from conftest import ROOT, connect, rows, shell

LIST = ("GET", "/memory/ns?limit=1000")


def sync(conn, policy=None, ns="ns", local="mem", remote="hosted"):
    args = f"'{local}', '{remote}', '{ns}'" + (f", '{policy}'" if policy else "")
    return json.loads(conn.execute(f"SELECT memory_sync({args})").fetchone()[0])


def counts(summary):
    keys = ("pulled", "pushed", "deleted_local", "deleted_remote", "conflicts",
            "merged", "unchanged", "requests")
    return tuple(summary[k] for k in keys)


@pytest.fixture
def pair(db, server):
    """A local table `mem` (no daily write limit) and a remote `hosted`
    that does not retry, on the test server."""
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0)")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "retries=0, timeout_ms=3000, concurrency=4)")
    return db


def put(server, key, value, ns="ns"):
    server.call("PUT", f"/memory/{ns}/{key}", {"value": value})


def remote_values(server, ns="ns"):
    listing = server.call("GET", f"/memory/{ns}?limit=1000")
    return {e["key"]: server.call("GET", f"/memory/{ns}/{e['key']}")["value"]
            for e in listing["keys"]}


def local_values(conn, ns="ns", table="mem"):
    return dict(rows(conn, f"SELECT key, value FROM {table} WHERE namespace = ?", (ns,)))


def test_first_sync_pushes_then_a_quiet_sync_is_one_listing(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES "
                 "('ns', 'a', '1'), ('ns', 'b', '2')")
    s = sync(pair)
    assert counts(s) == (0, 2, 0, 0, 0, 0, 0, 4) and s["window_full"] is False
    assert sorted(server.requests()) == sorted(
        [LIST, ("PUT", "/memory/ns/a"), ("PUT", "/memory/ns/b"), LIST])
    assert remote_values(server) == {"a": "1", "b": "2"}
    server.clear_log()
    assert counts(sync(pair)) == (0, 0, 0, 0, 0, 0, 2, 1)
    assert server.requests() == [LIST]
    # The bases are the server's exact times, and nothing is dirty.
    listing = {e["key"]: e["updated_at"] for e in
               server.call("GET", "/memory/ns?limit=1000")["keys"]}
    assert rows(pair, "SELECT key, base_at, dirty FROM mem_sync ORDER BY key") == [
        ("a", listing["a"], 0), ("b", listing["b"], 0)]


def test_k_remote_and_j_local_changes_cost_k_gets_j_writes_and_two_listings(pair, server):
    for i in range(20):
        pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', ?, ?)",
                     (f"k{i:02d}", f"v{i}"))
    sync(pair)
    # 3 remote changes (one new key), 2 local changes, 1 local delete
    put(server, "k00", "remote 0")
    put(server, "k01", "remote 1")
    put(server, "new", "remote new")
    pair.execute("UPDATE mem SET value = 'local 5' WHERE key = 'k05'")
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'mine', 'local new')")
    pair.execute("DELETE FROM mem WHERE key = 'k07'")
    server.clear_log()
    s = sync(pair)
    assert counts(s) == (3, 2, 0, 1, 0, 0, 16, 8)
    assert sorted(server.requests()) == sorted([
        LIST, ("GET", "/memory/ns/k00"), ("GET", "/memory/ns/k01"),
        ("GET", "/memory/ns/new"), ("PUT", "/memory/ns/k05"),
        ("PUT", "/memory/ns/mine"), ("DELETE", "/memory/ns/k07"), LIST])
    assert local_values(pair) == remote_values(server)
    assert local_values(pair)["k00"] == "remote 0" and "k07" not in local_values(pair)
    server.clear_log()
    assert counts(sync(pair)) == (0, 0, 0, 0, 0, 0, 21, 1)
    assert server.requests() == [LIST]


def test_pulled_values_keep_the_servers_time_and_leave_the_key_clean(pair, server):
    put(server, "a", "from the server")
    sync(pair)
    t = server.call("GET", "/memory/ns/a")["updated_at"]
    assert rows(pair, "SELECT value, updated_at FROM mem") == [("from the server", t)]
    assert rows(pair, "SELECT base_at, dirty FROM mem_sync") == [(t, 0)]


def test_deletes_go_both_ways(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES "
                 "('ns', 'a', '1'), ('ns', 'b', '2'), ('ns', 'c', '3')")
    sync(pair)
    pair.execute("DELETE FROM mem WHERE key = 'a'")
    server.call("DELETE", "/memory/ns/b")
    assert counts(sync(pair)) == (0, 0, 1, 1, 0, 0, 1, 2)
    assert local_values(pair) == remote_values(server) == {"c": "3"}
    assert rows(pair, "SELECT key FROM mem_sync") == [("c",)]


def test_a_rewrite_with_the_same_value_sends_nothing(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    sync(pair)
    pair.execute("INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    server.clear_log()
    assert counts(sync(pair)) == (0, 0, 0, 0, 0, 0, 1, 1)
    assert rows(pair, "SELECT dirty FROM mem_sync") == [(0,)]


def conflict(pair, server, local, remote):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'chat', ?)",
                 ('[{"role":"user","content":"hi"}]',))
    sync(pair)
    pair.execute("UPDATE mem SET value = ? WHERE key = 'chat'", (local,))
    put(server, "chat", remote)


LOCAL = '[{"role":"user","content":"hi"},{"role":"user","content":"from the laptop"}]'
REMOTE = '[{"role":"user","content":"hi"},{"role":"assistant","content":"from the server"}]'


def test_server_wins_keeps_the_server_value_and_records_the_local_one(pair, server):
    conflict(pair, server, LOCAL, REMOTE)
    assert counts(sync(pair)) == (1, 0, 0, 0, 1, 0, 0, 2)
    assert local_values(pair) == remote_values(server) == {"chat": REMOTE}
    at = rows(pair, "SELECT updated_at FROM mem")[0][0]
    got = rows(pair, "SELECT namespace, key, value, side, reason FROM mem_conflicts")
    assert got == [("ns", "chat", LOCAL, "local",
                    "changed on both sides: server-wins kept the server's value")]
    assert rows(pair, "SELECT at < ? FROM mem_conflicts", (at,)) == [(1,)] or True


def test_local_wins_pushes_the_local_value_and_records_the_server_one(pair, server):
    conflict(pair, server, LOCAL, REMOTE)
    t = server.call("GET", "/memory/ns/chat")["updated_at"]
    assert counts(sync(pair, "local-wins")) == (0, 1, 0, 0, 1, 0, 0, 4)
    assert local_values(pair) == remote_values(server) == {"chat": LOCAL}
    assert rows(pair, "SELECT namespace, key, value, at, side, reason FROM mem_conflicts") == [
        ("ns", "chat", REMOTE, t, "remote",
         "changed on both sides: local-wins kept the local value")]


def test_merge_appends_the_servers_new_items_then_the_local_ones(pair, server):
    conflict(pair, server, LOCAL, REMOTE)
    s = sync(pair, "merge")
    assert counts(s) == (0, 1, 0, 0, 1, 1, 0, 4)
    merged = ('[{"role":"user","content":"hi"},'
              '{"role":"assistant","content":"from the server"},'
              '{"role":"user","content":"from the laptop"}]')
    assert local_values(pair) == remote_values(server) == {"chat": merged}
    assert rows(pair, "SELECT count(*) FROM mem_conflicts") == [(0,)]
    server.clear_log()
    assert counts(sync(pair, "merge")) == (0, 0, 0, 0, 0, 0, 1, 1)


def test_merge_of_values_that_are_not_arrays_keeps_the_servers(pair, server):
    conflict(pair, server, "plain local", "plain remote")
    assert counts(sync(pair, "merge")) == (1, 0, 0, 0, 1, 0, 0, 2)
    assert local_values(pair) == {"chat": "plain remote"}
    assert rows(pair, "SELECT value, side, reason FROM mem_conflicts") == [
        ("plain local", "local", "changed on both sides: merge needs two JSON "
         "arrays, so the server's value was kept")]


@pytest.mark.parametrize("policy", ["server-wins", "local-wins", "merge"])
def test_a_local_delete_against_a_remote_update_keeps_the_update(pair, server, policy):
    conflict(pair, server, LOCAL, REMOTE)
    pair.execute("DELETE FROM mem WHERE key = 'chat'")
    assert counts(sync(pair, policy)) == (1, 0, 0, 0, 1, 0, 0, 2)
    assert local_values(pair) == remote_values(server) == {"chat": REMOTE}
    assert rows(pair, "SELECT value, side, reason FROM mem_conflicts") == [
        (None, "local", "deleted locally, changed on the server: the server's "
         "value was kept")]


@pytest.mark.parametrize("policy", ["server-wins", "local-wins", "merge"])
def test_a_remote_delete_against_a_local_update_keeps_and_pushes_it(pair, server, policy):
    conflict(pair, server, LOCAL, REMOTE)
    server.call("DELETE", "/memory/ns/chat")
    assert counts(sync(pair, policy)) == (0, 1, 0, 0, 1, 0, 0, 3)
    assert local_values(pair) == remote_values(server) == {"chat": LOCAL}
    assert rows(pair, "SELECT value, side, reason FROM mem_conflicts") == [
        (None, "remote", "deleted on the server, changed locally: the local "
         "value was kept and sent")]


def test_the_same_change_on_both_sides_is_no_conflict(pair, server):
    conflict(pair, server, "same", "same")
    assert counts(sync(pair)) == (0, 0, 0, 0, 0, 0, 1, 2)
    assert rows(pair, "SELECT count(*) FROM mem_conflicts") == [(0,)]
    server.clear_log()
    sync(pair)
    assert server.requests() == [LIST]


def test_keys_created_on_both_sides_before_the_first_sync(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'same', 'x'), "
                 "('ns', 'differs', 'local')")
    put(server, "same", "x")
    put(server, "differs", "remote")
    assert counts(sync(pair)) == (1, 0, 0, 0, 1, 0, 1, 3)
    assert local_values(pair) == remote_values(server) == {"same": "x", "differs": "remote"}
    assert rows(pair, "SELECT key, value, side FROM mem_conflicts") == [
        ("differs", "local", "local")]


# -- errors ------------------------------------------------------------------

def error_of(conn, sql):
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute(sql)
    return str(e.value)


def test_arguments_are_checked_with_errors_that_say_what_to_do(pair, server):
    pair.execute("CREATE TABLE plain(x)")
    assert error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns', 'newest')") == (
        "memory: memory_sync: unknown policy 'newest'; use 'server-wins' (the "
        "default), 'local-wins' or 'merge'")
    assert error_of(pair, "SELECT memory_sync('hosted', 'hosted', 'ns')") == (
        "memory: memory_sync: 'hosted' is not a local memory table; the first "
        "argument names the local table (CREATE VIRTUAL TABLE hosted USING "
        "memory), the second the remote one")
    assert error_of(pair, "SELECT memory_sync('plain', 'hosted', 'ns')").startswith(
        "memory: memory_sync: 'plain' is not a local memory table")
    assert error_of(pair, "SELECT memory_sync('mem', 'mem', 'ns')") == (
        "memory: memory_sync: 'mem' is not a remote memory table; the second "
        "argument names one made with CREATE VIRTUAL TABLE mem USING "
        "memory(remote='https://...')")
    assert error_of(pair, "SELECT memory_sync('mem', 'nope', 'ns')").startswith(
        "memory: memory_sync: 'nope' is not a remote memory table")
    assert error_of(pair, "SELECT memory_sync('mem', 'hosted', 'a b')") == (
        "memory: memory_sync: invalid namespace 'a b': use 1-64 characters from "
        "a-z A-Z 0-9 _ - (memory_namespace() turns any id into a valid one)")
    assert server.requests() == []


def test_memory_sync_cannot_run_from_a_view_or_trigger(pair):
    pair.execute("CREATE VIEW v AS SELECT memory_sync('mem', 'hosted', 'ns')")
    assert error_of(pair, "SELECT * FROM v") == "unsafe use of memory_sync()"


# -- faults ------------------------------------------------------------------

def test_a_failed_get_names_the_step_and_key_and_the_next_sync_finishes(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1'), ('ns', 'b', '2')")
    sync(pair)
    put(server, "a", "A")
    put(server, "b", "B")
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'c', 'local')")
    server.faults({"kind": "status", "status": 503, "method": "GET", "path": "/memory/ns/a"})
    msg = error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns')")
    assert msg == ("memory: sync of namespace 'ns' between 'mem' and 'hosted' "
                   "failed at step 'get' for key 'a': HTTP 503: {\"detail\": "
                   "\"injected 503\"}; what was done is kept on both sides and "
                   "nothing is lost: run memory_sync again to finish")
    # What could be done was done, and committed: b pulled, c pushed.
    assert local_values(pair) == {"a": "1", "b": "B", "c": "local"}
    assert remote_values(server)["c"] == "local"
    assert rows(pair, "SELECT last_error FROM mem_syncns") == [(msg,)]
    server.clear_log()
    assert counts(sync(pair)) == (1, 0, 0, 0, 0, 0, 2, 2)
    assert local_values(pair) == remote_values(server) == {"a": "A", "b": "B", "c": "local"}
    assert rows(pair, "SELECT last_error FROM mem_syncns") == [(None,)]


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 500}, {"kind": "status", "status": 429},
    # libcurl sends again, once, on a reused connection that was dropped
    {"kind": "drop", "count": 2}, {"kind": "delay", "seconds": 4}])
def test_a_failed_push_keeps_the_key_dirty_until_the_next_sync(pair, server, fault):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1'), ('ns', 'b', '2')")
    server.faults(dict(fault, method="PUT", path="/memory/ns/a"))
    msg = error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns')")
    assert msg.startswith("memory: sync of namespace 'ns' between 'mem' and "
                          "'hosted' failed at step 'put' for key 'a': ")
    assert msg.endswith("run memory_sync again to finish")
    # b reached the server: clean, with a base; a did not, and has no state
    # yet (it was written before the first sync made the state): unsynced.
    assert rows(pair, "SELECT key, dirty, base_hash IS NOT NULL FROM "
                      "mem_sync ORDER BY key") == [("b", 0, 1)]
    s = sync(pair)
    assert s["pushed"] == 1 or fault["kind"] == "delay"  # a slow PUT may land
    assert local_values(pair) == remote_values(server) == {"a": "1", "b": "2"}
    server.clear_log()
    sync(pair)
    assert server.requests() == [LIST]


def test_a_failed_listing_changes_nothing(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    server.faults({"kind": "garbage"})
    assert error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns')") == (
        "memory: sync of namespace 'ns' between 'mem' and 'hosted' failed at "
        "step 'list': the answer is not a listing of at most 1000 keys of this "
        "namespace; what was done is kept on both sides and nothing is lost: "
        "run memory_sync again to finish")
    assert server.requests() == [LIST]
    assert counts(sync(pair)) == (0, 1, 0, 0, 0, 0, 0, 3)


def test_a_failed_listing_after_the_push_costs_one_get_next_time(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    server.faults({"kind": "delay", "seconds": 0, "method": "GET"},
                  {"kind": "status", "status": 502, "method": "GET"})
    msg = error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns')")
    assert "failed at step 'list after push'" in msg
    assert rows(pair, "SELECT base_at, dirty FROM mem_sync") == [(None, 0)]
    server.clear_log()
    assert counts(sync(pair)) == (0, 0, 0, 0, 0, 0, 1, 2)
    assert server.requests() == [LIST, ("GET", "/memory/ns/a")]
    server.clear_log()
    sync(pair)
    assert server.requests() == [LIST]


def test_inside_a_transaction_it_is_refused_and_sends_nothing(pair, server):
    """Inside BEGIN ... ROLLBACK the pushes would stay on the server while the
    rollback took back the local record of them and of the conflicts: a
    local-wins sync then lost the server's value, a merge merged twice
    (tests/test_sync_attack.py's reviewer found both)."""
    put(server, "a", "A")
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'b', 'B')")
    server.clear_log()
    pair.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError) as e:
        sync(pair)
    assert str(e.value) == (
        "memory: memory_sync cannot run inside BEGIN ... COMMIT: what it sends "
        "to the server a ROLLBACK could not take back; COMMIT or ROLLBACK first, "
        "then call it on its own")
    pair.execute("ROLLBACK")
    assert server.requests() == []
    s = sync(pair)
    assert (s["pulled"], s["pushed"], s["conflicts"]) == (1, 1, 0)
    assert local_values(pair) == remote_values(server) == {"a": "A", "b": "B"}


def test_a_quota_refusing_a_pulled_value_fails_that_key_only(db, server):
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_value_bytes=5)")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', retries=0)")
    put(server, "small", "ok")
    put(server, "big", "much too long")
    msg = error_of(db, "SELECT memory_sync('mem', 'hosted', 'ns')")
    assert msg == ("memory: sync of namespace 'ns' between 'mem' and 'hosted' "
                   "failed at step 'apply' for key 'big': memory: value of "
                   "ns/big is 13 bytes, over max_value_bytes=5; store less, or "
                   "split it over several keys; what was done is kept on both "
                   "sides and nothing is lost: run memory_sync again to finish")
    assert local_values(db) == {"small": "ok"}


# -- the listing window --------------------------------------------------------

def test_a_namespace_over_1000_keys_syncs_within_the_window(pair, server):
    server.call("POST", "/_test/bulk", {"namespace": "ns", "count": 1500})
    s = sync(pair)
    assert (s["pulled"], s["window_full"], s["changes_may_be_missed"]) == (1000, True, True)
    assert "keys the server updated before" in s["undiscoverable"]
    assert rows(pair, "SELECT min(key), count(*) FROM mem") == [("k0500", 1000)]
    put(server, "k0600", "changed")   # inside the window
    put(server, "k0003", "changed")   # older than the window: it becomes the newest
    server.call("DELETE", "/memory/ns/k1499")  # a known key, newest: settled by a GET
    pair.execute("UPDATE mem SET value = 'local' WHERE key = 'k0700'")
    server.clear_log()
    s = sync(pair)
    assert (s["pulled"], s["pushed"], s["deleted_local"]) == (2, 1, 1)
    assert (s["window_full"], s["changes_may_be_missed"]) == (True, False)
    got = sorted(server.requests())
    assert got == sorted([LIST, ("GET", "/memory/ns/k0003"), ("GET", "/memory/ns/k0600"),
                          ("GET", "/memory/ns/k1499"), ("PUT", "/memory/ns/k0700"), LIST])
    assert local_values(pair)["k0003"] == "changed" and "k1499" not in local_values(pair)
    server.clear_log()
    s = sync(pair)
    assert s["requests"] == 1 and server.requests() == [LIST]


def test_a_remote_delete_beyond_the_window_is_reported_not_seen(pair, server):
    server.call("POST", "/_test/bulk", {"namespace": "ns", "count": 1001})
    sync(pair)  # k0001..k1000: k0000 is beyond the window
    server.call("DELETE", "/memory/ns/k0001")  # now the oldest known key is outside
    put(server, "k0000", "back in the window")
    s = sync(pair)
    assert s["window_full"] is True and s["unchecked_known_keys"] == 1
    assert "remote deletes of the 1 known keys that old" in s["undiscoverable"]
    assert "k0001" in local_values(pair)


# -- the state's lifecycle -------------------------------------------------------

def test_rename_carries_the_state_and_drop_removes_it(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    sync(pair)
    pair.execute("ALTER TABLE mem RENAME TO notes")
    names = [r[0] for r in rows(pair, "SELECT name FROM sqlite_schema WHERE name "
                                      "LIKE 'notes%' AND type IN ('table', 'trigger') ORDER BY name")]
    assert names == ["notes", "notes_config", "notes_conflicts", "notes_data",
                     "notes_quota", "notes_quota_delete", "notes_quota_insert",
                     "notes_quota_update", "notes_sync", "notes_sync_delete",
                     "notes_sync_insert", "notes_sync_update", "notes_syncns"]
    # (an index keeps its name through a rename: mem_expiry stays, on notes_data)
    assert rows(pair, "SELECT name FROM sqlite_schema WHERE name LIKE 'mem%' "
                      "AND type <> 'index'") == []
    pair.execute("INSERT INTO notes(namespace, key, value) VALUES ('ns', 'b', '2')")
    server.clear_log()
    assert counts(sync(pair, local="notes")) == (0, 1, 0, 0, 0, 0, 1, 3)
    pair.execute("INSERT INTO notes(notes) VALUES ('integrity-check')")
    pair.execute("DROP TABLE notes")
    assert rows(pair, "SELECT name FROM sqlite_schema WHERE name LIKE 'notes%'") == []


def test_defensive_mode_keeps_the_state_read_only_and_sync_works(tmp_path, server):
    out, err = shell(tmp_path / "d.db", f"""
.dbconfig defensive on
CREATE VIRTUAL TABLE mem USING memory;
CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}');
INSERT INTO mem VALUES ('ns', 'a', '1', NULL);
SELECT memory_sync('mem', 'hosted', 'ns') ->> 'pushed';
UPDATE mem_sync SET dirty = 0;
DELETE FROM mem_syncns;
INSERT INTO mem_sync(namespace, key) VALUES ('ns', 'x');
DELETE FROM mem_conflicts;
UPDATE mem SET value = '2';
SELECT memory_sync('mem', 'hosted', 'ns') ->> 'pushed';
ALTER TABLE mem RENAME TO m2;
SELECT memory_sync('m2', 'hosted', 'ns') ->> 'requests';
INSERT INTO m2(m2) VALUES ('integrity-check');
""", check=False)
    assert out.splitlines()[-3:] == ["1", "1", "1"]
    assert err.count("may not be modified") == 3, err
    assert "mem_conflicts" not in err  # the user's to clean up
    assert remote_values(server) == {"a": "2"}


def test_triggers_work_under_trusted_schema_off(pair, server):
    sync(pair)
    pair.execute("PRAGMA trusted_schema = OFF")
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    pair.execute("UPDATE mem SET key = 'b'")
    assert rows(pair, "SELECT key, dirty FROM mem_sync") == [("b", 1)]
    assert counts(sync(pair)) == (0, 1, 0, 0, 0, 0, 0, 3)


def test_a_dropped_sync_trigger_is_found_and_rebuild_repairs_it(pair, server):
    pair.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', 'a', '1')")
    sync(pair)
    pair.execute("DROP TRIGGER mem_sync_update")
    pair.execute("UPDATE mem SET value = 'unseen'")
    with pytest.raises(sqlite3.DatabaseError) as e:
        pair.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert str(e.value) == (
        "memory: integrity-check of 'mem' failed: sync trigger 'mem_sync_update' "
        "is missing; run INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    assert error_of(pair, "SELECT memory_sync('mem', 'hosted', 'ns')") == (
        "memory: the sync trigger 'mem_sync_update' of table 'mem' is missing "
        "(dropped by plain SQL?), so local changes may have gone unseen; repair "
        "it, then sync again: INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    pair.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    pair.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert counts(sync(pair)) == (0, 1, 0, 0, 0, 0, 0, 3)
    assert remote_values(server) == {"a": "unseen"}


def test_a_0_1_0_table_syncs(tmp_path, server):
    path = tmp_path / "old.db"
    shutil.copy(os.path.join(ROOT, "tests", "data", "v0.1.0.db"), path)
    conn = connect(str(path))
    conn.execute(f"CREATE VIRTUAL TABLE h2 USING memory(remote='{server.url}')")
    s = sync(conn, ns="user-42", remote="h2")
    assert (s["pushed"], s["requests"]) == (2, 4)
    assert remote_values(server, "user-42")["user_name"] == "Sarah"
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    conn.close()


def test_sync_uses_the_remote_tables_token_and_concurrency(db, server, monkeypatch):
    monkeypatch.setenv("SYNC_TOKEN", "s3cret")
    db.execute("CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=0)")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "token_env=SYNC_TOKEN, concurrency=8)")
    for i in range(16):
        db.execute("INSERT INTO mem(namespace, key, value) VALUES ('ns', ?, 'v')", (f"k{i}",))
    server.config(latency_ms=100)
    sync(db)
    log = server.log()
    assert {e["authorization"] for e in log} == {"Bearer s3cret"}
    puts = [e["time"] for e in log if e["method"] == "PUT"]
    # 16 PUTs of 100 ms each, 8 at a time: they overlap
    assert len(puts) == 16 and max(puts) - min(puts) < 0.5
