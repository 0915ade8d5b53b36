-- The history triggers and view of a local `memory` table {T} in {S}
-- (history=on):
-- every write to "{T}_data" closes the key's open version in
-- "{T}_versions" (local_history.sql) and opens the next, in the same
-- transaction as the write, so ROLLBACK, ROLLBACK TO and a crash leave
-- both as they were. Made again by a rename and by a change of
-- history_days, which is a literal here.
--
-- Placeholders, filled in by memory_local_write.c:
--   {PRUNE}  1 when versions are pruned (history_days > 0), else 0
--   {KEEP}   history_days in seconds
--
-- memory_now() is the time of the write (one instant for every trigger it
-- fires). A write names its own time in NEW.updated_at (given by an
-- import, or now); a deletion happens now, and the deletion of an expired
-- entry happened when it expired.
-- Each write prunes at most 4 versions that stopped holding more than
-- history_days ago: bounded work, whatever the history's size.

CREATE TRIGGER "{S}"."{T}_history_insert" AFTER INSERT ON "{T}_data"
BEGIN
  UPDATE "{T}_versions" SET valid_to = NEW.updated_at
   WHERE namespace = NEW.namespace AND key = NEW.key AND valid_to IS NULL;
  INSERT INTO "{T}_versions"(namespace, key, value, updated_at, created_at,
                             expires_at, op)
  VALUES (NEW.namespace, NEW.key, NEW.value, NEW.updated_at, NEW.created_at,
          NEW.expires_at, 'insert');
  DELETE FROM "{T}_versions" WHERE {PRUNE} AND id IN (
    SELECT id FROM "{T}_versions"
     WHERE coalesce(valid_to, CASE WHEN value IS NULL THEN updated_at END)
           < memory_now() - {KEEP}
     LIMIT 4);
END;

CREATE TRIGGER "{S}"."{T}_history_update" AFTER UPDATE ON "{T}_data"
BEGIN
  -- A move leaves a deletion marker at the old name.
  UPDATE "{T}_versions" SET valid_to = NEW.updated_at
   WHERE namespace = OLD.namespace AND key = OLD.key AND valid_to IS NULL;
  INSERT INTO "{T}_versions"(namespace, key, value, updated_at, created_at,
                             expires_at, op)
  SELECT OLD.namespace, OLD.key, NULL, NEW.updated_at, OLD.created_at, NULL,
         'delete'
   WHERE NEW.namespace <> OLD.namespace OR NEW.key <> OLD.key;
  UPDATE "{T}_versions" SET valid_to = NEW.updated_at
   WHERE namespace = NEW.namespace AND key = NEW.key AND valid_to IS NULL;
  INSERT INTO "{T}_versions"(namespace, key, value, updated_at, created_at,
                             expires_at, op)
  VALUES (NEW.namespace, NEW.key, NEW.value, NEW.updated_at, NEW.created_at,
          NEW.expires_at,
          CASE WHEN NEW.namespace <> OLD.namespace OR NEW.key <> OLD.key
               THEN 'insert' ELSE 'update' END);
  DELETE FROM "{T}_versions" WHERE {PRUNE} AND id IN (
    SELECT id FROM "{T}_versions"
     WHERE coalesce(valid_to, CASE WHEN value IS NULL THEN updated_at END)
           < memory_now() - {KEEP}
     LIMIT 4);
END;

CREATE TRIGGER "{S}"."{T}_history_delete" AFTER DELETE ON "{T}_data"
BEGIN
  UPDATE "{T}_versions"
     SET valid_to = CASE WHEN OLD.expires_at <= memory_now()
                         THEN OLD.expires_at ELSE memory_now() END
   WHERE namespace = OLD.namespace AND key = OLD.key AND valid_to IS NULL;
  INSERT INTO "{T}_versions"(namespace, key, value, updated_at, created_at,
                             expires_at, op)
  VALUES (OLD.namespace, OLD.key, NULL,
          CASE WHEN OLD.expires_at <= memory_now()
               THEN OLD.expires_at ELSE memory_now() END,
          OLD.created_at, NULL,
          CASE WHEN OLD.expires_at <= memory_now() THEN 'expire'
               ELSE 'delete' END);
END;

-- <table>_history: every version, with the time it stopped holding.
CREATE VIEW "{S}"."{T}_history"(namespace, key, value, valid_from, valid_to, op) AS
SELECT namespace, key, value, updated_at,
       CASE WHEN valid_to IS NULL AND expires_at <= memory_now()
            THEN expires_at ELSE valid_to END,
       op
  FROM "{T}_versions";
