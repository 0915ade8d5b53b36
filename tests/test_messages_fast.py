"""memory_messages() reads the common {role, content} shape in C
(ext/memory_json_fast.c) and everything else with the query of
sql/ext/messages.sql. The two must agree exactly: generated conversations
and mutations of their text go through memory_messages() and through the
query itself, run by SQLite's own JSON functions, and the rows must be
equal, types included."""
import json
import os
import sqlite3

from hypothesis import given, settings, strategies as st

from conftest import ROOT, connect

QUERY = open(os.path.join(ROOT, "sql", "ext", "messages.sql")).read()
EXAMPLES = int(os.environ.get("MESSAGES_EXAMPLES", "400"))

_db = connect()
_plain = sqlite3.connect(":memory:")
# Bytes, not str: a \ud800 escape gives text that is not UTF-8, which both
# sides must return alike.
_db.text_factory = _plain.text_factory = bytes


def through_query(text):
    return _plain.execute(QUERY, (text,)).fetchall()


def through_extension(text):
    return _db.execute("SELECT idx, role, content, created_at FROM memory_messages(?)",
                       (text,)).fetchall()


def agree(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate in a str: Python cannot pass it to SQLite
    want = through_query(text)
    got = through_extension(text)
    assert [[(type(v), v) for v in r] for r in got] == \
        [[(type(v), v) for v in r] for r in want], text


strings = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["user", "assistant", "", "é", "\x00", "\ud800", "a\"b\\c",
                     "\n\t\x01", "日本", "\U0001F600"]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), strings)
parts = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image"]),
                                        "text": strings}), max_size=3)
absent = object()


@st.composite
def messages(draw):
    m = {}
    for key, values in (("role", st.one_of(strings, scalars)),
                        ("content", st.one_of(strings, scalars, parts)),
                        ("created_at", scalars),
                        ("sender", strings), ("message", strings),
                        ("user", strings), ("assistant", strings),
                        ("type", st.sampled_from(["human", "ai", "chat"])),
                        ("data", st.fixed_dictionaries({"content": strings})),
                        ("extra", st.recursive(scalars, lambda c: st.lists(c, max_size=2),
                                               max_leaves=4))):
        if draw(st.integers(0, 9)) < (8 if key in ("role", "content") else 2):
            m[key] = draw(values)
    return m


conversations = st.lists(st.one_of(messages(), scalars), max_size=6)


@st.composite
def texts(draw):
    value = draw(st.one_of(conversations, st.fixed_dictionaries({"messages": conversations})))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()),
                      separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
                      indent=draw(st.sampled_from([None, 1])))
    # Mutations of the text: what a hand-written or broken value holds.
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["dup", "flip", "cut", "space", "zero"]))
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        if kind == "dup" and '"role"' in text:
            text = text.replace('"role"', '"role": "x", "role"', 1)
        elif kind == "flip":
            text = text[:at] + draw(st.sampled_from(list('{}[]",:\\0 -e.tfn\x01\x7f'))) + text[at + 1:]
        elif kind == "cut":
            text = text[:at]
        elif kind == "space":
            text = text[:at] + draw(st.sampled_from([" ", "\t", "\r\n", "\f", "\v"])) + text[at:]
        elif kind == "zero":
            text = text.replace(": 1", ": 01", 1).replace(":1", ":01", 1)
    return text


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(texts())
def test_the_fast_path_gives_what_the_query_gives(text):
    agree(text)


def test_the_fast_path_takes_the_common_shape():
    """The shape the fast path is for: its rows, from it (a value the query
    would read differently would fail the property above)."""
    text = json.dumps([{"role": "user", "content": "Caf\u00e9 \"ok\"\n", "created_at": 1700000000},
                       {"role": "assistant", "content": None},
                       {"role": "assistant", "content": "x", "created_at": "2026-11-23"}])
    agree(text)
    assert through_extension(text) == [
        (0, b"user", "Café \"ok\"\n".encode(), 1700000000), (1, b"assistant", None, None),
        (2, b"assistant", b"x", b"2026-11-23")]


def test_edge_texts_agree():
    for text in ['[]', ' [ ] ', '[1, "a", null, {"role": "u"}]', '[{"role": "u"}]x',
                 '[{"role": "\\u0000"}]', '[{"role": "\\ud83d\\ude00"}]',
                 '[{"role": "a", "content": "b", "created_at": -0}]',
                 '[{"role": "a", "created_at": 123456789012345678901}]',
                 '[{"role": "a", "created_at": 1.5}]',
                 '[{"role": "a", "created_at": 999999999999999999}]',
                 '[{"role": "a", "created_at": 1234567890123456789}]',
                 '[{"role": "a", "created_at": -9223372036854775808}]',
                 '[{"role": "a", "created_at": 9223372036854775808}]',
                 '[{"role": "a", "created_at": -0}]', '[{"role": "a", "created_at": 0}]', '[{"r\\u006fle": "a"}]',
                 '[{"role": "a"}, {"role": 5}]', '{"messages": [{"role": "a"}]}',
                 '[' * 1500 + ']' * 1500, '[{"role": "a", "x": ' + '[' * 1200 + ']' * 1200 + '}]',
                 '[{"role": "a",}]', '[{"role": "a"},]', '[01]', '[1.]', '[.5]', '[1e]',
                 '["\x01"]', '[{"role": "a\tb"}]', '\ufeff[]', '[tru]', '[nul]']:
        agree(text)
