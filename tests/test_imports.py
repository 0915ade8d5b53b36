"""Imports from the frameworks' own tables, and the analytics recipes."""
import json
import os

from conftest import ROOT, rows

AGNO_DDL = """
CREATE TABLE agno_memories(memory_id VARCHAR PRIMARY KEY NOT NULL, memory JSON NOT NULL,
  input VARCHAR, agent_id VARCHAR, team_id VARCHAR, user_id VARCHAR, topics JSON,
  feedback VARCHAR, created_at BIGINT NOT NULL, updated_at BIGINT);
CREATE TABLE agno_sessions(session_id VARCHAR PRIMARY KEY NOT NULL,
  session_type VARCHAR NOT NULL, agent_id VARCHAR, team_id VARCHAR, workflow_id VARCHAR,
  user_id VARCHAR, session_data JSON, agent_data JSON, team_data JSON,
  workflow_data JSON, metadata JSON, runs JSON, summary JSON,
  created_at BIGINT NOT NULL, updated_at BIGINT);
"""
LANGCHAIN_DDL = ("CREATE TABLE message_store(id INTEGER PRIMARY KEY, "
                 "session_id TEXT, message TEXT)")


def read_sql(name):
    with open(os.path.join(ROOT, "sql", "recipes", name)) as f:
        return f.read()


def msg(id_, role, content, at, from_history=False):
    m = {"id": id_, "role": role, "content": content, "created_at": at}
    if from_history:
        m["from_history"] = True
    return m


def make_agno(db):
    db.executescript(AGNO_DDL)
    db.executemany(
        "INSERT INTO agno_memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("mem-1", json.dumps("Sarah prefers green tea"), "I love green tea",
             "agent-1", None, "sarah@example.com", json.dumps(["preferences", "tea"]),
             None, 1700000000, 1700000500),
            ("mem-2", json.dumps("Sarah lives in Oslo"), None, "agent-1", "team-9",
             "sarah@example.com", None, None, 1700000100, None),
            ("mem.3", json.dumps("Bob is vegan"), "im vegan", None, None, "bob",
             json.dumps(["diet"]), "good", 1700000200, 1700000300),
        ])
    run1 = {"run_id": "r1", "messages": [
        msg("m1", "system", "You are helpful.", 1700000000),
        msg("m2", "user", "Hi, I'm Sarah", 1700000001),
        msg("m3", "assistant", "Hello Sarah!", 1700000002)]}
    run2 = {"run_id": "r2", "messages": [
        msg("m1", "system", "You are helpful.", 1700000010),
        msg("m2", "user", "Hi, I'm Sarah", 1700000001, from_history=True),
        msg("m3", "assistant", "Hello Sarah!", 1700000002, from_history=True),
        msg("m4", "user", "What tea do I like?", 1700000011),
        msg("m5", "assistant", "Green tea.", 1700000012)]}
    db.executemany(
        "INSERT INTO agno_sessions(session_id, session_type, agent_id, user_id, "
        "runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
            ("sess-1", "agent", "agent-1", "sarah@example.com",
             json.dumps([run1, run2]), 1700000000, 1700000012),
            ("sess-empty", "agent", "agent-1", "bob", json.dumps([]), 1700000000, None),
            ("sess/2", "agent", "agent-1", None,
             json.dumps([{"messages": [msg("x1", "user", "anyone?", 1700000050)]}]),
             1700000050, None),
        ])


def test_agno_memories(mem):
    make_agno(mem)
    mem.executescript(read_sql("import_agno.sql"))
    mem.execute("INSERT OR REPLACE INTO mem SELECT * FROM agno_memory_import")
    sarah = rows(mem, "SELECT memory_namespace('sarah@example.com')")[0][0]
    got = rows(mem, "SELECT namespace, key, value, updated_at FROM mem ORDER BY key")
    assert [(r[0], r[1], json.loads(r[2]), r[3]) for r in got] == [
        (sarah, "mem-1", {"memory": "Sarah prefers green tea",
                          "topics": ["preferences", "tea"], "input": "I love green tea",
                          "agent_id": "agent-1", "team_id": None}, 1700000500.0),
        (sarah, "mem-2", {"memory": "Sarah lives in Oslo", "topics": None,
                          "input": None, "agent_id": "agent-1", "team_id": "team-9"},
         1700000100.0),
        ("bob", "mem.3", {"memory": "Bob is vegan", "topics": ["diet"],
                          "input": "im vegan", "agent_id": None, "team_id": None},
         1700000300.0)]


def test_agno_history(mem):
    make_agno(mem)
    mem.executescript(read_sql("import_agno.sql"))
    mem.execute("INSERT OR REPLACE INTO mem SELECT * FROM agno_history_import")
    sarah = rows(mem, "SELECT memory_namespace('sarah@example.com')")[0][0]
    assert rows(mem, "SELECT namespace, key, updated_at FROM mem ORDER BY key") == [
        (sarah, "sess-1", 1700000012.0),
        ("anonymous", "sess__2f2", 1700000050.0)]
    assert rows(mem, "SELECT x.idx, x.role, x.content, x.created_at FROM mem, "
                     "memory_messages(mem.value) AS x WHERE mem.key = 'sess-1'") == [
        (0, "system", "You are helpful.", 1700000000),
        (1, "user", "Hi, I'm Sarah", 1700000001),
        (2, "assistant", "Hello Sarah!", 1700000002),
        (3, "user", "What tea do I like?", 1700000011),
        (4, "assistant", "Green tea.", 1700000012)]


def test_langchain_history(mem):
    mem.execute(LANGCHAIN_DDL)
    def lc(t, content):
        return json.dumps({"type": t, "data": {"content": content, "additional_kwargs": {},
                                               "type": t, "example": False}})
    mem.executemany("INSERT INTO message_store(session_id, message) VALUES (?, ?)", [
        ("chat-1", lc("human", "hi")), ("chat-2", lc("human", "other session")),
        ("chat-1", lc("ai", "hello!")), ("chat-1", "not json"),
        ("chat-1", lc("human", "bye")), ("user@x", lc("system", "s"))])
    mem.executescript(read_sql("import_langchain.sql"))
    mem.execute("INSERT OR REPLACE INTO mem SELECT * FROM langchain_history_import")
    got = rows(mem, "SELECT namespace, key, value, updated_at > 1.7e9 FROM mem "
                    "ORDER BY key")
    assert [(r[0], r[1], r[3]) for r in got] == [
        ("langchain-sessions", "chat-1", 1), ("langchain-sessions", "chat-2", 1),
        ("langchain-sessions", rows(mem, "SELECT memory_key('user@x')")[0][0], 1)]
    # The value is the list of LangChain message dicts, as stored.
    assert json.loads(got[0][2]) == [json.loads(lc("human", "hi")),
                                     json.loads(lc("ai", "hello!")),
                                     json.loads(lc("human", "bye"))]
    assert rows(mem, "SELECT x.role, x.content FROM mem, memory_messages(mem.value) "
                     "AS x WHERE mem.key = 'chat-1'") == [
        ("user", "hi"), ("assistant", "hello!"), ("user", "bye")]


def analytics_data(mem):
    """Insert the recipes' data; return the value bytes per namespace."""
    conv = lambda *turns: json.dumps([{"role": r, "content": c} for r, c in turns])
    data = [
        ("user-42", "conversation_history",
         conv(("user", "I want a refund"), ("assistant", "Sure, which order?"),
              ("user", "Order 17"), ("assistant", "Refund issued.")), 1700000300.0),
        ("user-42", "user_name", "Sarah", 1700000100.0),
        ("user-7", "conversation_history",
         conv(("user", "hello"), ("assistant", "hi!")), 1700000400.0),
        ("user-9", "conversation_history",
         conv(("user", "is my refund done?")), 1700000200.0),
    ]
    mem.executemany("INSERT INTO mem(namespace, key, value, updated_at) "
                    "VALUES (?, ?, ?, ?)", data)
    sizes = {}
    for ns, _, value, _ in data:
        sizes[ns] = sizes.get(ns, 0) + len(value.encode())
    return sizes


def test_analytics_recipes(mem):
    size = analytics_data(mem)
    mem.executescript(read_sql("analytics.sql"))
    assert rows(mem, "SELECT * FROM memory_messages_per_role") == [
        ("user-42", "assistant", 2), ("user-42", "user", 2),
        ("user-7", "assistant", 1), ("user-7", "user", 1), ("user-9", "user", 1)]
    assert rows(mem, "SELECT * FROM memory_longest_conversations") == [
        ("user-42", "conversation_history", 4, 55),
        ("user-7", "conversation_history", 2, 8),
        ("user-9", "conversation_history", 1, 18)]
    assert rows(mem, "SELECT * FROM memory_last_activity") == [
        ("user-7", 1, 1700000400.0, "2023-11-14 22:20:00.000"),
        ("user-42", 2, 1700000300.0, "2023-11-14 22:18:20.000"),
        ("user-9", 1, 1700000200.0, "2023-11-14 22:16:40.000")]
    assert rows(mem, "SELECT namespace, idx, content FROM memory_message_log "
                     "WHERE content LIKE '%refund%' ORDER BY 1, 2") == [
        ("user-42", 0, "I want a refund"), ("user-42", 3, "Refund issued."),
        ("user-9", 0, "is my refund done?")]
    assert rows(mem, "SELECT * FROM memory_quota_usage") == [
        ("user-42", 2, size["user-42"], round(100 * size["user-42"] / 52428800, 2),
         2, 0.2),
        ("user-7", 1, size["user-7"], 0.0, 1, 0.1),
        ("user-9", 1, size["user-9"], 0.0, 1, 0.1)]
