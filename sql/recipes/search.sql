-- Full-text search over stored conversations: recipes for a local table
-- `mem` created with search=on (or after INSERT INTO mem(mem, value)
-- VALUES ('search', 'on')). Replace 'refund' with your query: FTS5 syntax,
-- words in double quotes to take them as they are ("user-42").
--
--   sqlite3 agent.db '.load ./dist/memory' '.read sql/recipes/search.sql'

-- The messages that mention it, per user: the index finds the
-- conversations, memory_messages() splits them, and the message filter
-- keeps the ones that say it.
SELECT m.namespace, msg.idx, msg.role, msg.content
  FROM mem AS m, memory_messages(m.value) AS msg
 WHERE m.mem MATCH 'refund' AND m.key = 'conversation_history'
   AND msg.content LIKE '%refund%'
 ORDER BY m.namespace, msg.idx;

-- Which users mentioned it, best match first.
SELECT namespace, min(rank) AS best
  FROM mem WHERE mem MATCH 'refund OR outage'
 GROUP BY namespace ORDER BY best;
