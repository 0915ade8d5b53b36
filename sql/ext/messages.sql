-- memory_messages(value): one stored conversation as rows
-- (idx, role, content, created_at). ?1 is the stored value. Run by
-- ext/memory_messages.c for each value; any value it does not understand
-- (not JSON, not a list of messages) gives no rows.
--
-- Understood message shapes, first match wins:
--   {role, content}           content a string, or a list of parts whose
--                             {type: "text", text} parts are joined by "\n";
--                             Agno's {role, content, created_at} included
--   {sender, message}         role = sender
--   {user, assistant}         two rows, user first
--   {type, data: {content}}   LangChain: human/ai/system/tool become
--                             user/assistant/system/tool; a "chat"
--                             message takes its data.role
-- A value that is an object with a "messages" array is read as that array.
WITH conversation(list) AS (
  SELECT CASE
    WHEN NOT json_valid(?1) THEN '[]'
    WHEN json_type(?1) = 'array' THEN ?1
    WHEN json_type(?1) = 'object' AND json_type(?1, '$.messages') = 'array'
      THEN json_extract(?1, '$.messages')
    ELSE '[]'
  END
),
message(pos, m, shape) AS (
  SELECT e.id, e.value, CASE
      WHEN json_type(e.value, '$.role') = 'text' THEN 'role'
      WHEN json_type(e.value, '$.sender') IS NOT NULL
       AND json_type(e.value, '$.message') IS NOT NULL THEN 'sender'
      WHEN json_type(e.value, '$.user') IS NOT NULL
        OR json_type(e.value, '$.assistant') IS NOT NULL THEN 'pair'
      WHEN json_type(e.value, '$.type') = 'text'
       AND json_type(e.value, '$.data') = 'object' THEN 'langchain'
    END
  FROM conversation, json_each(conversation.list) AS e
  WHERE e.type = 'object'
),
turn(pos, sub, role, body, created_at) AS (
  SELECT pos, 0, m ->> '$.role', m -> '$.content', m ->> '$.created_at'
    FROM message WHERE shape = 'role'
  UNION ALL
  SELECT pos, 0, m ->> '$.sender', m -> '$.message', m ->> '$.created_at'
    FROM message WHERE shape = 'sender'
  UNION ALL
  SELECT pos, 0, 'user', m -> '$.user', m ->> '$.created_at'
    FROM message WHERE shape = 'pair' AND json_type(m, '$.user') IS NOT NULL
  UNION ALL
  SELECT pos, 1, 'assistant', m -> '$.assistant', m ->> '$.created_at'
    FROM message WHERE shape = 'pair' AND json_type(m, '$.assistant') IS NOT NULL
  UNION ALL
  SELECT pos, 0,
         CASE m ->> '$.type' WHEN 'human' THEN 'user' WHEN 'ai' THEN 'assistant'
           WHEN 'chat' THEN coalesce(m ->> '$.data.role', 'chat')
           ELSE m ->> '$.type' END,
         m -> '$.data.content', m ->> '$.created_at'
    FROM message WHERE shape = 'langchain'
)
SELECT row_number() OVER (ORDER BY pos, sub) - 1,
       role,
       CASE json_type(body)
         WHEN 'text' THEN body ->> '$'
         WHEN 'array' THEN (
           SELECT group_concat(p.value ->> '$.text', char(10))
             FROM json_each(body) AS p
            WHERE p.type = 'object' AND p.value ->> '$.type' = 'text')
         WHEN 'null' THEN NULL
         ELSE body
       END,
       created_at
  FROM turn
 ORDER BY pos, sub;
