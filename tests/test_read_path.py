"""The local read path's shortcuts keep every value exact.

Reading a column hands SQLite a NUL-terminated copy of the text's UTF-8
bytes (memResultColumn), and a plan's text parameters are bound from a copy
the cached statement keeps (memLocalBindPlan). These tests hold both to the
stored bytes: text with a NUL inside, text beyond ASCII, a UTF-16 database
(where text must be converted, not copied), and lookups whose parameters
change length from one to the next through one cached statement.
"""
import random
import sqlite3

import pytest

from conftest import connect

VALUES = [
    '"plain"',
    '"a\x00b"',                # a NUL inside: the length must be kept
    '"\x00"',
    '""',
    '"é€😀 beyond ASCII"',
    '{"note": "' + "x" * 5000 + '"}',   # on overflow pages
    '[1, 2.5, null, "z"]',
]


def make_table(conn):
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    for i, v in enumerate(VALUES):
        conn.execute("INSERT INTO mem(namespace, key, value) VALUES ('n', ?, ?)",
                     (f"k{i}", v))


def stored(conn):
    """What the backing table holds, byte for byte."""
    return conn.execute("SELECT key, value, CAST(value AS BLOB), typeof(value) "
                        "FROM mem_data ORDER BY key").fetchall()


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16le", "UTF-16be"])
def test_text_reads_back_byte_for_byte_in_every_encoding(tmp_path, encoding):
    conn = connect(str(tmp_path / "enc.db"))
    conn.execute(f"PRAGMA encoding = '{encoding}'")
    make_table(conn)
    assert conn.execute("PRAGMA encoding").fetchone()[0] == encoding
    want = stored(conn)
    # A scan, a point get per key, and the same through SQL functions that
    # read the text (length() stops at a NUL; CAST AS BLOB keeps all bytes).
    got = conn.execute("SELECT key, value, CAST(value AS BLOB), typeof(value) "
                       "FROM mem WHERE namespace = 'n' ORDER BY key").fetchall()
    assert got == want
    for key, value, blob, _ in want:
        one = conn.execute("SELECT value, CAST(value AS BLOB), length(value), "
                           "instr(value, 'b') FROM mem WHERE namespace = 'n' "
                           "AND key = ?", (key,)).fetchone()
        native = conn.execute("SELECT value, CAST(value AS BLOB), length(value), "
                              "instr(value, 'b') FROM mem_data WHERE "
                              "namespace = 'n' AND key = ?", (key,)).fetchone()
        assert one == native
        assert one[0] == value and one[1] == blob
    assert want[1][1] == '"a\x00b"'
    assert len(want[1][2]) == (5 if encoding == "UTF-8" else 10)
    conn.close()


def test_one_cached_statement_serves_parameters_of_every_length(tmp_path):
    """A point get's statement is prepared once and its text parameters are
    bound through a buffer it keeps: long after short, short after long,
    with a NUL, and numbers in place of text must each find exactly what a
    plain table finds."""
    conn = connect(str(tmp_path / "p.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=0)")
    conn.execute("CREATE TABLE probe(i INTEGER PRIMARY KEY, ns, k)")
    rnd = random.Random(7)
    names = ["a", "ab", "k" * 64, "n-" + "y" * 60, "42", "x"]
    keys = names + ["K" * 128]
    for ns in names:
        for k in keys:
            conn.execute("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                         (ns, k, f'"{ns[:5]}/{k[:5]}"'))
    probes = []
    for _ in range(400):
        pick = rnd.random()
        if pick < 0.7:
            probes.append((rnd.choice(names), rnd.choice(keys)))
        elif pick < 0.8:
            probes.append((rnd.choice(names), rnd.choice(keys) + "\x00tail"))
        elif pick < 0.9:
            probes.append((42, rnd.choice(keys)))   # an integer, not text
        else:
            probes.append((rnd.choice(names), "missing-" + "m" * rnd.randrange(300)))
    conn.executemany("INSERT INTO probe(ns, k) VALUES (?, ?)", probes)
    # +p.ns: an expression without affinity, so that the plain table too
    # compares 42 as '42' (a column without a type would not convert it).
    query = ("SELECT p.i, (SELECT value FROM {t} WHERE namespace = +p.ns "
             "AND key = +p.k) FROM probe AS p ORDER BY p.i")
    got = conn.execute(query.format(t="mem")).fetchall()
    want = conn.execute(query.format(t="mem_data")).fetchall()
    assert got == want
    assert sum(1 for _, v in got if v is not None) > 250
    # The same through execute() calls, the statement reused across them.
    for ns, k in probes[:100]:
        assert conn.execute("SELECT value FROM mem WHERE namespace = ? AND key = ?",
                            (ns, k)).fetchall() == \
            conn.execute("SELECT value FROM mem_data WHERE namespace = ? AND key = ?",
                         (ns, k)).fetchall()
    conn.close()


def test_a_join_rebinding_one_cursor_finds_every_row(tmp_path):
    """A join filters one cursor again per outer row (the fast path that
    only binds anew): each namespace of every length is read whole."""
    conn = connect(str(tmp_path / "j.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(max_namespace_bytes=0)")
    conn.execute("CREATE TABLE nss(i INTEGER PRIMARY KEY, ns)")
    nss = ["s", "t" * 64, "u-1", "t" * 64, "s", "none"]
    for i, ns in enumerate(dict.fromkeys(nss)):
        if ns == "none":
            continue
        for k in range(i + 2):
            conn.execute("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                         (ns, f"k{k}", str(k)))
    conn.executemany("INSERT INTO nss(ns) VALUES (?)", [(n,) for n in nss])
    q = ("SELECT n.i, t.key, t.value FROM nss AS n CROSS JOIN {t} AS t "
         "WHERE t.namespace = n.ns ORDER BY n.i, t.key")
    assert conn.execute(q.format(t="mem")).fetchall() == \
        conn.execute(q.format(t="mem_data")).fetchall()
    conn.close()


def test_a_parameter_read_for_the_plan_is_still_text_to_the_query(mem):
    """Binding reads a text argument's bytes in place (sqlite3_value_blob),
    which marks SQLite's register as a blob too: the query must still see
    the same text after the lookup, in every use of it."""
    mem.execute("INSERT INTO mem(namespace, key, value) VALUES ('n', 'k', '1')")
    assert mem.execute(
        "SELECT value, typeof(?1), ?1 || 'x', quote(?1), ?1 = 'k', length(?1), "
        "hex(?1) FROM mem WHERE namespace = 'n' AND key = ?1", ("k",)).fetchall() \
        == [("1", "text", "kx", "'k'", 1, 1, "6B")]
    assert mem.execute(
        "SELECT value, typeof(p.k), quote(p.k), p.k = 'k' FROM (SELECT 'k' AS k "
        "UNION ALL SELECT 'k') AS p JOIN mem ON namespace = 'n' AND key = p.k"
    ).fetchall() == [("1", "text", "'k'", 1)] * 2
