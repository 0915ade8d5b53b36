-- Triggers that keep the sync state of {T} ({T}_sync, see
-- local_sync.sql) in the same transaction as the rows. Plain-table writes
-- and built-in functions only: they run under PRAGMA trusted_schema=OFF.
-- Made with the state, and again by ALTER TABLE RENAME and 'rebuild'.

CREATE TRIGGER "{S}"."{T}_sync_insert" AFTER INSERT ON "{T}_data"
BEGIN
  INSERT INTO "{T}_sync"(namespace, key, dirty, ver, changed_at)
  VALUES (NEW.namespace, NEW.key, 1, 1,
          (julianday('now') - 2440587.5) * 86400.0)
  ON CONFLICT(namespace, key) DO UPDATE SET
    dirty = 1, ver = ver + 1, changed_at = excluded.changed_at;
END;

-- A move deletes the old name (a key that never reached the server is
-- simply forgotten) and writes the new one.
CREATE TRIGGER "{S}"."{T}_sync_update" AFTER UPDATE ON "{T}_data"
BEGIN
  DELETE FROM "{T}_sync"
   WHERE (OLD.namespace <> NEW.namespace OR OLD.key <> NEW.key)
     AND namespace = OLD.namespace AND key = OLD.key AND base_hash IS NULL;
  UPDATE "{T}_sync"
     SET dirty = 1, ver = ver + 1,
         changed_at = (julianday('now') - 2440587.5) * 86400.0
   WHERE (OLD.namespace <> NEW.namespace OR OLD.key <> NEW.key)
     AND namespace = OLD.namespace AND key = OLD.key;
  INSERT INTO "{T}_sync"(namespace, key, dirty, ver, changed_at)
  VALUES (NEW.namespace, NEW.key, 1, 1,
          (julianday('now') - 2440587.5) * 86400.0)
  ON CONFLICT(namespace, key) DO UPDATE SET
    dirty = 1, ver = ver + 1, changed_at = excluded.changed_at;
END;

-- A delete leaves a tombstone (the row, with its base) until the server
-- has it; a key that never reached the server is forgotten.
CREATE TRIGGER "{S}"."{T}_sync_delete" AFTER DELETE ON "{T}_data"
BEGIN
  DELETE FROM "{T}_sync"
   WHERE namespace = OLD.namespace AND key = OLD.key AND base_hash IS NULL;
  UPDATE "{T}_sync"
     SET dirty = 1, ver = ver + 1,
         changed_at = (julianday('now') - 2440587.5) * 86400.0
   WHERE namespace = OLD.namespace AND key = OLD.key;
END;
