/*
** Local backend: rows live in the shadow table "<name>_data", quotas are
** kept by the triggers of sql/ext/local_triggers.sql, and with search on an
** FTS5 index "<name>_search" follows the rows, with history on a table of
** versions "<name>_versions". This file holds the table's lifecycle
** (create, connect, upgrade, settings, rename, drop) and its cursor; the
** other objects and the commands are memory_local_schema.c's, the planner
** is memory_local_plan.c, the write path memory_local_write.c, what they
** share memory_local.h.
*/
#include "memory_local.h"
#include "memory_sync_state.h"

/* Does "<name>_search" exist? */
static int searchIndexExists(MemVtab *p, int *pExists) {
  return memLocalTableExists(p, "search", pExists);
}

/* Every statement of the table goes (rename, drop, disconnect), except
** the cached ones an open cursor is still stepping: SQLite lets ALTER
** TABLE RENAME run while a query reads the table, and that cursor goes on
** with its statement (the renamed tables keep their pages). They are
** marked stale, never handed out again, and finalized on release. */
static void finalizeAll(LocalState *s) {
  int i;
  for (i = 0; i < W_COUNT; i++) {
    sqlite3_finalize(s->aWrite[i]);
    s->aWrite[i] = 0;
  }
  for (i = 0; i < S_COUNT; i++) {
    sqlite3_finalize(s->aSearch[i]);
    s->aSearch[i] = 0;
  }
  sqlite3_finalize(s->pSchemaVersion);
  sqlite3_finalize(s->pTriggers);
  s->pSchemaVersion = s->pTriggers = 0;
  s->iCheckedVersion = 0;
  for (i = 0; i < STMT_CACHE_SIZE; i++) {
    if (s->aCache[i].inUse) {
      s->aCache[i].stale = 1;
      continue;
    }
    sqlite3_finalize(s->aCache[i].pStmt);
    sqlite3_free(s->aCache[i].zPlan);
    memLocalPlanParamsFree(s->aCache[i].pParams);
    memset(&s->aCache[i], 0, sizeof(CachedStmt));
  }
}

static int localInit(MemVtab *p, int isCreate, char **pzErr) {
  int rc;
  LocalState *s = sqlite3_malloc(sizeof(*s));
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  s->anyExpiring = -1;
  s->isUtf8 = memDbIsUtf8(p->db);
  p->pState = s;
  if (!isCreate) return SQLITE_OK;
  rc = memLocalExec(p, p->zName, memSqlLocalTables, pzErr);
  if (rc == SQLITE_OK) rc = memLocalMakeIndexes(p, 0);
  if (rc == SQLITE_OK && p->settings.search) {
    rc = memLocalExec(p, p->zName, memSqlLocalSearch, pzErr);
  }
  if (rc == SQLITE_OK && p->settings.history) rc = memLocalStartHistory(p, pzErr);
  if (rc == SQLITE_OK) rc = memLocalMakeTriggers(p, p->zName, pzErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(s);
    p->pState = 0;
  }
  return rc;
}

/* Up to format 3: entries gain expires_at and its index (format 1 and 2
** had neither), and the triggers and the usage view are made again from
** the current sql/ext/ templates. */
static int localUpgrade(MemVtab *p, int iFromFormat, char **pzErr) {
  int rc = SQLITE_OK;
  if (iFromFormat < 3) {
    rc = memExecPrintf(p->db, "ALTER TABLE \"%w\".\"%w_data\" ADD COLUMN "
                       "expires_at REAL", p->zSchema, p->zName);
    if (rc == SQLITE_OK) rc = memLocalMakeIndexes(p, 0);
  }
  if (rc == SQLITE_OK) rc = memLocalDropObjects(p);
  if (rc == SQLITE_OK) rc = memLocalMakeTriggers(p, p->zName, pzErr);
  return rc;
}

/* A setting changed. Limits are literals in the triggers and the usage
** view: they are made again from the templates, which changes the schema,
** so every other connection reconnects to the table, and loads the new
** settings, at its next statement. Search turned on makes the index (or
** refills it: turned off, it was emptied, as a table cannot be dropped
** while the command's own statement runs). History turned on makes the
** versions table if need be and starts it from the current entries;
** turned off, the versions are deleted (and the view goes). */
static int localSettingsChanged(MemVtab *p, const char *zSetting,
                                char **pzErr) {
  int rc = memLocalDropObjects(p), exists = 0;
  if (rc == SQLITE_OK) rc = searchIndexExists(p, &exists);
  if (rc == SQLITE_OK && strcmp(zSetting, "search") == 0) {
    if (p->settings.search && !exists) {
      rc = memLocalExec(p, p->zName, memSqlLocalSearch, pzErr);
      exists = rc == SQLITE_OK;
    }
    if (rc == SQLITE_OK && exists) {
      rc = p->settings.search
               ? memLocalExec(p, p->zName, memSqlLocalSearchLoad, pzErr)
               : memExecPrintf(p->db,
                               "INSERT INTO \"%w\".\"%w_search\"(\"%w_search\") "
                               "VALUES ('delete-all')",
                               p->zSchema, p->zName, p->zName);
    }
  }
  if (rc == SQLITE_OK && strcmp(zSetting, "history") == 0) {
    rc = p->settings.history
             ? memLocalStartHistory(p, pzErr)
             : memLocalForgetHistory(p);
  }
  if (rc == SQLITE_OK) rc = memLocalMakeTriggers(p, p->zName, pzErr);
  return rc;
}

static int localDisconnect(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  LocalState *s = p->pState;
  if (s) {
    finalizeAll(s);
    sqlite3_free(s->utf8Column.z);
    sqlite3_free(s);
    p->pState = 0;
  }
  return SQLITE_OK;
}

static int localDestroy(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  char *zSql;
  int rc;
  finalizeAll(p->pState);
  rc = memLocalDropObjects(p);
  if (rc == SQLITE_OK) rc = memSyncStateDrop(p->db, p->zSchema, p->zName);
  if (rc != SQLITE_OK) return rc;
  zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_search\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_versions\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_data\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_quota\";",
                         p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema,
                         p->zName, p->zSchema, p->zName);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  return rc;
}

/* Triggers and views carry the table's name, and ALTER TABLE would only
** patch the table names inside them: drop them, rename the tables, and
** create them again under the new name. */
static int localRename(sqlite3_vtab *pVtab, const char *zNew) {
  MemVtab *p = (MemVtab *)pVtab;
  char *zSql;
  int rc, exists = 0, history = 0;
  finalizeAll(p->pState);
  rc = memLocalDropObjects(p);
  if (rc != SQLITE_OK) return rc;
  zSql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_data\" RENAME TO \"%w_data\";"
      "ALTER TABLE \"%w\".\"%w_quota\" RENAME TO \"%w_quota\";",
      p->zSchema, p->zName, zNew, p->zSchema, p->zName, zNew);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) rc = searchIndexExists(p, &exists);
  if (rc == SQLITE_OK && exists) {
    /* FTS5 renames its own shadow tables. */
    rc = memExecPrintf(p->db, "ALTER TABLE \"%w\".\"%w_search\" RENAME TO "
                       "\"%w_search\"", p->zSchema, p->zName, zNew);
  }
  if (rc == SQLITE_OK) rc = memLocalTableExists(p, "versions", &history);
  if (rc == SQLITE_OK && history) {
    rc = memExecPrintf(p->db, "ALTER TABLE \"%w\".\"%w_versions\" RENAME TO "
                       "\"%w_versions\"", p->zSchema, p->zName, zNew);
  }
  if (rc == SQLITE_OK) rc = memSyncStateRename(p->db, p->zSchema, p->zName, zNew);
  if (rc == SQLITE_OK) rc = memLocalMakeTriggers(p, zNew, 0);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Reading: the cursor (the plan is memory_local_plan.c's).               */

/* A prepared statement for the plan: the cached one when no cursor holds
** it, else a fresh one, cached in a free slot when there is one. *ppSlot is
** the slot the cursor now holds, or 0 when the statement is its own. */
static int planStatement(MemVtab *p, int idxNum, const char *zPlan,
                         LocalCursor *pCur) {
  LocalState *s = p->pState;
  CachedStmt *slot = 0;
  char *zSql, *zPlanCopy;
  int i, rc, inCache = 0;
  if (zPlan == 0) zPlan = "";
  pCur->pSlot = 0;
  for (i = 0; i < STMT_CACHE_SIZE; i++) {
    CachedStmt *c = &s->aCache[i];
    if (c->pStmt && !c->stale && c->idxNum == idxNum &&
        strcmp(c->zPlan, zPlan) == 0) {
      if (!c->inUse) {
        c->inUse = 1;
        pCur->pStmt = c->pStmt;
        pCur->pParams = c->pParams;
        pCur->pSlot = c;
        return SQLITE_OK;
      }
      inCache = 1; /* held by another cursor (a self-join): use a fresh one */
    }
  }
  zSql = memLocalReadSql(p, idxNum, zPlan);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, &pCur->pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  pCur->pParams = memLocalPlanParams(pCur->pStmt, s->isUtf8);
  if (pCur->pParams == 0) return SQLITE_NOMEM; /* cursorRelease finalizes */
  if (inCache) return SQLITE_OK;
  /* Cache it in the next slot no cursor holds, if any. */
  for (i = 0; i < STMT_CACHE_SIZE && slot == 0; i++) {
    CachedStmt *c = &s->aCache[(s->iNextEvict + i) % STMT_CACHE_SIZE];
    if (!c->inUse) slot = c;
  }
  if (slot == 0) return SQLITE_OK;
  zPlanCopy = sqlite3_mprintf("%s", zPlan);
  if (zPlanCopy == 0) return SQLITE_OK; /* stays the cursor's own */
  s->iNextEvict = (int)(slot - s->aCache + 1) % STMT_CACHE_SIZE;
  sqlite3_finalize(slot->pStmt);
  sqlite3_free(slot->zPlan);
  memLocalPlanParamsFree(slot->pParams);
  slot->zPlan = zPlanCopy;
  slot->idxNum = idxNum;
  slot->pStmt = pCur->pStmt;
  slot->pParams = pCur->pParams;
  slot->inUse = 1;
  pCur->pSlot = slot;
  return SQLITE_OK;
}

static int localOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  LocalCursor *c = sqlite3_malloc(sizeof(*c));
  (void)pVtab;
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->eof = 1;
  *ppCursor = &c->base;
  return SQLITE_OK;
}

static void cursorRelease(LocalCursor *c) {
  if (c->pSlot && c->pSlot->stale) {
    sqlite3_finalize(c->pStmt);
    sqlite3_free(c->pSlot->zPlan);
    memLocalPlanParamsFree(c->pSlot->pParams);
    memset(c->pSlot, 0, sizeof(CachedStmt));
  } else if (c->pSlot) {
    /* The bindings stay: every parameter is bound anew before the next
    ** run, and a text one points at the slot's own copy (pParams). */
    sqlite3_reset(c->pStmt);
    c->pSlot->inUse = 0;
  } else {
    sqlite3_finalize(c->pStmt);
    memLocalPlanParamsFree(c->pParams);
  }
  c->pStmt = 0;
  c->pSlot = 0;
  c->pParams = 0;
  sqlite3_free(c->zQuery);
  c->zQuery = 0;
}

static int localClose(sqlite3_vtab_cursor *pCur) {
  cursorRelease((LocalCursor *)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int localNext(sqlite3_vtab_cursor *pCur) {
  LocalCursor *c = (LocalCursor *)pCur;
  int rc = sqlite3_step(c->pStmt);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  c->eof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  rc = sqlite3_reset(c->pStmt);
  {
    const char *zMsg = sqlite3_errmsg(((MemVtab *)pCur->pVtab)->db);
    /* FTS5 reports a bad query as a plain SQLITE_ERROR ("fts5: syntax
    ** error near ...", "no such column: 42" for user-42). */
    if (c->zQuery && rc == SQLITE_ERROR) {
      memSetError(pCur->pVtab,
                  "memory: search query '%s' is not valid FTS5 syntax (%s); "
                  "put words in double quotes to search for them as they "
                  "are, e.g. MATCH '\"user-42\" AND refund'",
                  c->zQuery, zMsg);
    } else {
      memSetError(pCur->pVtab, "memory: %s", zMsg);
    }
  }
  return rc;
}

/* xFilter could not start the scan: say why; the code to return. */
static int filterError(LocalCursor *c, int rc, int argc, sqlite3_value **argv) {
  MemVtab *p = (MemVtab *)c->base.pVtab;
  if (rc == SQLITE_MISMATCH && (c->idxNum & PLAN_AS_OF) && argc > 0) {
    memSetError(&p->base, "memory: as_of must be a time in Unix epoch "
                          "seconds (a number), not '%s'",
                sqlite3_value_text(argv[0]));
    rc = SQLITE_ERROR;
  } else {
    memSetError(&p->base, "memory: cannot read '%s': %s", p->zName,
                sqlite3_errmsg(p->db));
  }
  c->eof = 1;
  return rc;
}

/* Can this as_of plan run? It needs history on, one time given with =,
** and no MATCH (the index holds only the current entries). *pAsOf gets the
** time, for the as_of column. */
static int asOfAllowed(MemVtab *p, int idxNum, int argc, sqlite3_value **argv,
                       double *pAsOf) {
  int i;
  if (!p->settings.history) {
    memSetError(&p->base,
                "memory: as_of reads past versions, and table '%s' keeps none; "
                "turn history on with INSERT INTO \"%w\"(\"%w\", value) "
                "VALUES ('history', 'on') (versions are kept from then on)",
                p->zName, p->zName, p->zName);
    return SQLITE_ERROR;
  }
  if (idxNum & PLAN_BAD_AS_OF) {
    memSetError(&p->base, "memory: as_of takes one point in time: "
                          "WHERE as_of = <Unix epoch seconds>");
    return SQLITE_ERROR;
  }
  if (idxNum & PLAN_SEARCH) {
    memSetError(&p->base, "memory: the search index holds the current entries "
                          "only; search without as_of, or read as_of and "
                          "filter with LIKE or instr()");
    return SQLITE_ERROR;
  }
  /* The as_of value is the first argument (memLocalBestIndex). */
  for (i = 0; i < argc && i < 1; i++) *pAsOf = sqlite3_value_double(argv[i]);
  return SQLITE_OK;
}

static int localFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                       const char *idxStr, int argc, sqlite3_value **argv) {
  LocalCursor *c = (LocalCursor *)pCur;
  MemVtab *p = (MemVtab *)pCur->pVtab;
  int rc, planIdxNum = idxNum;
  c->eof = 0;
  if (c->pStmt && c->pSlot && !c->pSlot->stale && c->idxNum == idxNum &&
      c->zPlan == idxStr) {
    /* The same plan again (a join calls xFilter once per outer row, a
    ** lookup loop once per lookup): the cursor keeps its statement and
    ** only binds it anew, without a cache lookup. */
    sqlite3_reset(c->pStmt);
    rc = memLocalBindPlan(c->pStmt, c->pParams, argc, argv);
    if (rc == SQLITE_OK && (idxNum & PLAN_AS_OF)) c->asOf = sqlite3_value_double(argv[0]);
    if (rc == SQLITE_OK) return localNext(pCur);
    return filterError(c, rc, argc, argv);
  }
  cursorRelease(c);
  if (idxNum & (PLAN_AS_OF | PLAN_BAD_AS_OF)) {
    rc = asOfAllowed(p, idxNum, argc, argv, &c->asOf);
    if (rc != SQLITE_OK) {
      c->eof = 1;
      return rc;
    }
  }
  if ((idxNum & PLAN_SEARCH) && !p->settings.search) {
    memSetError(pCur->pVtab,
                "memory: table '%s' has no search index; turn it on with "
                "INSERT INTO %s(%s, value) VALUES ('search', 'on')",
                p->zName, p->zName, p->zName);
    c->eof = 1;
    return SQLITE_ERROR;
  }
  rc = SQLITE_OK;
  if ((idxNum & PLAN_SCANS) && !(idxNum & PLAN_AS_OF) && p->settings.format >= 3) {
    /* A scan of a table where nothing can expire need not test each row:
    ** one look at the expiry index, in the snapshot the scan reads. A
    ** lookup of one entry tests it rather than look. */
    int any = 1;
    rc = memLocalAnyExpiring(p, &any);
    if (!any) planIdxNum |= PLAN_NO_EXPIRY;
  }
  if (rc == SQLITE_OK) rc = planStatement(p, planIdxNum, idxStr, c);
  c->idxNum = idxNum;
  c->zPlan = idxStr;
  if (rc == SQLITE_OK) rc = memLocalBindPlan(c->pStmt, c->pParams, argc, argv);
  if (rc == SQLITE_OK && (idxNum & PLAN_SEARCH)) {
    c->zQuery = memLocalSearchQuery(c->pStmt, argc, argv);
  }
  if (rc != SQLITE_OK) {
    return filterError(c, rc, argc, argv);
  }
  return localNext(pCur);
}

static int localEof(sqlite3_vtab_cursor *pCur) {
  return ((LocalCursor *)pCur)->eof;
}

static int localColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  LocalCursor *c = (LocalCursor *)pCur;
  int iSel;
  if (i == MEM_COL_COMMAND) {
    /* Reads as NULL; carries the row's id to memory_match() below, which
    ** SQLite calls for a MATCH it could not hand to xBestIndex (in an OR). */
    MemMatchRow *pRow = sqlite3_malloc(sizeof(*pRow));
    if (pRow == 0) return SQLITE_NOMEM;
    pRow->p = (MemVtab *)pCur->pVtab;
    pRow->id = sqlite3_column_int64(c->pStmt, SEL_ID);
    sqlite3_result_pointer(ctx, pRow, MEM_MATCH_ROW, sqlite3_free);
    return SQLITE_OK;
  }
  if (i == MEM_COL_AS_OF) {
    if (c->idxNum & PLAN_AS_OF) sqlite3_result_double(ctx, c->asOf);
    return SQLITE_OK;
  }
  switch (i) {
    case MEM_COL_NAMESPACE: iSel = SEL_NAMESPACE; break;
    case MEM_COL_EXPIRES_AT: iSel = SEL_EXPIRES_AT; break;
    case MEM_COL_KEY: iSel = SEL_KEY; break;
    case MEM_COL_VALUE: iSel = SEL_VALUE; break;
    case MEM_COL_UPDATED_AT: iSel = SEL_UPDATED_AT; break;
    case MEM_COL_RANK: iSel = SEL_RANK; break;
    default: iSel = SEL_CREATED_AT; break;
  }
  /* In an UPDATE, columns not assigned are reported as "no change", so
  ** xUpdate can keep them (and set updated_at itself) without reading. */
  if (i != MEM_COL_NAMESPACE && i != MEM_COL_KEY && sqlite3_vtab_nochange(ctx)) {
    return SQLITE_OK;
  }
  iSel = memLocalPlanColumn(c->pParams, iSel);
  if (iSel >= 0) {
    LocalState *s = ((MemVtab *)pCur->pVtab)->pState;
    memResultColumn(ctx, c->pStmt, iSel, s->isUtf8 ? &s->utf8Column : 0);
  }
  return SQLITE_OK;
}

/* A version read as_of a past time has a negative rowid, which no entry
** has: an UPDATE or DELETE given one is refused (memLocalUpdate). */
static int localRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  LocalCursor *c = (LocalCursor *)pCur;
  *pRowid = sqlite3_column_int64(c->pStmt, SEL_ID);
  if (c->idxNum & PLAN_AS_OF) *pRowid = -*pRowid;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* The backend (its writes are memory_local_write.c's).                   */

/* Every object "<name>_<suffix>" a local table may have: its tables, view
** and triggers, and those of the FTS5 index. */
static const char *const azLocalObject[] = {
    "data", "quota", "usage", "quota_insert", "quota_update", "quota_delete",
    "search", "search_data", "search_idx", "search_docsize", "search_config",
    "search_content", "versions", "history", "history_insert",
    "history_update", "history_delete", "sync", "syncns", "sync_insert",
    "sync_update", "sync_delete", "conflicts", 0};

const MemBackend memLocalBackend = {
    .zName = "local",
    .azObject = azLocalObject,
    .xInit = localInit,
    .xUpgrade = localUpgrade,
    .xDisconnect = localDisconnect,
    .xDestroy = localDestroy,
    .xRename = localRename,
    .xBestIndex = memLocalBestIndex,
    .xOpen = localOpen,
    .xClose = localClose,
    .xFilter = localFilter,
    .xNext = localNext,
    .xEof = localEof,
    .xColumn = localColumn,
    .xRowid = localRowid,
    .xUpdate = memLocalUpdate,
    .xBegin = memLocalBegin,
    .xCommand = memLocalCommand,
    .xSettingsChanged = localSettingsChanged,
};

/* `t MATCH q` evaluated row by row: SQLite calls this (through the module's
** xFindFunction) for a MATCH it could not give to xBestIndex, such as one
** inside an OR. argv[0] is the query, argv[1] the command column, which
** carries the row (localColumn). One FTS5 lookup of that row's id. */
void memLocalMatchFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MemMatchRow *pRow = sqlite3_value_pointer(argv[1], MEM_MATCH_ROW);
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int rc, found;
  (void)argc;
  if (pRow == 0) {
    sqlite3_result_error(ctx, "memory: MATCH needs a memory table's own "
                              "column on its left: WHERE mem MATCH '...'", -1);
    return;
  }
  if (!pRow->p->settings.search) {
    char *zErr = sqlite3_mprintf(
        "memory: table '%s' has no search index; turn it on with INSERT INTO "
        "%s(%s, value) VALUES ('search', 'on')",
        pRow->p->zName, pRow->p->zName, pRow->p->zName);
    sqlite3_result_error(ctx, zErr ? zErr : "memory: out of memory", -1);
    sqlite3_free(zErr);
    return;
  }
  zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".\"%w_search\" WHERE \"%w_search\" "
                         "MATCH ?1 AND rowid = ?2",
                         pRow->p->zSchema, pRow->p->zName, pRow->p->zName);
  if (zSql == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  rc = sqlite3_prepare_v2(pRow->p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) {
    sqlite3_bind_value(pStmt, 1, argv[0]);
    sqlite3_bind_int64(pStmt, 2, pRow->id);
    found = sqlite3_step(pStmt) == SQLITE_ROW;
    rc = sqlite3_reset(pStmt);
  }
  if (rc != SQLITE_OK) {
    char *zErr = sqlite3_mprintf(
        "memory: search query '%s' is not valid FTS5 syntax (%s); put words in "
        "double quotes to search for them as they are, e.g. MATCH '\"user-42\" "
        "AND refund'",
        sqlite3_value_text(argv[0]), sqlite3_errmsg(pRow->p->db));
    sqlite3_result_error(ctx, zErr ? zErr : "memory: out of memory", -1);
    sqlite3_free(zErr);
  } else {
    sqlite3_result_int(ctx, found);
  }
  sqlite3_finalize(pStmt);
}
