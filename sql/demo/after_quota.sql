-- make demo, part 4: nothing of the failed statement was stored.
.load ./dist/memory
.mode box
SELECT count(*) AS notes_stored FROM mem WHERE namespace = 'user-42' AND key LIKE 'note-%';
