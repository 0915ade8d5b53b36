"""Agent memory patterns over the extension, with no framework installed
and no HTTP client: each is the shape a framework integration takes. The
README shows them; tests/test_agent_patterns.py runs them across process
restarts.

    python3 tests/agent_patterns.py DB PATTERN ARGS...   (used by the tests)
"""
import json
import os
import sqlite3
import sys
import time

EXT = os.environ.get("MEMORY_EXT_PATH", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dist", "memory"))


def open_memory(path):
    """One connection to the shared memory file: WAL so readers never block
    the writer, a busy timeout so writers wait for each other."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.enable_load_extension(True)
    conn.load_extension(EXT)
    conn.enable_load_extension(False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS mem USING memory("
                 "max_writes_per_day=0)")
    return conn


def append_message(conn, namespace, key, role, content):
    """Append one message to the JSON array at (namespace, key). BEGIN
    IMMEDIATE takes the write lock first, so two processes appending at once
    queue up instead of overwriting each other's message."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR REPLACE INTO mem(namespace, key, value) "
            "SELECT ?1, ?2, json_insert(coalesce((SELECT value FROM mem WHERE "
            "namespace = ?1 AND key = ?2), '[]'), '$[#]', json_object("
            "'role', ?3, 'content', ?4, 'created_at', ?5))",
            (namespace, key, role, content, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def last_messages(conn, namespace, key, n):
    """The last n messages of a stored conversation, oldest first."""
    return conn.execute(
        "SELECT role, content FROM (SELECT x.idx, x.role, x.content FROM mem, "
        "memory_messages(mem.value) AS x WHERE mem.namespace = ? AND mem.key = ? "
        "ORDER BY x.idx DESC LIMIT ?) ORDER BY idx", (namespace, key, n)).fetchall()


# -- 1. Agno-style persistent agent: user context plus the last 20 messages --

def agno_agent_turn(conn, user_id, text, reply_fn, facts=None):
    """One turn: remember new facts, build the prompt from everything known
    about the user and the last 20 messages, answer, store both messages."""
    ns = conn.execute("SELECT memory_namespace(?)", (user_id,)).fetchone()[0]
    for key, value in (facts or {}).items():
        conn.execute("INSERT OR REPLACE INTO mem(namespace, key, value) "
                     "VALUES (?, ?, ?)", (ns, key, value))
    context = dict(conn.execute(
        "SELECT key, value FROM mem WHERE namespace = ? AND key <> "
        "'conversation_history' ORDER BY key", (ns,)).fetchall())
    history = last_messages(conn, ns, "conversation_history", 20)
    prompt = {"user": context, "history": history, "input": text}
    reply = reply_fn(prompt)
    append_message(conn, ns, "conversation_history", "user", text)
    append_message(conn, ns, "conversation_history", "assistant", reply)
    return prompt, reply


# -- 2. AutoGen-style agent that persists every message it receives ----------

class PersistingAgent:
    def __init__(self, conn, name):
        self.conn, self.name = conn, name

    def receive(self, message, sender):
        append_message(self.conn, self.name, "received", sender, message)

    def inbox(self):
        return last_messages(self.conn, self.name, "received", 1000)


# -- 3. LlamaIndex-style chat_with_memory: the prompt holds the last 3 exchanges

def chat_with_memory(conn, session, question, llm):
    exchanges = last_messages(conn, session, "chat", 6)
    prompt = "".join(f"{role}: {content}\n" for role, content in exchanges)
    prompt += f"user: {question}\nassistant:"
    answer = llm(prompt)
    append_message(conn, session, "chat", "user", question)
    append_message(conn, session, "chat", "assistant", answer)
    return prompt, answer


# -- 4. A group-chat log written by several processes at once ----------------

def post(conn, room, author, text):
    """Each message is its own entry: concurrent writers never touch the
    same row, so no lock is held across a read."""
    key = f"{time.time_ns():020d}-{os.getpid()}"
    conn.execute("INSERT INTO mem(namespace, key, value) VALUES (?, ?, ?)",
                 (room, key, json.dumps({"author": author, "text": text})))


def read_room(conn, room):
    return conn.execute(
        "SELECT value ->> '$.author', value ->> '$.text' FROM mem "
        "WHERE namespace = ? ORDER BY key", (room,)).fetchall()


def main(argv):
    conn = open_memory(argv[1])
    pattern, args = argv[2], argv[3:]
    if pattern == "agno":
        facts = json.loads(args[2]) if len(args) > 2 else None
        prompt, reply = agno_agent_turn(
            conn, args[0], args[1], lambda p: f"reply to {p['input']}", facts)
        print(json.dumps({"prompt": prompt, "reply": reply}))
    elif pattern == "autogen-receive":
        PersistingAgent(conn, args[0]).receive(args[2], args[1])
    elif pattern == "autogen-inbox":
        print(json.dumps(PersistingAgent(conn, args[0]).inbox()))
    elif pattern == "llamaindex":
        question = args[1]
        prompt, answer = chat_with_memory(conn, args[0], question,
                                          lambda p: f"answer to {question}")
        print(json.dumps({"prompt": prompt, "answer": answer}))
    elif pattern == "post":
        for i in range(int(args[2])):
            post(conn, args[0], args[1], f"{args[1]} message {i}")
    elif pattern == "read-room":
        print(json.dumps(read_room(conn, args[0])))


if __name__ == "__main__":
    main(sys.argv)
