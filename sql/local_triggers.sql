-- Quota triggers and the usage view of a local `memory` table {T} in {S}.
-- Created by CREATE VIRTUAL TABLE and created again by ALTER TABLE RENAME
-- (their names carry the table's name). Limits are read from {T}_config,
-- where 0 means no limit.
--
-- Each trigger first updates the namespace's running totals, then checks
-- them: memory_quota_error() fails the statement with SQLITE_CONSTRAINT and
-- a message naming the quota, the namespace and the limit, and the whole
-- statement is undone (ABORT), totals included. A write that makes a
-- namespace smaller is never refused, even over a lowered limit.

CREATE TRIGGER "{S}"."{T}_quota_insert" AFTER INSERT ON "{T}_data"
BEGIN
  INSERT INTO "{T}_quota"(namespace, bytes, keys, day, writes)
  VALUES (NEW.namespace, length(CAST(NEW.value AS BLOB)), 1, date('now'), 1)
  ON CONFLICT(namespace) DO UPDATE SET
    bytes = bytes + excluded.bytes,
    keys = keys + 1,
    writes = CASE WHEN day = excluded.day THEN writes + 1 ELSE 1 END,
    day = excluded.day;
  SELECT CASE
    WHEN lim.bytes > 0 AND q.bytes > lim.bytes
      THEN memory_quota_error('max_namespace_bytes', q.namespace, lim.bytes)
    WHEN lim.writes > 0 AND q.writes > lim.writes
      THEN memory_quota_error('max_writes_per_day', q.namespace, lim.writes)
  END
  FROM "{T}_quota" AS q, "{T}_limits" AS lim
  WHERE q.namespace = NEW.namespace;
END;

CREATE TRIGGER "{S}"."{T}_quota_update" AFTER UPDATE ON "{T}_data"
BEGIN
  UPDATE "{T}_quota"
     SET bytes = bytes - length(CAST(OLD.value AS BLOB)), keys = keys - 1
   WHERE namespace = OLD.namespace;
  INSERT INTO "{T}_quota"(namespace, bytes, keys, day, writes)
  VALUES (NEW.namespace, length(CAST(NEW.value AS BLOB)), 1, date('now'), 1)
  ON CONFLICT(namespace) DO UPDATE SET
    bytes = bytes + excluded.bytes,
    keys = keys + 1,
    writes = CASE WHEN day = excluded.day THEN writes + 1 ELSE 1 END,
    day = excluded.day;
  SELECT CASE
    WHEN lim.bytes > 0 AND q.bytes > lim.bytes
         AND (NEW.namespace <> OLD.namespace
              OR length(CAST(NEW.value AS BLOB)) > length(CAST(OLD.value AS BLOB)))
      THEN memory_quota_error('max_namespace_bytes', q.namespace, lim.bytes)
    WHEN lim.writes > 0 AND q.writes > lim.writes
      THEN memory_quota_error('max_writes_per_day', q.namespace, lim.writes)
  END
  FROM "{T}_quota" AS q, "{T}_limits" AS lim
  WHERE q.namespace = NEW.namespace;
END;

-- Deletes free bytes but do not give back writes: the day's count stays.
CREATE TRIGGER "{S}"."{T}_quota_delete" AFTER DELETE ON "{T}_data"
BEGIN
  UPDATE "{T}_quota"
     SET bytes = bytes - length(CAST(OLD.value AS BLOB)), keys = keys - 1
   WHERE namespace = OLD.namespace;
END;

-- The two limits as one row, for the triggers and the usage view.
CREATE VIEW "{S}"."{T}_limits"(bytes, writes) AS
SELECT
  (SELECT value FROM "{T}_config" WHERE name = 'max_namespace_bytes'),
  (SELECT value FROM "{T}_config" WHERE name = 'max_writes_per_day');

-- Usage per namespace: SELECT * FROM {T}_usage;
CREATE VIEW "{S}"."{T}_usage"(namespace, keys, bytes, max_namespace_bytes,
                              writes_today, max_writes_per_day) AS
SELECT q.namespace, q.keys, q.bytes, lim.bytes,
       CASE WHEN q.day = date('now') THEN q.writes ELSE 0 END, lim.writes
  FROM "{T}_quota" AS q, "{T}_limits" AS lim;
