-- Full-text index of a local `memory` table {T} in {S}, made when `search`
-- is turned on (at CREATE or later) and dropped when it is turned off.
--
-- "{T}_search" is a contentless FTS5 table: the text lives in "{T}_data",
-- the index keeps only what it needs to match and rank, and its rowid is
-- the entry's id. What is indexed ({TEXT:...}) is a value's text as it is,
-- or, for a JSON object or array, its string values only, one per line
-- (keys and punctuation are not words, so a conversation is searchable by
-- what was said). Tokens are Unicode-aware with diacritics folded.
--
-- The index follows every write through local_search_triggers.sql.
CREATE VIRTUAL TABLE "{S}"."{T}_search" USING fts5(
  text, content = '', tokenize = 'unicode61 remove_diacritics 2'
);
