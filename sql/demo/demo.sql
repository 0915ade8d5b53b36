-- make demo, part 1: an agent remembers, recalls and forgets.
.load ./dist/memory
.mode box
CREATE VIRTUAL TABLE mem USING memory(max_writes_per_day=20);

-- Remember (the SDK's Memory("user-42").set(...)).
INSERT OR REPLACE INTO mem(namespace, key, value) VALUES
  ('user-42', 'user_name', 'Sarah'),
  ('user-42', 'favorite_color', 'green'),
  ('user-42', 'conversation_history', json_array(
     json_object('role', 'user', 'content', 'Hi, I am Sarah.'),
     json_object('role', 'assistant', 'content', 'Nice to meet you, Sarah!'),
     json_object('role', 'user', 'content', 'My favourite colour is green.'))),
  ('user-7', 'conversation_history', json_array(
     json_object('role', 'user', 'content', 'What did I ask yesterday?'),
     json_object('role', 'assistant', 'content', 'About the weather.')));

-- Recall.
SELECT value AS user_name FROM mem WHERE namespace = 'user-42' AND key = 'user_name';

-- Forget.
DELETE FROM mem WHERE namespace = 'user-42' AND key = 'favorite_color';
SELECT key, datetime(updated_at, 'unixepoch') AS updated FROM mem
 WHERE namespace = 'user-42' ORDER BY key;
