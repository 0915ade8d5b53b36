"""The file dependency graph of ext/ runs one way.

Edges come from the source itself: file A depends on file B when A calls a
function defined in B, or uses a backend B defines. The layers are:
memory.c -> memory_vtab.c -> the backends -> the leaves, which depend on
nothing of the project but memory_util.c (and, for names, config).
"""
import os
import re

from conftest import ROOT

EXT = os.path.join(ROOT, "ext")


def sources():
    return sorted(f for f in os.listdir(EXT) if f.endswith(".c"))


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def dependency_edges():
    """{(a, b)}: a.c calls or names a project symbol defined in b.c."""
    defined = {}
    texts = {}
    for f in sources():
        text = strip_comments(open(os.path.join(EXT, f)).read())
        texts[f] = text
        # Non-static functions and objects named mem*/sqlite3_memory_*.
        for m in re.finditer(r"^(?!static)[A-Za-z][\w \*]*?\b(mem\w+)\s*(\(|=)",
                             text, flags=re.M):
            defined[m.group(1)] = f
    edges = set()
    for f, text in texts.items():
        for name in set(re.findall(r"\b(mem\w+)\b", text)):
            g = defined.get(name)
            if g and g != f:
                edges.add((f, g))
    return edges


def has_cycle(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state = {}

    def visit(n):
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1 or (m not in state and visit(m)):
                return True
        state[n] = 2
        return False
    return any(n not in state and visit(n) for n in list(graph))


LEAVES = {"memory_util.c", "memory_config.c", "memory_names.c", "memory_http.c",
          "memory_sync_state.c"}


def test_no_cycle():
    edges = dependency_edges()
    assert edges, "the scan found no edges: the test would prove nothing"
    assert not has_cycle(edges), sorted(edges)


def test_leaves_depend_only_on_leaves_below_them():
    allowed = {
        "memory_util.c": set(),
        "memory_config.c": {"memory_util.c"},
        "memory_names.c": {"memory_util.c", "memory_config.c"},
        "memory_http.c": {"memory_util.c"},
        # the sync state's tables and triggers: made by memory_sync.c,
        # renamed, dropped and checked by the local backend
        "memory_sync_state.c": {"memory_util.c"},
    }
    for a, b in dependency_edges():
        if a in allowed:
            assert b in allowed[a], f"{a} depends on {b}"


def test_nothing_depends_on_the_entry_point_or_the_module_but_its_caller():
    for a, b in dependency_edges():
        assert b != "memory.c", f"{a} depends on memory.c"
        if b == "memory_vtab.c":
            assert a == "memory.c", f"{a} depends on memory_vtab.c"


def test_sync_talks_to_both_sides_and_only_the_entry_point_calls_it():
    """memory_sync.c (the sync function) uses the remote backend's client
    and the sync state; the local table only through SQL. Only memory.c,
    which registers it, depends on it; the local backend depends on the
    sync state alone, never on the remote side."""
    edges = dependency_edges()
    assert {b for a, b in edges if a == "memory_sync.c"} <= {
        "memory_remote.c", "memory_remote_api.c", "memory_remote_writes.c",
        "memory_http.c",
        "memory_sync_state.c", "memory_config.c", "memory_names.c",
        "memory_util.c"}
    assert {a for a, b in edges if b == "memory_sync.c"} == {"memory.c"}
    assert {a for a, b in edges if b == "memory_sync_state.c"} == {
        "memory_sync.c", "memory_local.c", "memory_local_schema.c"}


if __name__ == "__main__":
    for a, b in sorted(dependency_edges()):
        print(f"{a} -> {b}")
