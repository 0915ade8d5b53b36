"""The search index holds, for each value, its text as it is or, for a JSON
object or array, its string values one per line. memory_search_text()
computes it in C (ext/memory_json_fast.c) and falls back to the query for
values it is not sure of; both must give the very text the query gives on
generated and mutated JSON, or an index would be told to forget text it
never held."""
import json
import os
import sqlite3

from hypothesis import given, settings, strategies as st

from conftest import connect
from test_messages_fast import texts

EXAMPLES = int(os.environ.get("SEARCH_TEXT_EXAMPLES", "400"))
QUERY = ("SELECT CASE WHEN json_valid(?1) AND json_type(?1) IN ('object', 'array') "
         "THEN coalesce((SELECT group_concat(j.value, char(10)) FROM json_tree(?1) "
         "AS j WHERE j.type = 'text'), '') ELSE ?1 END")

_db = connect()
_plain = sqlite3.connect(":memory:")
_db.text_factory = _plain.text_factory = bytes


def agree(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return
    want = _plain.execute(QUERY, (value,)).fetchone()
    got = _db.execute("SELECT memory_search_text(?)", (value,)).fetchone()
    assert got == want and type(got[0]) is type(want[0]), value


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(st.one_of(texts(), st.text(max_size=20)))
def test_the_c_text_is_the_querys_text(value):
    agree(value)


def test_edge_values():
    for value in [None, 5, 1.5, b"blob", "", "  ", "plain words", "[", "{}", "[]",
                  '["a", "", "b"]', '{"k": "v", "k": "w"}', '{"role": "user", '
                  '"content": "I want a refund"}', ' [ "x" ] ', '["\\u00e9\\n"]',
                  '["\\u0000"]', '["\\ud83d\\ude00"]', '[1, true, null, {"a": ["deep"]}]',
                  '[' * 1200 + '"x"' + ']' * 1200, '"just a string"', '123', '[1,]']:
        agree(value)
    # Keys and punctuation are not words.
    assert _db.execute("SELECT memory_search_text(?)", (json.dumps(
        [{"role": "user", "content": "refund please"}]),)).fetchone() == (b"user\nrefund please",)
