/*
** The sync state of a local table: made, renamed, dropped, checked and
** repaired here; read and written by memory_sync.c. See
** memory_sync_state.h and sql/ext/local_sync*.sql.
*/
#include "memory_sync_state.h"
#include "memory_sql.h" /* generated from sql/ext/ by the Makefile */

#include <stdarg.h>
#include <string.h>

static const char *const azTrigger[] = {"sync_insert", "sync_update",
                                        "sync_delete"};
#define N_TRIGGER 3

/* A sql/ext/ template with {S} and {T} filled in (quoted-identifier
** escaped), for table zName. */
static char *expand(const char *zTemplate, const char *zSchema,
                    const char *zName) {
  sqlite3_str *pOut = sqlite3_str_new(0);
  const char *z;
  for (z = zTemplate; *z; z++) {
    if (strncmp(z, "{S}", 3) == 0 || strncmp(z, "{T}", 3) == 0) {
      sqlite3_str_appendf(pOut, "%w", z[1] == 'S' ? zSchema : zName);
      z += 2;
    } else {
      sqlite3_str_appendchar(pOut, 1, *z);
    }
  }
  return sqlite3_str_finish(pOut);
}

static int execTemplate(sqlite3 *db, const char *zTemplate,
                        const char *zSchema, const char *zName) {
  char *zSql = expand(zTemplate, zSchema, zName);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

/* The integer a one-row query (sqlite3_mprintf'd here) returns in *pN. */
static int queryInt(sqlite3 *db, int *pN, const char *zFormat, ...) {
  sqlite3_stmt *pStmt = 0;
  va_list ap;
  char *zSql;
  int rc;
  va_start(ap, zFormat);
  zSql = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  *pN = sqlite3_step(pStmt) == SQLITE_ROW ? sqlite3_column_int(pStmt, 0) : 0;
  return sqlite3_finalize(pStmt);
}

int memSyncStateExists(sqlite3 *db, const char *zSchema, const char *zName,
                       int *pExists) {
  int n = 0;
  int rc = queryInt(db, &n,
                    "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = "
                    "'table' AND name IN ('%q_sync', '%q_syncns')",
                    zSchema, zName, zName);
  *pExists = n == 2;
  return rc;
}

int memSyncStateTriggersMissing(sqlite3 *db, const char *zSchema,
                                const char *zName, char **pzMissing) {
  int i, rc = SQLITE_OK;
  *pzMissing = 0;
  for (i = 0; i < N_TRIGGER && rc == SQLITE_OK && *pzMissing == 0; i++) {
    int n = 0;
    rc = queryInt(db, &n,
                  "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = "
                  "'trigger' AND name = '%q_%s' AND tbl_name = '%q_data'",
                  zSchema, zName, azTrigger[i], zName);
    if (rc == SQLITE_OK && n == 0) {
      *pzMissing = sqlite3_mprintf("%s_%s", zName, azTrigger[i]);
      if (*pzMissing == 0) rc = SQLITE_NOMEM;
    }
  }
  return rc;
}

static int dropTriggers(sqlite3 *db, const char *zSchema, const char *zName) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < N_TRIGGER && rc == SQLITE_OK; i++) {
    rc = memExecPrintf(db, "DROP TRIGGER IF EXISTS \"%w\".\"%w_%s\"", zSchema,
                       zName, azTrigger[i]);
  }
  return rc;
}

static int makeTriggers(sqlite3 *db, const char *zSchema, const char *zName) {
  int rc = dropTriggers(db, zSchema, zName);
  if (rc == SQLITE_OK) {
    rc = execTemplate(db, memSqlLocalSyncTriggers, zSchema, zName);
  }
  return rc;
}

int memSyncStateEnsure(sqlite3 *db, const char *zSchema, const char *zName,
                       char **pzErr) {
  char *zMissing = 0;
  int exists = 0;
  int rc = memSyncStateExists(db, zSchema, zName, &exists);
  if (rc == SQLITE_OK && !exists) {
    rc = execTemplate(db, memSqlLocalSync, zSchema, zName);
    if (rc == SQLITE_OK) rc = makeTriggers(db, zSchema, zName);
  } else if (rc == SQLITE_OK) {
    rc = memSyncStateTriggersMissing(db, zSchema, zName, &zMissing);
    if (rc == SQLITE_OK && zMissing) {
      /* Writes made while it was gone went unseen: only 'rebuild', which
      ** marks every key changed, may bring it back. */
      *pzErr = sqlite3_mprintf(
          "memory: the sync trigger '%s' of table '%s' is missing (dropped by "
          "plain SQL?), so local changes may have gone unseen; repair it, "
          "then sync again: INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
          zMissing, zName, zName, zName);
      sqlite3_free(zMissing);
      return SQLITE_ERROR;
    }
  }
  if (rc != SQLITE_OK && *pzErr == 0) {
    *pzErr = sqlite3_mprintf(
        "memory: cannot make the sync state of '%s' (%s_sync, "
        "%s_syncns, %s_conflicts): %s; if one of those names is taken by "
        "a table of yours, rename it",
        zName, zName, zName, zName, sqlite3_errmsg(db));
  }
  return rc;
}

int memSyncStateRename(sqlite3 *db, const char *zSchema, const char *zOld,
                       const char *zNew) {
  int exists = 0, conflicts = 0;
  int rc = memSyncStateExists(db, zSchema, zOld, &exists);
  if (rc != SQLITE_OK || !exists) return rc;
  /* Triggers carry the table's name: dropped, and made under the new one. */
  rc = dropTriggers(db, zSchema, zOld);
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(db,
                       "ALTER TABLE \"%w\".\"%w_sync\" RENAME TO \"%w_sync\";"
                       "ALTER TABLE \"%w\".\"%w_syncns\" RENAME TO \"%w_syncns\";",
                       zSchema, zOld, zNew, zSchema, zOld, zNew);
  }
  if (rc == SQLITE_OK) {
    rc = queryInt(db, &conflicts,
                  "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = "
                  "'table' AND name = '%q_conflicts'", zSchema, zOld);
  }
  if (rc == SQLITE_OK && conflicts) {
    rc = memExecPrintf(db, "ALTER TABLE \"%w\".\"%w_conflicts\" RENAME TO "
                       "\"%w_conflicts\"", zSchema, zOld, zNew);
  }
  if (rc == SQLITE_OK) rc = makeTriggers(db, zSchema, zNew);
  return rc;
}

int memSyncStateDrop(sqlite3 *db, const char *zSchema, const char *zName) {
  int exists = 0;
  int rc = memSyncStateExists(db, zSchema, zName, &exists);
  if (rc != SQLITE_OK || !exists) return rc;
  rc = dropTriggers(db, zSchema, zName);
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(db,
                       "DROP TABLE IF EXISTS \"%w\".\"%w_sync\";"
                       "DROP TABLE IF EXISTS \"%w\".\"%w_syncns\";"
                       "DROP TABLE IF EXISTS \"%w\".\"%w_conflicts\";",
                       zSchema, zName, zSchema, zName, zSchema, zName);
  }
  return rc;
}

int memSyncStateCheck(sqlite3 *db, const char *zSchema, const char *zName,
                      char **pzWhat) {
  sqlite3_stmt *pStmt = 0;
  char *zMissing = 0, *zSql;
  int exists = 0;
  int rc = memSyncStateExists(db, zSchema, zName, &exists);
  *pzWhat = 0;
  if (rc != SQLITE_OK || !exists) return rc;
  rc = memSyncStateTriggersMissing(db, zSchema, zName, &zMissing);
  if (rc != SQLITE_OK || zMissing) {
    if (zMissing) {
      *pzWhat = sqlite3_mprintf("sync trigger '%s' is missing", zMissing);
      sqlite3_free(zMissing);
      if (*pzWhat == 0) rc = SQLITE_NOMEM;
    }
    return rc;
  }
  /* A key without a base is one the server never had: it cannot be a
  ** tombstone, so it must have its entry. */
  zSql = sqlite3_mprintf(
      "SELECT printf('the sync state has key %%s/%%s, which never reached "
      "the server and has no entry', s.namespace, s.key) "
      "FROM \"%w\".\"%w_sync\" AS s WHERE s.base_hash IS NULL AND NOT "
      "EXISTS (SELECT 1 FROM \"%w\".\"%w_data\" AS d WHERE d.namespace = "
      "s.namespace AND d.key = s.key) UNION ALL "
      "SELECT printf('the sync state of key %%s/%%s has a base of %%d bytes, "
      "not a SHA-256', namespace, key, length(base_hash)) FROM "
      "\"%w\".\"%w_sync\" WHERE base_hash IS NOT NULL AND "
      "length(base_hash) <> 32 LIMIT 1",
      zSchema, zName, zSchema, zName, zSchema, zName);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pzWhat = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    if (*pzWhat == 0) rc = SQLITE_NOMEM;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int memSyncStateRepair(sqlite3 *db, const char *zSchema, const char *zName) {
  int exists = 0;
  int rc = memSyncStateExists(db, zSchema, zName, &exists);
  if (rc != SQLITE_OK || !exists) return rc;
  rc = makeTriggers(db, zSchema, zName);
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(db,
                       "DELETE FROM \"%w\".\"%w_sync\" AS s WHERE "
                       "base_hash IS NULL AND NOT EXISTS (SELECT 1 FROM "
                       "\"%w\".\"%w_data\" AS d WHERE d.namespace = "
                       "s.namespace AND d.key = s.key);"
                       "UPDATE \"%w\".\"%w_sync\" SET dirty = 1, "
                       "ver = ver + 1",
                       zSchema, zName, zSchema, zName, zSchema, zName);
  }
  return rc;
}
