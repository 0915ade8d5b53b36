/*
** The backing objects of a local table beyond its rows: the quota and
** history triggers and views, the indexes, the versions of history=on,
** and the commands that check and repair them all (integrity-check,
** rebuild) or delete what expired (sweep). memory_local.c's lifecycle
** calls the makers; memory_commands.c reaches the commands through the
** backend's xCommand.
*/
#include "memory_local.h"
#include "memory_sync_state.h"

int memLocalDropObjects(MemVtab *p) {
  const char *azDrop[] = {"TRIGGER", "quota_insert", "TRIGGER", "quota_update",
                          "TRIGGER", "quota_delete", "VIEW", "usage",
                          "TRIGGER", "history_insert", "TRIGGER", "history_update",
                          "TRIGGER", "history_delete", "VIEW", "history"};
  int i, rc = SQLITE_OK;
  for (i = 0; i < (int)(sizeof(azDrop) / sizeof(azDrop[0])) && rc == SQLITE_OK;
       i += 2) {
    rc = memExecPrintf(p->db, "DROP %s IF EXISTS \"%w\".\"%w_%s\"", azDrop[i],
                       p->zSchema, p->zName, azDrop[i + 1]);
  }
  return rc;
}

/* The quota triggers and the usage view of table p under the name zName,
** and with history on the history triggers and view. */
int memLocalMakeTriggers(MemVtab *p, const char *zName, char **pzErr) {
  int rc = memLocalExec(p, zName, memSqlLocalTriggers, pzErr);
  if (rc == SQLITE_OK && p->settings.history) {
    rc = memLocalExec(p, zName, memSqlLocalHistoryTriggers, pzErr);
  }
  return rc;
}

/* The indexes of a local table. ALTER TABLE RENAME keeps an index's name,
** and an index cannot be dropped (to make it again under the new name)
** while another statement runs, which a rename allows: so an index is
** found by its table and its definition, not its name, and is named
** "<table>_<suffix>" when made, or "<table>_<suffix>_<n>" when a renamed
** table's index holds that name already. DROP TABLE drops them. */
typedef struct LocalIndex {
  const char *zSuffix;
  const char *zTable; /* suffix of the table indexed */
  const char *zBody;  /* what follows the table's name in CREATE INDEX */
  int isHistory;      /* exists only with "<name>_versions" */
  int isUnique;
} LocalIndex;

static const LocalIndex aLocalIndex[] = {
    /* The entries of a namespace that expire, soonest first: a write finds
    ** the few it deletes (memory_local_write.c, purgeExpired) by a seek,
    ** never by scanning the namespace, and `sweep` finds them all. */
    {"expiry", "data", "(namespace, expires_at) WHERE expires_at IS NOT NULL", 0, 0},
    /* as_of reads: a key's versions in time order. */
    {"versions_key", "versions", "(namespace, key, updated_at)", 1, 0},
    /* The open version of each key: found by one seek, and at most one. */
    {"versions_open", "versions", "(namespace, key) WHERE valid_to IS NULL", 1, 1},
    /* Pruning after history_days: when a version stopped mattering (closed,
    ** or a deletion marker). */
    {"versions_age", "versions",
     "(coalesce(valid_to, CASE WHEN value IS NULL THEN updated_at END))", 1, 0},
};
#define N_LOCAL_INDEX ((int)(sizeof(aLocalIndex) / sizeof(aLocalIndex[0])))

/* Does table p have index x (under any name)? */
static int indexExists(MemVtab *p, const LocalIndex *x, int *pExists) {
  return memRowExistsPrintf(
      p->db, pExists,
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'index' AND "
      "tbl_name = '%q_%q' COLLATE NOCASE AND instr(sql, %Q) > 0",
      p->zSchema, p->zName, x->zTable, x->zBody);
}

/* Make index x of table p under the first free name (SQLite's names
** ignore ASCII case: "T_expiry" is taken by a renamed table's "t_expiry"). */
static int makeIndex(MemVtab *p, const LocalIndex *x) {
  sqlite3_stmt *pStmt;
  int rc = memPreparePrintf(
      p->db, &pStmt,
      "WITH RECURSIVE n(i, name) AS (VALUES (1, '%q_%q') UNION ALL "
      "SELECT i + 1, '%q_%q_' || (i + 1) FROM n) SELECT name FROM n WHERE "
      "lower(name) NOT IN (SELECT lower(name) FROM \"%w\".sqlite_schema) "
      "LIMIT 1",
      p->zName, x->zSuffix, p->zName, x->zSuffix, p->zSchema);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    rc = memExecPrintf(p->db, "CREATE %sINDEX \"%w\".\"%w\" ON \"%w_%w\"%s",
                       x->isUnique ? "UNIQUE " : "", p->zSchema,
                       (const char *)sqlite3_column_text(pStmt, 0), p->zName,
                       x->zTable, x->zBody);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Make the indexes table p lacks (those of the history too, withHistory). */
int memLocalMakeIndexes(MemVtab *p, int withHistory) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < N_LOCAL_INDEX && rc == SQLITE_OK; i++) {
    const LocalIndex *x = &aLocalIndex[i];
    int exists = 0;
    if (x->isHistory && !withHistory) continue;
    rc = indexExists(p, x, &exists);
    if (rc == SQLITE_OK && !exists) rc = makeIndex(p, x);
  }
  return rc;
}

/* Does "<name>_<zSuffix>" exist (a table)? */
int memLocalTableExists(MemVtab *p, const char *zSuffix, int *pExists) {
  return memRowExistsPrintf(
      p->db, pExists,
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND "
      "name = '%q_%q' COLLATE NOCASE",
      p->zSchema, p->zName, zSuffix);
}

/* History turned on (at CREATE or later): "<name>_versions" is made if need
** be and, when it holds nothing (new, or emptied when history was turned
** off), the current entries become the first versions. Turned on again
** while on, it keeps what it has. */
int memLocalStartHistory(MemVtab *p, char **pzErr) {
  int exists = 0, rc = memLocalTableExists(p, "versions", &exists);
  if (rc == SQLITE_OK && !exists) {
    rc = memLocalExec(p, p->zName, memSqlLocalHistory, pzErr);
    if (rc == SQLITE_OK) rc = memLocalMakeIndexes(p, 1);
  }
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(
        p->db,
        "INSERT INTO \"%w\".\"%w_versions\"(namespace, key, value, "
        "updated_at, created_at, expires_at, op) SELECT namespace, key, value, "
        "updated_at, created_at, expires_at, 'insert' FROM \"%w\".\"%w_data\" "
        "WHERE NOT EXISTS (SELECT 1 FROM \"%w\".\"%w_versions\")",
        p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema, p->zName);
  }
  return rc;
}

/* History turned off: the versions are deleted (the table stays: a table
** cannot be dropped while the command's own statement runs). */
int memLocalForgetHistory(MemVtab *p) {
  int exists = 0, rc = memLocalTableExists(p, "versions", &exists);
  if (rc != SQLITE_OK || !exists) return rc;
  return memExecPrintf(p->db, "DELETE FROM \"%w\".\"%w_versions\"",
                       p->zSchema, p->zName);
}

/* The first row of zSql (sqlite3_mprintf'd by the caller, freed here), a
** description of a difference, becomes *pzErr and SQLITE_CORRUPT_VTAB. */
static int firstDifference(MemVtab *p, char *zSql, char **pzErr) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pzErr = sqlite3_mprintf(
        "memory: integrity-check of '%s' failed: %s; run "
        "INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
        p->zName, sqlite3_column_text(pStmt, 0), p->zName, p->zName);
    sqlite3_finalize(pStmt);
    return SQLITE_CORRUPT_VTAB;
  }
  return sqlite3_finalize(pStmt);
}

/* The sync state (memory_sync), if the table has been synced. */
static int syncStateIntegrity(MemVtab *p, char **pzErr) {
  char *zWhat = 0;
  int rc = memSyncStateCheck(p->db, p->zSchema, p->zName, &zWhat);
  if (rc == SQLITE_OK && zWhat) {
    *pzErr = sqlite3_mprintf(
        "memory: integrity-check of '%s' failed: %s; run "
        "INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
        p->zName, zWhat, p->zName, p->zName);
    rc = SQLITE_CORRUPT_VTAB;
  }
  sqlite3_free(zWhat);
  return rc;
}

/* Where the history and the entries disagree: every entry has an open
** version with its value and time, and every open version that is not a
** deletion marker has its entry. */
#define HISTORY_DIFFERENCES                                                   \
  "SELECT printf('entry %s/%s has no current version in the history', "      \
  "d.namespace, d.key) FROM \"{S}\".\"{T}_data\" AS d "                        \
  "LEFT JOIN \"{S}\".\"{T}_versions\" AS v ON v.namespace = d.namespace "      \
  "AND v.key = d.key AND v.valid_to IS NULL "                                 \
  "WHERE v.value IS NOT d.value OR v.updated_at IS NOT d.updated_at "         \
  "UNION ALL "                                                                \
  "SELECT printf('the history has a current version of %s/%s, which is "    \
  "gone', v.namespace, v.key) FROM \"{S}\".\"{T}_versions\" AS v "             \
  "WHERE v.valid_to IS NULL AND v.value IS NOT NULL AND NOT EXISTS "          \
  "(SELECT 1 FROM \"{S}\".\"{T}_data\" AS d WHERE d.namespace = v.namespace " \
  "AND d.key = v.key) LIMIT 1"

/* The history made to agree with the entries again (what it lacks cannot
** be recovered): open versions the entries contradict are closed now, and
** entries without a current version get one. */
#define HISTORY_REPAIR                                                        \
  "UPDATE \"{S}\".\"{T}_versions\" AS v SET valid_to = memory_now() "          \
  "WHERE valid_to IS NULL AND (value IS NOT NULL OR EXISTS (SELECT 1 FROM "   \
  "\"{S}\".\"{T}_data\" AS d WHERE d.namespace = v.namespace AND "             \
  "d.key = v.key)) AND NOT EXISTS (SELECT 1 FROM \"{S}\".\"{T}_data\" AS d "   \
  "WHERE d.namespace = v.namespace AND d.key = v.key AND d.value = v.value "  \
  "AND d.updated_at = v.updated_at);"                                         \
  "INSERT INTO \"{S}\".\"{T}_versions\"(namespace, key, value, updated_at, "   \
  "created_at, expires_at, op) SELECT namespace, key, value, updated_at, "    \
  "created_at, expires_at, 'update' FROM \"{S}\".\"{T}_data\" AS d WHERE NOT " \
  "EXISTS (SELECT 1 FROM \"{S}\".\"{T}_versions\" AS v WHERE v.namespace = "   \
  "d.namespace AND v.key = d.key AND v.valid_to IS NULL);"

/* The triggers are there, the running totals per namespace match the rows,
** and the search index (when on) holds exactly the rows' ids and is sound
** by FTS5's own check. *pzErr names the first difference and what to do. */
static int localIntegrityCheck(MemVtab *p, char **pzErr) {
  /* type and suffix of every object the table needs */
  const char *azWant[] = {"trigger", "quota_insert", "trigger", "quota_update",
                          "trigger", "quota_delete", "trigger", "history_insert",
                          "trigger", "history_update", "trigger", "history_delete",
                          "view", "history"};
  int nWant = p->settings.history ? 14 : 6, i, rc;
  sqlite3_str *pWant = sqlite3_str_new(0);
  char *zWant;
  for (i = 0; i < nWant; i += 2) {
    sqlite3_str_appendf(pWant, "%s('%s', %Q || '_%s')", i ? ", " : "",
                        azWant[i], p->zName, azWant[i + 1]);
  }
  zWant = sqlite3_str_finish(pWant);
  if (zWant == 0) return SQLITE_NOMEM;
  rc = firstDifference(p, sqlite3_mprintf(
      "WITH want(type, name) AS (VALUES %s) "
      "SELECT type || ' ''' || name || ''' is missing' FROM want "
      "WHERE (type, name) NOT IN (SELECT type, name FROM \"%w\".sqlite_schema) "
      "UNION ALL "
      "SELECT printf('namespace ''%%s'': the running totals say %%d keys and "
      "%%d bytes, the rows hold %%d keys and %%d bytes', "
      "coalesce(q.namespace, d.namespace), coalesce(q.keys, 0), "
      "coalesce(q.bytes, 0), coalesce(d.keys, 0), coalesce(d.bytes, 0)) "
      "FROM \"%w\".\"%w_quota\" AS q FULL JOIN (SELECT namespace, count(*) AS "
      "keys, sum(length(CAST(value AS BLOB))) AS bytes FROM "
      "\"%w\".\"%w_data\" GROUP BY namespace) AS d ON d.namespace = q.namespace "
      "WHERE coalesce(q.keys, 0) <> coalesce(d.keys, 0) "
      "OR coalesce(q.bytes, 0) <> coalesce(d.bytes, 0) LIMIT 1",
      zWant, p->zSchema, p->zSchema, p->zName, p->zSchema, p->zName), pzErr);
  sqlite3_free(zWant);
  for (i = 0; i < N_LOCAL_INDEX && rc == SQLITE_OK; i++) {
    const LocalIndex *x = &aLocalIndex[i];
    int exists = 0;
    if (x->isHistory && !p->settings.history) continue;
    /* A table not upgraded yet (see memory_vtab.c) has no expiry at all. */
    if (!x->isHistory && p->settings.format < 3) continue;
    rc = indexExists(p, x, &exists);
    if (rc == SQLITE_OK && !exists) {
      *pzErr = sqlite3_mprintf(
          "memory: integrity-check of '%s' failed: the index on %s_%s%s is "
          "missing; run INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
          p->zName, p->zName, x->zTable, x->zBody, p->zName, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK && p->settings.history) {
    rc = firstDifference(p, memLocalExpand(HISTORY_DIFFERENCES, p, p->zName), pzErr);
  }
  if (rc == SQLITE_OK) rc = syncStateIntegrity(p, pzErr);
  if (rc != SQLITE_OK || !p->settings.search) return rc;
  rc = firstDifference(p, sqlite3_mprintf(
      "SELECT printf('the search index lacks entry %%d', id) "
      "FROM \"%w\".\"%w_data\" WHERE id NOT IN "
      "(SELECT id FROM \"%w\".\"%w_search_docsize\") UNION ALL "
      "SELECT printf('the search index has entry %%d, which is gone', id) "
      "FROM \"%w\".\"%w_search_docsize\" WHERE id NOT IN "
      "(SELECT id FROM \"%w\".\"%w_data\") LIMIT 1",
      p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema, p->zName,
      p->zSchema, p->zName), pzErr);
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(p->db,
                       "INSERT INTO \"%w\".\"%w_search\"(\"%w_search\") "
                       "VALUES ('integrity-check')",
                       p->zSchema, p->zName, p->zName);
    if (rc != SQLITE_OK) {
      *pzErr = sqlite3_mprintf(
          "memory: integrity-check of '%s' failed: the search index: %s; run "
          "INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
          p->zName, sqlite3_errmsg(p->db), p->zName, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  return rc;
}

/* Totals computed again from the rows (the day's write counts stay), the
** search index made again from the rows, the history made to agree with
** them, and the triggers, views and indexes made again too. */
static int localRebuild(MemVtab *p, char **pzErr) {
  int history = 0;
  int rc = memExecPrintf(
      p->db,
      "INSERT INTO \"%w\".\"%w_quota\"(namespace, bytes, keys, day, writes) "
      "SELECT namespace, sum(length(CAST(value AS BLOB))), count(*), " TODAY_SQL
      ", 0 FROM \"%w\".\"%w_data\" WHERE true GROUP BY namespace "
      "ON CONFLICT(namespace) DO UPDATE SET bytes = excluded.bytes, "
      "keys = excluded.keys;"
      "UPDATE \"%w\".\"%w_quota\" SET bytes = 0, keys = 0 WHERE namespace "
      "NOT IN (SELECT namespace FROM \"%w\".\"%w_data\");",
      p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema, p->zName,
      p->zSchema, p->zName);
  if (rc == SQLITE_OK) rc = memLocalDropObjects(p);
  if (rc == SQLITE_OK && p->settings.search) {
    rc = memLocalExec(p, p->zName, memSqlLocalSearchLoad, pzErr);
  }
  if (rc == SQLITE_OK && p->settings.history) rc = memLocalStartHistory(p, pzErr);
  if (rc == SQLITE_OK) rc = memLocalTableExists(p, "versions", &history);
  if (rc == SQLITE_OK) rc = memLocalMakeIndexes(p, history);
  if (rc == SQLITE_OK && p->settings.history) {
    rc = memLocalExec(p, p->zName, HISTORY_REPAIR, pzErr);
  }
  if (rc == SQLITE_OK) rc = memLocalMakeTriggers(p, p->zName, pzErr);
  if (rc == SQLITE_OK) rc = memSyncStateRepair(p->db, p->zSchema, p->zName);
  return rc;
}

/* Every expired entry goes now (and its text from the search index), at
** one instant; with history on each becomes an "expire" version. Each
** namespace's expired entries are found by a seek in the expiry index. */
#define EXPIRED_IDS                                                        \
  "SELECT e.id FROM \"{S}\".\"{T}_quota\" AS q JOIN \"{S}\".\"{T}_data\" AS e " \
  "ON e.namespace = q.namespace AND e.expires_at <= memory_now()"

static int localSweep(MemVtab *p, char **pzErr) {
  double outer = p->pClock->writeNow;
  int rc = SQLITE_OK;
  p->pClock->writeNow = memNow();
  if (p->settings.search) {
    rc = memLocalExec(p, p->zName,
                      "INSERT INTO \"{S}\".\"{T}_search\"(\"{T}_search\", rowid, "
                      "text) SELECT 'delete', id, {TEXT:d} FROM \"{S}\".\"{T}_data\" "
                      "AS d WHERE id IN (" EXPIRED_IDS ")",
                      pzErr);
  }
  if (rc == SQLITE_OK) {
    rc = memLocalExec(p, p->zName,
                      "DELETE FROM \"{S}\".\"{T}_data\" WHERE id IN (" EXPIRED_IDS ")",
                      pzErr);
  }
  p->pClock->writeNow = outer;
  return rc;
}

int memLocalCommand(MemVtab *p, const char *zCmd, char **pzErr) {
  if (strcmp(zCmd, "integrity-check") == 0) return localIntegrityCheck(p, pzErr);
  if (strcmp(zCmd, "rebuild") == 0) return localRebuild(p, pzErr);
  if (strcmp(zCmd, "sweep") == 0) return localSweep(p, pzErr);
  return SQLITE_NOTFOUND;
}

