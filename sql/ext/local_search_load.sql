-- (Re)fill "{T}_search" (local_search.sql) from the rows of "{T}_data":
-- when search is turned on, and by the rebuild command. A table cannot be
-- dropped while a statement runs (a command is an INSERT), so the index is
-- emptied instead, and "search off" leaves it empty.
INSERT INTO "{S}"."{T}_search"("{T}_search") VALUES ('delete-all');
INSERT INTO "{S}"."{T}_search"(rowid, text)
SELECT id, {TEXT:d} FROM "{S}"."{T}_data" AS d;
