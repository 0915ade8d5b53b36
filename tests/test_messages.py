"""memory_messages(value): stored conversations as rows."""
import json

import pytest

from conftest import rows

SHAPES = [
    # OpenAI/Agno style, content as a string or a list of parts
    ([{"role": "user", "content": "Hi", "created_at": 1700000000},
      {"role": "assistant", "content": [{"type": "text", "text": "Hello"},
                                        {"type": "image_url", "image_url": "x"},
                                        {"type": "text", "text": "there"}]},
      {"role": "tool", "content": None}],
     [(0, "user", "Hi", 1700000000), (1, "assistant", "Hello\nthere", None),
      (2, "tool", None, None)]),
    ([{"sender": "alice", "message": "yo"}, {"sender": "bot", "message": "hey"}],
     [(0, "alice", "yo", None), (1, "bot", "hey", None)]),
    ([{"user": "q1", "assistant": "a1"}, {"user": "q2"}],
     [(0, "user", "q1", None), (1, "assistant", "a1", None), (2, "user", "q2", None)]),
    ([{"type": "human", "data": {"content": "hi", "additional_kwargs": {}}},
      {"type": "ai", "data": {"content": "hello"}},
      {"type": "system", "data": {"content": "be nice"}},
      {"type": "tool", "data": {"content": "42"}}],
     [(0, "user", "hi", None), (1, "assistant", "hello", None),
      (2, "system", "be nice", None), (3, "tool", "42", None)]),
    ({"messages": [{"role": "user", "content": "wrapped"}], "summary": "s"},
     [(0, "user", "wrapped", None)]),
    # Entries of no known shape are passed over; the rest keep their order.
    ([{"role": "user", "content": "a"}, 5, "text", {"other": 1},
      {"role": "user", "content": "b"}],
     [(0, "user", "a", None), (1, "user", "b", None)]),
]


@pytest.mark.parametrize("value,expected", SHAPES)
def test_shapes(db, value, expected):
    assert rows(db, "SELECT idx, role, content, created_at FROM memory_messages(?)",
                (json.dumps(value),)) == expected


@pytest.mark.parametrize("value", [None, "", "not json", "42", '"a string"',
                                   '{"role": "user"}', "[]", b"\x00\x01",
                                   '{"messages": "nope"}', "[[1, 2]]"])
def test_anything_else_gives_no_rows_and_no_error(db, value):
    assert rows(db, "SELECT * FROM memory_messages(?)", (value,)) == []


def test_join_over_local_and_remote(t):
    h1 = json.dumps([{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "hello"}])
    h2 = json.dumps([{"type": "human", "data": {"content": "hey"}}])
    t.executemany("INSERT INTO t(namespace, key, value) VALUES (?, ?, ?)",
                  [("u1", "conversation_history", h1),
                   ("u2", "conversation_history", h2),
                   ("u2", "user_name", "Sam")])
    assert rows(t, "SELECT m.role, count(*) FROM t, memory_messages(t.value) AS m "
                   "WHERE t.namespace IN ('u1', 'u2') GROUP BY 1 ORDER BY 1") == [
        ("assistant", 1), ("user", 2)]
    assert rows(t, "SELECT t.namespace, m.idx, m.content FROM t, "
                   "memory_messages(t.value) AS m WHERE t.namespace IN ('u1', 'u2') "
                   "AND t.key = 'conversation_history' ORDER BY 1, 2") == [
        ("u1", 0, "hi"), ("u1", 1, "hello"), ("u2", 0, "hey")]


def test_a_langchain_chat_message_takes_its_role_from_data(mem):
    mem.execute("INSERT INTO mem VALUES ('n', 'c', ?, NULL)", (json.dumps([
        {"type": "chat", "data": {"role": "critic", "content": "too long"}},
        {"type": "human", "data": {"content": "ok"}}]),))
    assert rows(mem, "SELECT m.role, m.content FROM mem, memory_messages(mem.value) AS m") \
        == [("critic", "too long"), ("user", "ok")]
