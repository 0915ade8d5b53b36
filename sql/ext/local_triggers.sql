-- Quota triggers and the usage view of a local `memory` table {T} in {S}.
-- Created by CREATE VIRTUAL TABLE and created again by ALTER TABLE RENAME
-- (their names carry the table's name).
--
-- Placeholders, filled in by memory_local.c:
--   {MAX_BYTES}, {MAX_WRITES}  the table's limits (0 = no limit), as
--                              numbers: a command that changes one makes
--                              the triggers again
--   {TNAME}                    the table's name as an SQL string literal
--   {TODAY}                    the UTC day, as days since 1970-01-01
--
-- memory_quota(QUOTA, NAMESPACE, NEW_TOTAL, LIMIT, GREW, TABLE) returns
-- NEW_TOTAL, or fails the statement with a constraint error naming the
-- quota, the namespace and the limit, and saying how to raise it on TABLE,
-- when NEW_TOTAL is over a non-zero LIMIT and GREW is true. The whole
-- statement is then undone (ABORT), running totals included. A write that
-- makes a namespace smaller is never refused, even over a lowered limit.

CREATE TRIGGER "{S}"."{T}_quota_insert" AFTER INSERT ON "{T}_data"
BEGIN
  INSERT INTO "{T}_quota"(namespace, bytes, keys, day, writes)
  VALUES (NEW.namespace,
          memory_quota('max_namespace_bytes', NEW.namespace,
                       length(CAST(NEW.value AS BLOB)), {MAX_BYTES}, 1, {TNAME}),
          1, {TODAY}, 1)
  ON CONFLICT(namespace) DO UPDATE SET
    bytes = memory_quota('max_namespace_bytes', namespace,
                         bytes + excluded.bytes, {MAX_BYTES}, 1, {TNAME}),
    keys = keys + 1,
    writes = memory_quota('max_writes_per_day', namespace,
                          CASE WHEN day = excluded.day THEN writes + 1 ELSE 1 END,
                          {MAX_WRITES}, 1, {TNAME}),
    day = excluded.day;
END;

CREATE TRIGGER "{S}"."{T}_quota_update" AFTER UPDATE ON "{T}_data"
BEGIN
  UPDATE "{T}_quota"
     SET bytes = bytes - length(CAST(OLD.value AS BLOB)), keys = keys - 1
   WHERE namespace = OLD.namespace;
  -- The VALUES row is used only when NEW.namespace has no totals yet, which
  -- can only be a move: then it grows. Otherwise DO UPDATE decides.
  INSERT INTO "{T}_quota"(namespace, bytes, keys, day, writes)
  VALUES (NEW.namespace,
          memory_quota('max_namespace_bytes', NEW.namespace,
                       length(CAST(NEW.value AS BLOB)), {MAX_BYTES},
                       NEW.namespace <> OLD.namespace, {TNAME}),
          1, {TODAY}, 1)
  ON CONFLICT(namespace) DO UPDATE SET
    bytes = memory_quota('max_namespace_bytes', namespace,
                         bytes + excluded.bytes, {MAX_BYTES},
                         NEW.namespace <> OLD.namespace
                         OR length(CAST(NEW.value AS BLOB))
                            > length(CAST(OLD.value AS BLOB)), {TNAME}),
    keys = keys + 1,
    writes = memory_quota('max_writes_per_day', namespace,
                          CASE WHEN day = excluded.day THEN writes + 1 ELSE 1 END,
                          {MAX_WRITES}, 1, {TNAME}),
    day = excluded.day;
END;

-- Deletes free bytes but do not give back writes: the day's count stays.
CREATE TRIGGER "{S}"."{T}_quota_delete" AFTER DELETE ON "{T}_data"
BEGIN
  UPDATE "{T}_quota"
     SET bytes = bytes - length(CAST(OLD.value AS BLOB)), keys = keys - 1
   WHERE namespace = OLD.namespace;
END;

-- Usage per namespace: SELECT * FROM {T}_usage;
CREATE VIEW "{S}"."{T}_usage"(namespace, keys, bytes, max_namespace_bytes,
                              writes_today, max_writes_per_day) AS
SELECT namespace, keys, bytes, {MAX_BYTES},
       CASE WHEN day = {TODAY} THEN writes ELSE 0 END, {MAX_WRITES}
  FROM "{T}_quota";
