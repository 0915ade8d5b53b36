-- make demo, part 3: 25 writes in one statement against a 20-a-day quota.
-- The statement fails as a whole: nothing of it is stored.
.load ./dist/memory
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
INSERT INTO mem(namespace, key, value) SELECT 'user-42', 'note-' || i, 'x' FROM n;
