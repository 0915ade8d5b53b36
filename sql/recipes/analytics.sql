-- Conversation analytics over a local `memory` table named mem:
--   .read sql/analytics.sql
-- TEMP views, so they cost nothing until queried. Conversations are values
-- that memory_messages() understands (any key); for another table name,
-- replace "mem" below. A remote table needs a namespace in every query, so
-- run these on a local copy: INSERT OR REPLACE INTO mem SELECT * FROM hosted
-- WHERE namespace IN (...).

-- Every message of every conversation, for search and counting:
--   SELECT * FROM memory_message_log WHERE content LIKE '%refund%';
DROP VIEW IF EXISTS temp.memory_message_log;
CREATE TEMP VIEW memory_message_log(namespace, key, idx, role, content, created_at) AS
SELECT m.namespace, m.key, x.idx, x.role, x.content, x.created_at
  FROM mem AS m, memory_messages(m.value) AS x;

-- Messages per role per namespace.
DROP VIEW IF EXISTS temp.memory_messages_per_role;
CREATE TEMP VIEW memory_messages_per_role(namespace, role, messages) AS
SELECT namespace, role, count(*) FROM memory_message_log GROUP BY 1, 2;

-- The longest conversations, by messages and characters.
DROP VIEW IF EXISTS temp.memory_longest_conversations;
CREATE TEMP VIEW memory_longest_conversations(namespace, key, messages, characters) AS
SELECT namespace, key, count(*), sum(length(content))
  FROM memory_message_log GROUP BY 1, 2 ORDER BY 3 DESC, 4 DESC;

-- Last activity per user (namespace), from the entries' own times.
DROP VIEW IF EXISTS temp.memory_last_activity;
CREATE TEMP VIEW memory_last_activity(namespace, entries, last_updated_at, last_updated) AS
SELECT namespace, count(*), max(updated_at),
       strftime('%Y-%m-%d %H:%M:%f', max(updated_at), 'unixepoch')
  FROM mem GROUP BY 1 ORDER BY 3 DESC;

-- Quota usage per namespace, as shares of the limits (NULL: no limit).
DROP VIEW IF EXISTS temp.memory_quota_usage;
CREATE TEMP VIEW memory_quota_usage(namespace, keys, bytes, bytes_used_pct,
                                    writes_today, writes_used_pct) AS
SELECT namespace, keys, bytes,
       round(100.0 * bytes / nullif(max_namespace_bytes, 0), 2),
       writes_today,
       round(100.0 * writes_today / nullif(max_writes_per_day, 0), 2)
  FROM mem_usage ORDER BY bytes DESC;
