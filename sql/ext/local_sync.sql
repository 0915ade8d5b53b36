-- Sync state of a local `memory` table {T} in {S} (memory_sync(), see
-- memory_sync.c and README "Offline-first sync"). Made the first time the
-- table is synced (memory_sync_state.c), never before: a table that is
-- never synced pays nothing. These two are shadow tables: in defensive
-- mode only the extension writes them.

-- One row per key that was synced or written since the state was made.
--   base_at    the server's updated_at of the value last seen in sync, as
--              the server's exact double; NULL: not known yet (after a PUT,
--              whose answer carries no time, until a listing tells it)
--   base_hash  SHA-256 of that value; NULL: the key never reached the
--              server as far as this side knows
--   dirty      1: the entry changed locally since the base (the triggers
--              set it on every write, move and delete)
--   ver        bumped by the triggers on every local write: memory_sync
--              clears `dirty` only if no write came between its read and
--              the server's answer
--   changed_at local clock of the last local write (a conflict's time)
-- A row with a base and no entry in {T}_data is a tombstone: the entry was
-- deleted locally and the server has not been told yet.
CREATE TABLE "{S}"."{T}_sync"(
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  base_at REAL,
  base_hash BLOB,
  dirty INTEGER NOT NULL DEFAULT 1,
  ver INTEGER NOT NULL DEFAULT 0,
  changed_at REAL,
  PRIMARY KEY(namespace, key)
) WITHOUT ROWID;

-- One row per synced namespace.
--   watermark  the newest server updated_at seen by the last sync that got
--              that far: a listing whose oldest entry is newer than it may
--              have missed changes (more than 1000 since)
--   synced_at  local clock of the last sync that completed
--   last_error the last sync's error, NULL when it completed
CREATE TABLE "{S}"."{T}_syncns"(
  namespace TEXT PRIMARY KEY,
  watermark REAL,
  synced_at REAL,
  last_error TEXT
) WITHOUT ROWID;

-- Values a sync did not keep (an ordinary table: read it, and DELETE the
-- rows once resolved). side: whose value this is ('local' or 'remote');
-- value NULL: that side had deleted the entry; at: when that side wrote it
-- (the local clock for 'local', the server's for 'remote'); reason: what
-- happened and which value was kept.
CREATE TABLE IF NOT EXISTS "{S}"."{T}_conflicts"(
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  at REAL,
  side TEXT NOT NULL,
  reason TEXT NOT NULL
);
