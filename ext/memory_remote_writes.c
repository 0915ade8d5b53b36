/*
** The remote backend's writes: buffered until the end of the transaction
** (the statement, in autocommit) or the table's next read, then sent
** `concurrency` at a time, PUTs before DELETEs; savepoints that count the
** transaction's writes across a send; COMMIT that fails when a write could
** not be sent or taken back. And the rowids that name entries for UPDATE
** and DELETE. As FTS5 keeps its pending writes in fts5_hash.c.
*/
#include "memory_remote.h"

void memRemoteClearWrites(RemoteState *s, int iFrom) {
  int i;
  for (i = iFrom; i < s->nWrite; i++) {
    sqlite3_free(s->aWrite[i].zNs);
    sqlite3_free(s->aWrite[i].zKey);
    sqlite3_free(s->aWrite[i].zBody);
  }
  if (iFrom < s->nWrite) s->nWrite = iFrom;
}

void memRemoteClearRowNames(RemoteState *s) {
  int i;
  if (s->aRowHash) memset(s->aRowHash, 0, sizeof(int) * s->nRowHash);
  for (i = 0; i < s->nRowName; i++) {
    sqlite3_free(s->aRowName[i].zNs);
    sqlite3_free(s->aRowName[i].zKey);
  }
  s->nRowName = 0;
}

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
  if (!isDelete) w->zBody = memRemotePutBody(p, value);
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
                                    memRemoteEntryUrl(p, w->zNs, w->zKey),
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
                                                   (isDelete && memRemoteNotFound(r))))) {
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
int memRemoteFlushWrites(MemVtab *p) {
  RemoteState *s = STATE(p);
  char *zErr = 0;
  int *aIdx = 0, n = 0, rc;
  if (s->nWrite == 0) return SQLITE_OK;
  rc = lastWrites(s, &aIdx, &n);
  if (rc == SQLITE_OK) rc = sendWrites(p, aIdx, n, 0, &zErr);
  if (rc == SQLITE_OK) rc = sendWrites(p, aIdx, n, 1, &zErr);
  sqlite3_free(aIdx);
  /* Sent or not, they cannot be sent again: the savepoints keep counting
  ** from here (memRemoteRollbackTo), and a failure stays with the transaction,
  ** so that COMMIT fails too (memRemoteSync) rather than commit the local side
  ** of a transaction whose remote writes did not all arrive. */
  s->nSent += s->nWrite;
  memRemoteClearWrites(s, 0);
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
  r = memRequestNew("GET", memRemoteEntryUrl(p, zNs, zKey), 0);
  if (r == 0) return SQLITE_NOMEM;
  memHttpSubmit(s->http, r);
  memHttpWait(s->http, r);
  if (memRemoteNotFound(r)) {
    *pExists = 0;
  } else if (r->zError == 0 && r->status == 200) {
    /* Only an answer for this very entry says it exists. */
    RemoteRow probe;
    char *zWhy = 0;
    memset(&probe, 0, sizeof(probe));
    probe.zNs = (char *)zNs;
    probe.zKey = (char *)zKey;
    rc = memRemoteParseEntry(p, r, &probe, &zWhy);
    sqlite3_free(probe.zValue);
    if (rc == SQLITE_OK && zWhy) {
      memSetError(&p->base, "memory: could not read %s/%s at %s: %s", zNs, zKey,
                  p->settings.zUrl, zWhy);
      rc = SQLITE_ERROR;
    }
    sqlite3_free(zWhy);
    *pExists = 1;
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

int memRemoteUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
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
  if (zErr == 0 && !sqlite3_value_nochange(argv[2 + MEM_COL_EXPIRES_AT]) &&
      sqlite3_value_type(argv[2 + MEM_COL_EXPIRES_AT]) != SQLITE_NULL) {
    zErr = sqlite3_mprintf("memory: remote table '%s' cannot expire entries: "
                           "the hosted API keeps them until they are deleted; "
                           "leave expires_at out, or keep entries that expire "
                           "in a local table",
                           p->zName);
  }
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
int memRemoteSync(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  RemoteState *s = STATE(p);
  int rc = memRemoteFlushWrites(p);
  if (rc == SQLITE_OK && s->zPoison) {
    memSetError(pVtab, "%s", s->zPoison);
    rc = SQLITE_ERROR;
  }
  return rc;
}

static void endTransaction(RemoteState *s) {
  memRemoteClearWrites(s, 0);
  memRemoteClearRowNames(s);
  s->nSavepoint = 0;
  s->nSent = 0;
  sqlite3_free(s->zPoison);
  s->zPoison = 0;
}

int memRemoteCommit(sqlite3_vtab *pVtab) {
  endTransaction(STATE(pVtab));
  return SQLITE_OK;
}

/* ROLLBACK discards what was not sent yet. */
int memRemoteRollback(sqlite3_vtab *pVtab) {
  endTransaction(STATE(pVtab));
  return SQLITE_OK;
}

int memRemoteSavepoint(sqlite3_vtab *pVtab, int iSavepoint) {
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

int memRemoteRelease(sqlite3_vtab *pVtab, int iSavepoint) {
  RemoteState *s = STATE(pVtab);
  if (iSavepoint < s->nSavepoint) s->nSavepoint = iSavepoint;
  return SQLITE_OK;
}

/* A statement that fails part-way, or ROLLBACK TO: unsent writes made since
** the savepoint are dropped. Writes made since then that a read in the
** transaction already sent cannot be taken back: the transaction may not
** commit (memRemoteSync), and says why. */
int memRemoteRollbackTo(sqlite3_vtab *pVtab, int iSavepoint) {
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
      memRemoteClearWrites(s, 0);
    } else if (iFrom - s->nSent < s->nWrite) {
      memRemoteClearWrites(s, iFrom - s->nSent);
    }
    s->nSavepoint = iSavepoint + 1;
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

/* The rowid of entry (zNs, zKey): the one it was given before in this
** transaction (see remoteRowid in memory_remote.c), or a new one. */
int memRemoteRowidOf(RemoteState *s, const char *zNs, const char *zKey,
                     sqlite3_int64 *pRowid) {
  RowName *pName, *aNew;
  int *pSlot, rc = rowHashGrow(s);
  if (rc != SQLITE_OK) return rc;
  pSlot = rowHashSlot(s, zNs, zKey);
  if (*pSlot) {
    *pRowid = *pSlot;
    return SQLITE_OK;
  }
  aNew = memRoomForOne(s->aRowName, s->nRowName, &s->nRowNameAlloc, sizeof(*aNew));
  if (aNew == 0) return SQLITE_NOMEM;
  s->aRowName = aNew;
  pName = &s->aRowName[s->nRowName];
  pName->zNs = sqlite3_mprintf("%s", zNs);
  pName->zKey = sqlite3_mprintf("%s", zKey);
  if (pName->zNs == 0 || pName->zKey == 0) {
    sqlite3_free(pName->zNs);
    sqlite3_free(pName->zKey);
    return SQLITE_NOMEM;
  }
  *pRowid = *pSlot = ++s->nRowName;
  return SQLITE_OK;
}
