"""Full-text search on local tables (interface.md, "Search")."""
import json
import sqlite3

import pytest

from conftest import connect, rows, shell

CONVERSATION = json.dumps([
    {"role": "user", "content": "I want a refund for order 5"},
    {"role": "assistant", "content": "Your refund was issued."},
])


@pytest.fixture
def s(tmp_path):
    conn = connect(str(tmp_path / "s.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on)")
    conn.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)", [
        ("user-42", "conversation_history", CONVERSATION),
        ("user-42", "note", "Prefers email. Café owner in Lisbon."),
        ("user-7", "conversation_history", json.dumps(
            [{"role": "user", "content": "the outage broke my refund"}])),
        ("user-7", "city", "Porto"),
    ])
    yield conn
    conn.close()


def match(conn, query, where="", order="ORDER BY namespace, key"):
    return rows(conn, f"SELECT namespace, key FROM mem WHERE mem MATCH ? {where} {order}",
                (query,))


def test_words_of_plain_text_and_of_json_strings_are_found(s):
    assert match(s, "refund") == [("user-42", "conversation_history"),
                                  ("user-7", "conversation_history")]
    assert match(s, "lisbon") == [("user-42", "note")]


def test_json_keys_are_not_words(s):
    assert match(s, "role") == []
    assert match(s, "content") == []


def test_diacritics_fold_and_case_folds(s):
    assert match(s, "cafe") == [("user-42", "note")]
    assert match(s, "CAFÉ") == [("user-42", "note")]


def test_fts5_query_language(s):
    assert match(s, "refund NEAR(order 5)") == [("user-42", "conversation_history")]
    assert match(s, "refund NOT outage") == [("user-42", "conversation_history")]
    assert match(s, '"refund was issued"') == [("user-42", "conversation_history")]


def test_search_combines_with_namespace_and_key(s):
    assert match(s, "refund", "AND namespace = 'user-7'") == [("user-7", "conversation_history")]
    assert match(s, "refund", "AND namespace IN ('user-42', 'x')") == \
        [("user-42", "conversation_history")]
    assert match(s, "refund OR porto", "AND key = 'city'") == [("user-7", "city")]


def test_rank_orders_by_bm25_and_is_null_without_match(s):
    ranked = rows(s, "SELECT key, rank FROM mem WHERE mem MATCH 'refund' ORDER BY rank")
    assert len(ranked) == 2 and ranked[0][1] <= ranked[1][1] < 0
    assert rows(s, "SELECT rank FROM mem WHERE key = 'city'") == [(None,)]


def test_the_index_follows_every_write_path(s):
    s.execute("UPDATE mem SET value = 'no longer about money' WHERE key = 'note'")
    assert match(s, "lisbon") == []
    assert match(s, "money") == [("user-42", "note")]
    s.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
              "VALUES ('user-42', 'note', 'lisbon again')")
    assert match(s, "money") == []
    assert match(s, "lisbon") == [("user-42", "note")]
    s.execute("UPDATE mem SET namespace = 'user-9' WHERE key = 'note'")  # a move
    assert match(s, "lisbon") == [("user-9", "note")]
    s.execute("DELETE FROM mem WHERE namespace = 'user-9'")
    assert match(s, "lisbon") == []
    s.execute("BEGIN")
    s.execute("INSERT INTO mem(namespace, key, value) VALUES ('a', 'b', 'ephemeral')")
    assert match(s, "ephemeral") == [("a", "b")]
    s.execute("ROLLBACK")
    assert match(s, "ephemeral") == []
    s.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


def test_a_syntax_error_quotes_the_query_and_says_how_to_quote(s):
    with pytest.raises(sqlite3.OperationalError) as e:
        match(s, "user-42 AND")
    assert str(e.value).startswith("memory: search query 'user-42 AND' is not valid "
                                   "FTS5 syntax")
    assert 'put words in double quotes' in str(e.value)


def test_search_turned_on_later_indexes_existing_rows(tmp_path):
    conn = connect(str(tmp_path / "later.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory")
    conn.execute("INSERT INTO mem VALUES ('n', 'k', 'hello world', NULL)")
    with pytest.raises(sqlite3.OperationalError) as e:
        match(conn, "hello")
    assert str(e.value) == ("memory: table 'mem' has no search index; turn it on "
                            "with INSERT INTO mem(mem, value) VALUES ('search', 'on')")
    conn.execute("INSERT INTO mem(mem, value) VALUES ('search', 'on')")
    assert match(conn, "hello") == [("n", "k")]
    conn.execute("INSERT INTO mem(mem, value) VALUES ('search', 'off')")
    with pytest.raises(sqlite3.OperationalError) as e:
        match(conn, "hello")
    assert "has no search index" in str(e.value)
    assert rows(conn, "SELECT count(*) FROM mem_search_docsize") == [(0,)]  # emptied
    conn.execute("INSERT INTO mem VALUES ('n', 'k2', 'hello again', NULL)")
    conn.execute("INSERT INTO mem(mem, value) VALUES ('search', 'on')")
    assert match(conn, "hello") == [("n", "k"), ("n", "k2")]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    conn.execute("DROP TABLE mem")
    assert rows(conn, "SELECT name FROM sqlite_schema") == []


def test_match_on_a_remote_table_says_to_copy_it(db, server):
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("SELECT * FROM hosted WHERE hosted MATCH 'x' AND namespace = 'n'").fetchall()
    assert str(e.value).startswith("memory: remote table 'hosted' cannot be searched")


def test_search_works_untrusted_and_defensive(tmp_path):
    """trusted_schema=OFF refuses FTS5 writes from triggers: the index is
    kept by the extension's own statements, so writes still work."""
    conn = connect(str(tmp_path / "d.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on)")
    conn.execute("PRAGMA trusted_schema=OFF")
    conn.execute("INSERT INTO mem VALUES ('n', 'k', 'quiet lake', NULL)")
    conn.execute("UPDATE mem SET value = 'loud river' WHERE key = 'k'")
    conn.execute("INSERT OR REPLACE INTO mem VALUES ('n', 'k2', 'river bank', NULL)")
    assert match(conn, "river") == [("n", "k"), ("n", "k2")]
    assert match(conn, "lake") == []
    conn.execute("DELETE FROM mem WHERE key = 'k'")
    assert match(conn, "river") == [("n", "k2")]
    conn.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    conn.execute("ALTER TABLE mem RENAME TO m2")
    assert rows(conn, "SELECT key FROM m2 WHERE m2 MATCH 'bank'") == [("k2",)]
    conn.execute("INSERT INTO m2(m2) VALUES ('integrity-check')")
    conn.execute("DROP TABLE m2")
    assert rows(conn, "SELECT name FROM sqlite_schema") == []


def test_integrity_check_finds_an_index_that_drifted(s):
    s.execute("INSERT INTO mem_search(rowid, text) VALUES (999, 'ghost')")
    with pytest.raises(sqlite3.DatabaseError) as e:
        s.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert str(e.value) == (
        "memory: integrity-check of 'mem' failed: the search index has entry "
        "999, which is gone; run INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild')")
    s.execute("INSERT INTO mem(mem) VALUES ('rebuild')")
    s.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")
    assert match(s, "ghost") == []
    assert match(s, "refund") == [("user-42", "conversation_history"),
                                  ("user-7", "conversation_history")]


def test_search_in_defensive_mode_from_the_shell(tmp_path):
    out, err = shell(tmp_path / "def.db", """
.dbconfig defensive on
PRAGMA trusted_schema=OFF;
CREATE VIRTUAL TABLE mem USING memory(search=on);
INSERT INTO mem VALUES ('n', 'k', 'quiet lake', NULL);
INSERT INTO mem(mem, value) VALUES ('search', 'off');
INSERT INTO mem(mem, value) VALUES ('search', 'on');
UPDATE mem SET value = 'loud lake' WHERE key = 'k';
SELECT key, value FROM mem WHERE mem MATCH 'lake';
INSERT INTO mem_search(rowid, text) VALUES (5, 'x');
INSERT INTO mem(mem) VALUES ('integrity-check');
""", check=False)
    assert out.splitlines()[-1] == "k|loud lake"
    # The FTS5 table is a virtual table, which defensive mode does not make
    # read-only (SQLite protects only ordinary shadow tables): a write
    # behind the extension's back is what integrity-check reports.
    assert err == ("Runtime error near line 12: memory: integrity-check of 'mem' "
                   "failed: the search index has entry 5, which is gone; run "
                   "INSERT INTO \"mem\"(\"mem\") VALUES ('rebuild') (11)\n")


README_ROWS = [
    ("user-42", "conversation_history", json.dumps(
        [{"role": "user", "content": "I want a refund for order 5"},
         {"role": "assistant", "content": "Your refund was issued."}], separators=(",", ":"))),
    ("user-42", "preferences", '{"contact":"email","café":"Lisbon"}'),
    ("user-7", "conversation_history", json.dumps(
        [{"role": "user", "content": "The outage broke my refund"},
         {"role": "assistant", "content": "Sorry, retrying it now."}], separators=(",", ":"))),
    ("user-9", "conversation_history", '[{"role":"user","content":"Is the café open?"}]'),
]


def test_the_readme_search_example_and_recipe(tmp_path):
    import os
    from conftest import ROOT
    conn = connect(str(tmp_path / "r.db"))
    conn.execute("CREATE VIRTUAL TABLE mem USING memory(search=on)")
    conn.executemany("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)", README_ROWS)
    assert rows(conn, "SELECT namespace FROM mem WHERE mem MATCH 'refund NEAR(order 5)' "
                      "AND namespace = 'user-42'") == [("user-42",)]
    assert rows(conn, "SELECT namespace, key FROM mem WHERE mem MATCH 'cafe'") == \
        [("user-9", "conversation_history")]
    recipe = open(os.path.join(ROOT, "sql", "recipes", "search.sql")).read()
    first = recipe.split(";")[0]
    assert rows(conn, first) == [
        ("user-42", 0, "user", "I want a refund for order 5"),
        ("user-42", 1, "assistant", "Your refund was issued."),
        ("user-7", 0, "user", "The outage broke my refund")]
    assert [r[0] for r in rows(conn, recipe.split(";")[1])] == ["user-7", "user-42"]
