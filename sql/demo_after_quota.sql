.load ./dist/memory
SELECT count(*) AS notes_stored FROM mem WHERE namespace = 'user-42' AND key LIKE 'note-%';
