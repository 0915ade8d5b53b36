-- make demo, part 2: a new process opens the same file; memory is there.
.load ./dist/memory
.mode box
SELECT value AS user_name FROM mem WHERE namespace = 'user-42' AND key = 'user_name';

-- Conversation analytics: messages per role per user.
SELECT m.namespace, j.value ->> 'role' AS role, count(*) AS messages
  FROM mem AS m, json_each(m.value) AS j
 WHERE m.key = 'conversation_history' GROUP BY 1, 2;

-- Usage against the quotas.
SELECT * FROM mem_usage;
