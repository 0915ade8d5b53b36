/*
** Remote backend: the hosted memory API (hosted-api.md) over memory_http.c.
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
#define RP_NO_NAMESPACE 0x001 /* no usable namespace constraint: refuse */
#define RP_NS_IN 0x002        /* namespace is an IN list */
#define RP_KEY 0x004          /* key = or IN */
#define RP_KEY_IN 0x008       /* key is an IN list */
#define RP_LIMIT 0x010        /* LIMIT given: list only that many */
#define RP_OFFSET 0x020       /* OFFSET given (SQLite still skips the rows) */
#define RP_VALUES 0x040       /* value or created_at is read */
#define RP_NEWEST_FIRST 0x080 /* ORDER BY updated_at DESC: the API's order */
#define RP_MATCH 0x100        /* `t MATCH ...`: refused, the API cannot search */

#include "memory_backend.h"
#include "memory_http.h"
#include "memory_names.h"

#include <stdlib.h>
#include <string.h>

#define LIST_MAX 1000 /* the API lists at most the newest 1000 keys */

/* A write waiting for the end of the transaction. */
typedef struct PendingWrite {
  int isDelete;
  char *zNs, *zKey;
  char *zBody; /* PUT body */
} PendingWrite;

typedef struct RowName {
  char *zNs, *zKey;
} RowName;

typedef struct RemoteState {
  MemHttp *http;
  PendingWrite *aWrite;
  int nWrite, nWriteAlloc;
  int *aSavepoint; /* writes queued in the transaction when each began */
  int nSavepoint;
  int nSent;       /* writes of the transaction already flushed: pending
                   ** write i is the transaction's write nSent + i */
  char *zPoison;   /* why the transaction can no longer commit, or 0 */
  RowName *aRowName; /* rowid N names aRowName[N-1]: for UPDATE/DELETE */
  int nRowName, nRowNameAlloc;
  int *aRowHash;     /* open addressing over aRowName: rowid, or 0 */
  int nRowHash;      /* slots, a power of two, at least 2 * nRowName */
  int nCursor;       /* cursors open on this table */
  sqlite3_stmt *pParseGet, *pCheckList, *pParseList, *pPutBody;
  sqlite3_int64 generation; /* of the settings in use (memConfigGeneration) */
} RemoteState;

typedef struct RemoteRow {
  char *zNs, *zKey;
  double updatedAt;
  int hasUpdatedAt;
  MemRequest *pGet;  /* GET of this key, once launched */
  int fetched;       /* value/created_at below are set */
  char *zValue;
  int nValue;
  double createdAt;
} RemoteRow;

typedef struct RemoteCursor {
  sqlite3_vtab_cursor base;
  int needGet;       /* every row needs its GET */
  RemoteRow *aRow;
  int nRow, nRowAlloc;
  int iRow;          /* the current row */
  int iLaunched;     /* rows below this have had their GET launched */
  int eof;
  sqlite3_int64 rowid;
} RemoteCursor;

#define STATE(p) ((RemoteState *)((MemVtab *)(p))->pState)

/* ---------------------------------------------------------------------- */
/* Setup.                                                                 */

static int remoteInit(MemVtab *p, int isCreate, char **pzErr) {
  RemoteState *s = sqlite3_malloc(sizeof(*s));
  int rc;
  (void)isCreate; /* nothing to build: the data lives on the server */
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  rc = memConfigGeneration(p->db, p->zSchema, p->zName, &s->generation);
  if (rc == SQLITE_OK) rc = memHttpNew(p->db, &p->settings, &s->http);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot set up the HTTP client");
    sqlite3_free(s);
    return rc;
  }
  p->pState = s;
  return SQLITE_OK;
}

static void clearWrites(RemoteState *s, int iFrom) {
  int i;
  for (i = iFrom; i < s->nWrite; i++) {
    sqlite3_free(s->aWrite[i].zNs);
    sqlite3_free(s->aWrite[i].zKey);
    sqlite3_free(s->aWrite[i].zBody);
  }
  if (iFrom < s->nWrite) s->nWrite = iFrom;
}

static void clearRowNames(RemoteState *s) {
  int i;
  if (s->aRowHash) memset(s->aRowHash, 0, sizeof(int) * s->nRowHash);
  for (i = 0; i < s->nRowName; i++) {
    sqlite3_free(s->aRowName[i].zNs);
    sqlite3_free(s->aRowName[i].zKey);
  }
  s->nRowName = 0;
}

static int remoteDisconnect(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = p->pState;
  if (s == 0) return SQLITE_OK;
  clearWrites(s, 0);
  clearRowNames(s);
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
  (void)pVtab;
  return SQLITE_OK;
}

/* Nothing of its own to rename: its settings are the module's. */
static int remoteRename(sqlite3_vtab *pVtab, const char *zNew) {
  (void)pVtab;
  (void)zNew;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* URLs, JSON.                                                            */

/* base/memory/{ns}[/{key}]. Names are validated before they get here; they
** are percent-encoded all the same. */
static char *entryUrl(MemVtab *p, const char *zNs, const char *zKey) {
  char *zN = memUrlEscape(zNs, (int)strlen(zNs));
  char *zK = zKey ? memUrlEscape(zKey, (int)strlen(zKey)) : 0;
  char *zUrl = 0;
  if (zN && (zKey == 0 || zK)) {
    zUrl = zKey ? sqlite3_mprintf("%s/memory/%s/%s", p->settings.zUrl, zN, zK)
                : sqlite3_mprintf("%s/memory/%s", p->settings.zUrl, zN);
  }
  sqlite3_free(zN);
  sqlite3_free(zK);
  return zUrl;
}

static int prepareOnce(MemVtab *p, sqlite3_stmt **pp, const char *zSql) {
  if (*pp) return SQLITE_OK;
  return sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, pp, 0);
}

/* The JSON body of a PUT, built by SQLite's json_object(). */
static char *putBody(MemVtab *p, sqlite3_value *value) {
  RemoteState *s = STATE(p);
  char *zBody = 0;
  if (prepareOnce(p, &s->pPutBody, "SELECT json_object('value', ?1)")) return 0;
  sqlite3_bind_text(s->pPutBody, 1, (const char *)sqlite3_value_text(value),
                    sqlite3_value_bytes(value), SQLITE_STATIC);
  if (sqlite3_step(s->pPutBody) == SQLITE_ROW) {
    zBody = sqlite3_mprintf("%s", sqlite3_column_text(s->pPutBody, 0));
  }
  sqlite3_reset(s->pPutBody);
  sqlite3_clear_bindings(s->pPutBody);
  return zBody;
}

/* Decode the JSON string literal z[0..n) (quotes included, as the -> operator
** renders it) into new memory, *pzOut and *pnOut, keeping every character:
** SQLite 3.40's json_extract() stops a string at \u0000, which would cut a
** value short without a word. Returns SQLITE_OK, SQLITE_NOMEM, or
** SQLITE_ERROR for anything that is not a well-formed JSON string. */
static int hexDigits4(const char *z, unsigned *pOut) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    char c = z[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *pOut = v;
  return 1;
}

static int decodeJsonString(const char *z, int n, char **pzOut, int *pnOut) {
  char *zOut;
  int i, j = 0;
  if (n < 2 || z[0] != '"' || z[n - 1] != '"') return SQLITE_ERROR;
  zOut = sqlite3_malloc(n + 1); /* the decoded form is never longer */
  if (zOut == 0) return SQLITE_NOMEM;
  for (i = 1; i < n - 1; i++) {
    unsigned char c = (unsigned char)z[i];
    unsigned cp, lo;
    if (c != '\\') {
      if (c < 0x20) goto bad; /* control characters must be escaped */
      zOut[j++] = (char)c;
      continue;
    }
    if (++i >= n - 1) goto bad;
    switch (z[i]) {
      case '"': zOut[j++] = '"'; continue;
      case '\\': zOut[j++] = '\\'; continue;
      case '/': zOut[j++] = '/'; continue;
      case 'b': zOut[j++] = '\b'; continue;
      case 'f': zOut[j++] = '\f'; continue;
      case 'n': zOut[j++] = '\n'; continue;
      case 'r': zOut[j++] = '\r'; continue;
      case 't': zOut[j++] = '\t'; continue;
      case 'u': break;
      default: goto bad;
    }
    if (i + 4 > n - 2 || !hexDigits4(z + i + 1, &cp)) goto bad;
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
      if (i + 6 > n - 2 || z[i + 1] != '\\' || z[i + 2] != 'u' ||
          !hexDigits4(z + i + 3, &lo) || lo < 0xdc00 || lo > 0xdfff) {
        goto bad;
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      goto bad;
    }
    if (cp < 0x80) {
      zOut[j++] = (char)cp;
    } else if (cp < 0x800) {
      zOut[j++] = (char)(0xc0 | (cp >> 6));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      zOut[j++] = (char)(0xe0 | (cp >> 12));
      zOut[j++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    } else {
      zOut[j++] = (char)(0xf0 | (cp >> 18));
      zOut[j++] = (char)(0x80 | ((cp >> 12) & 0x3f));
      zOut[j++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  zOut[j] = 0;
  *pzOut = zOut;
  *pnOut = j;
  return SQLITE_OK;
bad:
  sqlite3_free(zOut);
  return SQLITE_ERROR;
}

/* Read a 200 answer of GET /memory/{ns}/{key} into pRow. An answer that
** is not a JSON object with a string value for the entry asked for is a
** lie, and an error. */
static int parseEntry(MemVtab *p, const MemRequest *r, RemoteRow *pRow,
                      char **pzWhy) {
  RemoteState *s = STATE(p);
  sqlite3_stmt *q;
  int rc = prepareOnce(p, &s->pParseGet,
      "SELECT json_type(j, '$.value'), j -> '$.value',"
      "       json_type(j, '$.created_at'), json_extract(j, '$.created_at'),"
      "       json_type(j, '$.updated_at'), json_extract(j, '$.updated_at'),"
      "       json_extract(j, '$.namespace') IS ?2"
      "       AND json_extract(j, '$.key') IS ?3"
      "  FROM (SELECT ?1 AS j) WHERE json_valid(j) AND json_type(j) = 'object'");
  if (rc != SQLITE_OK) return rc;
  q = s->pParseGet;
  sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, pRow->zNs, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, pRow->zKey, -1, SQLITE_STATIC);
  if (sqlite3_step(q) != SQLITE_ROW) {
    *pzWhy = sqlite3_mprintf("the answer is not a JSON object");
  } else if (sqlite3_column_int(q, 6) == 0) {
    *pzWhy = sqlite3_mprintf("the answer does not name the entry asked for "
                             "(its \"namespace\" and \"key\")");
  } else {
    const char *zType = (const char *)sqlite3_column_text(q, 0);
    const char *zCre = (const char *)sqlite3_column_text(q, 2);
    const char *zUpd = (const char *)sqlite3_column_text(q, 4);
    if (zType == 0 || strcmp(zType, "text") != 0) {
      *pzWhy = sqlite3_mprintf("its \"value\" is not a string");
    } else if ((zCre && strcmp(zCre, "real") && strcmp(zCre, "integer")) ||
               (zUpd && strcmp(zUpd, "real") && strcmp(zUpd, "integer"))) {
      *pzWhy = sqlite3_mprintf("its times are not numbers");
    } else {
      rc = decodeJsonString((const char *)sqlite3_column_text(q, 1),
                            sqlite3_column_bytes(q, 1), &pRow->zValue,
                            &pRow->nValue);
      if (rc == SQLITE_ERROR) {
        *pzWhy = sqlite3_mprintf("its \"value\" is not a valid JSON string");
        rc = SQLITE_OK;
      } else if (rc == SQLITE_OK) {
        pRow->createdAt = sqlite3_column_double(q, 3);
        if (zUpd) {
          pRow->updatedAt = sqlite3_column_double(q, 5);
          pRow->hasUpdatedAt = 1;
        }
        pRow->fetched = 1;
      }
    }
  }
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Writes: buffered until the end of the transaction, or the next read.  */

static int queueWrite(MemVtab *p, int isDelete, const char *zNs,
                      const char *zKey, sqlite3_value *value) {
  RemoteState *s = STATE(p);
  PendingWrite *w;
  PendingWrite *aNew = memRoomForOne(s->aWrite, s->nWrite, &s->nWriteAlloc, sizeof(*aNew));
  if (aNew == 0) return SQLITE_NOMEM;
  s->aWrite = aNew;
  w = &s->aWrite[s->nWrite];
  memset(w, 0, sizeof(*w));
  w->isDelete = isDelete;
  w->zNs = sqlite3_mprintf("%s", zNs);
  w->zKey = sqlite3_mprintf("%s", zKey);
  if (!isDelete) w->zBody = putBody(p, value);
  if (w->zNs == 0 || w->zKey == 0 || (!isDelete && w->zBody == 0)) {
    sqlite3_free(w->zNs);
    sqlite3_free(w->zKey);
    sqlite3_free(w->zBody);
    return SQLITE_NOMEM;
  }
  s->nWrite++;
  return SQLITE_OK;
}

/* Order of pending writes by (namespace, key, position in the queue). */
static int cmpWrite(const void *a, const void *b) {
  const PendingWrite *x = *(const PendingWrite *const *)a;
  const PendingWrite *y = *(const PendingWrite *const *)b;
  int c = strcmp(x->zNs, y->zNs);
  if (c == 0) c = strcmp(x->zKey, y->zKey);
  if (c == 0) c = (x > y) - (x < y);
  return c;
}

/* The index of the last write of each (namespace, key): earlier writes of
** a key are superseded and never sent. */
static int lastWrites(RemoteState *s, int **paIdx, int *pn) {
  PendingWrite **ap = sqlite3_malloc64(sizeof(PendingWrite *) * (s->nWrite + 1));
  int *aIdx = sqlite3_malloc64(sizeof(int) * (s->nWrite + 1));
  int i, n = 0;
  if (ap == 0 || aIdx == 0) {
    sqlite3_free(ap);
    sqlite3_free(aIdx);
    return SQLITE_NOMEM;
  }
  for (i = 0; i < s->nWrite; i++) ap[i] = &s->aWrite[i];
  qsort(ap, s->nWrite, sizeof(ap[0]), cmpWrite);
  for (i = 0; i < s->nWrite; i++) {
    if (i + 1 == s->nWrite || strcmp(ap[i]->zNs, ap[i + 1]->zNs) != 0 ||
        strcmp(ap[i]->zKey, ap[i + 1]->zKey) != 0) {
      aIdx[n++] = (int)(ap[i] - s->aWrite);
    }
  }
  sqlite3_free(ap);
  *paIdx = aIdx;
  *pn = n;
  return SQLITE_OK;
}

/* Send writes aIdx[0..n) of one kind, `concurrency` at a time. Returns
** SQLITE_OK, or an error with *pzErr naming the first write that failed. */
static int sendWrites(MemVtab *p, const int *aIdx, int n, int isDelete,
                      char **pzErr) {
  RemoteState *s = STATE(p);
  int window = p->settings.concurrency * 2;
  MemRequest **apReq = sqlite3_malloc64(sizeof(MemRequest *) * (window + 1));
  int iNext = 0, iDone = 0, rc = SQLITE_OK, i;
  int *aPick = sqlite3_malloc64(sizeof(int) * (n + 1)), nPick = 0;
  if (apReq == 0 || aPick == 0) {
    sqlite3_free(apReq);
    sqlite3_free(aPick);
    return SQLITE_NOMEM;
  }
  for (i = 0; i < n; i++) {
    if (s->aWrite[aIdx[i]].isDelete == isDelete) aPick[nPick++] = aIdx[i];
  }
  memset(apReq, 0, sizeof(MemRequest *) * (window + 1));
  while (iDone < nPick) {
    /* Keep the window full, then wait for its oldest request. */
    while (iNext < nPick && iNext - iDone < window) {
      PendingWrite *w = &s->aWrite[aPick[iNext]];
      MemRequest *r = memRequestNew(isDelete ? "DELETE" : "PUT",
                                    entryUrl(p, w->zNs, w->zKey),
                                    isDelete ? 0 : w->zBody);
      if (!isDelete) w->zBody = 0; /* the request owns it now */
      if (r == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      r->pOwner = w;
      memHttpSubmit(s->http, r);
      apReq[iNext % window] = r;
      iNext++;
    }
    if (rc != SQLITE_OK) break;
    {
      MemRequest *r = apReq[iDone % window];
      PendingWrite *w = r->pOwner;
      memHttpWait(s->http, r);
      if (rc == SQLITE_OK && !(r->zError == 0 && (r->status == 200 ||
                                                   (isDelete && r->status == 404)))) {
        char *zWhy = memAnswerExcerpt(r);
        *pzErr = sqlite3_mprintf(
            "memory: could not %s %s/%s at %s: %s", isDelete ? "delete" : "store",
            w->zNs, w->zKey, p->settings.zUrl, zWhy ? zWhy : "out of memory");
        sqlite3_free(zWhy);
        rc = SQLITE_ERROR;
      }
      memRequestFree(r);
      apReq[iDone % window] = 0;
      iDone++;
    }
  }
  for (i = iDone; i < iNext; i++) memRequestFree(apReq[i % window]);
  sqlite3_free(apReq);
  sqlite3_free(aPick);
  return rc;
}

/* Send every pending write; all have been answered when this returns.
** PUTs go first and DELETEs only if every PUT succeeded, so an entry moved
** to another key is never deleted before its copy is stored. */
static int flushWrites(MemVtab *p) {
  RemoteState *s = STATE(p);
  char *zErr = 0;
  int *aIdx = 0, n = 0, rc;
  if (s->nWrite == 0) return SQLITE_OK;
  rc = lastWrites(s, &aIdx, &n);
  if (rc == SQLITE_OK) rc = sendWrites(p, aIdx, n, 0, &zErr);
  if (rc == SQLITE_OK) rc = sendWrites(p, aIdx, n, 1, &zErr);
  sqlite3_free(aIdx);
  /* Sent or not, they cannot be sent again: the savepoints keep counting
  ** from here (remoteRollbackTo), and a failure stays with the transaction,
  ** so that COMMIT fails too (remoteSync) rather than commit the local side
  ** of a transaction whose remote writes did not all arrive. */
  s->nSent += s->nWrite;
  clearWrites(s, 0);
  if (rc != SQLITE_OK) {
    if (zErr == 0) zErr = sqlite3_mprintf("memory: out of memory");
    if (s->zPoison == 0 && zErr) s->zPoison = sqlite3_mprintf("%s", zErr);
    sqlite3_free(p->base.zErrMsg);
    p->base.zErrMsg = zErr;
  }
  return rc;
}

/* Does (ns, key) exist? The pending writes answer first; else one GET.
** Returns SQLITE_OK with *pExists 0 or 1, or an error. */
static int entryExists(MemVtab *p, const char *zNs, const char *zKey,
                       int *pExists) {
  RemoteState *s = STATE(p);
  MemRequest *r;
  int i, rc = SQLITE_OK;
  for (i = s->nWrite - 1; i >= 0; i--) {
    if (strcmp(s->aWrite[i].zNs, zNs) == 0 && strcmp(s->aWrite[i].zKey, zKey) == 0) {
      *pExists = !s->aWrite[i].isDelete;
      return SQLITE_OK;
    }
  }
  r = memRequestNew("GET", entryUrl(p, zNs, zKey), 0);
  if (r == 0) return SQLITE_NOMEM;
  memHttpSubmit(s->http, r);
  memHttpWait(s->http, r);
  if (r->zError == 0 && (r->status == 200 || r->status == 404)) {
    *pExists = r->status == 200;
  } else {
    char *zWhy = memAnswerExcerpt(r);
    memSetError(&p->base, "memory: could not read %s/%s at %s: %s", zNs, zKey,
                p->settings.zUrl, zWhy ? zWhy : "out of memory");
    sqlite3_free(zWhy);
    rc = SQLITE_ERROR;
  }
  memRequestFree(r);
  return rc;
}

static int remoteUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                        sqlite3_int64 *pRowid) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = STATE(p);
  int conflict = sqlite3_vtab_on_conflict(p->db);
  const char *zNs, *zKey;
  const RowName *pOld = 0;
  char *zErr;
  int rc, exists = 0;
  (void)pRowid;

  if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    sqlite3_int64 iRowid = sqlite3_value_int64(argv[0]);
    if (iRowid < 1 || iRowid > s->nRowName) {
      memSetError(pVtab, "memory: unknown row %lld of remote table '%s'",
                  iRowid, p->zName);
      return SQLITE_ERROR;
    }
    pOld = &s->aRowName[iRowid - 1];
  }
  if (argc == 1) return queueWrite(p, 1, pOld->zNs, pOld->zKey, 0);

  zErr = memCheckRow(&p->settings, argv[2 + MEM_COL_NAMESPACE],
                     argv[2 + MEM_COL_KEY], argv[2 + MEM_COL_VALUE]);
  if (zErr) {
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
    return SQLITE_ERROR;
  }
  zNs = (const char *)sqlite3_value_text(argv[2 + MEM_COL_NAMESPACE]);
  zKey = (const char *)sqlite3_value_text(argv[2 + MEM_COL_KEY]);
  if (pOld && strcmp(pOld->zNs, zNs) == 0 && strcmp(pOld->zKey, zKey) == 0) {
    return queueWrite(p, 0, zNs, zKey, argv[2 + MEM_COL_VALUE]);
  }
  /* A new entry, or a move onto another key: the API's PUT is an upsert,
  ** so anything but REPLACE has to look first. */
  if (conflict != SQLITE_REPLACE) {
    rc = entryExists(p, zNs, zKey, &exists);
    if (rc != SQLITE_OK) return rc;
    if (exists) {
      if (conflict == SQLITE_IGNORE) return SQLITE_OK;
      memSetError(pVtab, "memory: %s/%s already exists; %s", zNs, zKey,
                  pOld ? "UPDATE OR REPLACE overwrites it, or DELETE it first"
                       : "use INSERT OR REPLACE to overwrite it or INSERT OR "
                         "IGNORE to keep it");
      return SQLITE_CONSTRAINT;
    }
  }
  rc = queueWrite(p, 0, zNs, zKey, argv[2 + MEM_COL_VALUE]);
  if (rc == SQLITE_OK && pOld) rc = queueWrite(p, 1, pOld->zNs, pOld->zKey, 0);
  return rc;
}

/* The end of the transaction's statement or the transaction: the writes go
** out, and COMMIT fails if they (or earlier ones) could not all be sent. */
static int remoteSync(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = STATE(p);
  int rc = flushWrites(p);
  if (rc == SQLITE_OK && s->zPoison) {
    memSetError(pVtab, "%s", s->zPoison);
    rc = SQLITE_ERROR;
  }
  return rc;
}

static void endTransaction(RemoteState *s) {
  clearWrites(s, 0);
  clearRowNames(s);
  s->nSavepoint = 0;
  s->nSent = 0;
  sqlite3_free(s->zPoison);
  s->zPoison = 0;
}

static int remoteCommit(sqlite3_vtab *pVtab) {
  endTransaction(STATE(pVtab));
  return SQLITE_OK;
}

/* ROLLBACK discards what was not sent yet. */
static int remoteRollback(sqlite3_vtab *pVtab) {
  endTransaction(STATE(pVtab));
  return SQLITE_OK;
}

static int remoteSavepoint(sqlite3_vtab *pVtab, int iSavepoint) {
  RemoteState *s = STATE(pVtab);
  if (iSavepoint >= s->nSavepoint) {
    int *aNew = sqlite3_realloc64(s->aSavepoint, sizeof(int) * (iSavepoint + 1));
    int i;
    if (aNew == 0) return SQLITE_NOMEM;
    for (i = s->nSavepoint; i < iSavepoint; i++) aNew[i] = s->nSent + s->nWrite;
    s->aSavepoint = aNew;
  }
  s->aSavepoint[iSavepoint] = s->nSent + s->nWrite;
  s->nSavepoint = iSavepoint + 1;
  return SQLITE_OK;
}

static int remoteRelease(sqlite3_vtab *pVtab, int iSavepoint) {
  RemoteState *s = STATE(pVtab);
  if (iSavepoint < s->nSavepoint) s->nSavepoint = iSavepoint;
  return SQLITE_OK;
}

/* A statement that fails part-way, or ROLLBACK TO: unsent writes made since
** the savepoint are dropped. Writes made since then that a read in the
** transaction already sent cannot be taken back: the transaction may not
** commit (remoteSync), and says why. */
static int remoteRollbackTo(sqlite3_vtab *pVtab, int iSavepoint) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = STATE(p);
  if (iSavepoint < s->nSavepoint) {
    int iFrom = s->aSavepoint[iSavepoint];
    if (iFrom < s->nSent) {
      if (s->zPoison == 0) {
        s->zPoison = sqlite3_mprintf(
            "memory: writes to remote table '%s' made after a savepoint were "
            "already sent to %s (a read of the table in the transaction sends "
            "them first) and cannot be taken back by ROLLBACK TO; ROLLBACK the "
            "transaction, and read the table before writing, or after COMMIT",
            p->zName, p->settings.zUrl);
      }
      clearWrites(s, 0);
    } else if (iFrom - s->nSent < s->nWrite) {
      clearWrites(s, iFrom - s->nSent);
    }
    s->nSavepoint = iSavepoint + 1;
  }
  return SQLITE_OK;
}

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
    if (c->op == SQLITE_INDEX_CONSTRAINT_MATCH && c->iColumn == MEM_COL_COMMAND) {
      /* Consumed, so that xFilter can say why it cannot run. */
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->idxNum = RP_MATCH;
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
    clearRowNames(s);
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
    char *zBase = entryUrl(p, (const char *)sqlite3_value_text(pNs->a[i]), 0);
    char *zUrl = zBase ? sqlite3_mprintf("%s?limit=%d", zBase, limit) : 0;
    sqlite3_free(zBase);
    apReq[i] = memRequestNew("GET", zUrl, 0);
    if (apReq[i] == 0) rc = SQLITE_NOMEM; else memHttpSubmit(s->http, apReq[i]);
  }
  if (rc == SQLITE_OK) {
    rc = prepareOnce(p, &s->pCheckList,
        "SELECT json_valid(?1) AND json_type(?1) = 'object' AND "
        "json_type(?1, '$.keys') = 'array' AND "
        "json_extract(?1, '$.namespace') IS ?2 AND "
        "json_array_length(?1, '$.keys') <= ?3");
  }
  if (rc == SQLITE_OK) {
    rc = prepareOnce(p, &s->pParseList,
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
    r->pGet = memRequestNew("GET", entryUrl(p, r->zNs, r->zKey), 0);
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
    if (r->pGet->zError == 0 && r->pGet->status == 404) {
      rowClear(r);
      c->iRow++;
      continue;
    }
    if (r->pGet->zError || r->pGet->status != 200) {
      zWhy = memAnswerExcerpt(r->pGet);
    } else {
      rc = parseEntry(p, r->pGet, r, &zWhy);
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
  if (idxNum & RP_NO_NAMESPACE) {
    memSetError(pCur->pVtab,
                "memory: a query on remote table '%s' needs namespace = '...' or "
                "namespace IN (...): the hosted API cannot list namespaces",
                p->zName);
    return SQLITE_ERROR;
  }
  /* Reads see this table's earlier writes: send them first. */
  rc = flushWrites(p);
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

static unsigned rowNameHash(const char *zNs, const char *zKey) {
  unsigned h = 2166136261u;
  for (; *zNs; zNs++) h = (h ^ (unsigned char)*zNs) * 16777619u;
  h = (h ^ 0xff) * 16777619u; /* never in a name: separates the two */
  for (; *zKey; zKey++) h = (h ^ (unsigned char)*zKey) * 16777619u;
  return h;
}

/* The hash slot of (zNs, zKey): where its rowid is, or the empty slot where
** it would go. */
static int *rowHashSlot(RemoteState *s, const char *zNs, const char *zKey) {
  unsigned i = rowNameHash(zNs, zKey) & (unsigned)(s->nRowHash - 1);
  for (;; i = (i + 1) & (unsigned)(s->nRowHash - 1)) {
    int id = s->aRowHash[i];
    if (id == 0 || (strcmp(s->aRowName[id - 1].zNs, zNs) == 0 &&
                    strcmp(s->aRowName[id - 1].zKey, zKey) == 0)) {
      return &s->aRowHash[i];
    }
  }
}

/* Room in the hash for one more name (it is at most half full). */
static int rowHashGrow(RemoteState *s) {
  int *aNew, nNew, i;
  if (2 * (s->nRowName + 1) <= s->nRowHash) return SQLITE_OK;
  nNew = s->nRowHash ? s->nRowHash * 2 : 64;
  aNew = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)nNew);
  if (aNew == 0) return SQLITE_NOMEM;
  memset(aNew, 0, sizeof(int) * nNew);
  sqlite3_free(s->aRowHash);
  s->aRowHash = aNew;
  s->nRowHash = nNew;
  for (i = 0; i < s->nRowName; i++) {
    *rowHashSlot(s, s->aRowName[i].zNs, s->aRowName[i].zKey) = i + 1;
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
  RemoteState *s = STATE(pCur->pVtab);
  RemoteRow *r = &c->aRow[c->iRow];
  RowName *pName, *aNew;
  int *pSlot, rc = rowHashGrow(s);
  if (rc != SQLITE_OK) return rc;
  pSlot = rowHashSlot(s, r->zNs, r->zKey);
  if (*pSlot) {
    *pRowid = *pSlot;
    return SQLITE_OK;
  }
  aNew = memRoomForOne(s->aRowName, s->nRowName, &s->nRowNameAlloc, sizeof(*aNew));
  if (aNew == 0) return SQLITE_NOMEM;
  s->aRowName = aNew;
  pName = &s->aRowName[s->nRowName];
  pName->zNs = sqlite3_mprintf("%s", r->zNs);
  pName->zKey = sqlite3_mprintf("%s", r->zKey);
  if (pName->zNs == 0 || pName->zKey == 0) {
    sqlite3_free(pName->zNs);
    sqlite3_free(pName->zKey);
    return SQLITE_NOMEM;
  }
  *pRowid = *pSlot = ++s->nRowName;
  return SQLITE_OK;
}

static const char *const azRemoteObject[] = {0}; /* only <name>_config */

const MemBackend memRemoteBackend = {
    .zName = "remote",
    .azObject = azRemoteObject,
    .xInit = remoteInit,
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
    .xUpdate = remoteUpdate,
    .xBegin = remoteBegin,
    .xSync = remoteSync,
    .xCommit = remoteCommit,
    .xRollback = remoteRollback,
    .xSavepoint = remoteSavepoint,
    .xRelease = remoteRelease,
    .xRollbackTo = remoteRollbackTo,
    .xSettingsChanged = remoteSettingsChanged,
};
