/*
** The `memory` module: one sqlite3_module that SQLite sees, dispatching to
** a backend (memory_backend.h) picked by the table's settings.
**
** xCreate and xConnect are thin wrappers over one memInit(): create parses
** the arguments and stores them (memory_config.c), connect loads them.
** They are kept distinct functions: a module whose xCreate equals its
** xConnect would be eponymous. A table written in an older on-disk format
** is upgraded when it is connected (upgradeIfOld).
*/
#include "memory_backend.h"
#include "memory_commands.h"
#include "memory_vtab.h"

#include <string.h>

static void vtabFree(MemVtab *p) {
  if (p == 0) return;
  memSettingsClear(&p->settings);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zName);
  sqlite3_free(p->base.zErrMsg);
  sqlite3_free(p);
}

static const MemBackend *backendFor(const MemSettings *s) {
  return s->isRemote ? &memRemoteBackend : &memLocalBackend;
}

/* A table written in an older on-disk format is brought up to
** MEM_FORMAT_CURRENT when a connection opens it, on a private connection
** to the same file, in a transaction of its own (BEGIN EXCLUSIVE ...
** COMMIT). Not on this connection: xConnect runs while SQLite prepares a
** statement, and an upgrade that adds a column (ALTER TABLE reloads the
** whole schema) would free the very table SQLite is connecting (found by
** valgrind: a use-after-free in sqlite3VtabCallConnect). The change of
** schema makes this connection prepare its statement again, and connect
** the table anew in the new format. When the upgrade cannot happen now (a
** read-only or in-memory database, another connection holding a lock, this
** one in a transaction) the table keeps working in its old format, which
** the backends still read and write, and the upgrade is tried again at the
** next open. */
static void upgradeIfOld(MemVtab *p) {
  const char *zFile;
  sqlite3 *db = 0, *dbOwn = p->db;
  char *zSchemaOwn = p->zSchema, *zErr = 0;
  int rc;
  if (p->settings.format >= MEM_FORMAT_CURRENT) return;
  if (sqlite3_db_readonly(p->db, p->zSchema) == 1) return;
  zFile = sqlite3_db_filename(p->db, p->zSchema);
  if (zFile == 0 || zFile[0] == 0) return;
  rc = sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE, 0);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 100);
    /* EXCLUSIVE: the locks the COMMIT needs are taken first (in rollback-
    ** journal mode a reader blocks a commit). */
    rc = memExecPrintf(db, "BEGIN EXCLUSIVE");
  }
  if (rc == SQLITE_OK && p->pBackend->xUpgrade) {
    /* The backend upgrades through p, pointed at the private connection,
    ** where the file is "main", for this call only. */
    static char zMain[] = "main";
    p->db = db;
    p->zSchema = zMain;
    rc = p->pBackend->xUpgrade(p, p->settings.format, &zErr);
    p->db = dbOwn;
    p->zSchema = zSchemaOwn;
    sqlite3_free(zErr);
  }
  if (rc == SQLITE_OK) {
    rc = memConfigSetFormat(db, "main", p->zName, MEM_FORMAT_CURRENT);
  }
  if (rc == SQLITE_OK) rc = memExecPrintf(db, "COMMIT");
  if (rc != SQLITE_OK && db) memExecPrintf(db, "ROLLBACK");
  sqlite3_close(db);
}

/* A newer format is refused: this build would misread it. */
static int checkFormat(MemVtab *p, char **pzErr) {
  if (p->settings.format <= MEM_FORMAT_CURRENT) return SQLITE_OK;
  *pzErr = sqlite3_mprintf(
      "memory: table '%s' was written by a newer version of this extension "
      "(on-disk format %d; this is %s, which reads formats up to %d): load "
      "the newer version",
      p->zName, p->settings.format, MEMORY_VERSION, MEM_FORMAT_CURRENT);
  return SQLITE_ERROR;
}

static int memInit(sqlite3 *db, int argc, const char *const *argv,
                   sqlite3_vtab **ppVtab, char **pzErr, int isCreate,
                   MemClock *pClock) {
  MemVtab *p;
  int rc;
  *ppVtab = 0;
  p = sqlite3_malloc(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pClock = pClock;
  p->zSchema = sqlite3_mprintf("%s", argv[1]);
  p->zName = sqlite3_mprintf("%s", argv[2]);
  if (p->zSchema == 0 || p->zName == 0) {
    rc = SQLITE_NOMEM;
    goto error;
  }
  if (isCreate) {
    rc = memSettingsParse(&p->settings, argc, argv, pzErr);
    if (rc == SQLITE_OK) {
      rc = memConfigCreate(db, p->zSchema, p->zName, &p->settings, pzErr);
    }
  } else {
    rc = memSettingsLoad(db, p->zSchema, p->zName, &p->settings, pzErr);
    if (rc == SQLITE_OK) rc = checkFormat(p, pzErr);
  }
  if (rc != SQLITE_OK) goto error;

  {
    char *zDecl = sqlite3_mprintf(MEM_VTAB_SCHEMA, p->zName);
    rc = zDecl ? sqlite3_declare_vtab(db, zDecl) : SQLITE_NOMEM;
    sqlite3_free(zDecl);
  }
  if (rc != SQLITE_OK) goto error;
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  if (p->settings.isRemote) {
    /* Network I/O must not be triggered from a view or trigger body. */
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  } else {
    /* A local table touches nothing but its own shadow tables: safe in
    ** views and triggers of a schema that is not trusted. */
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  }
  p->pBackend = backendFor(&p->settings);
  rc = p->pBackend->xInit(p, isCreate, pzErr);
  if (rc != SQLITE_OK && *pzErr == 0) {
    /* Else SQLite says only "vtable constructor failed". */
    *pzErr = sqlite3_mprintf("memory: cannot %s table '%s': %s",
                             isCreate ? "create" : "open", p->zName,
                             sqlite3_errmsg(db));
  }
  if (rc != SQLITE_OK) goto error;
  if (!isCreate) upgradeIfOld(p);
  *ppVtab = &p->base;
  return SQLITE_OK;

error:
  if (p->pState) p->pBackend->xDisconnect(&p->base);
  vtabFree(p);
  return rc;
}

static int memCreate(sqlite3 *db, void *pAux, int argc,
                     const char *const *argv, sqlite3_vtab **ppVtab,
                     char **pzErr) {
  return memInit(db, argc, argv, ppVtab, pzErr, 1, pAux);
}

static int memConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr) {
  return memInit(db, argc, argv, ppVtab, pzErr, 0, pAux);
}

#define BACKEND(pVtab) (((MemVtab *)(pVtab))->pBackend)

static int memDisconnect(sqlite3_vtab *pVtab) {
  BACKEND(pVtab)->xDisconnect(pVtab);
  vtabFree((MemVtab *)pVtab);
  return SQLITE_OK;
}

/* The backend drops its objects first; nothing is freed unless every
** DROP succeeded, so a failed DROP TABLE leaves a working table. */
static int memDestroy(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  int rc = BACKEND(pVtab)->xDestroy(pVtab);
  if (rc == SQLITE_OK) rc = memConfigDrop(p->db, p->zSchema, p->zName);
  if (rc != SQLITE_OK) {
    if (p->base.zErrMsg == 0) {
      memSetError(pVtab, "memory: cannot drop '%s': %s; finish the statements "
                  "still running and try again", p->zName, sqlite3_errmsg(p->db));
    }
    return rc;
  }
  BACKEND(pVtab)->xDisconnect(pVtab);
  vtabFree(p);
  return SQLITE_OK;
}

/* Before a rename touches anything: is any of the new names taken? The
** error names it (SQLite's own would be a bare "SQL logic error"). */
static int renameTargetsFree(MemVtab *p, const char *zNew) {
  const char *const *az = p->pBackend->azObject;
  sqlite3_str *pList = sqlite3_str_new(0);
  sqlite3_stmt *pStmt = 0;
  char *zList, *zSql;
  int i, rc;
  sqlite3_str_appendf(pList, "%Q || '_config'", zNew);
  for (i = 0; az && az[i]; i++) {
    sqlite3_str_appendf(pList, ", %Q || '_%s'", zNew, az[i]);
  }
  zList = sqlite3_str_finish(pList);
  if (zList == 0) return SQLITE_NOMEM;
  zSql = sqlite3_mprintf("SELECT name FROM \"%w\".sqlite_schema WHERE name "
                         "COLLATE NOCASE IN (%s) LIMIT 1",
                         p->zSchema, zList);
  sqlite3_free(zList);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    memSetError(&p->base,
                "memory: cannot rename '%s' to '%s': the name '%s' is taken; "
                "drop or rename that first",
                p->zName, zNew, sqlite3_column_text(pStmt, 0));
    sqlite3_finalize(pStmt);
    return SQLITE_ERROR;
  }
  return sqlite3_finalize(pStmt);
}

static int memRename(sqlite3_vtab *pVtab, const char *zNew) {
  MemVtab *p = (MemVtab *)pVtab;
  char *zName;
  int rc = renameTargetsFree(p, zNew);
  if (rc == SQLITE_OK) rc = BACKEND(pVtab)->xRename(pVtab, zNew);
  if (rc != SQLITE_OK && p->base.zErrMsg == 0) {
    memSetError(pVtab, "memory: cannot rename '%s' to '%s': %s", p->zName, zNew,
                sqlite3_errmsg(p->db));
  }
  if (rc == SQLITE_OK) rc = memConfigRename(p->db, p->zSchema, p->zName, zNew);
  if (rc != SQLITE_OK) return rc;
  zName = sqlite3_mprintf("%s", zNew);
  if (zName == 0) return SQLITE_NOMEM;
  sqlite3_free(p->zName);
  p->zName = zName;
  return SQLITE_OK;
}

static int memBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  return BACKEND(pVtab)->xBestIndex(pVtab, pInfo);
}

static int memOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  return BACKEND(pVtab)->xOpen(pVtab, ppCursor);
}

static int memClose(sqlite3_vtab_cursor *pCur) {
  return BACKEND(pCur->pVtab)->xClose(pCur);
}

/* Every error reaching the user starts with "memory: ": a backend that
** returns one without a message (a backing statement that would not
** prepare, say) gets SQLite's own, prefixed and named. */
static int withMessage(sqlite3_vtab *pVtab, int rc, const char *zDoing) {
  MemVtab *p = (MemVtab *)pVtab;
  if (rc != SQLITE_OK && rc != SQLITE_DONE && pVtab->zErrMsg == 0) {
    memSetError(pVtab, "memory: cannot %s '%s': %s; INSERT INTO \"%w\"(\"%w\") "
                "VALUES ('integrity-check') says what is damaged",
                zDoing, p->zName, sqlite3_errmsg(p->db), p->zName, p->zName);
  }
  return rc;
}

static int memFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  return withMessage(pCur->pVtab,
                     BACKEND(pCur->pVtab)->xFilter(pCur, idxNum, idxStr, argc, argv),
                     "read");
}

static int memNext(sqlite3_vtab_cursor *pCur) {
  return withMessage(pCur->pVtab, BACKEND(pCur->pVtab)->xNext(pCur), "read");
}

static int memEof(sqlite3_vtab_cursor *pCur) {
  return BACKEND(pCur->pVtab)->xEof(pCur);
}

static int memColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  return BACKEND(pCur->pVtab)->xColumn(pCur, ctx, i);
}

static int memRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  return BACKEND(pCur->pVtab)->xRowid(pCur, pRowid);
}

/* An INSERT that sets the command column is a command (memory_commands.c);
** everything else is the backend's. */
static int memUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                     sqlite3_int64 *pRowid) {
  MemVtab *p = (MemVtab *)pVtab;
  if (argc > 1 && sqlite3_value_type(argv[2 + MEM_COL_COMMAND]) != SQLITE_NULL &&
      !sqlite3_value_nochange(argv[2 + MEM_COL_COMMAND])) {
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
      memSetError(pVtab, "memory: commands are INSERTed, not UPDATEd: "
                         "INSERT INTO %s(%s, value) VALUES ('<command>', <value>)",
                  p->zName, p->zName);
      return SQLITE_ERROR;
    }
    return memCommand(p, argv[2 + MEM_COL_COMMAND], argv[2 + MEM_COL_VALUE]);
  }
  return withMessage(pVtab, BACKEND(pVtab)->xUpdate(pVtab, argc, argv, pRowid),
                     "write to");
}

/* Transaction methods are optional in a backend. */
#define FORWARD_TXN(NAME, FIELD)                                   \
  static int NAME(sqlite3_vtab *pVtab) {                           \
    const MemBackend *b = BACKEND(pVtab);                          \
    return b->FIELD ? b->FIELD(pVtab) : SQLITE_OK;                 \
  }
FORWARD_TXN(memBegin, xBegin)
FORWARD_TXN(memSync, xSync)
FORWARD_TXN(memCommit, xCommit)
FORWARD_TXN(memRollback, xRollback)
#undef FORWARD_TXN

#define FORWARD_SAVEPOINT(NAME, FIELD)                             \
  static int NAME(sqlite3_vtab *pVtab, int iSavepoint) {           \
    const MemBackend *b = BACKEND(pVtab);                          \
    return b->FIELD ? b->FIELD(pVtab, iSavepoint) : SQLITE_OK;     \
  }
FORWARD_SAVEPOINT(memSavepoint, xSavepoint)
FORWARD_SAVEPOINT(memRelease, xRelease)
FORWARD_SAVEPOINT(memRollbackTo, xRollbackTo)
#undef FORWARD_SAVEPOINT

/* A MATCH that SQLite evaluates row by row, not through xBestIndex (inside
** an OR): local tables look the row up in their index; remote ones cannot
** search, and xFilter says so. */
static void remoteMatchFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_error(ctx, "memory: a remote table cannot be searched: the "
                            "hosted API has no search; copy the namespace into "
                            "a local table with search=on and search that", -1);
}

static int memFindFunction(sqlite3_vtab *pVtab, int nArg, const char *zName,
                           void (**pxFunc)(sqlite3_context *, int, sqlite3_value **),
                           void **ppArg) {
  MemVtab *p = (MemVtab *)pVtab;
  if (nArg != 2 || sqlite3_stricmp(zName, "match") != 0) return 0;
  *pxFunc = p->settings.isRemote ? remoteMatchFunc : memLocalMatchFunc;
  *ppArg = 0;
  return 1;
}

/* Backing tables are shadow tables: defensive mode keeps SQL off them. */
static int memShadowName(const char *zSuffix) {
  static const char *azShadow[] = {"config", "data", "quota", "versions",
                                   "sync", "syncns"};
  unsigned i;
  for (i = 0; i < sizeof(azShadow) / sizeof(azShadow[0]); i++) {
    if (sqlite3_stricmp(zSuffix, azShadow[i]) == 0) return 1;
  }
  return 0;
}

static const sqlite3_module memModule = {
    .iVersion = 3,
    .xCreate = memCreate,
    .xConnect = memConnect,
    .xBestIndex = memBestIndex,
    .xDisconnect = memDisconnect,
    .xDestroy = memDestroy,
    .xOpen = memOpen,
    .xClose = memClose,
    .xFilter = memFilter,
    .xNext = memNext,
    .xEof = memEof,
    .xColumn = memColumn,
    .xRowid = memRowid,
    .xUpdate = memUpdate,
    .xBegin = memBegin,
    .xSync = memSync,
    .xCommit = memCommit,
    .xRollback = memRollback,
    .xFindFunction = memFindFunction,
    .xRename = memRename,
    .xSavepoint = memSavepoint,
    .xRelease = memRelease,
    .xRollbackTo = memRollbackTo,
    .xShadowName = memShadowName,
};

/* memory_now(): the time of the write running (MemClock), else the clock.
** The history triggers call it (sql/ext/local_history_triggers.sql). */
static void nowFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MemClock *pClock = sqlite3_user_data(ctx);
  (void)argc;
  (void)argv;
  sqlite3_result_double(ctx, pClock->writeNow > 0 ? pClock->writeNow : memNow());
}

int memRegisterModule(sqlite3 *db) {
  int rc = memRegisterLocalFunctions(db);
  MemClock *pClock = sqlite3_malloc(sizeof(*pClock));
  if (pClock == 0) return SQLITE_NOMEM;
  pClock->writeNow = 0;
  /* The function owns the clock (frees it when the connection closes, after
  ** every table is disconnected); the module borrows it. Not
  ** SQLITE_DIRECTONLY: triggers and the history view call it, and reading
  ** the time is harmless. */
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "memory_now", 0,
                                    SQLITE_UTF8 | SQLITE_INNOCUOUS, pClock,
                                    nowFunc, 0, 0, sqlite3_free);
  } else {
    sqlite3_free(pClock);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_module_v2(db, "memory", &memModule, pClock, 0);
  }
  return rc;
}
