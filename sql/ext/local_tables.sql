-- Backing tables of a local `memory` table named {T} in database {S}.
-- Created once, by CREATE VIRTUAL TABLE. {S} and {T} are replaced by the
-- quoted-identifier-escaped schema and table names before this runs.
-- These are shadow tables: in defensive mode only the extension writes them.

-- One row per (namespace, key). The rowid is the virtual table's rowid.
-- The value comes last: a long value spills into overflow pages, and a
-- column stored after it (every read checks expires_at) would make SQLite
-- read them all. (A table upgraded from format 2 has expires_at appended
-- after the value: correct, slower to scan.)
CREATE TABLE "{S}"."{T}_data"(
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  updated_at REAL NOT NULL,
  created_at REAL NOT NULL,
  expires_at REAL,  -- NULL: never (see memory_local_schema.c's expiry index)
  value TEXT NOT NULL,
  UNIQUE(namespace, key)
);

-- Running totals per namespace, kept by the triggers in local_triggers.sql,
-- so a quota check costs one lookup however large the namespace is.
-- `writes` counts INSERT/UPDATE rows on the UTC day `day` (days since
-- 1970-01-01).
CREATE TABLE "{S}"."{T}_quota"(
  namespace TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  keys INTEGER NOT NULL,
  day INTEGER NOT NULL,
  writes INTEGER NOT NULL
) WITHOUT ROWID;
