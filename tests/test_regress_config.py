"""Regression tests: stored settings are validated as at CREATE (review #9),
tokens come from an environment variable and are never stored (#21),
memory_namespace()/memory_key() are injective where the id fits and use
SHA-256 where they must hash (#23), and max_value_bytes is capped at what a
local table can store (#8)."""
import base64
import hashlib
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXT, connect, rows

DEAD_URL = "http://127.0.0.1:1"


def reopen(conn, path):
    conn.close()
    return connect(path)


# ---------------------------------------------------------------------------
# #9: settings read back from <t>_config are validated exactly as at CREATE.

def remote_table(path, url=DEAD_URL, extra=""):
    conn = connect(path)
    conn.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{url}'"
                 f"{extra})")
    return conn


def stored_error(table, problem, hint):
    return (f"memory: table '{table}' has an invalid setting in "
            f"{table}_config: {problem}; {hint}")


@pytest.mark.parametrize("name,sql_value,problem,default", [
    ("concurrency", "0", "concurrency must be a whole number from 1 to 256, "
     "not '0'", 16),
    ("concurrency", "1.5", "concurrency must be a whole number from 1 to 256, "
     "not '1.5'", 16),
    ("concurrency", "x'3136'", "concurrency must be a whole number from 1 to "
     "256, not a BLOB", 16),
    ("concurrency", "NULL", "concurrency must be a whole number from 1 to 256, "
     "not NULL", 16),
    ("timeout_ms", "0", "timeout_ms must be a whole number from 1 to 3600000, "
     "not '0'", 10000),
    ("retries", "'10abc'", "retries must be a whole number from 0 to 20, "
     "not '10abc'", 3),
    ("retries", "-1", "retries must be a whole number from 0 to 20, not '-1'",
     3),
    ("max_value_bytes", "'1e3'", "max_value_bytes must be a whole number from "
     "1 to 100000000, not '1e3'", 100000),
])
def test_invalid_stored_remote_setting_is_refused(tmp_path, server, name,
                                                  sql_value, problem, default):
    path = str(tmp_path / "r.db")
    conn = remote_table(path, server.url)
    conn.execute(f"UPDATE hosted_config SET value = {sql_value} "
                 f"WHERE name = '{name}'")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == stored_error(
        "hosted", problem,
        f"correct that row, or delete it to use the default ({default})")
    assert server.requests() == []
    # What the message says to do works.
    conn.execute(f"DELETE FROM hosted_config WHERE name = '{name}'")
    conn = reopen(conn, path)
    assert rows(conn, "SELECT * FROM hosted WHERE namespace = 'a'") == []
    conn.close()


@pytest.mark.parametrize("name,sql_value,problem,default", [
    ("max_value_bytes", "0", "max_value_bytes must be a whole number from 1 "
     "to 100000000, not '0'", 100000),
    ("max_namespace_bytes", "'10abc'", "max_namespace_bytes must be a whole "
     "number from 0 to 1125899906842624, not '10abc'", 52428800),
    ("max_writes_per_day", "-5", "max_writes_per_day must be a whole number "
     "from 0 to 1125899906842624, not '-5'", 1000),
    ("max_writes_per_day", "x''", "max_writes_per_day must be a whole number "
     "from 0 to 1125899906842624, not a BLOB", 1000),
])
def test_invalid_stored_local_setting_is_refused(tmp_path, name, sql_value,
                                                 problem, default):
    path = str(tmp_path / "l.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute(f"UPDATE mem_config SET value = {sql_value} "
                 f"WHERE name = '{name}'")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("INSERT INTO mem VALUES ('a', 'k', 'v', NULL)")
    assert str(e.value) == stored_error(
        "mem", problem,
        f"correct that row, or delete it to use the default ({default})")
    conn.execute(f"DELETE FROM mem_config WHERE name = '{name}'")
    conn = reopen(conn, path)
    conn.execute("INSERT INTO mem VALUES ('a', 'k', 'v', NULL)")
    assert rows(conn, "SELECT namespace, key, value FROM mem") == [
        ("a", "k", "v")]
    conn.close()


def test_stored_concurrency_zero_neither_hangs_nor_crashes(tmp_path):
    # It used to hang in the HTTP loop (and divide by zero elsewhere): run
    # it in a child with a time limit so a regression fails, not blocks.
    path = str(tmp_path / "r.db")
    conn = remote_table(path, extra=", timeout_ms=500, retries=0")
    conn.execute("UPDATE hosted_config SET value = 0 WHERE name = 'concurrency'")
    conn.close()
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[2], isolation_level=None)\n"
        "c.enable_load_extension(True); c.load_extension(sys.argv[1])\n"
        "try:\n"
        "    c.execute(\"INSERT INTO hosted VALUES ('a', 'k', 'v', NULL)\")\n"
        "    print('stored')\n"
        "except sqlite3.Error as e:\n"
        "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", script, EXT, path],
                         capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, stored_error(
        "hosted", "concurrency must be a whole number from 1 to 256, not '0'",
        "correct that row, or delete it to use the default (16)") + "\n")


@pytest.mark.parametrize("url,problem", [
    ("ftp://x", "remote URL 'ftp://x' must start with http:// or https://"),
    ("http://127.0.0.1:1/\r\nX-Evil: 1", "remote URL must not contain "
     "spaces, control characters, '?', '#', '\\', '\"', '<' or '>'; give a "
     "plain base URL such as http://127.0.0.1:8000"),
])
def test_invalid_stored_url_is_refused(tmp_path, url, problem):
    path = str(tmp_path / "r.db")
    conn = remote_table(path)
    conn.execute("UPDATE hosted_config SET value = ? WHERE name = 'remote'",
                 (url,))
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == stored_error("hosted", problem, "correct that row")
    conn.close()


def test_stored_remote_without_url_is_refused(tmp_path):
    path = str(tmp_path / "r.db")
    conn = remote_table(path)
    conn.execute("DELETE FROM hosted_config WHERE name = 'remote'")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == (
        "memory: table 'hosted' has no 'remote' row in hosted_config: its "
        "settings are damaged; insert the server's base URL: INSERT INTO "
        "\"hosted_config\" VALUES ('remote', 'https://...')")
    conn.close()


def test_unknown_stored_setting_is_refused(tmp_path):
    path = str(tmp_path / "l.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute("INSERT INTO mem_config VALUES ('colour', 'blue')")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM mem")
    assert str(e.value) == (
        "memory: table 'mem' has an unknown setting 'colour' in mem_config; "
        "a newer version of the extension may have written it: upgrade, or "
        "delete that row")
    conn.close()


@pytest.mark.parametrize("edit,message", [
    ("DELETE FROM mem_config WHERE name = 'mode'",
     "memory: table 'mem' has no 'mode' row in mem_config: its settings are "
     "damaged; insert it: INSERT INTO \"mem_config\" VALUES ('mode', 'local') "
     "(or 'remote')"),
    ("UPDATE mem_config SET value = 'cloud' WHERE name = 'mode'",
     stored_error("mem", "mode must be 'local' or 'remote', not 'cloud'",
                  "correct that row")),
    ("INSERT INTO mem_config VALUES ('concurrency', 4)",
     stored_error("mem", "concurrency applies to remote tables only",
                  "delete that row")),
    ("INSERT INTO mem_config VALUES ('remote', 'http://127.0.0.1:1')",
     stored_error("mem", "remote applies to remote tables only",
                  "delete that row")),
])
def test_inconsistent_stored_mode_is_refused(tmp_path, edit, message):
    path = str(tmp_path / "l.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute(edit)
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM mem")
    assert str(e.value) == message
    conn.close()


def test_stored_local_limit_on_remote_table_is_refused(tmp_path):
    path = str(tmp_path / "r.db")
    conn = remote_table(path)
    conn.execute("INSERT INTO hosted_config VALUES ('max_writes_per_day', 5)")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == stored_error(
        "hosted", "max_writes_per_day applies to local tables only",
        "delete that row")
    conn.close()


def test_missing_stored_setting_takes_its_default(tmp_path, server):
    # Settings added by later versions are absent from older files.
    path = str(tmp_path / "r.db")
    conn = remote_table(path, server.url, ", retries=1")
    conn.execute("DELETE FROM hosted_config WHERE name = 'retries'")
    conn = reopen(conn, path)
    server.faults({"kind": "status", "status": 503, "count": 3})
    # Default retries=3: three 503s, then the answer.
    assert rows(conn, "SELECT * FROM hosted WHERE namespace = 'a'") == []
    assert len(server.requests()) == 4
    conn.close()


def test_shrinking_write_over_lowered_namespace_limit_is_allowed(tmp_path):
    path = str(tmp_path / "l.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=1000)")
    conn.execute("INSERT INTO mem VALUES ('n', 'k', ?, NULL)", ("x" * 800,))
    conn.execute("UPDATE mem_config SET value = 100 "
                 "WHERE name = 'max_namespace_bytes'")
    conn = reopen(conn, path)
    conn.execute("ALTER TABLE mem RENAME TO mem2")  # rebuilds the triggers
    conn.execute("INSERT OR REPLACE INTO mem2 VALUES ('n', 'k', ?, NULL)",
                 ("x" * 700,))
    conn.execute("UPDATE mem2 SET value = ? WHERE key = 'k'", ("x" * 600,))
    with pytest.raises(sqlite3.IntegrityError) as e:
        conn.execute("UPDATE mem2 SET value = ? WHERE key = 'k'", ("x" * 601,))
    assert str(e.value).startswith("memory: quota max_namespace_bytes exceeded "
                                   "for namespace 'n': at most 100 bytes")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO mem2 VALUES ('n', 'k2', 'v', NULL)")
    assert rows(conn, "SELECT namespace, keys, bytes FROM mem2_usage") == [
        ("n", 1, 600)]
    conn.close()


# ---------------------------------------------------------------------------
# #21: token_env names an environment variable; no token is ever stored.

TOKEN_VAR = "MEMORY_TEST_TOKEN"


@pytest.mark.parametrize("args", [
    "remote='http://127.0.0.1:1', token='s3cret'",
    "token='s3cret'",
    "remote='http://127.0.0.1:1', token",
])
def test_literal_token_is_refused(db, args):
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(f"CREATE VIRTUAL TABLE hosted USING memory({args})")
    assert str(e.value) == (
        "memory: token= is not accepted: a token written into CREATE VIRTUAL "
        "TABLE is stored in plain text in the database file; put it in an "
        "environment variable and name that with token_env='VARIABLE'")
    assert rows(db, "SELECT name FROM sqlite_schema") == []


def test_token_env_is_sent_and_never_stored(tmp_path, server, monkeypatch):
    path = str(tmp_path / "r.db")
    monkeypatch.setenv(TOKEN_VAR, "s3cret-token")
    conn = remote_table(path, server.url, f", token_env={TOKEN_VAR}")
    rows(conn, "SELECT * FROM hosted WHERE namespace = 'a'")
    assert [e["authorization"] for e in server.log()] == ["Bearer s3cret-token"]
    assert rows(conn, "SELECT name, value FROM hosted_config "
                      "WHERE name LIKE 'token%'") == [("token_env", TOKEN_VAR)]
    conn.close()
    with open(path, "rb") as f:
        assert b"s3cret-token" not in f.read()
    # Read again at every open: a rotated token is used at once.
    monkeypatch.setenv(TOKEN_VAR, "rotated")
    server.clear_log()
    conn = connect(path)
    rows(conn, "SELECT * FROM hosted WHERE namespace = 'a'")
    assert [e["authorization"] for e in server.log()] == ["Bearer rotated"]
    conn.close()


def test_no_token_env_sends_no_authorization(hosted, server):
    rows(hosted, "SELECT * FROM hosted WHERE namespace = 'a'")
    assert [e["authorization"] for e in server.log()] == [None]


@pytest.mark.parametrize("value,problem", [
    (None, "is not set"),
    ("", "is empty"),
    ("a\r\nX-Evil: 1", "holds control characters (CR, LF, tab ...)"),
    ("tab\there", "holds control characters (CR, LF, tab ...)"),
])
def test_token_env_must_hold_a_token(tmp_path, server, monkeypatch, value,
                                     problem):
    path = str(tmp_path / "r.db")
    monkeypatch.setenv(TOKEN_VAR, "good")
    conn = remote_table(path, server.url, f", token_env='{TOKEN_VAR}'")
    conn.close()
    if value is None:
        monkeypatch.delenv(TOKEN_VAR)
    else:
        monkeypatch.setenv(TOKEN_VAR, value)
    message = (f"memory: environment variable {TOKEN_VAR} (token_env of table "
               f"'hosted') {problem}; set it to the token before opening the "
               "table")
    conn = connect(path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == message
    conn.close()
    # The same check at CREATE.
    conn = connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute(f"CREATE VIRTUAL TABLE hosted USING memory("
                     f"remote='{server.url}', token_env={TOKEN_VAR})")
    assert str(e.value) == message
    assert server.requests() == []


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "", "$HOME",
                                  "sk-live-123", "A" * 256])
def test_token_env_must_be_a_variable_name(db, name):
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("CREATE VIRTUAL TABLE hosted USING memory("
                   f"remote='http://127.0.0.1:1', token_env='{name}')")
    assert str(e.value) == (
        "memory: token_env must be the name of an environment variable "
        "(1-255 of A-Z a-z 0-9 _, not starting with a digit) that holds the "
        "token, not the token itself")


def test_token_env_is_remote_only(db):
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(f"CREATE VIRTUAL TABLE mem USING memory(token_env={TOKEN_VAR})")
    assert str(e.value) == ("memory: token_env applies to remote tables only; "
                            "add remote='<url>'")


def test_stored_token_from_an_older_version_is_refused(tmp_path, server):
    path = str(tmp_path / "r.db")
    conn = remote_table(path, server.url)
    conn.execute("INSERT INTO hosted_config VALUES ('token', 'abc\r\nX-Evil: 1')")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == (
        "memory: table 'hosted' keeps a token in plain text in hosted_config "
        "(an older version stored it there and in its CREATE statement); "
        "tokens now come from an environment variable: run DELETE FROM "
        "\"hosted_config\" WHERE name = 'token', then DROP TABLE and create "
        "the table again with token_env='VARIABLE'")
    assert server.requests() == []
    # Following the message: the table opens without a token and drops.
    conn.execute("DELETE FROM \"hosted_config\" WHERE name = 'token'")
    conn = reopen(conn, path)
    rows(conn, "SELECT * FROM hosted WHERE namespace = 'a'")
    assert [e["authorization"] for e in server.log()] == [None]
    conn.execute("DROP TABLE hosted")
    conn.close()


def test_invalid_stored_token_env_is_refused(tmp_path):
    path = str(tmp_path / "r.db")
    conn = remote_table(path)
    conn.execute("INSERT INTO hosted_config VALUES ('token_env', 'a\nb')")
    conn = reopen(conn, path)
    with pytest.raises(sqlite3.OperationalError) as e:
        conn.execute("SELECT * FROM hosted WHERE namespace = 'a'")
    assert str(e.value) == stored_error(
        "hosted", "token_env must be the name of an environment variable "
        "(1-255 of A-Z a-z 0-9 _, not starting with a digit) that holds the "
        "token, not the token itself", "correct that row")
    conn.close()


# ---------------------------------------------------------------------------
# #23: memory_namespace()/memory_key(): injective escaping, SHA-256 beyond.

NS_MAX, KEY_MAX = 64, 128
B32 = 26  # base32 characters of SHA-256: 130 bits


def reference(ident, n_max, allow_dot):
    """The scheme documented in ext/memory_names.c, written independently."""
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
    if allow_dot:
        keep.add(ord("."))
    data = ident.encode("utf-8")
    units = []
    for i, c in enumerate(data):
        nxt = data[i + 1] if i + 1 < len(data) else None
        if c in keep:
            units.append(chr(c))
        elif c == ord("_") and nxt is not None and nxt in keep:
            units.append("_")
        else:
            units.append("__%02x" % c)
    out = "".join(units)
    if 1 <= len(out) <= n_max:
        return out
    budget, prefix = n_max - 3 - B32, ""
    for u in units:
        if len(prefix) + len(u) > budget:
            break
        prefix += u
    if prefix.endswith("_"):  # only a literal '_' ends with '_'
        prefix = prefix[:-1]
    digest = base64.b32encode(hashlib.sha256(data).digest()).decode().lower()
    return prefix + "__h" + digest[:B32]


def decode(name):
    """Inverse of the escaped form: every id whose form fits comes back."""
    out, i = bytearray(), 0
    while i < len(name):
        if name[i] != "_":
            out.append(ord(name[i]))
            i += 1
        elif name[i + 1] != "_":
            out.append(ord("_"))
            i += 1
        else:
            out.append(int(name[i + 2:i + 4], 16))
            assert name[i + 2:i + 4] == name[i + 2:i + 4].lower()
            i += 4
    return out.decode("utf-8")


def sha(ident):
    return base64.b32encode(hashlib.sha256(ident.encode()).digest()).decode() \
        .lower()[:B32]


EXAMPLES = [
    # id, memory_namespace(id), memory_key(id)
    ("user-42", "user-42", "user-42"),
    ("user_name", "user_name", "user_name"),
    ("sarah@example.com", "sarah__40example__2ecom", "sarah__40example.com"),
    ("sarah_example_com-c80b71e75f75", "sarah_example_com-c80b71e75f75",
     "sarah_example_com-c80b71e75f75"),
    ("first.last+tag@mail.example.org",
     "first__2elast__2btag__40mail__2eexample__2eorg",
     "first.last__2btag__40mail.example.org"),
    ("550e8400.e29b.41d4.a716.446655440000",
     "550e8400__2ee29b__2e41d4__2ea716__2e446655440000",
     "550e8400.e29b.41d4.a716.446655440000"),
    ("a_", "a__5f", "a__5f"),
    ("__init__", "__5f_init__5f__5f", "__5f_init__5f__5f"),
    ("a__5f", "a__5f_5f", "a__5f_5f"),
    ("x__hy", "x__5f_hy", "x__5f_hy"),
    ("Zoë", "Zo__c3__ab", "Zo__c3__ab"),
    ("a\x00b", "a__00b", "a__00b"),
    ("", "__h" + sha(""), "__h" + sha("")),
    ("x" * 200, "x" * 35 + "__h" + sha("x" * 200),
     "x" * 99 + "__h" + sha("x" * 200)),
    ("x" * 64, "x" * 64, "x" * 64),
    ("x" * 65, "x" * 35 + "__h" + sha("x" * 65), "x" * 65),
    ("é" * 20, "__c3__a9" * 4 + "__h" + sha("é" * 20),
     "__c3__a9" * 12 + "__h" + sha("é" * 20)),
    ("ab_" + "@" * 40, "ab__5f" + "__40" * 7 + "__h" + sha("ab_" + "@" * 40),
     "ab__5f" + "__40" * 23 + "__h" + sha("ab_" + "@" * 40)),
    # The cut falls after a literal '_': it is dropped, not left before __h.
    ("a" * 34 + "_b" + "@" * 10, "a" * 34 + "__h" + sha("a" * 34 + "_b" + "@" * 10),
     "a" * 34 + "_b" + "__40" * 10),
]


@pytest.mark.parametrize("ident,ns,key", EXAMPLES)
def test_mapping_examples(db, ident, ns, key):
    assert rows(db, "SELECT memory_namespace(?), memory_key(?)",
                (ident, ident)) == [(ns, key)]
    assert (reference(ident, NS_MAX, False), reference(ident, KEY_MAX, True)) \
        == (ns, key)


def test_reviewed_collision_is_gone(db):
    a, b = rows(db, "SELECT memory_namespace('sarah_example_com-c80b71e75f75'), "
                    "memory_namespace('sarah@example.com')")[0]
    assert a != b
    assert rows(db, "SELECT memory_namespace(NULL), memory_key(NULL)") == [
        (None, None)]


def check_names(db, ids):
    for func, n_max, allow_dot in (("memory_namespace", NS_MAX, False),
                                   ("memory_key", KEY_MAX, True)):
        out = [db.execute(f"SELECT {func}(?)", (i,)).fetchone()[0] for i in ids]
        assert len(set(out)) == len(set(ids))
        valid = "memory_key_valid" if allow_dot else "memory_ns_valid"
        for ident, name in zip(ids, out):
            assert name == reference(ident, n_max, allow_dot)
            assert db.execute(f"SELECT {valid}(?)", (name,)).fetchone() == (1,)
            if "__h" not in name:
                assert decode(name) == ident


@pytest.fixture(scope="module")
def mapdb():
    import re
    conn = connect()
    ns_re = re.compile(r"[A-Za-z0-9_-]{1,64}")
    key_re = re.compile(r"[A-Za-z0-9_.-]{1,128}")
    conn.create_function("memory_ns_valid", 1,
                         lambda s: int(ns_re.fullmatch(s) is not None))
    conn.create_function("memory_key_valid", 1,
                         lambda s: int(key_re.fullmatch(s) is not None))
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.text(), min_size=1, max_size=8, unique=True))
def test_any_unicode_ids_map_to_distinct_valid_names(mapdb, ids):
    check_names(mapdb, ids)


# Adversarial ids: made of the escape character, hex digits, the hash marker,
# escaped forms of other ids, and lengths around the hashing threshold.
PIECES = ["_", "__", "5f", "_5f", "__5f", "h", "__h", "-", ".", "a", "A", "0",
          "f", "@", "\x00", "é", "x" * 30, "_" * 20]
adversarial = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(adversarial, min_size=1, max_size=12, unique=True))
def test_adversarial_ids_map_to_distinct_valid_names(mapdb, ids):
    extra = [reference(i, NS_MAX, False) for i in ids] + \
            [reference(i, KEY_MAX, True) for i in ids]
    check_names(mapdb, list(dict.fromkeys(ids + extra)))


# ---------------------------------------------------------------------------
# #8: max_value_bytes is capped at what a local table can store.

def test_max_value_bytes_cap(db):
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("CREATE VIRTUAL TABLE big USING memory("
                   "max_value_bytes=100000001)")
    assert str(e.value) == ("memory: max_value_bytes must be a whole number "
                            "from 1 to 100000000, not '100000001'")
    # The cap itself is storable: a value of exactly 100,000,000 bytes,
    # built inside SQLite so the test holds one copy less.
    db.execute("CREATE VIRTUAL TABLE big USING memory(max_value_bytes=100000000, "
               "max_namespace_bytes=0)")
    db.execute("INSERT INTO big(namespace, key, value) "
               "VALUES ('a', 'k', printf('%.*c', 100000000, 'x'))")
    assert rows(db, "SELECT length(value), substr(value, -2) FROM big "
                    "WHERE namespace = 'a' AND key = 'k'") == [
        (100000000, "xx")]
    assert rows(db, "SELECT bytes FROM big_usage") == [(100000000,)]
