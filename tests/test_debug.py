"""memory_debug(): the facts a bug report needs."""
import sqlite3

from conftest import connect, rows


def test_memory_debug_names_every_version_and_the_build():
    conn = connect()
    text = rows(conn, "SELECT memory_debug()")[0][0]
    lines = dict(line.split(": ", 1) for line in text.split("\n"))
    assert list(lines) == ["memory", "sqlite compiled", "sqlite running",
                           "libcurl", "build"]
    assert lines["memory"] == rows(conn, "SELECT memory_version()")[0][0]
    # The SQLite this process runs is the one Python reports.
    assert lines["sqlite running"].split(" ")[0] == sqlite3.sqlite_version
    assert lines["sqlite running"].split(" ", 1)[1] == \
        "(" + rows(conn, "SELECT sqlite_source_id()")[0][0] + ")"
    assert lines["libcurl"].startswith("7.") or lines["libcurl"].startswith("8.")
    assert ", TLS OpenSSL/" in lines["libcurl"]
    assert lines["libcurl"].endswith(", HTTP/2 yes")
    assert lines["build"].startswith("-O")
