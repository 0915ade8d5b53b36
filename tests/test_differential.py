"""Differential test: seeded random sequences of writes and queries against
a local table, a remote table on the test server, and a plain Python model
of the interface. All three must agree on every row and every outcome.

`make test` runs a bounded number of seeds; `make fuzz` runs many more
(DIFF_SEEDS, DIFF_OPS). A failure prints the seed and the operation, and
DIFF_SEED=<n> replays just that seed.
"""
import os
import random
import sqlite3

import pytest

NAMESPACES = ["a", "b", "c-1"]
KEYS = ["k0", "k1", "k2", "k3", "k.4", "k_5", "user_name"]
SEEDS = int(os.environ.get("DIFF_SEEDS", "6"))
OPS = int(os.environ.get("DIFF_OPS", "120"))


class Model:
    """The interface's semantics, as a dict."""

    def __init__(self):
        self.rows = {}

    def insert(self, mode, ns, key, value):
        if (ns, key) in self.rows:
            if mode == "":
                return "constraint"
            if mode == "OR IGNORE":
                return "ok"
        self.rows[(ns, key)] = value
        return "ok"

    def update_value(self, ns, key, value):
        if (ns, key) in self.rows:
            self.rows[(ns, key)] = value
        return "ok"

    def move(self, mode, ns, key, ns2, key2):
        if (ns, key) not in self.rows or (ns, key) == (ns2, key2):
            return "ok"
        if (ns2, key2) in self.rows:
            if mode == "":
                return "constraint"
            if mode == "OR IGNORE":
                return "ok"
        self.rows[(ns2, key2)] = self.rows.pop((ns, key))
        return "ok"

    def delete(self, ns, keys):
        for key in keys:
            self.rows.pop((ns, key), None)
        return "ok"

    def select(self, pred):
        return sorted((ns, k, v) for (ns, k), v in self.rows.items() if pred(ns, k))


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def random_value(rnd):
    return rnd.choice([
        lambda: f"v{rnd.randrange(1000)}",
        lambda: "é" * rnd.randrange(1, 5) + "ü",
        lambda: '{"role": "user", "content": "it\'s ' + str(rnd.random()) + '"}',
        lambda: str(rnd.randrange(-5, 100)),
        lambda: "",
        lambda: "x" * rnd.randrange(200, 2000),
    ])()


def random_query(rnd):
    """A SELECT with random constraints, and the model's predicate for it.
    Every query names its namespaces: a remote table requires it."""
    if rnd.random() < 0.5:
        ns = rnd.choice(NAMESPACES)
        parts, preds = [f"namespace = {sql_str(ns)}"], [lambda n, k, ns=ns: n == ns]
    else:
        nss = rnd.sample(NAMESPACES + ["zz"], rnd.randrange(1, 4))
        parts = [f"namespace IN ({', '.join(map(sql_str, nss))})"]
        preds = [lambda n, k, nss=nss: n in nss]
    kind = rnd.randrange(6)
    if kind == 1:
        key = rnd.choice(KEYS + ["nope"])
        parts.append(f"key = {sql_str(key)}")
        preds.append(lambda n, k, key=key: k == key)
    elif kind == 2:
        keys = rnd.sample(KEYS, rnd.randrange(1, 4))
        parts.append(f"key IN ({', '.join(map(sql_str, keys))})")
        preds.append(lambda n, k, keys=keys: k in keys)
    elif kind == 3:
        lo = rnd.choice(KEYS)
        parts.append(f"key >= {sql_str(lo)}")
        preds.append(lambda n, k, lo=lo: k >= lo)
    elif kind == 4:
        prefix = rnd.choice(["k", "K", "u", "k1", "x"])
        parts.append(f"key LIKE {sql_str(prefix + '%')}")
        preds.append(lambda n, k, p=prefix.lower(): k.lower().startswith(p))
    where = " AND ".join(parts)
    limit = rnd.choice([None, None, 1, 3])
    sql = f"SELECT namespace, key, value FROM t WHERE {where} ORDER BY namespace, key"
    if limit:
        sql += f" LIMIT {limit}"
    return sql, (lambda n, k: all(p(n, k) for p in preds)), limit


def run_op(conn, sql):
    try:
        conn.execute(sql)
        return "ok"
    except sqlite3.IntegrityError:
        return "constraint"


def step(rnd, model, conns):
    """One random operation on every connection and the model."""
    op = rnd.randrange(8)
    ns, key = rnd.choice(NAMESPACES), rnd.choice(KEYS)
    if op <= 2:
        mode = ["", "OR REPLACE", "OR IGNORE"][op]
        value = random_value(rnd)
        sql = (f"INSERT {mode} INTO t(namespace, key, value) VALUES "
               f"({sql_str(ns)}, {sql_str(key)}, {sql_str(value)})")
        want = model.insert(mode, ns, key, value)
    elif op == 3:
        value = random_value(rnd)
        sql = (f"UPDATE t SET value = {sql_str(value)} WHERE namespace = "
               f"{sql_str(ns)} AND key = {sql_str(key)}")
        want = model.update_value(ns, key, value)
    elif op == 4:
        mode = rnd.choice(["", "OR REPLACE", "OR IGNORE"])
        ns2, key2 = rnd.choice(NAMESPACES), rnd.choice(KEYS)
        sql = (f"UPDATE {mode} t SET namespace = {sql_str(ns2)}, key = {sql_str(key2)} "
               f"WHERE namespace = {sql_str(ns)} AND key = {sql_str(key)}")
        want = model.move(mode, ns, key, ns2, key2)
    elif op == 5:
        keys = rnd.sample(KEYS, rnd.randrange(1, 3))
        sql = (f"DELETE FROM t WHERE namespace = {sql_str(ns)} AND key IN "
               f"({', '.join(map(sql_str, keys))})")
        want = model.delete(ns, keys)
    else:
        sql, pred, limit = random_query(rnd)
        want = model.select(pred)[:limit] if limit else model.select(pred)
        for name, conn in conns:
            got = conn.execute(sql).fetchall()
            assert got == want, (name, sql)
        return sql
    for name, conn in conns:
        assert run_op(conn, sql) == want, (name, sql)
    return sql


def seeds():
    if "DIFF_SEED" in os.environ:
        return [int(os.environ["DIFF_SEED"])]
    return list(range(SEEDS))


@pytest.mark.parametrize("seed", seeds())
def test_local_remote_and_model_agree(db, server, seed):
    db.execute("CREATE VIRTUAL TABLE t USING memory(max_writes_per_day=0)")
    remote = sqlite3.connect(":memory:", isolation_level=None)
    remote.enable_load_extension(True)
    from conftest import EXT
    remote.load_extension(EXT)
    remote.execute(f"CREATE VIRTUAL TABLE t USING memory(remote='{server.url}')")
    rnd = random.Random(seed)
    model = Model()
    conns = [("local", db), ("remote", remote)]
    for i in range(OPS):
        try:
            step(rnd, model, conns)
        except AssertionError as e:
            raise AssertionError(f"seed {seed}, operation {i}: {e}") from None
    # In the end, everything agrees.
    everything = ("SELECT namespace, key, value FROM t WHERE namespace IN "
                  f"({', '.join(map(sql_str, NAMESPACES))}) ORDER BY 1, 2")
    assert rows_of(db, everything) == rows_of(remote, everything) == model.select(
        lambda n, k: True)
    remote.close()


def rows_of(conn, sql):
    return conn.execute(sql).fetchall()
