-- The versions of a local `memory` table {T} in {S} with history=on: made
-- when history is turned on (at CREATE or later), emptied when it is
-- turned off. Kept by the triggers of local_history_triggers.sql.
--
-- One row per version of an entry, the current one included, and one per
-- deletion or expiry (value NULL): what (namespace, key) held from
-- updated_at (valid_from in the view) until valid_to (NULL: still holds,
-- unless expires_at has passed). The column names are those of "{T}_data",
-- so an `as_of` read runs the very WHERE clause a current read would.
-- History does not count toward max_namespace_bytes.
CREATE TABLE "{S}"."{T}_versions"(
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  updated_at REAL NOT NULL,
  created_at REAL,
  expires_at REAL,
  valid_to REAL,
  op TEXT NOT NULL
);
