"""Property-based, stateful test: random sequences of statements against a
local table, a remote table on the test server, and a model, which must
agree after every step on the rows, on which statements fail and how, and
on what queries return.

Rules (hypothesis RuleBasedStateMachine):
  insert      INSERT / OR REPLACE / OR IGNORE of one row, or of three rows
              one of which may be bad (the statement then changes nothing)
  update      UPDATE of a value, by (namespace, key)
  move        UPDATE / OR REPLACE / OR IGNORE of namespace and key, onto a
              free or a taken name
  delete      DELETE by namespace, or by (namespace, key)
  begin, commit, rollback, savepoint, rollback_to, release
  query       = / IN (mixed types) / ranges / LIKE / GLOB on names, ORDER BY,
              LIMIT and OFFSET (negative and huge), on both tables
  search      MATCH of a word on the local table (search=on)
  check       integrity-check of the local table
Names come from the whole alphabet and both length limits ('.', '..', '-',
1, 64 and 128 characters) plus invalid ones (NUL, '/', non-ASCII, empty,
too long); values carry NUL, multibyte text, numbers, NULL, BLOBs and sizes
around max_value_bytes. The local table has small quotas; the model knows
the quota rules of interface.md (a write that shrinks a namespace always
passes; a failed statement changes nothing).

Budget: STATEFUL_EXAMPLES examples (default 25) of up to 40 steps, seeded,
in `make test`; `make fuzz` runs 2000.
"""
import os
import sqlite3

import pytest
from hypothesis import HealthCheck, assume, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from conftest import MemoryServer, connect

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "25"))
MAX_VALUE = 120      # max_value_bytes of both tables
MAX_NS_BYTES = 400   # local max_namespace_bytes
MAX_WRITES = 30      # local max_writes_per_day

NAME_CHARS = "abcXYZ019_-"
namespaces = st.one_of(
    st.sampled_from(["a", "b", "user-42", "_", "-", "n" * 64]),
    st.text(NAME_CHARS, min_size=1, max_size=3),
    st.sampled_from(["", "a/b", "a\x00b", "é", "n" * 65, "a.b"]),  # invalid
)
keys = st.one_of(
    st.sampled_from(["k", ".", "..", "...", "a.", ".a", "-", "k" * 128]),
    st.text(NAME_CHARS + ".", min_size=1, max_size=3),
    st.sampled_from(["", "a/b", "k\x00", "ü", "k" * 129]),  # invalid
)
values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(["", "x\x00y", "日本語", "refund please", "hello world",
                     "a" * MAX_VALUE, "é" * (MAX_VALUE // 2), "é" * (MAX_VALUE // 2 + 1),
                     "a" * (MAX_VALUE + 1)]),
    st.integers(-10**12, 10**12),
    st.sampled_from([None, b"\x00blob", 1.5]),
)

NS_RE = __import__("re").compile(r"[A-Za-z0-9_-]{1,64}\Z")
KEY_RE = __import__("re").compile(r"[A-Za-z0-9_.-]{1,128}\Z")
_text = sqlite3.connect(":memory:")


def as_text(v):
    """The text SQLite stores for a value (INTEGER and REAL become text)."""
    return _text.execute("SELECT CAST(? AS TEXT)", (v,)).fetchone()[0]


def valid(ns, key, v):
    return (isinstance(ns, str) and NS_RE.match(ns) and isinstance(key, str)
            and KEY_RE.match(key) and v is not None and not isinstance(v, bytes)
            and len(as_text(v).encode()) <= MAX_VALUE)


class Model:
    """Rows of both tables plus the local quota totals."""

    def __init__(self):
        self.rows = {}       # (ns, key) -> text
        self.writes = {}     # ns -> writes today (local only)
        self.sent = 0        # writes sent (remote only): one that stores
                             # the same text again is still a write

    def copy(self):
        m = Model()
        m.rows = dict(self.rows)
        m.writes = dict(self.writes)
        m.sent = self.sent
        return m

    def ns_bytes(self, ns):
        return sum(len(v.encode()) for (n, _), v in self.rows.items() if n == ns)

    def write(self, ns, key, text, old_key=None, local=True):
        """Store text at (ns, key), replacing old_key's row (a move) or the
        row there; raise 'quota' if a local quota refuses it."""
        new = dict(self.rows)
        if old_key:
            new.pop(old_key, None)
        new[(ns, key)] = text
        if local:
            # A namespace may not grow past the limit; shrinking always passes.
            before = sum(len(v.encode()) for (n, _), v in self.rows.items() if n == ns)
            after = sum(len(v.encode()) for (n, _), v in new.items() if n == ns)
            if after > MAX_NS_BYTES and after > before:
                raise QuotaError()
            if self.writes.get(ns, 0) + 1 > MAX_WRITES:
                raise QuotaError()
            self.writes[ns] = self.writes.get(ns, 0) + 1
        else:
            self.sent += 1
        self.rows = new


class QuotaError(Exception):
    pass


@settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None,
          database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
class MemoryMachine(RuleBasedStateMachine):
    server = None

    @initialize()
    def setup(self):
        MemoryMachine.server.reset()
        self.db = connect(":memory:")
        self.db.execute(f"CREATE VIRTUAL TABLE loc USING memory(max_value_bytes={MAX_VALUE}, "
                        f"max_namespace_bytes={MAX_NS_BYTES}, "
                        f"max_writes_per_day={MAX_WRITES}, search=on)")
        self.db.execute(f"CREATE VIRTUAL TABLE rem USING memory(remote="
                        f"'{MemoryMachine.server.url}', max_value_bytes={MAX_VALUE}, "
                        "timeout_ms=5000)")
        self.local, self.remote = Model(), Model()
        self.txn = None          # (local, remote) at BEGIN
        self.savepoints = []     # (local, remote) at each SAVEPOINT
        self.poisoned = False    # COMMIT must fail (see commit)

    def teardown(self):
        self.db.close()

    # -- running a statement on both tables ---------------------------------
    def both(self, sql, params, apply_local, apply_remote):
        """Run sql on loc and rem; apply_* change the models or raise
        QuotaError/ValueError (an error is expected). Errors must agree."""
        for table, model_name, apply in (("loc", "local", apply_local),
                                         ("rem", "remote", apply_remote)):
            model = getattr(self, model_name)
            trial = model.copy()
            try:
                apply(trial)
                expect = None
            except QuotaError:
                expect = "quota"
            except ValueError as e:
                expect = str(e) or "error"
            try:
                self.db.execute(sql.format(t=table), params)
                got = None
            except sqlite3.Error as e:
                msg = str(e)
                assert msg.startswith("memory: "), msg
                got = "quota" if "quota" in msg else ("dup" if "already exists" in msg
                                                      else "error")
            if expect is None:
                assert got is None, (table, sql, params, got)
                setattr(self, model_name, trial)
            else:
                assert got is not None, (table, sql, params, expect)
                if expect in ("quota", "dup"):
                    assert got == expect, (table, sql, params, got, expect)

    # -- rules ------------------------------------------------------------------
    @rule(mode=st.sampled_from(["", "OR REPLACE", "OR IGNORE"]), ns=namespaces,
          key=keys, v=values)
    def insert(self, mode, ns, key, v):
        def apply(local):
            def run(m):
                if not valid(ns, key, v):
                    raise ValueError("error")
                if (ns, key) in m.rows:
                    if mode == "":
                        raise ValueError("dup")
                    if mode == "OR IGNORE":
                        return
                m.write(ns, key, as_text(v), local=local)
            return run
        self.both("INSERT " + mode + " INTO {t}(namespace, key, value) VALUES (?, ?, ?)",
                  (ns, key, v), apply(True), apply(False))

    @rule(rows3=st.lists(st.tuples(namespaces, keys, values), min_size=3, max_size=3))
    def insert_many(self, rows3):
        def apply(local):
            def run(m):
                for ns, key, v in rows3:
                    if not valid(ns, key, v):
                        raise ValueError("error")
                    m.write(ns, key, as_text(v), local=local)  # OR REPLACE
            return run
        self.both("INSERT OR REPLACE INTO {t}(namespace, key, value) VALUES "
                  "(?, ?, ?), (?, ?, ?), (?, ?, ?)",
                  tuple(x for r in rows3 for x in r), apply(True), apply(False))

    @rule(data=st.data(), v=values)
    def update(self, data, v):
        assume(self.local.rows)
        ns, key = data.draw(st.sampled_from(sorted(self.local.rows)))

        def apply(local):
            def run(m):
                if (ns, key) not in m.rows:
                    return
                if v is None or isinstance(v, bytes) or \
                        len(as_text(v).encode()) > MAX_VALUE:
                    raise ValueError("error")
                m.write(ns, key, as_text(v), old_key=(ns, key), local=local)
            return run
        self.both("UPDATE {t} SET value = ? WHERE namespace = ? AND key = ?",
                  (v, ns, key), apply(True), apply(False))

    @rule(data=st.data(), mode=st.sampled_from(["", "OR REPLACE", "OR IGNORE"]),
          ns2=namespaces, key2=keys)
    def move(self, data, mode, ns2, key2):
        assume(self.local.rows)
        ns, key = data.draw(st.sampled_from(sorted(self.local.rows)))
        target = data.draw(st.sampled_from([(ns2, key2)] + sorted(self.local.rows)))

        def apply(local):
            def run(m):
                if (ns, key) not in m.rows:
                    return
                tns, tkey = target
                if not valid(tns, tkey, "x"):
                    raise ValueError("error")
                if (tns, tkey) == (ns, key):
                    m.write(ns, key, m.rows[(ns, key)], old_key=(ns, key), local=local)
                    return
                if (tns, tkey) in m.rows:
                    if mode == "":
                        raise ValueError("dup")
                    if mode == "OR IGNORE":
                        return
                m.write(tns, tkey, m.rows[(ns, key)], old_key=(ns, key), local=local)
            return run
        self.both("UPDATE " + mode + " {t} SET namespace = ?, key = ? "
                  "WHERE namespace = ? AND key = ?",
                  (target[0], target[1], ns, key), apply(True), apply(False))

    @rule(data=st.data(), whole=st.booleans())
    def delete(self, data, whole):
        assume(self.local.rows)
        ns, key = data.draw(st.sampled_from(sorted(self.local.rows)))

        def run(m):
            for k in list(m.rows):
                if k[0] == ns and (whole or k[1] == key):
                    del m.rows[k]
        if whole:
            self.both("DELETE FROM {t} WHERE namespace = ?", (ns,), run, run)
        else:
            self.both("DELETE FROM {t} WHERE namespace = ? AND key = ?", (ns, key),
                      run, run)

    @precondition(lambda self: self.txn is None)
    @rule()
    def begin(self):
        self.db.execute("BEGIN")
        self.txn = (self.local.copy(), self.remote.copy())

    # The invariant reads the remote table after every step, and a read
    # sends the pending writes first: every remote write has reached the
    # server by the next step, so nothing rolls the remote model back. A
    # ROLLBACK TO past remote writes cannot take them back: COMMIT must then
    # fail (and roll the local side back), saying why.
    @precondition(lambda self: self.txn is not None)
    @rule()
    def commit(self):
        if self.poisoned:
            with pytest.raises(sqlite3.OperationalError) as e:
                self.db.execute("COMMIT")
            assert "cannot be taken back by ROLLBACK TO" in str(e.value)
            assert not self.db.in_transaction
            self.local = self.txn[0]
        else:
            self.db.execute("COMMIT")
        self.txn, self.savepoints, self.poisoned = None, [], False

    @precondition(lambda self: self.txn is not None)
    @rule()
    def rollback(self):
        self.db.execute("ROLLBACK")
        self.local = self.txn[0]
        self.txn, self.savepoints, self.poisoned = None, [], False

    @precondition(lambda self: self.txn is not None)
    @rule()
    def savepoint(self):
        self.db.execute(f"SAVEPOINT s{len(self.savepoints)}")
        self.savepoints.append((self.local.copy(), self.remote.copy()))

    @precondition(lambda self: self.savepoints)
    @rule()
    def rollback_to(self):
        i = len(self.savepoints) - 1
        self.db.execute(f"ROLLBACK TO s{i}")
        self.local = self.savepoints[i][0].copy()
        if (self.remote.rows != self.savepoints[i][1].rows
                or self.remote.sent != self.savepoints[i][1].sent):
            self.poisoned = True

    @precondition(lambda self: self.savepoints)
    @rule()
    def release(self):
        self.db.execute(f"RELEASE s{len(self.savepoints) - 1}")
        self.savepoints.pop()

    # -- queries ------------------------------------------------------------------
    @rule(data=st.data(), limit=st.sampled_from([None, -1, 0, 1, 3, 9223372036854775807]),
          offset=st.sampled_from([None, 0, 2, 9223372036854775807]))
    def query_local(self, data, limit, offset):
        ns = data.draw(st.sampled_from(sorted({n for n, _ in self.local.rows} | {"a"})))
        in_list = data.draw(st.lists(st.one_of(
            keys, st.integers(0, 20), st.floats(allow_nan=False),
            st.sampled_from([None, b"k"])), max_size=4))
        kinds = data.draw(st.sampled_from(["all", "in", "range", "like", "glob"]))
        where, params = "namespace = ?", [ns]
        if kinds == "in":
            where += " AND key IN (%s)" % ",".join("?" * len(in_list)) if in_list else ""
            params += in_list
        elif kinds == "range":
            where += " AND key >= ? AND key < ?"
            params += ["a", "k"]
        elif kinds == "like":
            where += " AND key LIKE ?"
            params += ["k%"]
        elif kinds == "glob":
            where += " AND key GLOB ?"
            params += ["k*"]
        tail = " ORDER BY key"
        if limit is not None:
            tail += f" LIMIT {limit}"
            if offset is not None:
                tail += f" OFFSET {offset}"
        plain = sqlite3.connect(":memory:")
        plain.execute("CREATE TABLE p(namespace TEXT, key TEXT, value TEXT)")
        plain.executemany("INSERT INTO p VALUES (?, ?, ?)",
                          [(n, k, v) for (n, k), v in self.local.rows.items()])
        want = plain.execute(f"SELECT key, value FROM p WHERE {where}{tail}",
                             params).fetchall()
        got = self.db.execute(f"SELECT key, value FROM loc WHERE {where}{tail}",
                              params).fetchall()
        assert got == want, (where, tail, params)

    @rule(word=st.sampled_from(["refund", "hello", "world", "please", "x"]))
    def search(self, word):
        # Which rows hold the word as a token, by FTS5's own tokenizer (a
        # regex disagreed on letters it does not know, e.g. U+1093A).
        tok = sqlite3.connect(":memory:")
        tok.execute("CREATE VIRTUAL TABLE w USING fts5(k, t, "
                    "tokenize = 'unicode61 remove_diacritics 2')")
        tok.executemany("INSERT INTO w VALUES (?, ?)",
                        [(repr(k), self.db.execute("SELECT memory_search_text(?)",
                                                   (v,)).fetchone()[0])
                         for k, v in self.local.rows.items()])
        hits = {r[0] for r in tok.execute("SELECT k FROM w WHERE t MATCH ?", (word,))}
        tok.close()
        want = sorted(k for k in self.local.rows if repr(k) in hits)
        got = sorted(self.db.execute("SELECT namespace, key FROM loc WHERE loc MATCH ?",
                                     (word,)).fetchall())
        assert got == want, word

    @rule()
    def check(self):
        self.db.execute("INSERT INTO loc(loc) VALUES ('integrity-check')")

    # -- invariants: both tables hold what their model says ----------------------
    @invariant()
    def tables_match_models(self):
        if not hasattr(self, "db"):
            return
        got = dict(((n, k), v) for n, k, v in self.db.execute(
            "SELECT namespace, key, value FROM loc"))
        assert got == self.local.rows
        names = sorted({n for n, _ in self.remote.rows} | {"a", "b", "user-42"})
        got = dict(((n, k), v) for n, k, v in self.db.execute(
            "SELECT namespace, key, value FROM rem WHERE namespace IN (%s)"
            % ",".join("?" * len(names)), names))
        assert got == self.remote.rows


@pytest.fixture(scope="module")
def machine_server():
    srv = MemoryServer()
    MemoryMachine.server = srv
    yield srv
    srv.stop()


def test_local_remote_and_model_agree(machine_server):
    MemoryMachine.TestCase().runTest()
