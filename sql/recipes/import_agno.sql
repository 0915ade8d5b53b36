-- Import from Agno 2.x's default SQLite tables (agno_memories,
-- agno_sessions) into a `memory` table:
--
--   .read sql/import_agno.sql           -- or conn.executescript(...)
--   INSERT OR REPLACE INTO mem SELECT * FROM agno_memory_import;
--   INSERT OR REPLACE INTO mem SELECT * FROM agno_history_import;
--
-- The views are TEMP: they live as long as the connection and touch
-- nothing. Agno's tables may be in an ATTACHed database.
--
-- Names: namespace = memory_namespace(user_id) ('anonymous' when NULL);
-- key = memory_key(memory_id or session_id). Both leave valid names as they
-- are and map anything else to a readable name plus a hash (README).

-- One row per memory. `memory` holds a JSON-encoded string (or, in some
-- versions, an object); topics a JSON array; times epoch seconds.
DROP VIEW IF EXISTS temp.agno_memory_import;
CREATE TEMP VIEW agno_memory_import(namespace, key, value, updated_at) AS
SELECT memory_namespace(coalesce(user_id, 'anonymous')),
       memory_key(memory_id),
       json_object(
         'memory', CASE
           WHEN json_valid(memory) AND json_type(memory) = 'text' THEN memory ->> '$'
           WHEN json_valid(memory) THEN json(memory)
           ELSE memory END,
         'topics', CASE WHEN json_valid(topics) THEN json(topics) END,
         'input', input,
         'agent_id', agent_id,
         'team_id', team_id),
       CAST(coalesce(updated_at, created_at) AS REAL)
  FROM agno_memories;

-- One row per session: its messages across runs, in order, as a JSON array
-- that memory_messages() reads. Agno repeats earlier messages in later runs
-- (from_history) and may repeat a message id: each message is kept once.
DROP VIEW IF EXISTS temp.agno_history_import;
CREATE TEMP VIEW agno_history_import(namespace, key, value, updated_at) AS
WITH message(session_id, run_pos, msg_pos, id, msg) AS (
  SELECT s.session_id, r.key, m.key, m.value ->> '$.id', m.value
    FROM agno_sessions AS s,
         json_each(CASE WHEN json_valid(s.runs) THEN s.runs ELSE '[]' END) AS r,
         json_each(r.value, '$.messages') AS m
   WHERE json_type(r.value, '$.messages') = 'array'
     AND m.type = 'object'
     AND coalesce(m.value ->> '$.from_history', 0) IN (0, 'false')
),
kept AS (
  SELECT session_id, run_pos, msg_pos, msg FROM message AS a
   WHERE a.id IS NULL OR NOT EXISTS (
     SELECT 1 FROM message AS b
      WHERE b.session_id = a.session_id AND b.id = a.id
        AND (b.run_pos < a.run_pos OR (b.run_pos = a.run_pos AND b.msg_pos < a.msg_pos)))
)
SELECT memory_namespace(coalesce(s.user_id, 'anonymous')),
       memory_key(s.session_id),
       (SELECT json_group_array(json(k.msg))
          FROM (SELECT msg FROM kept AS k2 WHERE k2.session_id = s.session_id
                 ORDER BY run_pos, msg_pos) AS k),
       CAST(coalesce(s.updated_at, s.created_at) AS REAL)
  FROM agno_sessions AS s
 WHERE EXISTS (SELECT 1 FROM kept WHERE kept.session_id = s.session_id);
