/*
** The local backend's write path: xUpdate, the statements it runs on
** "<name>_data", the quota function its triggers call, and the upkeep of
** the search index. Reads come first and the one write that can fail (a
** quota, in a trigger) before any other: SQLite opens no statement journal
** for a one-row write inside a transaction, so whatever a failing xUpdate
** had written would stay.
**
** The sql/ext/ templates are expanded here too ({S} {T} {TNAME} {TODAY}
** {MAX_BYTES} {MAX_WRITES} {TEXT:x}).
*/
#include "memory_local.h"
#include "memory_json_fast.h"

/* Expand a sql/ template for table p: {S} and {T} become the schema and
** table names (escaped for a "quoted identifier"), {MAX_BYTES} and
** {MAX_WRITES} the limits as literals (a literal saves two lookups per
** written row; a changed setting makes the triggers again), {PRUNE} and
** {KEEP} whether and after how many seconds versions are pruned, {TODAY}
** the UTC day. */
char *memLocalExpand(const char *zTemplate, MemVtab *p,
                            const char *zName) {
  sqlite3_str *pOut = sqlite3_str_new(0);
  const char *z;
  for (z = zTemplate; *z; z++) {
    if (strncmp(z, "{S}", 3) == 0 || strncmp(z, "{T}", 3) == 0) {
      sqlite3_str_appendf(pOut, "%w", z[1] == 'S' ? p->zSchema : zName);
      z += 2;
    } else if (strncmp(z, "{MAX_BYTES}", 11) == 0) {
      sqlite3_str_appendf(pOut, "%lld", p->settings.maxNamespaceBytes);
      z += 10;
    } else if (strncmp(z, "{MAX_WRITES}", 12) == 0) {
      sqlite3_str_appendf(pOut, "%lld", p->settings.maxWritesPerDay);
      z += 11;
    } else if (strncmp(z, "{TNAME}", 7) == 0) {
      sqlite3_str_appendf(pOut, "%Q", zName);
      z += 6;
    } else if (strncmp(z, "{PRUNE}", 7) == 0) {
      sqlite3_str_appendall(pOut, p->settings.historyDays > 0 ? "1" : "0");
      z += 6;
    } else if (strncmp(z, "{KEEP}", 6) == 0) {
      sqlite3_str_appendf(pOut, "%lld", (sqlite3_int64)p->settings.historyDays * 86400);
      z += 5;
    } else if (strncmp(z, "{TODAY}", 7) == 0) {
      sqlite3_str_appendall(pOut, TODAY_SQL);
      z += 6;
    } else if (strncmp(z, "{TEXT:", 6) == 0 && strchr(z, '}')) {
      /* The text the search index holds for X.value (searchTextFunc). */
      int n = (int)(strchr(z, '}') - (z + 6));
      sqlite3_str_appendf(pOut, "memory_search_text(%.*s.value)", n, z + 6);
      z += 6 + n;
    } else {
      sqlite3_str_appendchar(pOut, 1, *z);
    }
  }
  return sqlite3_str_finish(pOut);
}

/* Run a template for table p under the name zName (p->zName, or the new
** name during a rename). */
int memLocalExec(MemVtab *p, const char *zName, const char *zTemplate,
                        char **pzErr) {
  char *zSql = memLocalExpand(zTemplate, p, zName);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK && pzErr) {
    *pzErr = sqlite3_mprintf("memory: cannot build the backing tables of "
                             "'%s': %s",
                             p->zName, sqlite3_errmsg(p->db));
  }
  return rc;
}

static const char *const azWriteSql[W_COUNT] = {
    /* W_INSERT */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at{EXP_COL}) VALUES (?1, ?2, ?3, ?4, ?5{EXP_VAL})",
    /* W_INSERT_REPLACE: created_at survives unless given (?6) */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at{EXP_COL}) VALUES (?1, ?2, ?3, ?4, ?5{EXP_VAL}) ON "
    "CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at{EXP_EXCLUDED}, "
    "created_at = CASE WHEN ?6 THEN excluded.created_at ELSE created_at END",
    /* W_INSERT_IGNORE */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at{EXP_COL}) VALUES (?1, ?2, ?3, ?4, ?5{EXP_VAL}) ON "
    "CONFLICT(namespace, key) DO NOTHING",
    /* W_UPDATE: NULL value/created_at mean "unchanged" */
    "UPDATE \"%w\".\"%w_data\" SET namespace = ?1, key = ?2, "
    "value = coalesce(?3, value), updated_at = ?4, "
    "created_at = coalesce(?5, created_at){EXP_SET} WHERE id = ?6",
    /* W_DELETE */
    "DELETE FROM \"%w\".\"%w_data\" WHERE id = ?1",
    /* W_TAKE_OVER: entry ?6 takes the value (given ?3, else entry ?8's),
    ** updated_at ?4, created_at (given ?5, else entry ?8's), expires_at ?7 */
    "UPDATE \"%w\".\"%w_data\" SET "
    "value = coalesce(?3, (SELECT value FROM \"%w\".\"%w_data\" WHERE id = ?8)), "
    "updated_at = ?4, created_at = coalesce(?5, (SELECT created_at FROM "
    "\"%w\".\"%w_data\" WHERE id = ?8)){EXP_SET} WHERE id = ?6",
    /* W_FIND */
    "SELECT id FROM \"%w\".\"%w_data\" WHERE namespace = ?1 AND key = ?2",
    /* W_EXISTS */
    "SELECT 1 FROM \"%w\".\"%w_data\" WHERE id = ?1",
    /* W_NAMESPACE_OF */
    "SELECT 1 FROM \"%w\".\"%w_data\" WHERE id = ?1 AND namespace = ?2",
    /* W_EXPIRED: a few expired entries of namespace ?1 at time ?2 (a seek
    ** in "<name>_expiry"; nothing at all in a namespace where none is) */
    "SELECT id FROM \"%w\".\"%w_data\" WHERE namespace = ?1 AND "
    "expires_at <= ?2 ORDER BY expires_at LIMIT " PURGE_PER_WRITE_SQL,
    /* W_EXPIRED_KEY: entry (?1, ?3), if it has expired at time ?2 */
    "SELECT id FROM \"%w\".\"%w_data\" WHERE namespace = ?1 AND key = ?3 "
    "AND expires_at <= ?2",
    /* W_ANY_EXPIRING (the first entry of "<name>_expiry", if any) */
    "SELECT 1 FROM \"%w\".\"%w_data\" WHERE expires_at IS NOT NULL LIMIT 1",
};

/* A write statement's SQL: {EXP_...} are its expires_at parts, left out
** for a table still in format 2 or older (an upgrade blocked when it was
** opened, by a lock or a read-only file: it can be written, without
** expiry, and is upgraded when next opened). */
static char *writeSql(MemVtab *p, int i) {
  static const char *const azPart[][2] = {
      {"{EXP_COL}", ", expires_at"},
      {"{EXP_VAL}", ", ?7"},
      {"{EXP_EXCLUDED}", ", expires_at = excluded.expires_at"},
      {"{EXP_SET}", ", expires_at = ?7"}};
  char *zTemplate = sqlite3_mprintf(azWriteSql[i], p->zSchema, p->zName,
                                    p->zSchema, p->zName, p->zSchema, p->zName);
  sqlite3_str *pOut;
  const char *z;
  unsigned k;
  if (zTemplate == 0) return 0;
  pOut = sqlite3_str_new(0);
  for (z = zTemplate; *z; z++) {
    for (k = 0; k < sizeof(azPart) / sizeof(azPart[0]); k++) {
      size_t n = strlen(azPart[k][0]);
      if (strncmp(z, azPart[k][0], n) == 0) {
        if (p->settings.format >= 3) sqlite3_str_appendall(pOut, azPart[k][1]);
        z += n - 1;
        break;
      }
    }
    if (k == sizeof(azPart) / sizeof(azPart[0])) sqlite3_str_appendchar(pOut, 1, *z);
  }
  sqlite3_free(zTemplate);
  return sqlite3_str_finish(pOut);
}

static int writeStmt(MemVtab *p, int i, sqlite3_stmt **ppStmt) {
  LocalState *s = p->pState;
  if (s->aWrite[i] == 0) {
    char *zSql = writeSql(p, i);
    int rc;
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->aWrite[i], 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  *ppStmt = s->aWrite[i];
  return SQLITE_OK;
}

/* Step a statement of the write path to its end (the last row's first
** column in *pRowid); on error copy the real message (a quota trigger's,
** say) into the vtab, where the user will see it. */
static int stepToEnd(MemVtab *p, sqlite3_stmt *pStmt, sqlite3_int64 *pRowid) {
  int rc;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (pRowid) *pRowid = sqlite3_column_int64(pStmt, 0);
  }
  rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if (rc != SQLITE_OK) {
    const char *zMsg = sqlite3_errmsg(p->db);
    if (strncmp(zMsg, "memory: ", 8) == 0) {
      memSetError(&p->base, "%s", zMsg);
    } else {
      memSetError(&p->base, "memory: cannot write to '%s': %s", p->zName, zMsg);
    }
    /* A quota error undoes the statement (ABORT), whatever its conflict
    ** clause: SQLite would apply OR IGNORE (drop the row silently), OR FAIL
    ** (keep the statement's earlier rows) or OR ROLLBACK (end the
    ** transaction) to any constraint error a virtual table reports, so it
    ** is raised as a plain error then. Duplicates keep their clause. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT && strncmp(zMsg, "memory: quota", 13) == 0) {
      int conflict = sqlite3_vtab_on_conflict(p->db);
      if (conflict == SQLITE_IGNORE || conflict == SQLITE_FAIL ||
          conflict == SQLITE_ROLLBACK) {
        rc = SQLITE_ERROR;
      }
    }
  }
  return rc;
}

static const char *const azSearchSql[S_COUNT] = {
    /* S_TEXT_ID */
    "SELECT {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d WHERE id = ?1",
    /* S_FORGET */
    "INSERT INTO \"{S}\".\"{T}_search\"(\"{T}_search\", rowid, text) "
    "VALUES ('delete', ?1, ?2)",
    /* S_INDEX_ID */
    "INSERT INTO \"{S}\".\"{T}_search\"(rowid, text) "
    "SELECT id, {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d WHERE id = ?1",
    /* S_INDEX_KEY */
    "INSERT INTO \"{S}\".\"{T}_search\"(rowid, text) "
    "SELECT id, {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d "
    "WHERE namespace = ?1 AND key = ?2",
};

static int searchStmt(MemVtab *p, int which, sqlite3_stmt **ppStmt) {
  LocalState *s = p->pState;
  if (s->aSearch[which] == 0) {
    char *zSql = memLocalExpand(azSearchSql[which], p, p->zName);
    int rc;
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->aSearch[which], 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  *ppStmt = s->aSearch[which];
  return SQLITE_OK;
}

/* The index's text of one entry, read before a write changes the entry. A
** contentless FTS5 index forgets a row only when told its old text, and
** reading it first lets the write that may fail (a quota) come before any
** other write: SQLite opens no statement journal for a one-row write, so
** whatever was written before a failure would stay. */
typedef struct OldText {
  sqlite3_int64 id; /* 0: none */
  char *z;
  int n;
} OldText;

static int searchRead(MemVtab *p, sqlite3_int64 id, OldText *pOld) {
  sqlite3_stmt *pStmt;
  int rc;
  pOld->id = 0;
  pOld->z = 0;
  if (!p->settings.search || id == 0) return SQLITE_OK;
  rc = searchStmt(p, S_TEXT_ID, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, id);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    pOld->n = sqlite3_column_bytes(pStmt, 0);
    pOld->z = sqlite3_malloc(pOld->n + 1);
    if (pOld->z) {
      memcpy(pOld->z, sqlite3_column_text(pStmt, 0), pOld->n);
      pOld->z[pOld->n] = 0;
      pOld->id = id;
    }
  }
  rc = sqlite3_reset(pStmt);
  if (rc == SQLITE_OK && pOld->id == 0 && pOld->n > 0) rc = SQLITE_NOMEM;
  return rc;
}

/* After the write: the old text leaves the index (and is freed). */
static int searchForget(MemVtab *p, OldText *pOld) {
  sqlite3_stmt *pStmt;
  int rc = SQLITE_OK;
  if (pOld->id != 0) {
    rc = searchStmt(p, S_FORGET, &pStmt);
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(pStmt, 1, pOld->id);
      sqlite3_bind_text(pStmt, 2, pOld->z, pOld->n, SQLITE_STATIC);
      rc = stepToEnd(p, pStmt, 0);
    }
  }
  sqlite3_free(pOld->z);
  pOld->z = 0;
  pOld->id = 0;
  return rc;
}

/* After the write: entry iRowid's (or (ns, key)'s) new text joins it. */
static int searchIndex(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value *ns,
                       sqlite3_value *key) {
  sqlite3_stmt *pStmt;
  int rc;
  if (!p->settings.search) return SQLITE_OK;
  rc = searchStmt(p, ns ? S_INDEX_KEY : S_INDEX_ID, &pStmt);
  if (rc != SQLITE_OK) return rc;
  if (ns) {
    sqlite3_bind_value(pStmt, 1, ns);
    sqlite3_bind_value(pStmt, 2, key);
  } else {
    sqlite3_bind_int64(pStmt, 1, iRowid);
  }
  return stepToEnd(p, pStmt, 0);
}

/* Delete entry id, and its text from the search index. */
static int deleteEntry(MemVtab *p, sqlite3_int64 id) {
  OldText old = {0, 0, 0};
  sqlite3_stmt *pStmt;
  int rc = searchRead(p, id, &old);
  if (rc == SQLITE_OK) rc = writeStmt(p, W_DELETE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, id);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK) rc = searchForget(p, &old);
  sqlite3_free(old.z);
  return rc;
}

/* Before a write to (ns, key): delete the entry it writes if that has
** expired (a new entry takes its place, and its bytes are freed first),
** and up to PURGE_PER_WRITE other expired entries of the namespace,
** soonest first. In a namespace with none expired this is one seek of the
** expiry index that finds nothing. The deletions are of entries no read
** can see any more: if the write then fails, they stay, and nothing a
** read shows has changed. With history on, each becomes an "expire"
** version dated when it expired (local_history_triggers.sql). */
static int purgeExpired(MemVtab *p, sqlite3_value *ns, sqlite3_value *key) {
  sqlite3_int64 aId[PURGE_PER_WRITE + 1], iKey = 0;
  sqlite3_stmt *pStmt;
  LocalState *s = p->pState;
  int n = 0, i, rc;
  if (p->settings.format < 3) return SQLITE_OK; /* nothing expires there */
  if (s->anyExpiring < 0) {
    rc = memLocalAnyExpiring(p, &s->anyExpiring);
    if (rc != SQLITE_OK) return rc;
  }
  if (!s->anyExpiring) return SQLITE_OK;
  rc = writeStmt(p, W_EXPIRED, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_double(pStmt, 2, p->pClock->writeNow);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    if (n < PURGE_PER_WRITE) aId[n++] = sqlite3_column_int64(pStmt, 0);
  }
  rc = stepToEnd(p, pStmt, 0); /* reports the error, if stepping failed */
  if (rc != SQLITE_OK || n == 0) return rc;
  rc = writeStmt(p, W_EXPIRED_KEY, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_double(pStmt, 2, p->pClock->writeNow);
  sqlite3_bind_value(pStmt, 3, key);
  rc = stepToEnd(p, pStmt, &iKey);
  for (i = 0; i < n && iKey; i++) {
    if (aId[i] == iKey) iKey = 0;
  }
  if (iKey) aId[n++] = iKey;
  for (i = 0; i < n && rc == SQLITE_OK; i++) rc = deleteEntry(p, aId[i]);
  return rc;
}

/* Does any entry have an expires_at? One step into "<name>_expiry". */
int memLocalAnyExpiring(MemVtab *p, int *pAny) {
  sqlite3_stmt *pStmt;
  int rc = writeStmt(p, W_ANY_EXPIRING, &pStmt);
  if (rc != SQLITE_OK) return rc;
  *pAny = sqlite3_step(pStmt) == SQLITE_ROW;
  return stepToEnd(p, pStmt, 0);
}

/* Bind ?7, the expires_at a write stores: the one given (in an INSERT,
** NULL is "not given", as every column left out is NULL; an UPDATE that
** sets it to NULL makes the entry live forever), else now + ttl_seconds,
** or NULL when the table's entries live forever. */
static void bindExpiry(MemVtab *p, sqlite3_stmt *pStmt, sqlite3_value *exp,
                       int isUpdate) {
  int given = isUpdate ? !sqlite3_value_nochange(exp)
                       : sqlite3_value_type(exp) != SQLITE_NULL;
  if (given && sqlite3_value_type(exp) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 7, sqlite3_value_double(exp));
  } else if (!given && p->settings.ttlSeconds > 0) {
    sqlite3_bind_double(pStmt, 7,
                        p->pClock->writeNow + (double)p->settings.ttlSeconds);
  } else {
    sqlite3_bind_null(pStmt, 7);
    return;
  }
  ((LocalState *)p->pState)->anyExpiring = 1;
}

/* A write transaction begins: what it knew of expiring entries may be
** stale (another connection may have written since). */
int memLocalBegin(sqlite3_vtab *pVtab) {
  LocalState *s = ((MemVtab *)pVtab)->pState;
  s->anyExpiring = -1;
  return SQLITE_OK;
}

/* The rowid of (namespace, key) in *pRowid, or 0 when there is none. */
static int findRow(MemVtab *p, sqlite3_value *ns, sqlite3_value *key,
                   sqlite3_int64 *pRowid) {
  sqlite3_stmt *pStmt;
  int rc = writeStmt(p, W_FIND, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_value(pStmt, 2, key);
  *pRowid = 0;
  return stepToEnd(p, pStmt, pRowid);
}

static int duplicateError(MemVtab *p, sqlite3_value *ns, sqlite3_value *key,
                          const char *zVerb) {
  memSetError(&p->base,
              "memory: %s/%s already exists; %s",
              sqlite3_value_text(ns), sqlite3_value_text(key), zVerb);
  return SQLITE_CONSTRAINT;
}

static int localInsert(MemVtab *p, sqlite3_value **aCol, sqlite3_int64 *pRowid) {
  sqlite3_value *ns = aCol[MEM_COL_NAMESPACE], *key = aCol[MEM_COL_KEY];
  sqlite3_value *upd = aCol[MEM_COL_UPDATED_AT], *cre = aCol[MEM_COL_CREATED_AT];
  int conflict = sqlite3_vtab_on_conflict(p->db);
  int which = conflict == SQLITE_REPLACE  ? W_INSERT_REPLACE
              : conflict == SQLITE_IGNORE ? W_INSERT_IGNORE
                                          : W_INSERT;
  double now = p->pClock->writeNow;
  sqlite3_stmt *pStmt;
  sqlite3_int64 iOld = 0;
  OldText old = {0, 0, 0};
  int rc = purgeExpired(p, ns, key);
  if (rc != SQLITE_OK) return rc;
  /* With search on, the entry this may replace (or keep) is looked up
  ** first, and its old text read, before anything is written. */
  if (p->settings.search && which != W_INSERT) {
    rc = findRow(p, ns, key, &iOld);
    if (rc == SQLITE_OK && which == W_INSERT_REPLACE) rc = searchRead(p, iOld, &old);
    if (rc != SQLITE_OK) return rc;
  }
  rc = writeStmt(p, which, &pStmt);
  if (rc != SQLITE_OK) {
    sqlite3_free(old.z);
    return rc;
  }
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_value(pStmt, 2, key);
  /* STATIC: argv outlives the step, and stepToEnd() clears the bindings. */
  sqlite3_bind_text(pStmt, 3, (const char *)sqlite3_value_text(aCol[MEM_COL_VALUE]),
                    sqlite3_value_bytes(aCol[MEM_COL_VALUE]), SQLITE_STATIC);
  /* Times given explicitly (an import) are kept; else now. */
  if (sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 4, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 4, now);
  }
  if (sqlite3_value_type(cre) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(cre));
  } else if (sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 5, now);
  }
  if (which == W_INSERT_REPLACE) {
    sqlite3_bind_int(pStmt, 6, sqlite3_value_type(cre) != SQLITE_NULL);
  }
  bindExpiry(p, pStmt, aCol[MEM_COL_EXPIRES_AT], 0);
  /* The rowid only feeds last_insert_rowid(): no RETURNING, which would
  ** build a temporary table for every row. */
  rc = stepToEnd(p, pStmt, 0);
  if (rc == SQLITE_OK) {
    *pRowid = sqlite3_last_insert_rowid(p->db);
    /* Then the index: the replaced text out, the new one in (OR IGNORE:
    ** only a row that was really inserted). */
    rc = searchForget(p, &old);
    if (rc == SQLITE_OK && which == W_INSERT) {
      rc = searchIndex(p, *pRowid, 0, 0);
    } else if (rc == SQLITE_OK && (which == W_INSERT_REPLACE || iOld == 0)) {
      rc = searchIndex(p, 0, ns, key);
    }
  }
  sqlite3_free(old.z);
  if (rc == SQLITE_CONSTRAINT && which == W_INSERT &&
      sqlite3_extended_errcode(p->db) == SQLITE_CONSTRAINT_UNIQUE) {
    return duplicateError(p, ns, key,
                          "use INSERT OR REPLACE to overwrite it or INSERT OR "
                          "IGNORE to keep it");
  }
  return rc;
}

/* Bind the value and times of an UPDATE (argv's columns) to pStmt's ?3
** (value; unbound, NULL, when unchanged), ?4 (updated_at: given, else now),
** ?5 (created_at; unbound when not given) and ?7 (expires_at). */
static void bindUpdate(MemVtab *p, sqlite3_stmt *pStmt, sqlite3_value **aCol) {
  sqlite3_value *val = aCol[MEM_COL_VALUE];
  sqlite3_value *upd = aCol[MEM_COL_UPDATED_AT], *cre = aCol[MEM_COL_CREATED_AT];
  if (!sqlite3_value_nochange(val)) {
    sqlite3_bind_text(pStmt, 3, (const char *)sqlite3_value_text(val),
                      sqlite3_value_bytes(val), SQLITE_STATIC);
  }
  if (!sqlite3_value_nochange(upd) && sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 4, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 4, p->pClock->writeNow);
  }
  if (!sqlite3_value_nochange(cre) && sqlite3_value_type(cre) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(cre));
  }
  bindExpiry(p, pStmt, aCol[MEM_COL_EXPIRES_AT], 1);
}

/* UPDATE OR REPLACE moving entry iRowid onto entry iOther: iOther takes the
** moved entry's value and times, then iRowid is deleted. The one write that
** can fail (a quota, in the UPDATE's trigger) comes first, so a failure
** leaves everything as it was even without a statement journal (SQLite
** opens none for a one-row write inside a transaction). The totals end as
** a delete and a move would leave them; the namespace is checked only for
** the growth it really gets. */
static int takeOver(MemVtab *p, sqlite3_int64 iRowid, sqlite3_int64 iOther,
                    sqlite3_value **aCol) {
  OldText oldOther = {0, 0, 0}, oldMoved = {0, 0, 0};
  sqlite3_stmt *pStmt;
  int rc = searchRead(p, iOther, &oldOther);
  if (rc == SQLITE_OK) rc = searchRead(p, iRowid, &oldMoved);
  if (rc == SQLITE_OK) rc = writeStmt(p, W_TAKE_OVER, &pStmt);
  if (rc == SQLITE_OK) {
    bindUpdate(p, pStmt, aCol);
    sqlite3_bind_int64(pStmt, 6, iOther);
    sqlite3_bind_int64(pStmt, 8, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK) rc = writeStmt(p, W_DELETE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK) rc = searchForget(p, &oldOther);
  if (rc == SQLITE_OK) rc = searchForget(p, &oldMoved);
  if (rc == SQLITE_OK) rc = searchIndex(p, iOther, 0, 0);
  sqlite3_free(oldOther.z);
  sqlite3_free(oldMoved.z);
  return rc;
}

/* Is entry iRowid in namespace ns already? */
static int sameNamespace(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value *ns,
                         int *pSame) {
  sqlite3_stmt *pStmt;
  int rc = writeStmt(p, W_NAMESPACE_OF, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  sqlite3_bind_value(pStmt, 2, ns);
  *pSame = sqlite3_step(pStmt) == SQLITE_ROW;
  return stepToEnd(p, pStmt, 0);
}

static int localUpdateRow(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value **aCol) {
  sqlite3_value *ns = aCol[MEM_COL_NAMESPACE], *key = aCol[MEM_COL_KEY];
  int conflict = sqlite3_vtab_on_conflict(p->db);
  int newValue = !sqlite3_value_nochange(aCol[MEM_COL_VALUE]);
  sqlite3_int64 iOther = 0;
  OldText old = {0, 0, 0};
  sqlite3_stmt *pStmt;
  int rc, same = 0;

  /* An expired entry where this one goes is gone already, not in the way
  ** (and maybe this very entry expired after it was read). */
  rc = purgeExpired(p, ns, key);
  if (rc != SQLITE_OK) return rc;

  /* A row an earlier row of the same UPDATE OR REPLACE replaced is gone:
  ** nothing to update, as in a plain table. */
  rc = writeStmt(p, W_EXISTS, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  same = sqlite3_step(pStmt) == SQLITE_ROW; /* here: the row exists */
  rc = stepToEnd(p, pStmt, 0);
  if (rc != SQLITE_OK || !same) return rc;

  /* Moving onto an existing entry: REPLACE overwrites it (takeOver), IGNORE
  ** keeps both as they are, anything else is a constraint error. */
  rc = findRow(p, ns, key, &iOther);
  if (rc != SQLITE_OK) return rc;
  if (iOther != 0 && iOther != iRowid) {
    if (conflict == SQLITE_IGNORE) return SQLITE_OK;
    if (conflict != SQLITE_REPLACE) {
      return duplicateError(p, ns, key,
                            "UPDATE OR REPLACE overwrites it, or DELETE it first");
    }
    /* Into another namespace, the entry in the way takes the moved value
    ** (takeOver): that namespace is checked for the growth it really gets.
    ** Within one namespace the entry in the way is deleted first, then the
    ** moved one renamed: the namespace only shrinks, which is always
    ** allowed (takeOver would check it halfway, holding both values). A
    ** failure after the DELETE is undone by the statement journal, which
    ** SQLite opens as no plan here is a one-pass unique scan. */
    rc = sameNamespace(p, iRowid, ns, &same);
    if (rc != SQLITE_OK) return rc;
    if (!same) return takeOver(p, iRowid, iOther, aCol);
    rc = deleteEntry(p, iOther);
    if (rc != SQLITE_OK) return rc;
  }

  /* A new value replaces the old text in the index; a move alone keeps
  ** the id and the text. */
  if (newValue) rc = searchRead(p, iRowid, &old);
  if (rc == SQLITE_OK) rc = writeStmt(p, W_UPDATE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_value(pStmt, 1, ns);
    sqlite3_bind_value(pStmt, 2, key);
    bindUpdate(p, pStmt, aCol);
    sqlite3_bind_int64(pStmt, 6, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK && newValue) {
    rc = searchForget(p, &old);
    if (rc == SQLITE_OK) rc = searchIndex(p, iRowid, 0, 0);
  }
  sqlite3_free(old.z);
  return rc;
}

/* The quota and history triggers can be dropped by plain SQL outside
** defensive mode, and then quotas (or history) would stop without a word. Before a write: if the schema
** changed since the triggers were last seen, look again, and refuse to
** write until they are back. One PRAGMA per write otherwise. */
static int triggersIntact(MemVtab *p) {
  LocalState *s = p->pState;
  int rc = SQLITE_OK, version = 0, n = 0, nHistory = 0;
  if (s->pSchemaVersion == 0) {
    char *zSql = sqlite3_mprintf("PRAGMA \"%w\".schema_version", p->zSchema);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->pSchemaVersion, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  if (sqlite3_step(s->pSchemaVersion) == SQLITE_ROW) {
    version = sqlite3_column_int(s->pSchemaVersion, 0);
  }
  rc = sqlite3_reset(s->pSchemaVersion);
  if (rc != SQLITE_OK || (version == s->iCheckedVersion && version != 0)) return rc;
  if (s->pTriggers == 0) {
    char *zSql = sqlite3_mprintf(
        "SELECT count(*) FILTER (WHERE name IN ('%q_quota_insert', "
        "'%q_quota_update', '%q_quota_delete')), count(*) FILTER (WHERE name IN "
        "('%q_history_insert', '%q_history_update', '%q_history_delete')) "
        "FROM \"%w\".sqlite_schema WHERE type = 'trigger' AND tbl_name = '%q_data'",
        p->zName, p->zName, p->zName, p->zName, p->zName, p->zName, p->zSchema,
        p->zName);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->pTriggers, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  if (sqlite3_step(s->pTriggers) == SQLITE_ROW) {
    n = sqlite3_column_int(s->pTriggers, 0);
    nHistory = sqlite3_column_int(s->pTriggers, 1);
  }
  rc = sqlite3_reset(s->pTriggers);
  if (rc != SQLITE_OK) return rc;
  if (n != 3 || (p->settings.history && nHistory != 3)) {
    memSetError(&p->base,
                "memory: a %s trigger of table '%s' is missing (dropped by "
                "plain SQL?), so its %s would not hold; writes are refused "
                "until it is repaired: INSERT INTO \"%w\"(\"%w\") VALUES "
                "('rebuild')",
                n != 3 ? "quota" : "history", p->zName,
                n != 3 ? "quotas" : "history", p->zName, p->zName);
    return SQLITE_ERROR;
  }
  s->iCheckedVersion = version;
  return SQLITE_OK;
}

/* Is what a write gives for the hidden columns usable? expires_at is a
** time or NULL; as_of is for reading. An error message, or 0. */
static char *checkHidden(sqlite3_value **aCol) {
  sqlite3_value *exp = aCol[MEM_COL_EXPIRES_AT], *asOf = aCol[MEM_COL_AS_OF];
  if (!sqlite3_value_nochange(exp) && sqlite3_value_type(exp) != SQLITE_NULL) {
    int t = sqlite3_value_numeric_type(exp);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) {
      return sqlite3_mprintf("memory: expires_at must be a time in Unix epoch "
                             "seconds (a number) or NULL, not '%s'",
                             sqlite3_value_text(exp));
    }
  }
  if (!sqlite3_value_nochange(asOf) && sqlite3_value_type(asOf) != SQLITE_NULL) {
    return sqlite3_mprintf("memory: as_of is for reading the past "
                           "(WHERE as_of = <time>); a write cannot set it");
  }
  return 0;
}

static int localWrite(MemVtab *p, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid) {
  sqlite3_vtab *pVtab = &p->base;
  char *zErr;
  int rc;

  if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER &&
      sqlite3_value_int64(argv[0]) < 0) {
    memSetError(pVtab, "memory: rows read as_of a past time are history and "
                       "cannot be changed; write the current entry (leave "
                       "as_of out)");
    return SQLITE_ERROR;
  }
  rc = triggersIntact(p);
  if (rc != SQLITE_OK) return rc;
  if (argc == 1) return deleteEntry(p, sqlite3_value_int64(argv[0]));

  /* Every check happens before anything is written. */
  zErr = memCheckRow(&p->settings, argv[2 + MEM_COL_NAMESPACE],
                     argv[2 + MEM_COL_KEY],
                     sqlite3_value_nochange(argv[2 + MEM_COL_VALUE])
                         ? 0
                         : argv[2 + MEM_COL_VALUE]);
  if (zErr == 0) zErr = checkHidden(argv + 2);
  if (zErr) {
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
    return SQLITE_ERROR; /* bad input, not a conflict OR IGNORE may skip */
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    if (sqlite3_value_type(argv[1]) != SQLITE_NULL) {
      memSetError(pVtab, "memory: the rowid of an entry is chosen by the table; "
                         "leave rowid out of the INSERT");
      return SQLITE_ERROR;
    }
    return localInsert(p, argv + 2, pRowid);
  }
  if (sqlite3_value_type(argv[1]) != SQLITE_NULL &&
      sqlite3_value_int64(argv[1]) != sqlite3_value_int64(argv[0])) {
    memSetError(pVtab, "memory: the rowid of an entry cannot be changed; "
                       "change its namespace or key instead");
    return SQLITE_ERROR;
  }
  return localUpdateRow(p, sqlite3_value_int64(argv[0]), argv + 2);
}

/* One instant for the whole write: its times, its expiry checks and every
** trigger it fires (memory_now()). */
int memLocalUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                   sqlite3_int64 *pRowid) {
  MemVtab *p = (MemVtab *)pVtab;
  double outer = p->pClock->writeNow;
  int rc;
  p->pClock->writeNow = memNow();
  rc = localWrite(p, argc, argv, pRowid);
  p->pClock->writeNow = outer;
  return rc;
}

/* memory_quota(QUOTA, NAMESPACE, NEW_TOTAL, LIMIT, GREW, TABLE): called by
** the quota triggers (sql/ext/local_triggers.sql) with a namespace's total
** after a write. Returns NEW_TOTAL; fails with a constraint error naming
** the quota, the namespace and the limit, and saying how to raise it on
** TABLE, if the total is over a non-zero limit and the write made it grow
** (GREW). */
static void quotaFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_int64 total = sqlite3_value_int64(argv[2]);
  sqlite3_int64 limit = sqlite3_value_int64(argv[3]);
  const char *zQuota, *zNs, *zTable;
  char *zMsg;
  /* Triggers of format 1 (0.1.0), still in use until the table is
  ** upgraded, pass no TABLE and maybe no GREW. */
  if (limit <= 0 || total <= limit || (argc > 4 && !sqlite3_value_int(argv[4]))) {
    sqlite3_result_int64(ctx, total);
    return;
  }
  zQuota = (const char *)sqlite3_value_text(argv[0]);
  zNs = (const char *)sqlite3_value_text(argv[1]);
  zTable = argc > 5 ? (const char *)sqlite3_value_text(argv[5]) : "<table>";
  if (zQuota && strcmp(zQuota, "max_writes_per_day") == 0) {
    zMsg = sqlite3_mprintf(
        "memory: quota max_writes_per_day exceeded for namespace '%s': at most "
        "%lld write%s per UTC day; wait for the next UTC day, or raise the "
        "limit: INSERT INTO \"%w\"(\"%w\", value) VALUES "
        "('max_writes_per_day', <n>) (0 = no limit)",
        zNs, limit, limit == 1 ? "" : "s", zTable, zTable);
  } else {
    zMsg = sqlite3_mprintf(
        "memory: quota max_namespace_bytes exceeded for namespace '%s': at most "
        "%lld bytes of values; delete or shorten entries, or raise the limit: "
        "INSERT INTO \"%w\"(\"%w\", value) VALUES ('max_namespace_bytes', "
        "<n>) (0 = no limit)",
        zNs, limit, zTable, zTable);
  }
  if (zMsg == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, zMsg, -1);
  sqlite3_result_error_code(ctx, SQLITE_CONSTRAINT);
  sqlite3_free(zMsg);
}

/* What the search index holds for a value, said in SQL: the value as it
** is, or for a JSON object or array its string values, one per line.
** memSearchText (memory_json_fast.c) gives the same for the values it is
** sure of, in one pass; this query decides the others. */
#define SEARCH_TEXT_SQL                                                      \
  "SELECT CASE WHEN json_valid(?1) AND json_type(?1) IN ('object', 'array') " \
  "THEN coalesce((SELECT group_concat(j.value, char(10)) FROM json_tree(?1) " \
  "AS j WHERE j.type = 'text'), '') ELSE ?1 END"

/* memory_search_text(VALUE): the text the search index holds for VALUE
** ({TEXT:x} in the templates). The function's data is the connection's
** prepared SEARCH_TEXT_SQL, made when first needed. */
static void searchTextFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_stmt **ppStmt = sqlite3_user_data(ctx);
  char *zText = 0;
  int nText = 0, rc = MSG_FAST_REFUSED;
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    rc = memSearchText((const char *)sqlite3_value_text(argv[0]),
                       sqlite3_value_bytes(argv[0]), &zText, &nText);
  }
  if (rc == MSG_FAST_OK) {
    sqlite3_result_text(ctx, zText, nText, sqlite3_free);
    return;
  }
  if (rc == SEARCH_TEXT_AS_IS) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  if (rc == MSG_FAST_NOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (*ppStmt == 0) {
    rc = sqlite3_prepare_v3(sqlite3_context_db_handle(ctx), SEARCH_TEXT_SQL, -1,
                            SQLITE_PREPARE_PERSISTENT, ppStmt, 0);
    if (rc != SQLITE_OK) {
      sqlite3_result_error_code(ctx, rc);
      return;
    }
  }
  sqlite3_bind_value(*ppStmt, 1, argv[0]);
  if (sqlite3_step(*ppStmt) == SQLITE_ROW) {
    sqlite3_result_value(ctx, sqlite3_column_value(*ppStmt, 0));
  }
  rc = sqlite3_reset(*ppStmt);
  sqlite3_clear_bindings(*ppStmt);
  if (rc != SQLITE_OK) sqlite3_result_error_code(ctx, rc);
}

static void searchTextFree(void *p) {
  sqlite3_stmt **ppStmt = p;
  sqlite3_finalize(*ppStmt);
  sqlite3_free(ppStmt);
}

int memRegisterLocalFunctions(sqlite3 *db) {
  /* Not SQLITE_DIRECTONLY: the triggers call it. Harmless from anywhere:
  ** it computes nothing but a comparison. */
  int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC;
  int rc = SQLITE_OK, nArg;
  for (nArg = 4; nArg <= 6 && rc == SQLITE_OK; nArg++) {
    rc = sqlite3_create_function(db, "memory_quota", nArg, flags, 0, quotaFunc, 0, 0);
  }
  if (rc == SQLITE_OK) {
    sqlite3_stmt **ppStmt = sqlite3_malloc(sizeof(*ppStmt));
    if (ppStmt == 0) return SQLITE_NOMEM;
    *ppStmt = 0;
    rc = sqlite3_create_function_v2(db, "memory_search_text", 1, flags, ppStmt,
                                    searchTextFunc, 0, 0, searchTextFree);
  }
  return rc;
}
