"""memory_sync() attacked from outside: regressions for defects found by
review (names, races with another connection, ...). See test_sync.py for
the contract's own tests."""
import pytest

from conftest import rows
from test_sync import remote_values


@pytest.mark.parametrize("name", ["confusing", '"using"', '"a using memory b"',
                                  "[fusing]", 'x /* using */'])
def test_a_local_table_whose_name_holds_using_is_found(db, server, name):
    # The module was found as the word after the first "using" anywhere in
    # the CREATE statement, the table's own name included.
    db.execute(f"CREATE VIRTUAL TABLE {name} USING memory")
    db.execute(f"CREATE VIRTUAL TABLE hosted USING memory(remote='{server.url}')")
    stored = rows(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                      "AND sql LIKE 'CREATE VIRTUAL TABLE%' AND name <> 'hosted'")[0][0]
    db.execute(f'INSERT INTO "{stored}"(namespace, key, value) VALUES (\'ns\', \'a\', \'1\')')
    s = db.execute("SELECT memory_sync(?, 'hosted', 'ns')", (stored,)).fetchone()[0]
    assert '"pushed":1' in s
    assert remote_values(server) == {"a": "1"}
