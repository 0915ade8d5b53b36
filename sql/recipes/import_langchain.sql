-- Import from LangChain's SQLChatMessageHistory table
--   message_store(id INTEGER PRIMARY KEY, session_id TEXT, message TEXT)
-- where message is {"type": "human"|"ai"|..., "data": {"content": ...}}:
--
--   .read sql/import_langchain.sql
--   INSERT OR REPLACE INTO mem SELECT * FROM langchain_history_import;
--
-- One row per session, in the namespace the hosted SDK's LangChain adapter
-- uses by default ('langchain-sessions'), key = memory_key(session_id), the
-- value the session's messages in id order as LangChain message dicts, so
-- that adapter reads them back. message_store has no times: updated_at is
-- NULL, and the memory table sets it to now. Rows whose message is not JSON
-- are left out.
DROP VIEW IF EXISTS temp.langchain_history_import;
CREATE TEMP VIEW langchain_history_import(namespace, key, value, updated_at) AS
SELECT 'langchain-sessions',
       memory_key(s.session_id),
       (SELECT json_group_array(json(m.message))
          FROM (SELECT message FROM message_store AS m2
                 WHERE m2.session_id = s.session_id AND json_valid(m2.message)
                 ORDER BY m2.id) AS m),
       NULL
  FROM (SELECT DISTINCT session_id FROM message_store
         WHERE session_id IS NOT NULL AND json_valid(message)) AS s;
