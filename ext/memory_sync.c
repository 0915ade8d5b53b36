/*
** memory_sync(local, remote, namespace [, policy]): make one namespace the
** same in a local and a remote `memory` table, moving only what changed,
** losing nothing on any failure. README.md ("Offline-first sync") has the
** rules and the recipe; the state it keeps is memory_sync_state.c's.
**
** How it talks to each side
** -------------------------
** The server, through the remote table's own client (memRemoteFind finds
** the table's MemVtab on this connection): its concurrency, timeout,
** retries and token hold, connections are reused, and every request's
** answer is seen one by one. SQL over the remote table would hide that:
** its writes are buffered until the statement ends, a failed one poisons
** the whole transaction, and a PUT's success per key is never reported,
** so the state could not say which pushes reached the server.
** The local table, through SQL on the table itself (INSERT OR REPLACE,
** DELETE, SELECT): the normal write path, so quotas, the search index and
** every trigger stay exact. The sync state and conflicts are plain tables.
**
** One sync
** --------
**   1. list the namespace (1 request); load the local rows and the state
**   2. GET, concurrently, each listed key whose time differs from its base
**      and each key the listing cannot settle (window full, see below)
**   3. apply to the local table what the server changed, record conflicts
**      (one transaction; one savepoint per key, so one key's failure, a
**      quota say, costs only that key)
**   4. PUT / DELETE the local changes, concurrently; record each success
**   5. if anything was PUT, list again: the answer of a PUT carries no
**      time, the listing tells the bases' server times
** In autocommit each step commits on its own (a function's nested
** statements may commit while the calling SELECT runs: it writes
** nothing), so the work done survives a failure later in the sync, or a
** kill -9: the next sync finishes it. Inside a transaction of the
** caller's the steps are savepoints of it.
**
** Times are compared only with times of the same clock: a base's server
** time with a listing's, a listing's oldest with the watermark.
*/
#include "memory_remote.h"
#include "memory_sync.h"
#include "memory_sync_state.h"

#include <openssl/evp.h>

#define POLICY_SERVER_WINS 0
#define POLICY_LOCAL_WINS 1
#define POLICY_MERGE 2
static const char *const azPolicy[] = {"server-wins", "local-wins", "merge"};

/* What is known of a key's remote side once listed and fetched. */
#define R_UNKNOWN 0   /* its GET failed: the key is left alone this time */
#define R_UNCHANGED 1 /* the server has the base */
#define R_VALUE 2     /* the server has zRemote (fetched) */
#define R_GONE 3      /* the server has no such key */

/* What the sync does with a key. */
#define A_NONE 0
#define A_PULL 1        /* write the server's value locally */
#define A_ADOPT 2       /* same value on both sides: record the base */
#define A_DELETE_LOCAL 3
#define A_FORGET 4      /* deleted on both sides: drop the tombstone */
#define A_PUSH 5        /* PUT the local value (zPush) */
#define A_PUSH_DELETE 6
#define A_MERGE 7       /* write the merged value locally, then PUT it */

typedef struct SyncKey {
  char *zKey;
  /* local entry */
  int hasRow;
  char *zLocal;
  int nLocal;
  double localAt;
  /* sync state (<t>_sync) */
  int hasState, hasBaseAt, hasBase, dirty, hasChangedAt;
  double baseAt, changedAt;
  unsigned char aBase[32];
  sqlite3_int64 ver;
  /* listing */
  int listed, hasListAt;
  double listAt;
  sqlite3_int64 listBytes;
  /* GET */
  int needGet;
  int remote; /* R_* */
  char *zRemote;
  int nRemote, hasRemoteAt;
  double remoteAt;
  /* decision */
  int action;
  char *zPush;   /* value to PUT (the local one, or the merge) */
  int nPush;
  int pushed;    /* the PUT or DELETE succeeded */
  int conflict;  /* changed on both sides */
  const char *zSide; /* a value not kept goes to <t>_conflicts: whose */
  const char *zLost; /* ... which (0: a deletion) */
  int nLost, hasLostAt;
  double lostAt;
  const char *zReason;
} SyncKey;

typedef struct Sync {
  sqlite3 *db;
  int policy;
  const char *zNs;
  char *zLSchema, *zLName; /* the local table */
  char *zRSchema, *zRName; /* the remote table */
  MemVtab *pRemote;
  sqlite3_stmt *pHoldRemote; /* keeps the remote table connected */
  int nReq0;                 /* the client's count of attempts at the start */
  SyncKey *aKey;
  int nKey, nKeyAlloc;
  int *aHash, nHash;         /* open addressing over aKey: index + 1 */
  sqlite3_stmt *pCheckList, *pParseList;
  sqlite3_stmt *pCheckWrite;  /* is a write's answer the API's? */
  /* the listing */
  int nListed, full, hasOldest, hasNewest;
  double oldest, newest;
  int hasWatermark;
  double watermark;
  int nUnchecked;            /* known keys older than a full window */
  /* the summary */
  int nPulled, nPushed, nDeletedLocal, nDeletedRemote, nConflicts, nMerged,
      nUnchanged;
  char *zErr;                /* the first failure, for the error */
  int rcErr;
} Sync;

/* ---------------------------------------------------------------------- */
/* Small helpers.                                                          */

static void sha256(const char *z, int n, unsigned char *aOut) {
  unsigned int nOut = 0;
  if (!EVP_Digest(z, (size_t)n, aOut, &nOut, EVP_sha256(), 0) || nOut != 32) {
    memset(aOut, 0, 32); /* never equal to a real base: the value is sent */
  }
}

static int sameAsBase(const SyncKey *k, const char *z, int n) {
  unsigned char a[32];
  if (!k->hasBase) return 0;
  sha256(z, n, a);
  return memcmp(a, k->aBase, 32) == 0;
}

/* The first failure is the one reported; later ones are counted out. */
static void syncFail(Sync *s, int rc, const char *zStep, const char *zKey,
                     const char *zWhy) {
  if (s->zErr) return;
  s->rcErr = rc == SQLITE_OK ? SQLITE_ERROR : rc;
  s->zErr = sqlite3_mprintf(
      "memory: sync of namespace '%s' between '%s' and '%s' failed at step "
      "'%s'%s%s%s: %s; what was done is kept on both sides and nothing is "
      "lost: run memory_sync again to finish",
      s->zNs, s->zLName, s->zRName, zStep, zKey ? " for key '" : "",
      zKey ? zKey : "", zKey ? "'" : "", zWhy ? zWhy : "out of memory");
}

static int prepare(Sync *s, sqlite3_stmt **pp, const char *zFormat, ...) {
  va_list ap;
  char *zSql;
  int rc;
  va_start(ap, zFormat);
  zSql = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(s->db, zSql, -1, pp, 0);
  sqlite3_free(zSql);
  return rc;
}

/* Step to the end, reset; the error code (message in sqlite3_errmsg). */
static int stepDone(sqlite3_stmt *pStmt) {
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
  }
  return sqlite3_reset(pStmt);
}

static void bindDoubleOrNull(sqlite3_stmt *p, int i, int has, double v) {
  if (has) sqlite3_bind_double(p, i, v); else sqlite3_bind_null(p, i);
}

/* ---------------------------------------------------------------------- */
/* Keys: an array with a hash over it.                                     */

static unsigned keyHash(const char *z) {
  unsigned h = 2166136261u;
  for (; *z; z++) h = (h ^ (unsigned char)*z) * 16777619u;
  return h;
}

static int *keySlot(Sync *s, const char *zKey) {
  unsigned i = keyHash(zKey) & (unsigned)(s->nHash - 1);
  for (;; i = (i + 1) & (unsigned)(s->nHash - 1)) {
    int id = s->aHash[i];
    if (id == 0 || strcmp(s->aKey[id - 1].zKey, zKey) == 0) return &s->aHash[i];
  }
}

/* The key zKey[0..n), made if it is new; 0 when out of memory. */
static SyncKey *keyGet(Sync *s, const char *zKey, int n) {
  char *z = sqlite3_mprintf("%.*s", n, zKey);
  SyncKey *aNew;
  int *pSlot;
  if (z == 0) return 0;
  if (2 * (s->nKey + 1) > s->nHash) {
    int nNew = s->nHash ? s->nHash * 2 : 256, i;
    int *aH = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)nNew);
    if (aH == 0) {
      sqlite3_free(z);
      return 0;
    }
    memset(aH, 0, sizeof(int) * nNew);
    sqlite3_free(s->aHash);
    s->aHash = aH;
    s->nHash = nNew;
    for (i = 0; i < s->nKey; i++) *keySlot(s, s->aKey[i].zKey) = i + 1;
  }
  pSlot = keySlot(s, z);
  if (*pSlot) {
    sqlite3_free(z);
    return &s->aKey[*pSlot - 1];
  }
  aNew = memRoomForOne(s->aKey, s->nKey, &s->nKeyAlloc, sizeof(*aNew));
  if (aNew == 0) {
    sqlite3_free(z);
    return 0;
  }
  s->aKey = aNew;
  memset(&s->aKey[s->nKey], 0, sizeof(SyncKey));
  s->aKey[s->nKey].zKey = z;
  *pSlot = ++s->nKey;
  return &s->aKey[s->nKey - 1];
}

static void syncFree(Sync *s) {
  int i;
  for (i = 0; i < s->nKey; i++) {
    SyncKey *k = &s->aKey[i];
    sqlite3_free(k->zKey);
    sqlite3_free(k->zLocal);
    sqlite3_free(k->zRemote);
    if (k->zPush != k->zLocal) sqlite3_free(k->zPush);
  }
  sqlite3_free(s->aKey);
  sqlite3_free(s->aHash);
  sqlite3_finalize(s->pCheckList);
  sqlite3_finalize(s->pParseList);
  sqlite3_finalize(s->pCheckWrite);
  sqlite3_finalize(s->pHoldRemote);
  sqlite3_free(s->zLSchema);
  sqlite3_free(s->zLName);
  sqlite3_free(s->zRSchema);
  sqlite3_free(s->zRName);
  sqlite3_free(s->zErr);
}

/* ---------------------------------------------------------------------- */
/* Transactions: each step commits on its own (memory_sync refuses to run */
/* inside the caller's transaction, see syncFunc).                         */

static int txBegin(Sync *s) {
  /* IMMEDIATE: the write lock first, so that what the step checks (no
  ** local write since the sync read the key) holds until it commits. */
  return memExecPrintf(s->db, "BEGIN IMMEDIATE");
}

static int txEnd(Sync *s, int rc) {
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(s->db, "COMMIT");
    if (rc == SQLITE_OK) return rc;
  }
  memExecPrintf(s->db, "ROLLBACK");
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The two tables.                                                         */

/* z past any white space and SQL comments. */
static const char *skipSpace(const char *z) {
  for (;;) {
    if (*z == ' ' || *z == '\t' || *z == '\n' || *z == '\r' || *z == '\f') {
      z++;
    } else if (z[0] == '-' && z[1] == '-') {
      while (*z && *z != '\n') z++;
    } else if (z[0] == '/' && z[1] == '*') {
      const char *zEnd = strstr(z + 2, "*/");
      z = zEnd ? zEnd + 2 : z + strlen(z);
    } else {
      return z;
    }
  }
}

/* Is CREATE statement zSql one of "USING memory"? SQLite stores it as
** "CREATE VIRTUAL TABLE " + the name as written (quoted or not; a rename
** writes it quoted) + the rest: the name is skipped as a token, since it
** may itself hold "using" (a table named "confusing"). */
static int usesMemory(const char *zSql) {
  static const char zPrefix[] = "CREATE VIRTUAL TABLE ";
  const char *z = zSql;
  if (z == 0 || sqlite3_strnicmp(z, zPrefix, sizeof(zPrefix) - 1) != 0) return 0;
  z += sizeof(zPrefix) - 1;
  z = skipSpace(z);
  if (*z == '"' || *z == '`' || *z == '\'' || *z == '[') {
    char cEnd = *z == '[' ? ']' : *z;
    for (z++; *z; z++) {
      if (*z == cEnd) {
        if (cEnd != ']' && z[1] == cEnd) z++; /* a doubled quote */
        else break;
      }
    }
    if (*z == 0) return 0;
    z++;
  } else {
    while (*z && *z != ' ' && *z != '\t' && *z != '\n' && *z != '\r' && *z != '/' &&
           *z != '-') {
      z++;
    }
  }
  z = skipSpace(z);
  if (sqlite3_strnicmp(z, "using", 5) != 0) return 0;
  z += 5;
  z = skipSpace(z);
  if (*z == '"' || *z == '`' || *z == '[' || *z == '\'') z++;
  return sqlite3_strnicmp(z, "memory", 6) == 0 &&
         !((z[6] >= 'a' && z[6] <= 'z') || (z[6] >= 'A' && z[6] <= 'Z') ||
           (z[6] >= '0' && z[6] <= '9') || z[6] == '_');
}

/* Find the memory table named by v: its schema and name as stored, and
** whether it is remote. SQLITE_NOTFOUND when v names no memory table. */
static int findTable(Sync *s, sqlite3_value *v, char **pzSchema, char **pzName,
                     int *pRemote) {
  sqlite3_stmt *pStmt = 0;
  const char *zArg = (const char *)sqlite3_value_text(v);
  int rc, found = 0;
  if (zArg == 0 || sqlite3_value_type(v) != SQLITE_TEXT) return SQLITE_NOTFOUND;
  rc = prepare(s, &pStmt,
               "SELECT schema, name FROM pragma_table_list WHERE name = ?1 "
               "COLLATE NOCASE AND type = 'virtual' ORDER BY schema = 'temp' "
               "DESC, schema = 'main' DESC LIMIT 1");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zArg, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pzSchema = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    *pzName = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 1));
    found = 1;
    if (*pzSchema == 0 || *pzName == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(pStmt); else sqlite3_finalize(pStmt);
  pStmt = 0;
  if (rc != SQLITE_OK || !found) return rc == SQLITE_OK ? SQLITE_NOTFOUND : rc;
  rc = prepare(s, &pStmt, "SELECT sql FROM \"%w\".sqlite_schema WHERE type = "
               "'table' AND name = ?1", *pzSchema);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, *pzName, -1, SQLITE_STATIC);
  found = sqlite3_step(pStmt) == SQLITE_ROW &&
          usesMemory((const char *)sqlite3_column_text(pStmt, 0));
  rc = sqlite3_finalize(pStmt);
  if (rc != SQLITE_OK) return rc;
  if (!found) return SQLITE_NOTFOUND;
  {
    MemSettings settings;
    char *zErr = 0;
    memset(&settings, 0, sizeof(settings));
    rc = memSettingsLoad(s->db, *pzSchema, *pzName, &settings, &zErr);
    sqlite3_free(zErr);
    *pRemote = settings.isRemote;
    memSettingsClear(&settings);
    if (rc != SQLITE_OK) return SQLITE_NOTFOUND;
  }
  return SQLITE_OK;
}

/* Check the arguments and find both tables; *pzErr says what to do. */
static int resolveTables(Sync *s, sqlite3_value **argv, char **pzErr) {
  int isRemote = 0;
  int rc = findTable(s, argv[0], &s->zLSchema, &s->zLName, &isRemote);
  if (rc == SQLITE_NOTFOUND || (rc == SQLITE_OK && isRemote)) {
    *pzErr = sqlite3_mprintf(
        "memory: memory_sync: '%s' is not a local memory table; the first "
        "argument names the local table (CREATE VIRTUAL TABLE %s USING "
        "memory), the second the remote one",
        sqlite3_value_text(argv[0]), sqlite3_value_text(argv[0]));
    return SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) return rc;
  rc = findTable(s, argv[1], &s->zRSchema, &s->zRName, &isRemote);
  if (rc == SQLITE_NOTFOUND || (rc == SQLITE_OK && !isRemote)) {
    *pzErr = sqlite3_mprintf(
        "memory: memory_sync: '%s' is not a remote memory table; the second "
        "argument names one made with CREATE VIRTUAL TABLE %s USING "
        "memory(remote='https://...')",
        sqlite3_value_text(argv[1]), sqlite3_value_text(argv[1]));
    return SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) return rc;
  /* Preparing a statement on the remote table connects it (once per
  ** connection); kept, unstepped, until the end, it keeps the table's
  ** MemVtab alive whatever happens to the schema meanwhile. */
  rc = prepare(s, &s->pHoldRemote, "SELECT 1 FROM \"%w\".\"%w\" WHERE namespace = ''",
               s->zRSchema, s->zRName);
  if (rc == SQLITE_OK) {
    s->pRemote = memRemoteFind(s->db, s->zRSchema, s->zRName);
    if (s->pRemote == 0) rc = SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: memory_sync: cannot open remote table "
                             "'%s': %s", s->zRName, sqlite3_errmsg(s->db));
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Step 1: the listing, the local rows, the state.                        */

/* GET /memory/{ns}?limit=1000 into *pr (the caller frees it). */
static int listRequest(Sync *s, MemRequest **pr) {
  RemoteState *rs = STATE(s->pRemote);
  char *zBase = memRemoteEntryUrl(s->pRemote, s->zNs, 0);
  char *zUrl = zBase ? sqlite3_mprintf("%s?limit=%d", zBase, LIST_MAX) : 0;
  sqlite3_free(zBase);
  *pr = memRequestNew("GET", zUrl, 0);
  if (*pr == 0) return SQLITE_NOMEM;
  memHttpSubmit(rs->http, *pr);
  memHttpWait(rs->http, *pr);
  return SQLITE_OK;
}

/* Read a listing's answer: xEntry is called for each (key, time, bytes).
** Returns SQLITE_OK, or SQLITE_ERROR with *pzWhy. */
typedef int (*ListEntryFn)(Sync *, const char *zKey, int nKey, int hasAt,
                           double at, sqlite3_int64 bytes);
static int listRead(Sync *s, MemRequest *r, ListEntryFn xEntry, int *pn,
                    char **pzWhy) {
  sqlite3_stmt *q;
  int rc = SQLITE_OK, n = 0;
  if (r->zError || r->status != 200) {
    *pzWhy = memAnswerExcerpt(r);
    return SQLITE_ERROR;
  }
  if (s->pCheckList == 0) {
    rc = prepare(s, &s->pCheckList,
        "SELECT json_valid(?1) AND json_type(?1) = 'object' AND "
        "json_type(?1, '$.keys') = 'array' AND "
        "json_extract(?1, '$.namespace') IS ?2 AND "
        "json_array_length(?1, '$.keys') <= %d AND "
        "NOT EXISTS (SELECT 1 FROM json_each(?1, '$.keys') WHERE type <> 'object') AND "
        "(SELECT count(*) = count(DISTINCT value ->> '$.key') "
        "   FROM json_each(?1, '$.keys'))", LIST_MAX);
  }
  if (rc == SQLITE_OK && s->pParseList == 0) {
    rc = prepare(s, &s->pParseList,
        "SELECT json_extract(e.value, '$.key'), json_type(e.value, '$.key'),"
        "       json_extract(e.value, '$.updated_at'),"
        "       json_type(e.value, '$.updated_at'), json_extract(e.value, '$.bytes')"
        "  FROM json_each(?1, '$.keys') AS e");
  }
  if (rc != SQLITE_OK) return rc;
  q = s->pCheckList;
  sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, s->zNs, -1, SQLITE_STATIC);
  if (sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) == 0) {
    *pzWhy = sqlite3_mprintf("the answer is not a listing of at most %d keys of "
                             "this namespace", LIST_MAX);
  }
  sqlite3_reset(q);
  if (*pzWhy) return SQLITE_ERROR;
  q = s->pParseList;
  sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
  while (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
    const char *zKey = (const char *)sqlite3_column_text(q, 0);
    const char *zKType = (const char *)sqlite3_column_text(q, 1);
    const char *zUType = (const char *)sqlite3_column_text(q, 3);
    int nKey = sqlite3_column_bytes(q, 0);
    int hasAt = zUType && (strcmp(zUType, "real") == 0 || strcmp(zUType, "integer") == 0);
    if (zKType == 0 || strcmp(zKType, "text") != 0 || !memKeyValid(zKey, nKey)) {
      *pzWhy = sqlite3_mprintf("the listing holds an invalid key");
      rc = SQLITE_ERROR;
      break;
    }
    rc = xEntry(s, zKey, nKey, hasAt, sqlite3_column_double(q, 2),
                sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 4));
    n++;
  }
  sqlite3_reset(q);
  *pn = n;
  return rc;
}

static void noteTime(Sync *s, int hasAt, double at) {
  if (!hasAt) return;
  if (!s->hasOldest || at < s->oldest) s->oldest = at;
  if (!s->hasNewest || at > s->newest) s->newest = at;
  s->hasOldest = s->hasNewest = 1;
}

static int onListed(Sync *s, const char *zKey, int nKey, int hasAt, double at,
                    sqlite3_int64 bytes) {
  SyncKey *k = keyGet(s, zKey, nKey);
  if (k == 0) return SQLITE_NOMEM;
  k->listed = 1;
  k->hasListAt = hasAt;
  k->listAt = at;
  k->listBytes = bytes;
  noteTime(s, hasAt, at);
  return SQLITE_OK;
}

static int listNamespace(Sync *s) {
  MemRequest *r = 0;
  char *zWhy = 0;
  int rc = listRequest(s, &r);
  if (rc == SQLITE_OK) rc = listRead(s, r, onListed, &s->nListed, &zWhy);
  if (rc == SQLITE_ERROR && zWhy) syncFail(s, rc, "list", 0, zWhy);
  sqlite3_free(zWhy);
  memRequestFree(r);
  s->full = s->nListed >= LIST_MAX;
  return rc;
}

/* The local entries of the namespace (read through the table, as any
** reader would), their sync state, and the namespace's watermark. */
static int loadLocalRead(Sync *s, sqlite3_stmt *p) {
  int rc = SQLITE_OK;
  sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && sqlite3_step(p) == SQLITE_ROW) {
    SyncKey *k = keyGet(s, (const char *)sqlite3_column_text(p, 0),
                        sqlite3_column_bytes(p, 0));
    if (k == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    k->hasRow = 1;
    k->nLocal = sqlite3_column_bytes(p, 1);
    k->zLocal = sqlite3_mprintf("%.*s", k->nLocal, sqlite3_column_text(p, 1));
    k->localAt = sqlite3_column_double(p, 2);
    if (k->zLocal == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = sqlite3_reset(p); else sqlite3_reset(p);
  p = 0;
  if (rc == SQLITE_OK) {
    rc = prepare(s, &p, "SELECT key, base_at, base_hash, dirty, ver, changed_at "
                 "FROM \"%w\".\"%w_sync\" WHERE namespace = ?1",
                 s->zLSchema, s->zLName);
  }
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && sqlite3_step(p) == SQLITE_ROW) {
    SyncKey *k = keyGet(s, (const char *)sqlite3_column_text(p, 0),
                        sqlite3_column_bytes(p, 0));
    if (k == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    k->hasState = 1;
    k->hasBaseAt = sqlite3_column_type(p, 1) != SQLITE_NULL;
    k->baseAt = sqlite3_column_double(p, 1);
    k->hasBase = sqlite3_column_bytes(p, 2) == 32;
    if (k->hasBase) memcpy(k->aBase, sqlite3_column_blob(p, 2), 32);
    k->dirty = sqlite3_column_int(p, 3);
    k->ver = sqlite3_column_int64(p, 4);
    k->hasChangedAt = sqlite3_column_type(p, 5) != SQLITE_NULL;
    k->changedAt = sqlite3_column_double(p, 5);
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(p); else sqlite3_finalize(p);
  p = 0;
  if (rc == SQLITE_OK) {
    rc = prepare(s, &p, "SELECT watermark FROM \"%w\".\"%w_syncns\" WHERE "
                 "namespace = ?1", s->zLSchema, s->zLName);
  }
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
  if (sqlite3_step(p) == SQLITE_ROW && sqlite3_column_type(p, 0) != SQLITE_NULL) {
    s->hasWatermark = 1;
    s->watermark = sqlite3_column_double(p, 0);
  }
  return sqlite3_finalize(p);
}

/* One read transaction for all of it: read in several, another
** connection's write between the entries and the state would be seen in
** the state (a new version) but not in the value, and the value read, so
** taken for unchanged, would be overwritten by the server's. */
static int loadLocal(Sync *s) {
  sqlite3_stmt *p = 0;
  /* Prepared first, outside the transaction: preparing connects the
  ** table, which upgrades a table of an older format only then. */
  int rc = prepare(s, &p, "SELECT key, value, updated_at FROM \"%w\".\"%w\" "
                   "WHERE namespace = ?1", s->zLSchema, s->zLName);
  if (rc == SQLITE_OK) rc = memExecPrintf(s->db, "BEGIN");
  if (rc == SQLITE_OK) {
    rc = loadLocalRead(s, p);
    if (rc == SQLITE_OK) rc = memExecPrintf(s->db, "COMMIT");
    if (rc != SQLITE_OK) memExecPrintf(s->db, "ROLLBACK");
  }
  sqlite3_finalize(p);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Step 2: what the listing leaves open is fetched.                        */

/* Which keys need a GET; the others' remote side is settled here. A key
** listed at its base's time is unchanged. A known key missing from a
** complete listing is gone; from a full one (1000 keys: there may be
** more), a GET settles it if it is newer than the window's oldest (it
** would be listed if it still existed), else it is beyond the window,
** where a remote delete cannot be seen (counted in nUnchecked). */
static void planGets(Sync *s) {
  int i;
  for (i = 0; i < s->nKey; i++) {
    SyncKey *k = &s->aKey[i];
    if (k->listed) {
      if (k->hasBaseAt && k->hasListAt && k->baseAt == k->listAt) {
        k->remote = R_UNCHANGED;
      } else {
        k->needGet = 1;
      }
    } else if (!s->full) {
      k->remote = R_GONE;
    } else if (k->hasBase && k->hasBaseAt && s->hasOldest && k->baseAt < s->oldest) {
      k->remote = R_UNCHANGED;
      s->nUnchecked++;
    } else if (k->hasBase || k->hasRow) {
      k->needGet = 1;
    } else {
      k->remote = R_GONE; /* a stale state row of nothing */
    }
  }
}

/* Run requests for keys ap[0..n), concurrency at a time (the remote
** table's setting), calling xDone on each answer in order. */
typedef MemRequest *(*MakeFn)(Sync *, SyncKey *);
typedef void (*DoneFn)(Sync *, SyncKey *, MemRequest *);
static int runRequests(Sync *s, SyncKey **ap, int n, MakeFn xMake, DoneFn xDone) {
  RemoteState *rs = STATE(s->pRemote);
  int window = s->pRemote->settings.concurrency * 2;
  MemRequest **apReq;
  int iNext = 0, iDone = 0, i, rc = SQLITE_OK;
  if (window < 1) window = 1;
  apReq = sqlite3_malloc64(sizeof(MemRequest *) * (window + 1));
  if (apReq == 0) return SQLITE_NOMEM;
  memset(apReq, 0, sizeof(MemRequest *) * (window + 1));
  while (iDone < n) {
    while (rc == SQLITE_OK && iNext < n && iNext - iDone < window) {
      MemRequest *r = xMake(s, ap[iNext]);
      if (r == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      memHttpSubmit(rs->http, r);
      apReq[iNext % window] = r;
      iNext++;
    }
    if (iDone >= iNext) break;
    {
      MemRequest *r = apReq[iDone % window];
      if (memHttpWait(rs->http, r) == SQLITE_INTERRUPT) {
        rc = SQLITE_INTERRUPT; /* launch no more; settle those in flight */
      }
      xDone(s, ap[iDone], r);
      memRequestFree(r);
      apReq[iDone % window] = 0;
      iDone++;
    }
  }
  for (i = iDone; i < iNext; i++) memRequestFree(apReq[i % window]);
  sqlite3_free(apReq);
  if (rc == SQLITE_INTERRUPT) syncFail(s, rc, "wait", 0, "interrupted");
  return rc == SQLITE_INTERRUPT ? SQLITE_OK : rc;
}

static MemRequest *makeGet(Sync *s, SyncKey *k) {
  return memRequestNew("GET", memRemoteEntryUrl(s->pRemote, s->zNs, k->zKey), 0);
}

static void doneGet(Sync *s, SyncKey *k, MemRequest *r) {
  char *zWhy = 0;
  if (memRemoteNotFound(r)) {
    k->remote = R_GONE;
    return;
  }
  if (r->zError || r->status != 200) {
    zWhy = memAnswerExcerpt(r);
  } else {
    RemoteRow row;
    int rc;
    memset(&row, 0, sizeof(row));
    row.zNs = (char *)s->zNs;
    row.zKey = k->zKey;
    rc = memRemoteParseEntry(s->pRemote, r, &row, &zWhy);
    if (rc == SQLITE_OK && zWhy == 0) {
      k->remote = R_VALUE;
      k->zRemote = row.zValue;
      k->nRemote = row.nValue;
      /* The GET's time is the freshest; the listing's if it has none. */
      k->hasRemoteAt = row.hasUpdatedAt || k->hasListAt;
      k->remoteAt = row.hasUpdatedAt ? row.updatedAt : k->listAt;
      return;
    }
    sqlite3_free(row.zValue);
    if (rc != SQLITE_OK && zWhy == 0) zWhy = sqlite3_mprintf("%s", sqlite3_errstr(rc));
  }
  syncFail(s, SQLITE_ERROR, "get", k->zKey, zWhy);
  sqlite3_free(zWhy);
}

static int fetchChanged(Sync *s) {
  SyncKey **ap = sqlite3_malloc64(sizeof(SyncKey *) * (s->nKey + 1));
  int i, n = 0, rc;
  if (ap == 0) return SQLITE_NOMEM;
  for (i = 0; i < s->nKey; i++) {
    if (s->aKey[i].needGet) ap[n++] = &s->aKey[i];
  }
  rc = runRequests(s, ap, n, makeGet, doneGet);
  sqlite3_free(ap);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Deciding.                                                               */

/* merge of two JSON arrays: their common prefix, then the remote's items
** after it, then the local's. NULL (in *pz) unless both are arrays. */
static int mergeArrays(Sync *s, SyncKey *k, char **pz, int *pn) {
  sqlite3_stmt *p = 0;
#define ITEM(x) "CASE " x ".type WHEN 'true' THEN 'true' WHEN 'false' THEN " \
                "'false' ELSE json_quote(" x ".value) END"
  int rc = prepare(s, &p,
      "SELECT CASE WHEN json_valid(?1) AND json_valid(?2) AND json_type(?1) = "
      "'array' AND json_type(?2) = 'array' THEN (WITH n(n) AS (SELECT "
      "coalesce((SELECT min(l.key) FROM json_each(?1) AS l LEFT JOIN "
      "json_each(?2) AS r ON r.key = l.key WHERE r.key IS NULL OR "
      ITEM("l") " IS NOT " ITEM("r") "), json_array_length(?1))) "
      "SELECT json_group_array(json(v)) FROM ("
      "SELECT 0 AS part, l.key AS i, " ITEM("l") " AS v FROM json_each(?1) AS l, n WHERE l.key < n.n "
      "UNION ALL SELECT 1, r.key, " ITEM("r") " FROM json_each(?2) AS r, n WHERE r.key >= n.n "
      "UNION ALL SELECT 2, l.key, " ITEM("l") " FROM json_each(?1) AS l, n WHERE l.key >= n.n "
      "ORDER BY 1, 2)) END");
#undef ITEM
  *pz = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(p, 1, k->zLocal, k->nLocal, SQLITE_STATIC);
  sqlite3_bind_text(p, 2, k->zRemote, k->nRemote, SQLITE_STATIC);
  if (sqlite3_step(p) == SQLITE_ROW && sqlite3_column_type(p, 0) != SQLITE_NULL) {
    *pn = sqlite3_column_bytes(p, 0);
    *pz = sqlite3_mprintf("%.*s", *pn, sqlite3_column_text(p, 0));
    if (*pz == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(p); else sqlite3_finalize(p);
  return rc;
}

static void keepLocalLost(SyncKey *k, const char *zReason) {
  k->zSide = "local";
  k->zLost = k->hasRow ? k->zLocal : 0;
  k->nLost = k->nLocal;
  k->hasLostAt = k->hasRow ? 1 : k->hasChangedAt;
  k->lostAt = k->hasRow ? k->localAt : k->changedAt;
  k->zReason = zReason;
}

static void keepRemoteLost(SyncKey *k, const char *zReason) {
  k->zSide = "remote";
  k->zLost = k->remote == R_VALUE ? k->zRemote : 0;
  k->nLost = k->nRemote;
  k->hasLostAt = k->remote == R_VALUE && k->hasRemoteAt;
  k->lostAt = k->remoteAt;
  k->zReason = zReason;
}

/* Local and remote both changed since the base, to different values. */
static int decideConflict(Sync *s, SyncKey *k) {
  k->conflict = 1;
  if (!k->hasRow) {
    /* A local delete against a remote update: the update is kept. */
    k->action = A_PULL;
    keepLocalLost(k, "deleted locally, changed on the server: the server's "
                     "value was kept");
    return SQLITE_OK;
  }
  if (k->remote == R_GONE) {
    /* A remote delete against a local update: the update is kept. */
    k->action = A_PUSH;
    keepRemoteLost(k, "deleted on the server, changed locally: the local "
                      "value was kept and sent");
    return SQLITE_OK;
  }
  if (s->policy == POLICY_LOCAL_WINS) {
    k->action = A_PUSH;
    keepRemoteLost(k, "changed on both sides: local-wins kept the local value");
    return SQLITE_OK;
  }
  if (s->policy == POLICY_MERGE) {
    int rc = mergeArrays(s, k, &k->zPush, &k->nPush);
    if (rc != SQLITE_OK) return rc;
    if (k->zPush) {
      k->action = A_MERGE;
      return SQLITE_OK;
    }
    k->action = A_PULL;
    keepLocalLost(k, "changed on both sides: merge needs two JSON arrays, so "
                     "the server's value was kept");
    return SQLITE_OK;
  }
  k->action = A_PULL;
  keepLocalLost(k, "changed on both sides: server-wins kept the server's value");
  return SQLITE_OK;
}

/* The action for each key whose remote side is known. */
static int decide(Sync *s) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < s->nKey && rc == SQLITE_OK; i++) {
    SyncKey *k = &s->aKey[i];
    /* Changed locally: a new entry, a tombstone, or a dirty entry whose
    ** value is not the base (a write of the same value is no change). */
    int localChanged = k->hasRow ? (!k->hasBase || (k->dirty &&
                                    !sameAsBase(k, k->zLocal, k->nLocal)))
                                 : k->hasBase;
    int remoteChanged = k->remote == R_GONE ? k->hasBase
                        : k->remote == R_VALUE
                            ? !sameAsBase(k, k->zRemote, k->nRemote)
                            : 0;
    k->action = A_NONE;
    if (k->remote == R_UNKNOWN) continue;
    if (!localChanged && !remoteChanged) {
      if (k->remote == R_VALUE) {
        k->action = A_ADOPT; /* a base time learnt, or a dirty flag cleared */
      } else if (k->remote == R_GONE) {
        k->action = k->hasState ? A_FORGET : A_NONE;
      } else if (k->dirty) {
        k->action = A_ADOPT; /* written with the same value */
      }
      if (k->hasRow || k->remote == R_VALUE) s->nUnchanged++;
    } else if (!localChanged) {
      k->action = k->remote == R_GONE ? (k->hasRow ? A_DELETE_LOCAL : A_FORGET)
                                      : A_PULL;
    } else if (!remoteChanged) {
      k->action = k->hasRow ? A_PUSH : A_PUSH_DELETE;
      if (!k->hasRow && k->remote == R_GONE) k->action = A_FORGET;
    } else if (k->hasRow && k->remote == R_VALUE && k->nLocal == k->nRemote &&
               memcmp(k->zLocal, k->zRemote, k->nLocal) == 0) {
      k->action = A_ADOPT; /* the same change on both sides */
      s->nUnchanged++;
    } else if (!k->hasRow && k->remote == R_GONE) {
      k->action = A_FORGET;
    } else {
      rc = decideConflict(s, k);
    }
    if (k->action == A_PUSH && k->zPush == 0) {
      k->zPush = k->zLocal;
      k->nPush = k->nLocal;
    }
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Step 3: the server's changes, applied locally.                          */

typedef struct Apply {
  sqlite3_stmt *pWrite, *pDelete, *pVer, *pBase, *pForget, *pConflict;
} Apply;

static void applyFinalize(Apply *a) {
  sqlite3_finalize(a->pWrite);
  sqlite3_finalize(a->pDelete);
  sqlite3_finalize(a->pVer);
  sqlite3_finalize(a->pBase);
  sqlite3_finalize(a->pForget);
  sqlite3_finalize(a->pConflict);
}

static int applyPrepare(Sync *s, Apply *a) {
  const char *S = s->zLSchema, *T = s->zLName;
  int rc = prepare(s, &a->pWrite, "INSERT OR REPLACE INTO \"%w\".\"%w\"(namespace, "
                   "key, value, updated_at) VALUES (?1, ?2, ?3, ?4)", S, T);
  if (rc == SQLITE_OK) {
    rc = prepare(s, &a->pDelete, "DELETE FROM \"%w\".\"%w\" WHERE namespace = ?1 "
                 "AND key = ?2", S, T);
  }
  if (rc == SQLITE_OK) {
    rc = prepare(s, &a->pVer, "SELECT ver FROM \"%w\".\"%w_sync\" WHERE "
                 "namespace = ?1 AND key = ?2", S, T);
  }
  if (rc == SQLITE_OK) {
    /* ?5: the version the sync read; NULL: the sync's own write */
    rc = prepare(s, &a->pBase,
                 "INSERT INTO \"%w\".\"%w_sync\"(namespace, key, base_at, "
                 "base_hash, dirty, ver) VALUES (?1, ?2, ?3, ?4, 0, 0) "
                 "ON CONFLICT(namespace, key) DO UPDATE SET base_at = "
                 "excluded.base_at, base_hash = excluded.base_hash, dirty = "
                 "CASE WHEN ?5 IS NULL OR ver = ?5 THEN 0 ELSE 1 END", S, T);
  }
  if (rc == SQLITE_OK) {
    rc = prepare(s, &a->pForget, "DELETE FROM \"%w\".\"%w_sync\" WHERE "
                 "namespace = ?1 AND key = ?2", S, T);
  }
  if (rc == SQLITE_OK) {
    /* The same value lost twice (a sync that failed after recording it,
    ** run again) is recorded once. */
    rc = prepare(s, &a->pConflict,
                 "INSERT INTO \"%w\".\"%w_conflicts\"(namespace, key, value, at, "
                 "side, reason) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS "
                 "(SELECT 1 FROM \"%w\".\"%w_conflicts\" WHERE namespace = ?1 AND "
                 "key = ?2 AND value IS ?3 AND side = ?5)", S, T, S, T);
  }
  return rc;
}

/* The state's version of the key now (0: no state row). */
static int currentVer(Sync *s, Apply *a, SyncKey *k, sqlite3_int64 *pVer) {
  sqlite3_bind_text(a->pVer, 1, s->zNs, -1, SQLITE_STATIC);
  sqlite3_bind_text(a->pVer, 2, k->zKey, -1, SQLITE_STATIC);
  *pVer = sqlite3_step(a->pVer) == SQLITE_ROW ? sqlite3_column_int64(a->pVer, 0) : 0;
  return sqlite3_reset(a->pVer);
}

static int setBase(Sync *s, Apply *a, SyncKey *k, int hasAt, double at,
                   const char *zVal, int nVal, int ownWrite) {
  unsigned char aHash[32];
  sha256(zVal, nVal, aHash);
  sqlite3_bind_text(a->pBase, 1, s->zNs, -1, SQLITE_STATIC);
  sqlite3_bind_text(a->pBase, 2, k->zKey, -1, SQLITE_STATIC);
  bindDoubleOrNull(a->pBase, 3, hasAt, at);
  sqlite3_bind_blob(a->pBase, 4, aHash, 32, SQLITE_TRANSIENT);
  if (ownWrite) sqlite3_bind_null(a->pBase, 5); else sqlite3_bind_int64(a->pBase, 5, k->ver);
  return stepDone(a->pBase);
}

static int applyKey(Sync *s, Apply *a, SyncKey *k) {
  sqlite3_int64 ver = 0;
  int rc = currentVer(s, a, k, &ver);
  if (rc != SQLITE_OK) return rc;
  if (ver != k->ver) {
    /* Written locally since the sync read it: the next sync sees that. */
    k->action = A_NONE;
    return SQLITE_OK;
  }
  if (k->zSide) {
    sqlite3_stmt *p = a->pConflict;
    sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, k->zKey, -1, SQLITE_STATIC);
    if (k->zLost) sqlite3_bind_text(p, 3, k->zLost, k->nLost, SQLITE_STATIC);
    bindDoubleOrNull(p, 4, k->hasLostAt, k->lostAt);
    sqlite3_bind_text(p, 5, k->zSide, -1, SQLITE_STATIC);
    sqlite3_bind_text(p, 6, k->zReason, -1, SQLITE_STATIC);
    rc = stepDone(p);
    sqlite3_clear_bindings(p);
    if (rc != SQLITE_OK) return rc;
  }
  switch (k->action) {
    case A_PULL:
    case A_MERGE: {
      /* Through the table: quotas, the search index, the triggers. The
      ** server's value keeps the server's time; a merge is a new local
      ** version (the table's clock), sent next. */
      int isMerge = k->action == A_MERGE;
      sqlite3_bind_text(a->pWrite, 1, s->zNs, -1, SQLITE_STATIC);
      sqlite3_bind_text(a->pWrite, 2, k->zKey, -1, SQLITE_STATIC);
      sqlite3_bind_text(a->pWrite, 3, isMerge ? k->zPush : k->zRemote,
                        isMerge ? k->nPush : k->nRemote, SQLITE_STATIC);
      bindDoubleOrNull(a->pWrite, 4, !isMerge && k->hasRemoteAt, k->remoteAt);
      rc = stepDone(a->pWrite);
      if (rc == SQLITE_OK && !isMerge) {
        rc = setBase(s, a, k, k->hasRemoteAt, k->remoteAt, k->zRemote, k->nRemote, 1);
      } else if (rc == SQLITE_OK) {
        /* The base stays the server's value; the merge is the local change. */
        if (k->remote == R_VALUE) {
          rc = setBase(s, a, k, k->hasRemoteAt, k->remoteAt, k->zRemote,
                       k->nRemote, 1);
          if (rc == SQLITE_OK) {
            rc = memExecPrintf(s->db, "UPDATE \"%w\".\"%w_sync\" SET "
                               "dirty = 1 WHERE namespace = %Q AND key = %Q",
                               s->zLSchema, s->zLName, s->zNs, k->zKey);
          }
        }
        if (rc == SQLITE_OK) rc = currentVer(s, a, k, &k->ver);
      }
      break;
    }
    case A_ADOPT:
      /* The server's value (or, unchanged there, the local one: the same
      ** as the base) and its time become the base. */
      if (k->remote == R_VALUE) {
        rc = setBase(s, a, k, k->hasRemoteAt, k->remoteAt, k->zRemote, k->nRemote, 0);
      } else {
        rc = setBase(s, a, k, k->hasBaseAt, k->baseAt, k->zLocal, k->nLocal, 0);
      }
      break;
    case A_DELETE_LOCAL:
      sqlite3_bind_text(a->pDelete, 1, s->zNs, -1, SQLITE_STATIC);
      sqlite3_bind_text(a->pDelete, 2, k->zKey, -1, SQLITE_STATIC);
      rc = stepDone(a->pDelete);
      /* The tombstone the trigger left goes too. */
      /* fall through */
    case A_FORGET:
      if (rc == SQLITE_OK) {
        sqlite3_bind_text(a->pForget, 1, s->zNs, -1, SQLITE_STATIC);
        sqlite3_bind_text(a->pForget, 2, k->zKey, -1, SQLITE_STATIC);
        rc = stepDone(a->pForget);
      }
      break;
    default:
      break;
  }
  return rc;
}

/* Apply, one savepoint per key: a key that cannot be written (a quota,
** say) is reported and skipped, the others go on. */
static int applyLocal(Sync *s) {
  Apply a;
  int i, rc, any = 0;
  for (i = 0; i < s->nKey && !any; i++) {
    int act = s->aKey[i].action;
    any = (act != A_NONE && act != A_PUSH && act != A_PUSH_DELETE) ||
          s->aKey[i].zSide != 0;
  }
  if (!any) return SQLITE_OK;
  memset(&a, 0, sizeof(a));
  rc = applyPrepare(s, &a);
  if (rc == SQLITE_OK) rc = txBegin(s);
  else {
    applyFinalize(&a);
    return rc;
  }
  for (i = 0; i < s->nKey && rc == SQLITE_OK; i++) {
    SyncKey *k = &s->aKey[i];
    int rcKey, act = k->action;
    if (act == A_NONE || ((act == A_PUSH || act == A_PUSH_DELETE) && !k->zSide)) continue;
    rc = memExecPrintf(s->db, "SAVEPOINT memory_sync_key");
    if (rc != SQLITE_OK) break;
    rcKey = applyKey(s, &a, k);
    if (rcKey == SQLITE_OK) {
      rc = memExecPrintf(s->db, "RELEASE memory_sync_key");
      if (act == A_PULL) s->nPulled++;
      if (act == A_DELETE_LOCAL) s->nDeletedLocal++;
      if (act == A_MERGE) s->nMerged++;
      if (k->conflict && k->action != A_NONE) s->nConflicts++;
    } else {
      syncFail(s, rcKey, "apply", k->zKey, sqlite3_errmsg(s->db));
      k->action = A_NONE;
      rc = memExecPrintf(s->db, "ROLLBACK TO memory_sync_key; RELEASE memory_sync_key");
    }
  }
  applyFinalize(&a);
  rc = txEnd(s, rc);
  if (rc != SQLITE_OK) {
    syncFail(s, rc, "apply", 0, sqlite3_errmsg(s->db));
    for (i = 0; i < s->nKey; i++) s->aKey[i].action = A_NONE;
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Step 4: the local changes, sent.                                        */

static MemRequest *makePush(Sync *s, SyncKey *k) {
  char *zUrl = memRemoteEntryUrl(s->pRemote, s->zNs, k->zKey);
  char *zBody = 0;
  if (k->action != A_PUSH_DELETE) {
    sqlite3_value *v = 0;
    sqlite3_stmt *p = 0;
    /* memRemotePutBody takes a value: one from a trivial statement. */
    if (prepare(s, &p, "SELECT ?1") == SQLITE_OK) {
      sqlite3_bind_text(p, 1, k->zPush, k->nPush, SQLITE_STATIC);
      if (sqlite3_step(p) == SQLITE_ROW) v = sqlite3_column_value(p, 0);
      if (v) zBody = memRemotePutBody(s->pRemote, v);
    }
    sqlite3_finalize(p);
    if (zBody == 0) {
      sqlite3_free(zUrl);
      return 0;
    }
  }
  return memRequestNew(k->action == A_PUSH_DELETE ? "DELETE" : "PUT", zUrl, zBody);
}

/* Is a 200 to a PUT or DELETE the API's answer for this entry? Any other
** 200 (a proxy's page, a lie) is no sign that the write was done: taken
** for one, the key would be marked in sync while the server kept its old
** value (and the listing after the push, showing that value's time, would
** make it the base). 1 yes, 0 no, or an error code (negated). */
static int writeAnswerOk(Sync *s, SyncKey *k, MemRequest *r, int isDelete) {
  sqlite3_stmt *q;
  int ok;
  if (s->pCheckWrite == 0) {
    int rc = prepare(s, &s->pCheckWrite,
        "SELECT json_valid(?1) AND json_type(?1) = 'object' AND "
        "json_extract(?1, '$.namespace') IS ?2 AND json_extract(?1, '$.key') IS ?3 "
        "AND json_type(?1, CASE WHEN ?4 THEN '$.deleted' ELSE '$.stored' END) "
        "= 'true'");
    if (rc != SQLITE_OK) return -rc;
  }
  q = s->pCheckWrite;
  sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, s->zNs, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, k->zKey, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 4, isDelete);
  ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0);
  sqlite3_reset(q);
  return ok;
}

static void donePush(Sync *s, SyncKey *k, MemRequest *r) {
  int isDelete = k->action == A_PUSH_DELETE;
  char *zWhy, *zAnswer;
  if (r->zError == 0 && isDelete && memRemoteNotFound(r)) {
    k->pushed = 1;
    return;
  }
  if (r->zError == 0 && r->status == 200) {
    int ok = writeAnswerOk(s, k, r, isDelete);
    if (ok == 1) {
      k->pushed = 1;
      return;
    }
    zAnswer = memAnswerExcerpt(r);
    zWhy = ok < 0 ? 0 : zAnswer ? sqlite3_mprintf(
        "the answer is not the API's answer for this entry: %s", zAnswer) : 0;
    sqlite3_free(zAnswer);
    syncFail(s, ok < 0 ? -ok : SQLITE_ERROR, isDelete ? "delete" : "put",
             k->zKey, ok < 0 ? sqlite3_errmsg(s->db) : zWhy);
  } else {
    zWhy = memAnswerExcerpt(r);
    syncFail(s, SQLITE_ERROR, isDelete ? "delete" : "put", k->zKey, zWhy);
  }
  sqlite3_free(zWhy);
}

/* What reached the server, recorded: a PUT's value becomes the base (its
** time comes with the next listing), a DELETE drops the tombstone. The
** key stays dirty if it was written locally meanwhile (ver moved). */
static int recordPushes(Sync *s, int *pnPut) {
  sqlite3_stmt *pPut = 0, *pDel = 0, *pUnbase = 0;
  int i, rc = SQLITE_OK, any = 0;
  *pnPut = 0;
  for (i = 0; i < s->nKey; i++) any |= s->aKey[i].pushed;
  if (!any) return SQLITE_OK;
  rc = prepare(s, &pPut,
               "INSERT INTO \"%w\".\"%w_sync\"(namespace, key, base_at, "
               "base_hash, dirty, ver) VALUES (?1, ?2, NULL, ?3, 0, 0) "
               "ON CONFLICT(namespace, key) DO UPDATE SET base_at = NULL, "
               "base_hash = excluded.base_hash, dirty = CASE WHEN ver = ?4 THEN "
               "0 ELSE 1 END", s->zLSchema, s->zLName);
  if (rc == SQLITE_OK) {
    rc = prepare(s, &pDel, "DELETE FROM \"%w\".\"%w_sync\" WHERE "
                 "namespace = ?1 AND key = ?2 AND ver = ?3", s->zLSchema, s->zLName);
  }
  if (rc == SQLITE_OK) {
    /* Written again locally meanwhile: the server no longer has a base. */
    rc = prepare(s, &pUnbase, "UPDATE \"%w\".\"%w_sync\" SET base_at = "
                 "NULL, base_hash = NULL WHERE namespace = ?1 AND key = ?2",
                 s->zLSchema, s->zLName);
  }
  if (rc == SQLITE_OK) rc = txBegin(s);
  else goto done;
  for (i = 0; i < s->nKey && rc == SQLITE_OK; i++) {
    SyncKey *k = &s->aKey[i];
    if (!k->pushed) continue;
    if (k->action == A_PUSH_DELETE) {
      sqlite3_bind_text(pDel, 1, s->zNs, -1, SQLITE_STATIC);
      sqlite3_bind_text(pDel, 2, k->zKey, -1, SQLITE_STATIC);
      sqlite3_bind_int64(pDel, 3, k->ver);
      rc = stepDone(pDel);
      if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0) {
        sqlite3_bind_text(pUnbase, 1, s->zNs, -1, SQLITE_STATIC);
        sqlite3_bind_text(pUnbase, 2, k->zKey, -1, SQLITE_STATIC);
        rc = stepDone(pUnbase);
      }
      s->nDeletedRemote++;
    } else {
      unsigned char aHash[32];
      sha256(k->zPush, k->nPush, aHash);
      sqlite3_bind_text(pPut, 1, s->zNs, -1, SQLITE_STATIC);
      sqlite3_bind_text(pPut, 2, k->zKey, -1, SQLITE_STATIC);
      sqlite3_bind_blob(pPut, 3, aHash, 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(pPut, 4, k->ver);
      rc = stepDone(pPut);
      s->nPushed++;
      (*pnPut)++;
    }
  }
  rc = txEnd(s, rc);
  if (rc != SQLITE_OK) syncFail(s, rc, "record", 0, sqlite3_errmsg(s->db));
done:
  sqlite3_finalize(pPut);
  sqlite3_finalize(pDel);
  sqlite3_finalize(pUnbase);
  return rc;
}

static int push(Sync *s, int *pnPut) {
  SyncKey **ap = sqlite3_malloc64(sizeof(SyncKey *) * (s->nKey + 1));
  int i, n = 0, rc;
  *pnPut = 0;
  if (ap == 0) return SQLITE_NOMEM;
  for (i = 0; i < s->nKey; i++) {
    int act = s->aKey[i].action;
    if (act == A_PUSH || act == A_PUSH_DELETE || act == A_MERGE) ap[n++] = &s->aKey[i];
  }
  rc = runRequests(s, ap, n, makePush, donePush);
  sqlite3_free(ap);
  if (rc == SQLITE_OK) rc = recordPushes(s, pnPut);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Step 5: the server's times of what was sent.                            */

static int onRelisted(Sync *s, const char *zKey, int nKey, int hasAt,
                      double at, sqlite3_int64 bytes) {
  SyncKey *k = keyGet(s, zKey, nKey);
  if (k == 0) return SQLITE_NOMEM;
  if (hasAt && (!s->hasNewest || at > s->newest)) { /* the window stays */
    s->newest = at;                                   /* the first's */
    s->hasNewest = 1;
  }
  if (!k->pushed || k->action == A_PUSH_DELETE || !hasAt) return SQLITE_OK;
  /* The listing gives a value's length in characters: a different one
  ** is another client's write after ours, whose value we do not have. */
  {
    sqlite3_int64 nChars = 0;
    int i;
    for (i = 0; i < k->nPush; i++) nChars += (k->zPush[i] & 0xc0) != 0x80;
    if (bytes >= 0 && bytes != nChars) return SQLITE_OK;
  }
  sha256(k->zPush, k->nPush, k->aBase);
  k->baseAt = at;
  k->listed = 2; /* its base's time is learnt */
  return SQLITE_OK;
}

static int relist(Sync *s) {
  MemRequest *r = 0;
  sqlite3_stmt *p = 0;
  char *zWhy = 0;
  int n = 0, i, rc;
  rc = listRequest(s, &r);
  if (rc == SQLITE_OK) rc = listRead(s, r, onRelisted, &n, &zWhy);
  memRequestFree(r);
  if (rc == SQLITE_ERROR && zWhy) {
    syncFail(s, rc, "list after push", 0, zWhy);
    sqlite3_free(zWhy);
    return SQLITE_OK; /* the bases' times are learnt by the next sync */
  }
  if (rc != SQLITE_OK) return rc;
  rc = prepare(s, &p, "UPDATE \"%w\".\"%w_sync\" SET base_at = ?3 WHERE "
               "namespace = ?1 AND key = ?2 AND base_at IS NULL AND base_hash = ?4",
               s->zLSchema, s->zLName);
  if (rc == SQLITE_OK) rc = txBegin(s);
  else return rc;
  for (i = 0; i < s->nKey && rc == SQLITE_OK; i++) {
    SyncKey *k = &s->aKey[i];
    if (k->listed != 2) continue;
    sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
    sqlite3_bind_text(p, 2, k->zKey, -1, SQLITE_STATIC);
    sqlite3_bind_double(p, 3, k->baseAt);
    sqlite3_bind_blob(p, 4, k->aBase, 32, SQLITE_STATIC);
    rc = stepDone(p);
  }
  sqlite3_finalize(p);
  rc = txEnd(s, rc);
  if (rc != SQLITE_OK) syncFail(s, rc, "record", 0, sqlite3_errmsg(s->db));
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* The end: the namespace's state, the summary.                            */

static int finish(Sync *s) {
  sqlite3_stmt *p = 0;
  int rc = prepare(s, &p,
                   "INSERT INTO \"%w\".\"%w_syncns\"(namespace, watermark, "
                   "synced_at, last_error) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(namespace) DO UPDATE SET watermark = "
                   "coalesce(excluded.watermark, watermark), synced_at = "
                   "coalesce(excluded.synced_at, synced_at), last_error = "
                   "excluded.last_error", s->zLSchema, s->zLName);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(p, 1, s->zNs, -1, SQLITE_STATIC);
  /* The watermark moves only when the whole sync got through. */
  bindDoubleOrNull(p, 2, s->zErr == 0 && s->hasNewest, s->newest);
  if (s->zErr == 0) sqlite3_bind_double(p, 3, memNow());
  if (s->zErr) sqlite3_bind_text(p, 4, s->zErr, -1, SQLITE_STATIC);
  rc = txBegin(s);
  if (rc == SQLITE_OK) rc = stepDone(p);
  sqlite3_finalize(p);
  return txEnd(s, rc);
}

static char *summary(Sync *s) {
  sqlite3_str *p = sqlite3_str_new(0);
  sqlite3_str_appendf(
      p,
      "{\"namespace\":\"%s\",\"policy\":\"%s\",\"pulled\":%d,\"pushed\":%d,"
      "\"deleted_local\":%d,\"deleted_remote\":%d,\"conflicts\":%d,"
      "\"merged\":%d,\"unchanged\":%d,\"requests\":%d,\"window_full\":%s",
      s->zNs, azPolicy[s->policy], s->nPulled, s->nPushed, s->nDeletedLocal,
      s->nDeletedRemote, s->nConflicts, s->nMerged, s->nUnchanged,
      memHttpRequestsSent(STATE(s->pRemote)->http) - s->nReq0,
      s->full ? "true" : "false");
  if (s->full) {
    /* What a listing of the newest 1000 cannot tell. */
    int missed = !s->hasWatermark || (s->hasOldest && s->oldest > s->watermark);
    sqlite3_str_appendf(
        p,
        ",\"window_oldest\":%!.17g,\"unchecked_known_keys\":%d,"
        "\"changes_may_be_missed\":%s,\"undiscoverable\":\"keys the server "
        "updated before %!.17g (older than its newest %d) that this side "
        "has never seen; remote deletes of the %d known keys that old%s\"",
        s->oldest, s->nUnchecked, missed ? "true" : "false", s->oldest,
        LIST_MAX, s->nUnchecked,
        missed ? "; and, as more than 1000 keys changed on the server since "
                 "the last sync (or this is the first), changes to keys "
                 "pushed out of the window"
               : "");
  }
  sqlite3_str_appendall(p, "}");
  return sqlite3_str_finish(p);
}

/* ---------------------------------------------------------------------- */

static void syncFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Sync s;
  char *zErr = 0;
  int rc = SQLITE_OK, exists = 0, nPut = 0;
  memset(&s, 0, sizeof(s));
  s.db = sqlite3_context_db_handle(ctx);
  /* A sync sends writes that a ROLLBACK cannot take back, while the
  ** ROLLBACK would take back its record of them and of the conflicts:
  ** the next sync would then lose the server's side of a conflict, or
  ** merge twice (found by review). */
  if (!sqlite3_get_autocommit(s.db)) {
    zErr = sqlite3_mprintf(
        "memory: memory_sync cannot run inside BEGIN ... COMMIT: what it "
        "sends to the server a ROLLBACK could not take back; COMMIT or "
        "ROLLBACK first, then call it on its own");
    goto error;
  }
  if (argc == 4 && sqlite3_value_type(argv[3]) != SQLITE_NULL) {
    const char *z = (const char *)sqlite3_value_text(argv[3]);
    s.policy = -1;
    for (rc = 0; z && rc < 3; rc++) {
      if (strcmp(z, azPolicy[rc]) == 0) s.policy = rc;
    }
    rc = SQLITE_OK;
    if (s.policy < 0) {
      zErr = sqlite3_mprintf("memory: memory_sync: unknown policy '%s'; use "
                             "'server-wins' (the default), 'local-wins' or 'merge'",
                             z ? z : "");
      goto error;
    }
  }
  s.zNs = (const char *)sqlite3_value_text(argv[2]);
  if (sqlite3_value_type(argv[2]) != SQLITE_TEXT ||
      !memNamespaceValid(s.zNs, sqlite3_value_bytes(argv[2]))) {
    zErr = sqlite3_mprintf(
        "memory: memory_sync: invalid namespace '%s': use 1-64 characters "
        "from a-z A-Z 0-9 _ - (memory_namespace() turns any id into a valid "
        "one)", s.zNs ? s.zNs : "NULL");
    goto error;
  }
  rc = resolveTables(&s, argv, &zErr);
  if (rc != SQLITE_OK) goto error;
  /* The state is made on the first sync (a table never synced has none,
  ** and pays nothing for it): in a transaction of its own. */
  rc = memSyncStateExists(s.db, s.zLSchema, s.zLName, &exists);
  if (rc == SQLITE_OK && !exists) {
    rc = txBegin(&s);
    if (rc == SQLITE_OK) rc = txEnd(&s, memSyncStateEnsure(s.db, s.zLSchema, s.zLName, &zErr));
  } else if (rc == SQLITE_OK) {
    rc = memSyncStateEnsure(s.db, s.zLSchema, s.zLName, &zErr);
  }
  if (rc != SQLITE_OK) goto error;
  /* Writes to the remote table earlier in this transaction go first. */
  rc = memRemoteFlushWrites(s.pRemote);
  if (rc != SQLITE_OK) {
    zErr = sqlite3_mprintf("%s", s.pRemote->base.zErrMsg);
    goto error;
  }
  s.nReq0 = memHttpRequestsSent(STATE(s.pRemote)->http);

  rc = listNamespace(&s);
  if (rc == SQLITE_OK) rc = loadLocal(&s);
  if (rc == SQLITE_OK) {
    planGets(&s);
    rc = fetchChanged(&s);
  }
  if (rc == SQLITE_OK) rc = decide(&s);
  if (rc == SQLITE_OK) rc = applyLocal(&s);
  if (rc == SQLITE_OK) rc = push(&s, &nPut);
  if (rc == SQLITE_OK && nPut > 0) rc = relist(&s);
  if (rc == SQLITE_ERROR && s.zErr) rc = SQLITE_OK; /* reported below */
  if (rc != SQLITE_OK && s.zErr == 0) syncFail(&s, rc, "local", 0, sqlite3_errmsg(s.db));
  if (finish(&s) != SQLITE_OK && s.zErr == 0) {
    syncFail(&s, SQLITE_ERROR, "record", 0, sqlite3_errmsg(s.db));
  }
  if (s.zErr) {
    sqlite3_result_error(ctx, s.zErr, -1);
    sqlite3_result_error_code(ctx, s.rcErr == SQLITE_INTERRUPT ? SQLITE_INTERRUPT
                                                               : SQLITE_ERROR);
  } else {
    char *zSum = summary(&s);
    if (zSum) sqlite3_result_text(ctx, zSum, -1, sqlite3_free);
    else sqlite3_result_error_nomem(ctx);
  }
  syncFree(&s);
  return;

error:
  if (zErr) {
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_free(zErr);
  } else {
    char *z = sqlite3_mprintf("memory: memory_sync: %s", rc == SQLITE_OK
                              ? "out of memory" : sqlite3_errmsg(s.db));
    sqlite3_result_error(ctx, z ? z : "memory: out of memory", -1);
    sqlite3_free(z);
  }
  syncFree(&s);
}

int memRegisterSyncFunction(sqlite3 *db) {
  /* DIRECTONLY: network I/O and writes, never from a view or a trigger. */
  int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  int rc = sqlite3_create_function(db, "memory_sync", 3, flags, 0, syncFunc, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(db, "memory_sync", 4, flags, 0, syncFunc, 0, 0);
  }
  return rc;
}
