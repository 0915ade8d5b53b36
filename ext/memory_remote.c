/*
** Remote backend: the hosted memory API (README.md, "The hosted API this
** speaks") over memory_http.c. This file holds the table's lifecycle, its
** planner and its cursor; memory_remote_api.c builds requests and reads
** answers, memory_remote_writes.c buffers and sends writes.
**
** Query plan (shared by xBestIndex and xFilter)
** ----------------------------------------------
** The API cannot list namespaces, so a query needs `namespace =` or
** `namespace IN (...)`. argv holds, in this order: the namespace value or IN
** list, the key value or IN list (RP_KEY), the LIMIT (RP_LIMIT) and the
** OFFSET (RP_OFFSET). idxNum is a bitmask of the RP_* flags below; idxStr
** only describes the requests, for EXPLAIN QUERY PLAN.
**   with a key:    one GET /memory/{ns}/{key} per (namespace, key) pair
**   without one:   one GET /memory/{ns}?limit=N per namespace, then, if the
**                  query reads value or created_at (RP_VALUES), one GET per
**                  listed key; GETs run `concurrency` at a time, in a window
**                  ahead of the row being returned, so rows stream.
*/
#include "memory_remote.h"

/* ---------------------------------------------------------------------- */
/* Setup.                                                                 */

/* ---------------------------------------------------------------------- */
/* Placeholders.                                                          */

/* SQLite claims shadow-table names per module, not per table: xShadowName
** sees only the suffix, so "<name>_data" and "<name>_quota" are claimed for
** remote tables too, and a table of the user's under such a name would
** silently turn read-only in defensive mode. A remote table therefore
** makes those two tables itself, empty, so that the claim is true: the
** names are visibly taken, and a CREATE TABLE of one fails saying so. */
static const char *const azPlaceholder[] = {"data", "quota"};
#define PLACEHOLDER_COLUMN "memory_remote_placeholder"

static int placeholdersCreate(MemVtab *p, const char *zName, char **pzErr) {
  unsigned i;
  for (i = 0; i < sizeof(azPlaceholder) / sizeof(azPlaceholder[0]); i++) {
    int rc = memExecPrintf(p->db, "CREATE TABLE \"%w\".\"%w_%s\"(" PLACEHOLDER_COLUMN ")",
                           p->zSchema, zName, azPlaceholder[i]);
    if (rc != SQLITE_OK) {
      if (pzErr) {
        *pzErr = sqlite3_mprintf(
            "memory: cannot create remote table '%s': the name '%s_%s' is "
            "taken, and SQLite would treat that table as this one's own "
            "(read-only in defensive mode); rename it, or name the remote "
            "table otherwise",
            zName, zName, azPlaceholder[i]);
      }
      return rc;
    }
  }
  return SQLITE_OK;
}

/* Drop (zNew == 0) or rename the placeholders, touching only tables that
** are ours (their one column says so): never a table of the user's. */
static int placeholdersMove(MemVtab *p, const char *zNew) {
  unsigned i;
  int rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < sizeof(azPlaceholder) / sizeof(azPlaceholder[0]); i++) {
    sqlite3_stmt *pStmt = 0;
    char *zSql = sqlite3_mprintf(
        "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = "
        "'%q_%s' AND sql LIKE '%%(" PLACEHOLDER_COLUMN ")'",
        p->zSchema, p->zName, azPlaceholder[i]);
    int ours;
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
    ours = sqlite3_step(pStmt) == SQLITE_ROW;
    rc = sqlite3_finalize(pStmt);
    if (rc != SQLITE_OK || !ours) continue;
    rc = zNew ? memExecPrintf(p->db, "ALTER TABLE \"%w\".\"%w_%s\" RENAME TO \"%w_%s\"",
                              p->zSchema, p->zName, azPlaceholder[i], zNew,
                              azPlaceholder[i])
              : memExecPrintf(p->db, "DROP TABLE \"%w\".\"%w_%s\"", p->zSchema,
                              p->zName, azPlaceholder[i]);
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Open remote tables, for memory_sync() (memory_sync.c): it talks to the */
/* server through the table's own client, so the table's settings hold.   */

typedef struct OpenRemote {
  MemVtab *p;
  struct OpenRemote *pNext;
} OpenRemote;
static OpenRemote *pOpenRemotes = 0; /* guarded by SQLITE_MUTEX_STATIC_APP1 */

static int openRemoteAdd(MemVtab *p) {
  sqlite3_mutex *m = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
  OpenRemote *e = sqlite3_malloc(sizeof(*e));
  if (e == 0) return SQLITE_NOMEM;
  e->p = p;
  sqlite3_mutex_enter(m);
  e->pNext = pOpenRemotes;
  pOpenRemotes = e;
  sqlite3_mutex_leave(m);
  return SQLITE_OK;
}

static void openRemoteRemove(MemVtab *p) {
  sqlite3_mutex *m = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
  OpenRemote **pp;
  sqlite3_mutex_enter(m);
  for (pp = &pOpenRemotes; *pp; pp = &(*pp)->pNext) {
    if ((*pp)->p == p) {
      OpenRemote *e = *pp;
      *pp = e->pNext;
      sqlite3_free(e);
      break;
    }
  }
  sqlite3_mutex_leave(m);
}

MemVtab *memRemoteFind(sqlite3 *db, const char *zSchema, const char *zName) {
  sqlite3_mutex *m = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
  OpenRemote *e;
  MemVtab *pFound = 0;
  sqlite3_mutex_enter(m);
  for (e = pOpenRemotes; e && pFound == 0; e = e->pNext) {
    if (e->p->db == db && sqlite3_stricmp(e->p->zSchema, zSchema) == 0 &&
        sqlite3_stricmp(e->p->zName, zName) == 0) {
      pFound = e->p;
    }
  }
  sqlite3_mutex_leave(m);
  return pFound;
}

/* ---------------------------------------------------------------------- */
/* Setup.                                                                 */

static int remoteInit(MemVtab *p, int isCreate, char **pzErr) {
  RemoteState *s = sqlite3_malloc(sizeof(*s));
  int rc = SQLITE_OK;
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  /* The data lives on the server: only the placeholders to make. */
  if (isCreate) rc = placeholdersCreate(p, p->zName, pzErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(s);
    return rc;
  }
  rc = memConfigGeneration(p->db, p->zSchema, p->zName, &s->generation);
  if (rc == SQLITE_OK) rc = memHttpNew(p->db, &p->settings, &s->http);
  if (rc == SQLITE_OK) {
    rc = openRemoteAdd(p);
    if (rc != SQLITE_OK) memHttpFree(s->http);
  }
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot set up the HTTP client");
    sqlite3_free(s);
    return rc;
  }
  p->pState = s;
  return SQLITE_OK;
}

static int remoteDisconnect(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = p->pState;
  if (s == 0) return SQLITE_OK;
  openRemoteRemove(p);
  memRemoteClearWrites(s, 0);
  memRemoteClearRowNames(s);
  sqlite3_free(s->aWrite);
  sqlite3_free(s->aRowName);
  sqlite3_free(s->aRowHash);
  sqlite3_free(s->aSavepoint);
  sqlite3_free(s->zPoison);
  sqlite3_finalize(s->pParseGet);
  sqlite3_finalize(s->pCheckList);
  sqlite3_finalize(s->pParseList);
  sqlite3_finalize(s->pPutBody);
  memHttpFree(s->http);
  sqlite3_free(s);
  p->pState = 0;
  return SQLITE_OK;
}

/* A setting changed (timeout_ms, retries, concurrency): a new client with
** the new settings. No request is in flight between statements. */
static int remoteSettingsChanged(MemVtab *p, const char *zSetting,
                                 char **pzErr) {
  RemoteState *s = p->pState;
  (void)zSetting;
  MemHttp *pNew = 0;
  int rc = memHttpNew(p->db, &p->settings, &pNew);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot set up the HTTP client");
    return rc;
  }
  memHttpFree(s->http);
  s->http = pNew;
  return memConfigGeneration(p->db, p->zSchema, p->zName, &s->generation);
}

/* Another connection may have changed a setting (the command column):
** its "generation" in <t>_config moved. Load the settings again, at the
** start of a statement, when no request is in flight. One indexed read of
** a small table, against the network requests that follow. */
static int remoteRefreshSettings(MemVtab *p) {
  RemoteState *s = p->pState;
  sqlite3_int64 gen = 0;
  MemSettings fresh;
  char *zErr = 0;
  int rc = memConfigGeneration(p->db, p->zSchema, p->zName, &gen);
  if (rc != SQLITE_OK || gen == s->generation) return rc;
  rc = memSettingsLoad(p->db, p->zSchema, p->zName, &fresh, &zErr);
  if (rc == SQLITE_OK) {
    memSettingsClear(&p->settings);
    p->settings = fresh;
    rc = remoteSettingsChanged(p, "", &zErr);
  }
  if (rc != SQLITE_OK) {
    sqlite3_free(p->base.zErrMsg);
    p->base.zErrMsg = zErr;
  }
  return rc;
}

/* A write transaction starts: the settings in use must be the stored ones. */
static int remoteBegin(sqlite3_vtab *pVtab) {
  return remoteRefreshSettings((MemVtab *)pVtab);
}

/* DROP TABLE forgets the connection settings (the module drops them),
** never the remote data: nothing of its own to drop. */
static int remoteDestroy(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  if (STATE(p)->nWrite > 0) {
    /* Dropping would lose them, and COMMIT would then succeed without them.
    ** (SQLite reports a failed xDestroy as "database table is locked".) */
    memSetError(pVtab, "memory: cannot drop remote table '%s' while writes to "
                "it wait to be sent; COMMIT or ROLLBACK first", p->zName);
    return SQLITE_LOCKED;
  }
  return placeholdersMove(p, 0);
}

/* Its settings are the module's to rename; the placeholders are its own. */
static int remoteRename(sqlite3_vtab *pVtab, const char *zNew) {
  return placeholdersMove((MemVtab *)pVtab, zNew);
}

/* Format 1 (0.1.0) to 2: the placeholders, where the names are free (a
** table of the user's under one stays, and stays claimed). */
static int remoteUpgrade(MemVtab *p, int iFromFormat, char **pzErr) {
  unsigned i;
  (void)iFromFormat;
  (void)pzErr;
  for (i = 0; i < sizeof(azPlaceholder) / sizeof(azPlaceholder[0]); i++) {
    int rc = memExecPrintf(p->db,
                           "CREATE TABLE IF NOT EXISTS \"%w\".\"%w_%s\"(" PLACEHOLDER_COLUMN ")",
                           p->zSchema, p->zName, azPlaceholder[i]);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* URLs, JSON.                                                            */

/* ---------------------------------------------------------------------- */
/* Writes: buffered until the end of the transaction, or the next read.  */

/* ---------------------------------------------------------------------- */
/* Planning.                                                              */

static int remoteBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int i, iNs = -1, iKey = -1, iLimit = -1, iOffset = -1, nArg = 0;
  int plan = 0;
  const char *zDesc;
  (void)pVtab;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    const char *zColl;
    if (!c->usable) continue;
    if (c->op == SQLITE_INDEX_CONSTRAINT_LIMIT) { iLimit = i; continue; }
    if (c->op == SQLITE_INDEX_CONSTRAINT_OFFSET) { iOffset = i; continue; }
    if ((c->op == SQLITE_INDEX_CONSTRAINT_MATCH && c->iColumn == MEM_COL_COMMAND) ||
        c->iColumn == MEM_COL_AS_OF) {
      /* Consumed, so that xFilter can say why it cannot run. */
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->idxNum = c->iColumn == MEM_COL_AS_OF ? RP_AS_OF : RP_MATCH;
      pInfo->estimatedCost = 1;
      return SQLITE_OK;
    }
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    zColl = sqlite3_vtab_collation(pInfo, i);
    if (zColl && sqlite3_stricmp(zColl, "BINARY") != 0) continue;
    if (c->iColumn == MEM_COL_NAMESPACE && iNs < 0) iNs = i;
    if (c->iColumn == MEM_COL_KEY && iKey < 0) iKey = i;
  }
  if (iNs < 0) {
    /* Never chosen when a plan with a namespace exists; if it is, xFilter
    ** explains why the query cannot run. Costly, not SQLITE_CONSTRAINT,
    ** which would end in "no query solution". */
    pInfo->idxNum = RP_NO_NAMESPACE;
    pInfo->estimatedCost = 1e18;
    pInfo->estimatedRows = 1000000000;
    return SQLITE_OK;
  }
  pInfo->aConstraintUsage[iNs].argvIndex = ++nArg;
  pInfo->aConstraintUsage[iNs].omit = 1;
  if (sqlite3_vtab_in(pInfo, iNs, 1)) plan |= RP_NS_IN;
  if (iKey >= 0) {
    pInfo->aConstraintUsage[iKey].argvIndex = ++nArg;
    pInfo->aConstraintUsage[iKey].omit = 1;
    plan |= RP_KEY;
    if (sqlite3_vtab_in(pInfo, iKey, 1)) plan |= RP_KEY_IN;
  }
  /* The API lists one namespace newest first: that order is free. */
  if (pInfo->nOrderBy == 1 && pInfo->aOrderBy[0].iColumn == MEM_COL_UPDATED_AT &&
      pInfo->aOrderBy[0].desc && !(plan & (RP_NS_IN | RP_KEY))) {
    pInfo->orderByConsumed = 1;
    plan |= RP_NEWEST_FIRST;
  }
  /* LIMIT caps the listing only if SQLite filters and sorts no further;
  ** OFFSET is left to SQLite, so the listing asks for LIMIT + OFFSET. */
  for (i = 0; i < pInfo->nConstraint; i++) {
    int op = pInfo->aConstraint[i].op;
    if (op == SQLITE_INDEX_CONSTRAINT_LIMIT || op == SQLITE_INDEX_CONSTRAINT_OFFSET) continue;
    if (!pInfo->aConstraintUsage[i].omit) iLimit = -1;
  }
  if (pInfo->nOrderBy > 0 && !pInfo->orderByConsumed) iLimit = -1;
  if (iLimit >= 0 && !(plan & RP_KEY)) {
    pInfo->aConstraintUsage[iLimit].argvIndex = ++nArg;
    plan |= RP_LIMIT;
    if (iOffset >= 0) {
      pInfo->aConstraintUsage[iOffset].argvIndex = ++nArg;
      plan |= RP_OFFSET;
    }
  }
  if (pInfo->colUsed & (((sqlite3_uint64)1 << MEM_COL_VALUE) |
                        ((sqlite3_uint64)1 << MEM_COL_CREATED_AT))) {
    plan |= RP_VALUES;
  }
  if (plan & RP_KEY) {
    zDesc = "GET /memory/{namespace}/{key} per pair";
    pInfo->estimatedRows = 1;
    pInfo->estimatedCost = 10;
    if (!(plan & (RP_NS_IN | RP_KEY_IN))) pInfo->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  } else {
    zDesc = (plan & RP_VALUES)
                ? "GET /memory/{namespace}?limit=N, then GET each value"
                : "GET /memory/{namespace}?limit=N";
    pInfo->estimatedRows = LIST_MAX;
    pInfo->estimatedCost = (plan & RP_VALUES) ? 10000 : 100;
  }
  pInfo->idxNum = plan;
  pInfo->idxStr = (char *)zDesc;
  pInfo->needToFreeIdxStr = 0;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Reading.                                                               */

static int remoteOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  RemoteState *s = STATE(pVtab);
  RemoteCursor *c = sqlite3_malloc(sizeof(*c));
  if (c == 0) return SQLITE_NOMEM;
  /* Outside a transaction, with no other cursor open, no rowid handed out
  ** earlier can be used again: forget them (see remoteRowid). */
  if (s->nCursor == 0 && s->nWrite == 0 &&
      sqlite3_get_autocommit(((MemVtab *)pVtab)->db)) {
    memRemoteClearRowNames(s);
  }
  s->nCursor++;
  memset(c, 0, sizeof(*c));
  c->eof = 1;
  *ppCursor = &c->base;
  return SQLITE_OK;
}

static void rowClear(RemoteRow *r) {
  sqlite3_free(r->zNs);
  sqlite3_free(r->zKey);
  sqlite3_free(r->zValue);
  memRequestFree(r->pGet);
  memset(r, 0, sizeof(*r));
}

static void cursorReset(RemoteCursor *c) {
  int i;
  for (i = 0; i < c->nRow; i++) rowClear(&c->aRow[i]);
  c->nRow = 0;
  c->iRow = 0;
  c->iLaunched = 0;
  c->eof = 1;
}

static int remoteClose(sqlite3_vtab_cursor *pCur) {
  RemoteCursor *c = (RemoteCursor *)pCur;
  STATE(pCur->pVtab)->nCursor--;
  cursorReset(c);
  sqlite3_free(c->aRow);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int addRow(RemoteCursor *c, const char *zNs, int nNs, const char *zKey,
                  int nKey) {
  RemoteRow *r, *aNew = memRoomForOne(c->aRow, c->nRow, &c->nRowAlloc, sizeof(*aNew));
  if (aNew == 0) return SQLITE_NOMEM;
  c->aRow = aNew;
  r = &c->aRow[c->nRow];
  memset(r, 0, sizeof(*r));
  r->zNs = sqlite3_mprintf("%.*s", nNs, zNs);
  r->zKey = sqlite3_mprintf("%.*s", nKey, zKey);
  if (r->zNs == 0 || r->zKey == 0) {
    rowClear(r);
    return SQLITE_NOMEM;
  }
  c->nRow++;
  return SQLITE_OK;
}

/* Values of an `=` argument or of an IN list consumed whole, as copies
** (an IN list's values are overwritten as it is walked). Only valid names
** are kept: an invalid one cannot exist, and is never sent. */
typedef struct NameList {
  sqlite3_value **a;
  int n, nAlloc;
} NameList;

static void freeNames(NameList *pList) {
  int i;
  for (i = 0; i < pList->n; i++) sqlite3_value_free(pList->a[i]);
  sqlite3_free(pList->a);
  memset(pList, 0, sizeof(*pList));
}

static int addName(NameList *pList, sqlite3_value *v, int isKey) {
  int t = sqlite3_value_type(v);
  sqlite3_value **aNew;
  const char *z;
  if (t != SQLITE_TEXT && t != SQLITE_INTEGER) return SQLITE_OK;
  z = (const char *)sqlite3_value_text(v);
  if (!(isKey ? memKeyValid(z, sqlite3_value_bytes(v))
              : memNamespaceValid(z, sqlite3_value_bytes(v)))) {
    return SQLITE_OK;
  }
  aNew = memRoomForOne(pList->a, pList->n, &pList->nAlloc, sizeof(*aNew));
  if (aNew == 0) return SQLITE_NOMEM;
  pList->a = aNew;
  pList->a[pList->n] = sqlite3_value_dup(v);
  if (pList->a[pList->n] == 0) return SQLITE_NOMEM;
  pList->n++;
  return SQLITE_OK;
}

static int collectNames(sqlite3_value *v, int isIn, int isKey, NameList *pList) {
  sqlite3_value *x = 0;
  int rc;
  if (!isIn) return addName(pList, v, isKey);
  for (rc = sqlite3_vtab_in_first(v, &x); rc == SQLITE_OK && x;
       rc = sqlite3_vtab_in_next(v, &x)) {
    rc = addName(pList, x, isKey);
    if (rc != SQLITE_OK) return rc;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* List each namespace (concurrently) and add its keys as rows, in order. */
static int listNamespaces(MemVtab *p, RemoteCursor *c, NameList *pNs, int limit,
                          int whole) {
  RemoteState *s = STATE(p);
  MemRequest **apReq;
  int i, rc = SQLITE_OK;
  if (pNs->n == 0) return SQLITE_OK;
  apReq = sqlite3_malloc64(sizeof(MemRequest *) * pNs->n);
  if (apReq == 0) return SQLITE_NOMEM;
  memset(apReq, 0, sizeof(MemRequest *) * pNs->n);
  for (i = 0; i < pNs->n && rc == SQLITE_OK; i++) {
    char *zBase = memRemoteEntryUrl(p, (const char *)sqlite3_value_text(pNs->a[i]), 0);
    char *zUrl = zBase ? sqlite3_mprintf("%s?limit=%d", zBase, limit) : 0;
    sqlite3_free(zBase);
    apReq[i] = memRequestNew("GET", zUrl, 0);
    if (apReq[i] == 0) rc = SQLITE_NOMEM; else memHttpSubmit(s->http, apReq[i]);
  }
  if (rc == SQLITE_OK) {
    rc = memRemotePrepareOnce(p, &s->pCheckList,
        "SELECT json_valid(?1) AND json_type(?1) = 'object' AND "
        "json_type(?1, '$.keys') = 'array' AND "
        "json_extract(?1, '$.namespace') IS ?2 AND "
        "json_array_length(?1, '$.keys') <= ?3 AND "
        /* every entry an object, no key twice: else a lie, not rows */
        "NOT EXISTS (SELECT 1 FROM json_each(?1, '$.keys') WHERE type <> 'object') AND "
        "(SELECT count(*) = count(DISTINCT value ->> '$.key') "
        "   FROM json_each(?1, '$.keys'))");
  }
  if (rc == SQLITE_OK) {
    rc = memRemotePrepareOnce(p, &s->pParseList,
        "SELECT json_extract(e.value, '$.key'), json_type(e.value, '$.key'),"
        "       json_extract(e.value, '$.updated_at'),"
        "       json_type(e.value, '$.updated_at')"
        "  FROM json_each(?1, '$.keys') AS e");
  }
  for (i = 0; i < pNs->n && rc == SQLITE_OK; i++) {
    MemRequest *r = apReq[i];
    const char *zNs = (const char *)sqlite3_value_text(pNs->a[i]);
    char *zWhy = 0;
    int nBefore = c->nRow;
    memHttpWait(s->http, r);
    if (r->zError || r->status != 200) {
      zWhy = memAnswerExcerpt(r);
    } else {
      sqlite3_stmt *q = s->pCheckList;
      sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
      sqlite3_bind_text(q, 2, zNs, -1, SQLITE_STATIC);
      sqlite3_bind_int(q, 3, limit);
      if (sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) == 0) {
        zWhy = sqlite3_mprintf("the answer is not a listing of at most %d keys "
                               "of this namespace", limit);
      }
      sqlite3_reset(q);
      q = s->pParseList;
      sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
      while (zWhy == 0 && rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        const char *zKey = (const char *)sqlite3_column_text(q, 0);
        const char *zKType = (const char *)sqlite3_column_text(q, 1);
        const char *zUType = (const char *)sqlite3_column_text(q, 3);
        int nKey = sqlite3_column_bytes(q, 0);
        if (zKType == 0 || strcmp(zKType, "text") != 0 || !memKeyValid(zKey, nKey)) {
          zWhy = sqlite3_mprintf("the listing holds an invalid key");
          break;
        }
        rc = addRow(c, zNs, (int)strlen(zNs), zKey, nKey);
        if (rc == SQLITE_OK && zUType &&
            (strcmp(zUType, "real") == 0 || strcmp(zUType, "integer") == 0)) {
          c->aRow[c->nRow - 1].updatedAt = sqlite3_column_double(q, 2);
          c->aRow[c->nRow - 1].hasUpdatedAt = 1;
        }
      }
      sqlite3_reset(q);
      if (zWhy == 0 && rc == SQLITE_OK && whole && limit == LIST_MAX &&
          c->nRow - nBefore == LIST_MAX) {
        /* The API lists only the newest 1000 keys: a full listing may not
        ** be the whole namespace, and the query needs all of it. */
        memSetError(&p->base,
                    "memory: namespace %s at %s has 1000 keys or more, and the "
                    "API lists at most 1000 keys (the newest): this query needs "
                    "all of them; add LIMIT 1000 to read the newest 1000, or "
                    "name the keys (key = ... or key IN (...))",
                    zNs, p->settings.zUrl);
        rc = SQLITE_ERROR;
      }
    }
    if (zWhy && rc == SQLITE_OK) {
      memSetError(&p->base, "memory: could not list namespace %s at %s: %s", zNs,
                  p->settings.zUrl, zWhy);
      rc = SQLITE_ERROR;
    }
    sqlite3_free(zWhy);
  }
  for (i = 0; i < pNs->n; i++) memRequestFree(apReq[i]);
  sqlite3_free(apReq);
  return rc;
}

/* Keep GETs running for the rows ahead of the current one. */
static int launchWindow(MemVtab *p, RemoteCursor *c) {
  RemoteState *s = STATE(p);
  int window = p->settings.concurrency * 2;
  while (c->iLaunched < c->nRow && c->iLaunched < c->iRow + window) {
    RemoteRow *r = &c->aRow[c->iLaunched];
    r->pGet = memRequestNew("GET", memRemoteEntryUrl(p, r->zNs, r->zKey), 0);
    if (r->pGet == 0) return SQLITE_NOMEM;
    memHttpSubmit(s->http, r->pGet);
    c->iLaunched++;
  }
  return SQLITE_OK;
}

/* Settle on the first row at or after iRow that exists: wait for its GET
** (when needed) and skip entries that are gone (404). */
static int settleRow(RemoteCursor *c) {
  MemVtab *p = (MemVtab *)c->base.pVtab;
  RemoteState *s = STATE(p);
  while (c->iRow < c->nRow) {
    RemoteRow *r = &c->aRow[c->iRow];
    char *zWhy = 0;
    int rc;
    if (!c->needGet) return SQLITE_OK;
    rc = launchWindow(p, c);
    if (rc != SQLITE_OK) return rc;
    memHttpWait(s->http, r->pGet);
    if (memRemoteNotFound(r->pGet)) {
      rowClear(r);
      c->iRow++;
      continue;
    }
    if (r->pGet->zError || r->pGet->status != 200) {
      zWhy = memAnswerExcerpt(r->pGet);
    } else {
      rc = memRemoteParseEntry(p, r->pGet, r, &zWhy);
      if (rc != SQLITE_OK) return rc;
    }
    if (zWhy) {
      memSetError(&p->base, "memory: could not read %s/%s at %s: %s", r->zNs,
                  r->zKey, p->settings.zUrl, zWhy);
      sqlite3_free(zWhy);
      return SQLITE_ERROR;
    }
    /* The answer's text is parsed: free it now, rows stream. */
    memRequestFree(r->pGet);
    r->pGet = 0;
    return SQLITE_OK;
  }
  c->eof = 1;
  return SQLITE_OK;
}

static int remoteFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv) {
  RemoteCursor *c = (RemoteCursor *)pCur;
  MemVtab *p = (MemVtab *)pCur->pVtab;
  NameList ns = {0, 0, 0}, keys = {0, 0, 0};
  int rc, iArg = 0, i, j;
  (void)idxStr;
  (void)argc;
  cursorReset(c);
  c->eof = 0;
  rc = remoteRefreshSettings(p);
  if (rc != SQLITE_OK) return rc;
  if (idxNum & RP_MATCH) {
    memSetError(pCur->pVtab,
                "memory: remote table '%s' cannot be searched: the hosted API "
                "has no search; copy the namespace into a local table with "
                "search=on (INSERT INTO mem SELECT * FROM %s WHERE namespace = "
                "'...') and search that",
                p->zName, p->zName);
    return SQLITE_ERROR;
  }
  if (idxNum & RP_AS_OF) {
    memSetError(pCur->pVtab,
                "memory: remote table '%s' has no past versions to read as_of: "
                "the hosted API keeps none; copy the namespace into a local "
                "table with history=on and read that",
                p->zName);
    return SQLITE_ERROR;
  }
  if (idxNum & RP_NO_NAMESPACE) {
    memSetError(pCur->pVtab,
                "memory: a query on remote table '%s' needs namespace = '...' or "
                "namespace IN (...): the hosted API cannot list namespaces",
                p->zName);
    return SQLITE_ERROR;
  }
  /* Reads see this table's earlier writes: send them first. */
  rc = memRemoteFlushWrites(p);
  if (rc != SQLITE_OK) return rc;

  rc = collectNames(argv[iArg++], (idxNum & RP_NS_IN) != 0, 0, &ns);
  if (rc == SQLITE_OK && (idxNum & RP_KEY)) {
    rc = collectNames(argv[iArg++], (idxNum & RP_KEY_IN) != 0, 1, &keys);
  }
  if (rc == SQLITE_OK && (idxNum & RP_KEY)) {
    c->needGet = 1;
    for (i = 0; i < ns.n && rc == SQLITE_OK; i++) {
      for (j = 0; j < keys.n && rc == SQLITE_OK; j++) {
        rc = addRow(c, (const char *)sqlite3_value_text(ns.a[i]),
                    sqlite3_value_bytes(ns.a[i]),
                    (const char *)sqlite3_value_text(keys.a[j]),
                    sqlite3_value_bytes(keys.a[j]));
      }
    }
  } else if (rc == SQLITE_OK) {
    /* The rows the query can use: LIMIT + OFFSET, saturating; a negative
    ** LIMIT is SQLite's "no limit". Beyond LIST_MAX the listing cannot be
    ** known to be whole, and a full one is an error (listNamespaces). */
    int limit = LIST_MAX, whole = 1;
    if (idxNum & RP_LIMIT) {
      sqlite3_int64 n = sqlite3_value_int64(argv[iArg++]);
      sqlite3_int64 off = (idxNum & RP_OFFSET) ? sqlite3_value_int64(argv[iArg]) : 0;
      if (n >= 0 && off >= 0 && n <= LIST_MAX && off <= LIST_MAX - n) {
        limit = (int)(n + off);
        whole = 0;
      }
    }
    c->needGet = (idxNum & RP_VALUES) != 0;
    if (limit > 0) rc = listNamespaces(p, c, &ns, limit, whole);
  }
  freeNames(&ns);
  freeNames(&keys);
  if (rc == SQLITE_OK) rc = settleRow(c);
  if (rc != SQLITE_OK) c->eof = 1;
  return rc;
}

static int remoteNext(sqlite3_vtab_cursor *pCur) {
  RemoteCursor *c = (RemoteCursor *)pCur;
  if (c->iRow < c->nRow) rowClear(&c->aRow[c->iRow]);
  c->iRow++;
  return settleRow(c);
}

static int remoteEof(sqlite3_vtab_cursor *pCur) {
  return ((RemoteCursor *)pCur)->eof;
}

static int remoteColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  RemoteCursor *c = (RemoteCursor *)pCur;
  RemoteRow *r = &c->aRow[c->iRow];
  switch (i) {
    case MEM_COL_NAMESPACE:
      sqlite3_result_text(ctx, r->zNs, -1, SQLITE_TRANSIENT);
      break;
    case MEM_COL_KEY:
      sqlite3_result_text(ctx, r->zKey, -1, SQLITE_TRANSIENT);
      break;
    case MEM_COL_VALUE:
      if (r->fetched) sqlite3_result_text(ctx, r->zValue, r->nValue, SQLITE_TRANSIENT);
      break;
    case MEM_COL_UPDATED_AT:
      if (r->hasUpdatedAt) sqlite3_result_double(ctx, r->updatedAt);
      break;
    case MEM_COL_CREATED_AT:
      if (r->fetched) sqlite3_result_double(ctx, r->createdAt);
      break;
    default:
      break; /* rank: no search here */
  }
  return SQLITE_OK;
}

/* Rowids exist for UPDATE and DELETE and for SQLite to tell rows apart (an
** OR of overlapping lookups is merged by rowid): one per (namespace, key),
** the same every time the entry is read, until the transaction ends, or,
** outside one, until no cursor is open (remoteOpen), so that a read-only
** connection does not collect names forever. */
static int remoteRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  RemoteCursor *c = (RemoteCursor *)pCur;
  RemoteRow *r = &c->aRow[c->iRow];
  return memRemoteRowidOf(STATE(pCur->pVtab), r->zNs, r->zKey, pRowid);
}

static const char *const azRemoteObject[] = {"data", "quota", 0}; /* placeholders */

const MemBackend memRemoteBackend = {
    .zName = "remote",
    .azObject = azRemoteObject,
    .xInit = remoteInit,
    .xUpgrade = remoteUpgrade,
    .xDisconnect = remoteDisconnect,
    .xDestroy = remoteDestroy,
    .xRename = remoteRename,
    .xBestIndex = remoteBestIndex,
    .xOpen = remoteOpen,
    .xClose = remoteClose,
    .xFilter = remoteFilter,
    .xNext = remoteNext,
    .xEof = remoteEof,
    .xColumn = remoteColumn,
    .xRowid = remoteRowid,
    .xUpdate = memRemoteUpdate,
    .xBegin = remoteBegin,
    .xSync = memRemoteSync,
    .xCommit = memRemoteCommit,
    .xRollback = memRemoteRollback,
    .xSavepoint = memRemoteSavepoint,
    .xRelease = memRemoteRelease,
    .xRollbackTo = memRemoteRollbackTo,
    .xSettingsChanged = remoteSettingsChanged,
};
