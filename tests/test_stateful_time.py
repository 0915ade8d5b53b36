"""Property-based, stateful test of memory in time: random sequences of
writes, clock steps, transactions and sweeps against a local table with
ttl_seconds, history and search on, and a model that knows time. After
every step the table must agree with the model on the entries alive now,
on what `as_of` returns at past times (each a time a step ran, and the
instants between), on which entries a search matches, and integrity-check
must pass.

The model keeps, for history, the list of (time, entries) after each write
that stayed (ROLLBACK drops them): as_of(t) is the last such state at or
before t, less the entries whose expires_at is not after t. It knows
nothing of versions, markers, purges or the triggers: the table's history
has to come out the same by its own means.

Rules: insert (plain / OR REPLACE / OR IGNORE; expires_at given or from
ttl_seconds), update (value, expires_at to a time or NULL), move (within and
across namespaces, onto free and taken keys, plain / OR REPLACE / OR
IGNORE), delete, sweep, tick (the clock moves 0-90 s), begin / commit /
rollback / savepoint / rollback_to. Budget: STATEFUL_EXAMPLES examples
(default 150: a model that expires one second late is caught) of up to 40
steps, seeded; `make fuzz` runs 2000.
"""
import os
import sqlite3

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

os.environ["MEMORY_TEST_CLOCK"] = "1"
from conftest import connect  # noqa: E402

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "150"))
TTL = 50
T0 = 1795300000.0

namespaces = st.sampled_from(["a", "b"])
keys = st.sampled_from(["k1", "k2", "k3"])
words = st.sampled_from(["refund", "outage", "hello", "refund later"])
expiries = st.one_of(st.none(), st.integers(-10, 150))   # seconds from now


class TimeModel:
    def __init__(self, now):
        self.now = now
        self.rows = {}       # (ns, key) -> (value, expires_at or None)
        self.states = []     # [(time, rows)] after each write

    def copy(self):
        m = TimeModel(self.now)
        m.rows = dict(self.rows)
        m.states = list(self.states)
        return m

    def live(self, at=None):
        t = self.now if at is None else at
        return {k: v for k, (v, e) in self.rows.items() if e is None or e > t}

    def record(self):
        self.states.append((self.now, dict(self.rows)))

    def as_of(self, t):
        rows = {}
        for when, state in self.states:
            if when <= t:
                rows = state
        return {k: v for k, (v, e) in rows.items() if e is None or e > t}


@settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None,
          database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
class TimeMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.db = connect(":memory:")
        self.now = T0
        self.db.execute("SELECT memory_test_clock(?)", (self.now,))
        self.db.execute(f"CREATE VIRTUAL TABLE mem USING memory(ttl_seconds={TTL}, "
                        "history=on, search=on, max_writes_per_day=0)")
        self.model = TimeModel(self.now)
        self.txn = None
        self.savepoints = []

    def teardown(self):
        self.db.execute("SELECT memory_test_clock(0)")
        self.db.close()

    def run(self, sql, params, change):
        """Run sql; change(model) applies it to a copy, or raises ValueError
        when the statement must fail (then nothing changes)."""
        trial = self.model.copy()
        try:
            change(trial)
            expect_error = False
        except ValueError:
            expect_error = True
        try:
            self.db.execute(sql, params)
            got_error = None
        except sqlite3.Error as e:
            got_error = str(e)
            assert got_error.startswith("memory: "), got_error
        assert (got_error is not None) == expect_error, (sql, params, got_error)
        if not expect_error:
            trial.record()
            self.model = trial

    def expiry(self, after):
        return None if after is None else self.now + after

    # -- rules ------------------------------------------------------------------
    @rule(mode=st.sampled_from(["", "OR REPLACE", "OR IGNORE"]), ns=namespaces,
          key=keys, v=words, after=expiries)
    def insert(self, mode, ns, key, v, after):
        exp = self.expiry(after)

        def change(m):
            if (ns, key) in m.live():
                if mode == "":
                    raise ValueError("dup")
                if mode == "OR IGNORE":
                    return
            m.rows[(ns, key)] = (v, exp if exp is not None else self.now + TTL)
        self.run(f"INSERT {mode} INTO mem(namespace, key, value, expires_at) "
                 "VALUES (?, ?, ?, ?)", (ns, key, v, exp), change)

    @rule(ns=namespaces, key=keys, v=words)
    def update_value(self, ns, key, v):
        def change(m):
            if (ns, key) in m.live():
                m.rows[(ns, key)] = (v, self.now + TTL)
        self.run("UPDATE mem SET value = ? WHERE namespace = ? AND key = ?",
                 (v, ns, key), change)

    @rule(ns=namespaces, key=keys, after=expiries)
    def update_expiry(self, ns, key, after):
        exp = self.expiry(after)

        def change(m):
            if (ns, key) in m.live():
                m.rows[(ns, key)] = (m.rows[(ns, key)][0], exp)
        self.run("UPDATE mem SET expires_at = ? WHERE namespace = ? AND key = ?",
                 (exp, ns, key), change)

    @rule(mode=st.sampled_from(["", "OR REPLACE", "OR IGNORE"]), ns=namespaces,
          key=keys, ns2=namespaces, key2=keys)
    def move(self, mode, ns, key, ns2, key2):
        def change(m):
            live = m.live()
            if (ns, key) not in live or (ns, key) == (ns2, key2):
                if (ns, key) in live:  # an UPDATE to itself refreshes expiry
                    m.rows[(ns, key)] = (live[(ns, key)], self.now + TTL)
                return
            if (ns2, key2) in live:
                if mode == "":
                    raise ValueError("dup")
                if mode == "OR IGNORE":
                    return
            value = m.rows.pop((ns, key))[0]
            m.rows[(ns2, key2)] = (value, self.now + TTL)
        self.run(f"UPDATE {mode} mem SET namespace = ?, key = ? WHERE "
                 "namespace = ? AND key = ?", (ns2, key2, ns, key), change)

    @rule(ns=namespaces, key=keys)
    def delete(self, ns, key):
        def change(m):
            if (ns, key) in m.live():
                del m.rows[(ns, key)]
        self.run("DELETE FROM mem WHERE namespace = ? AND key = ?", (ns, key), change)

    @rule()
    def sweep(self):
        def change(m):
            pass  # expired entries go, which no read can tell
        self.run("INSERT INTO mem(mem) VALUES ('sweep')", (), change)

    @rule(seconds=st.sampled_from([0, 1, 0.5, 30, 49, 50, 51, 90]))
    def tick(self, seconds):
        self.now += seconds
        self.model.now = self.now
        self.db.execute("SELECT memory_test_clock(?)", (self.now,))

    @precondition(lambda self: self.txn is None)
    @rule()
    def begin(self):
        self.db.execute("BEGIN")
        self.txn = self.model.copy()

    @precondition(lambda self: self.txn is not None)
    @rule()
    def commit(self):
        self.db.execute("COMMIT")
        self.txn = None
        self.savepoints = []

    @precondition(lambda self: self.txn is not None)
    @rule()
    def rollback(self):
        self.db.execute("ROLLBACK")
        self.model = self.txn
        self.model.now = self.now
        self.txn = None
        self.savepoints = []

    @precondition(lambda self: self.txn is not None)
    @rule()
    def savepoint(self):
        self.db.execute(f"SAVEPOINT s{len(self.savepoints)}")
        self.savepoints.append(self.model.copy())

    @precondition(lambda self: self.savepoints)
    @rule()
    def rollback_to(self):
        self.db.execute(f"ROLLBACK TO s{len(self.savepoints) - 1}")
        self.model = self.savepoints[-1].copy()
        self.model.now = self.now

    # -- what must agree after every step ---------------------------------------
    def read(self, sql, params=()):
        return {(ns, key): v for ns, key, v in self.db.execute(sql, params)}

    @invariant()
    def current_entries_agree(self):
        if not hasattr(self, "db"):
            return
        want = self.model.live()
        assert self.read("SELECT namespace, key, value FROM mem") == want
        for ns in ("a", "b"):
            assert self.read("SELECT namespace, key, value FROM mem WHERE "
                             "namespace = ?", (ns,)) == {
                k: v for k, v in want.items() if k[0] == ns}
        assert self.read("SELECT namespace, key, value FROM mem WHERE mem MATCH "
                         "'refund'") == {k: v for k, v in want.items()
                                         if "refund" in v}

    @invariant()
    def the_past_agrees(self):
        if not hasattr(self, "db"):
            return
        times = sorted({t for t, _ in self.model.states} | {self.now})
        probes = set(times) | {t + 0.25 for t in times} | {T0 - 1}
        for t in sorted(probes):
            if t > self.now:
                continue
            assert self.read("SELECT namespace, key, value FROM mem WHERE "
                             "namespace IN ('a', 'b') AND as_of = ?", (t,)) == \
                self.model.as_of(t), t

    @invariant()
    def integrity_holds(self):
        if hasattr(self, "db"):
            self.db.execute("INSERT INTO mem(mem) VALUES ('integrity-check')")


TestTime = TimeMachine.TestCase
