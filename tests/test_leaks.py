"""A scenario through every backend path in the sqlite3 shell under
valgrind: any invalid access or definite leak fails the test.

Valgrind checks the plain build (dist/memory.so), whichever build the rest
of the suite is testing: it cannot run under the ASan runtime."""
import os
import subprocess

from conftest import ROOT

PLAIN_EXT = os.path.join(ROOT, "dist", "memory")

SCENARIO = """
.load {ext}
CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=50, max_namespace_bytes=200);
INSERT INTO mem(namespace, key, value) VALUES ('a', 'k1', 'one'), ('a', 'k2', 2), ('b', 'k1', 1.5);
INSERT INTO mem(namespace, key, value) VALUES ('a', 'k1', 'dup');
INSERT OR IGNORE INTO mem(namespace, key, value) VALUES ('a', 'k1', 'dup');
INSERT OR REPLACE INTO mem(namespace, key, value) VALUES ('a', 'k1', 'uno');
INSERT INTO mem(namespace, key, value) VALUES ('a', 'big', printf('%.300c', 'x'));
INSERT INTO mem(namespace, key, value) VALUES ('bad ns', 'k', 'v');
UPDATE mem SET key = 'k3' WHERE namespace = 'a' AND key = 'k2';
UPDATE OR REPLACE mem SET namespace = 'b' WHERE namespace = 'a' AND key = 'k1';
SELECT * FROM mem WHERE namespace IN ('a', 'b') AND key GLOB 'k*' ORDER BY namespace, key LIMIT 5 OFFSET 0;
SELECT * FROM mem WHERE namespace LIKE 'A%' AND updated_at > 0;
SELECT m1.key FROM mem m1, mem m2 WHERE m1.key = m2.key;
SELECT * FROM mem_usage;
BEGIN; DELETE FROM mem WHERE namespace = 'b'; ROLLBACK;
INSERT INTO mem(mem, value) VALUES ('history', 'on');
INSERT INTO mem(mem, value) VALUES ('search', 'on');
INSERT INTO mem(namespace, key, value, expires_at) VALUES ('a', 'gone', 'refund', 1);
UPDATE mem SET value = 'refund two', expires_at = NULL WHERE namespace = 'b' AND key = 'k1';
SELECT key FROM mem WHERE mem MATCH 'refund';
SELECT key, value FROM mem WHERE namespace = 'b' AND as_of = 2e9;
SELECT * FROM mem WHERE as_of > 1;
INSERT INTO mem(mem) VALUES ('sweep');
INSERT INTO mem(mem) VALUES ('integrity-check');
SELECT count(*) FROM mem_history;
ALTER TABLE mem RENAME TO mem2;
CREATE VIRTUAL TABLE mem USING memory(ttl_seconds=5);
DROP TABLE mem;
DROP TABLE mem2;
CREATE VIRTUAL TABLE hosted USING memory(remote='{url}', token_env=MEMORY_TEST_TOKEN, retries=1, timeout_ms=3000);
INSERT OR REPLACE INTO hosted(namespace, key, value) VALUES ('a', 'k1', 'one'), ('a', 'k2', 'two');
INSERT INTO hosted(namespace, key, value) VALUES ('a', 'k1', 'dup');
BEGIN; INSERT OR REPLACE INTO hosted VALUES ('a', 'k9', 'x', NULL); ROLLBACK;
SELECT key, value, created_at > 0 FROM hosted WHERE namespace IN ('a', 'b');
SELECT key FROM hosted WHERE namespace = 'a' ORDER BY updated_at DESC LIMIT 1;
SELECT value FROM hosted WHERE namespace = 'a' AND key IN ('k1', 'nope');
UPDATE hosted SET key = 'k3' WHERE namespace = 'a' AND key = 'k2';
DELETE FROM hosted WHERE namespace = 'a' AND key = 'k3';
SELECT * FROM hosted;
SELECT memory_namespace('x@y'), memory_key('a/b'), memory_version();
DROP TABLE hosted;
"""


def test_no_leaks_or_invalid_accesses(tmp_path, server):
    server.faults({"kind": "status", "status": 503, "method": "PUT", "count": 1},
                  {"kind": "garbage", "method": "GET", "path": "/memory/b"})
    script = SCENARIO.format(ext=PLAIN_EXT, url=server.url)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    env["MEMORY_TEST_TOKEN"] = "t"
    proc = subprocess.run(
        ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
         "--error-exitcode=99", "--quiet", "sqlite3", str(tmp_path / "v.db")],
        input=script, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode != 99, proc.stderr
    # The scenario ran to its end: the last SELECT printed its row.
    assert "x__40y" in proc.stdout and "0.2.0" in proc.stdout, proc.stdout + proc.stderr
    assert "definitely lost" not in proc.stderr, proc.stderr


def test_opening_a_0_1_0_table_upgrades_it_without_invalid_accesses(tmp_path):
    """The upgrade to format 3 adds a column; run on the connection that
    opens the table, inside SQLite's prepare, it freed the table SQLite was
    connecting (a use-after-free, then a crash at close)."""
    import shutil
    path = tmp_path / "old.db"
    shutil.copy(os.path.join(ROOT, "tests", "data", "v0.1.0.db"), path)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    proc = subprocess.run(
        ["valgrind", "--error-exitcode=99", "--quiet", "sqlite3", str(path)],
        input=f".load {PLAIN_EXT}\nPRAGMA table_info(capped);\n"
              "SELECT key FROM mem WHERE namespace = 'user-7';\n"
              "SELECT value FROM mem_config WHERE name = 'format';\n",
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["city", "3"], proc.stdout
