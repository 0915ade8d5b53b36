"""The agent patterns of tests/agent_patterns.py, each across a process
restart: every step below is a new process on the same file."""
import json
import os
import subprocess
import sys

from conftest import EXT, TESTS

SCRIPT = f"{TESTS}/agent_patterns.py"


def run(db, *args):
    proc = subprocess.run([sys.executable, SCRIPT, str(db), *args],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, MEMORY_EXT_PATH=EXT))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_agno_style_agent_remembers_across_restarts(tmp_path):
    db = tmp_path / "agno.db"
    first = run(db, "agno", "sarah@example.com", "Hi, I'm Sarah",
                json.dumps({"user_name": "Sarah", "likes": "green tea"}))
    assert first["prompt"]["history"] == []
    for i in range(12):
        run(db, "agno", "sarah@example.com", f"message {i}")
    last = run(db, "agno", "sarah@example.com", "What do I like?")
    assert last["prompt"]["user"] == {"likes": "green tea", "user_name": "Sarah"}
    history = last["prompt"]["history"]
    # 13 turns stored = 26 messages; the last 20 leave out the first turn
    # and "message 0" and "message 1".
    assert len(history) == 20
    assert history[0] == ["user", "message 2"]
    assert history[-2:] == [["user", "message 11"], ["assistant", "reply to message 11"]]


def test_autogen_style_agent_persists_every_message(tmp_path):
    db = tmp_path / "autogen.db"
    run(db, "autogen-receive", "planner", "user_proxy", "Plan a trip")
    run(db, "autogen-receive", "planner", "critic", "Too expensive")
    assert run(db, "autogen-inbox", "planner") == [
        ["user_proxy", "Plan a trip"], ["critic", "Too expensive"]]


def test_llamaindex_style_chat_uses_last_three_exchanges(tmp_path):
    db = tmp_path / "llama.db"
    for i in range(4):
        run(db, "llamaindex", "session-1", f"question {i}")
    out = run(db, "llamaindex", "session-1", "question 4")
    assert out["prompt"] == (
        "user: question 1\nassistant: answer to question 1\n"
        "user: question 2\nassistant: answer to question 2\n"
        "user: question 3\nassistant: answer to question 3\n"
        "user: question 4\nassistant:")


def test_group_chat_written_by_two_processes_at_once(tmp_path):
    db = tmp_path / "group.db"
    run(db, "read-room", "room-1")  # creates the table
    procs = [subprocess.Popen([sys.executable, SCRIPT, str(db), "post", "room-1",
                               author, "100"], env=dict(os.environ, MEMORY_EXT_PATH=EXT),
                              stderr=subprocess.PIPE, text=True)
             for author in ("alice", "bob")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    log = run(db, "read-room", "room-1")
    assert len(log) == 200
    for author in ("alice", "bob"):
        assert [text for a, text in log if a == author] == [
            f"{author} message {i}" for i in range(100)]
