"""Shared fixtures: load the extension into Python's sqlite3 and drive the
sqlite3 shell.

MEMORY_EXT names the build under test (default dist/memory); `make test` runs
the suite once more with dist/asan/memory and libasan preloaded.
"""
import os
import sqlite3
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, os.environ.get("MEMORY_EXT", "dist/memory"))
TESTS = os.path.join(ROOT, "tests")
sys.path.insert(0, TESTS)


def connect(path=":memory:", **kwargs):
    """A Python sqlite3 connection with the extension loaded."""
    conn = sqlite3.connect(path, isolation_level=None, **kwargs)
    conn.enable_load_extension(True)
    conn.load_extension(EXT)
    conn.enable_load_extension(False)
    return conn


def shell(db, sql, check=True, env=None):
    """Run `sql` in the sqlite3 shell on file `db` with the extension
    loaded; return (stdout, stderr)."""
    script = f".load {EXT}\n{sql}\n"
    proc = subprocess.run(["sqlite3", "-batch", str(db)], input=script,
                          capture_output=True, text=True, timeout=120,
                          env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"sqlite3 failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout, proc.stderr


@pytest.fixture
def db(tmp_path):
    conn = connect(str(tmp_path / "mem.db"))
    yield conn
    conn.close()


@pytest.fixture
def mem(db):
    """A connection with a local table `mem` created with the defaults."""
    db.execute("CREATE VIRTUAL TABLE mem USING memory")
    return db


def rows(conn, sql, params=()):
    return conn.execute(sql, params).fetchall()


class MemoryServer:
    """tests/memory_server.py in a subprocess on 127.0.0.1, with helpers
    for its /_test/ controls."""

    def __init__(self, latency_ms=0):
        import json  # noqa: F401  (used by call)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TESTS, "memory_server.py"),
             "--port", "0", "--latency-ms", str(latency_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def call(self, method, path, doc=None):
        import json
        import urllib.request
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as answer:
            return json.loads(answer.read())

    def reset(self):
        self.call("POST", "/_test/reset")

    def config(self, **kwargs):
        self.call("POST", "/_test/config", kwargs)

    def faults(self, *faults):
        self.call("POST", "/_test/faults", list(faults))

    def log(self):
        return self.call("GET", "/_test/log")

    def requests(self):
        """The log as (method, path[?query]) pairs."""
        return [(e["method"], e["path"] + ("?" + e["query"] if e["query"] else ""))
                for e in self.log()]

    def clear_log(self):
        self.call("POST", "/_test/log/clear")

    def stop(self):
        self.proc.stdin.close()  # the server exits when its stdin closes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def server_session():
    srv = MemoryServer()
    yield srv
    srv.stop()


@pytest.fixture
def server(server_session):
    server_session.reset()
    return server_session


@pytest.fixture
def hosted(db, server):
    """A connection with a remote table `hosted` on the test server."""
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}', "
               "timeout_ms=5000)")
    return db


@pytest.fixture(params=["local", "remote"])
def t(request, db):
    """A table `t`: local, then (second run) remote on the test server."""
    if request.param == "local":
        db.execute("CREATE VIRTUAL TABLE t USING memory")
    else:
        server = request.getfixturevalue("server")
        db.execute(f"CREATE VIRTUAL TABLE t USING memory(remote='{server.url}')")
    return db
