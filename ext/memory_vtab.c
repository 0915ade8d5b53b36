/*
** The `memory` virtual table module.
**
** xCreate and xConnect are thin wrappers over one memInit(): create parses
** the arguments and stores them in "<name>_config"; connect reads them back.
** Either way the settings pick a backend (memory_local.c or memory_remote.c),
** itself written as a sqlite3_module, to which every other method of this
** module forwards. They are kept distinct functions: a module whose xCreate
** equals its xConnect would be eponymous.
*/
#include "memory_internal.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

void memSetError(sqlite3_vtab *pVtab, const char *zFormat, ...) {
  va_list ap;
  sqlite3_free(pVtab->zErrMsg);
  va_start(ap, zFormat);
  pVtab->zErrMsg = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
}

/* Unix epoch seconds, fractional, UTC. Microseconds rather than the VFS's
** milliseconds, so that writes in quick succession still sort in order. */
double memNow(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void vtabFree(MemVtab *p) {
  if (p == 0) return;
  memSettingsClear(&p->settings);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zName);
  sqlite3_free(p->base.zErrMsg);
  sqlite3_free(p);
}

static int memInit(sqlite3 *db, int argc, const char *const *argv,
                   sqlite3_vtab **ppVtab, char **pzErr, int isCreate) {
  MemVtab *p;
  int rc;
  *ppVtab = 0;
  p = sqlite3_malloc(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->zSchema = sqlite3_mprintf("%s", argv[1]);
  p->zName = sqlite3_mprintf("%s", argv[2]);
  if (p->zSchema == 0 || p->zName == 0) {
    rc = SQLITE_NOMEM;
    goto error;
  }
  if (isCreate) {
    char *zSql;
    rc = memSettingsParse(&p->settings, argc, argv, pzErr);
    if (rc != SQLITE_OK) goto error;
    zSql = sqlite3_mprintf(
        "CREATE TABLE \"%w\".\"%w_config\"(name TEXT PRIMARY KEY, value) "
        "WITHOUT ROWID",
        p->zSchema, p->zName);
    if (zSql == 0) {
      rc = SQLITE_NOMEM;
      goto error;
    }
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) {
      *pzErr = sqlite3_mprintf("memory: cannot create '%s_config': %s",
                               p->zName, sqlite3_errmsg(db));
      goto error;
    }
    rc = memSettingsSave(db, p->zSchema, p->zName, &p->settings, pzErr);
  } else {
    rc = memSettingsLoad(db, p->zSchema, p->zName, &p->settings, pzErr);
  }
  if (rc != SQLITE_OK) goto error;

  rc = sqlite3_declare_vtab(db, MEM_VTAB_SCHEMA);
  if (rc != SQLITE_OK) goto error;
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  if (p->settings.isRemote) {
    /* Network I/O must not be triggered from a view or trigger body. */
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    p->pBackend = &memRemoteBackend;
    rc = memRemoteInit(p, isCreate, pzErr);
  } else {
    p->pBackend = &memLocalBackend;
    rc = memLocalInit(p, isCreate, pzErr);
  }
  if (rc != SQLITE_OK) goto error;
  *ppVtab = &p->base;
  return SQLITE_OK;

error:
  vtabFree(p);
  return rc;
}

static int memCreate(sqlite3 *db, void *pAux, int argc,
                     const char *const *argv, sqlite3_vtab **ppVtab,
                     char **pzErr) {
  (void)pAux;
  return memInit(db, argc, argv, ppVtab, pzErr, 1);
}

static int memConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr) {
  (void)pAux;
  return memInit(db, argc, argv, ppVtab, pzErr, 0);
}

#define BACKEND(pVtab) (((MemVtab *)(pVtab))->pBackend)

static int memDisconnect(sqlite3_vtab *pVtab) {
  BACKEND(pVtab)->xDisconnect(pVtab);
  vtabFree((MemVtab *)pVtab);
  return SQLITE_OK;
}

static int memDestroy(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  int rc = BACKEND(pVtab)->xDestroy(pVtab);
  if (rc == SQLITE_OK) {
    char *zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_config\"",
                                 p->zSchema, p->zName);
    rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
  }
  if (rc != SQLITE_OK) return rc;
  vtabFree(p);
  return SQLITE_OK;
}

/* Rename "<old>_config" to "<new>_config" and remember the new name; each
** backend's xRename calls this once its own tables are renamed. */
int memRenameConfig(MemVtab *p, const char *zNew) {
  char *zName;
  char *zSql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_config\" RENAME TO \"%w_config\"", p->zSchema,
      p->zName, zNew);
  int rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  zName = sqlite3_mprintf("%s", zNew);
  if (zName == 0) return SQLITE_NOMEM;
  sqlite3_free(p->zName);
  p->zName = zName;
  return SQLITE_OK;
}

static int memRename(sqlite3_vtab *pVtab, const char *zNew) {
  return BACKEND(pVtab)->xRename(pVtab, zNew);
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

static int memFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  return BACKEND(pCur->pVtab)->xFilter(pCur, idxNum, idxStr, argc, argv);
}

static int memNext(sqlite3_vtab_cursor *pCur) {
  return BACKEND(pCur->pVtab)->xNext(pCur);
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

static int memUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                     sqlite3_int64 *pRowid) {
  return BACKEND(pVtab)->xUpdate(pVtab, argc, argv, pRowid);
}

/* Transaction methods are optional in a backend. */
#define FORWARD_TXN(NAME, FIELD)                                   \
  static int NAME(sqlite3_vtab *pVtab) {                           \
    const sqlite3_module *b = BACKEND(pVtab);                      \
    return b->FIELD ? b->FIELD(pVtab) : SQLITE_OK;                 \
  }
FORWARD_TXN(memBegin, xBegin)
FORWARD_TXN(memSync, xSync)
FORWARD_TXN(memCommit, xCommit)
FORWARD_TXN(memRollback, xRollback)
#undef FORWARD_TXN

#define FORWARD_SAVEPOINT(NAME, FIELD)                             \
  static int NAME(sqlite3_vtab *pVtab, int iSavepoint) {           \
    const sqlite3_module *b = BACKEND(pVtab);                      \
    return b->FIELD ? b->FIELD(pVtab, iSavepoint) : SQLITE_OK;     \
  }
FORWARD_SAVEPOINT(memSavepoint, xSavepoint)
FORWARD_SAVEPOINT(memRelease, xRelease)
FORWARD_SAVEPOINT(memRollbackTo, xRollbackTo)
#undef FORWARD_SAVEPOINT

/* Backing tables are shadow tables: defensive mode keeps SQL off them. */
static int memShadowName(const char *zSuffix) {
  static const char *azShadow[] = {"config", "data", "quota"};
  unsigned i;
  for (i = 0; i < sizeof(azShadow) / sizeof(azShadow[0]); i++) {
    if (sqlite3_stricmp(zSuffix, azShadow[i]) == 0) return 1;
  }
  return 0;
}

static const sqlite3_module memModule = {
    /* iVersion    */ 3,
    /* xCreate     */ memCreate,
    /* xConnect    */ memConnect,
    /* xBestIndex  */ memBestIndex,
    /* xDisconnect */ memDisconnect,
    /* xDestroy    */ memDestroy,
    /* xOpen       */ memOpen,
    /* xClose      */ memClose,
    /* xFilter     */ memFilter,
    /* xNext       */ memNext,
    /* xEof        */ memEof,
    /* xColumn     */ memColumn,
    /* xRowid      */ memRowid,
    /* xUpdate     */ memUpdate,
    /* xBegin      */ memBegin,
    /* xSync       */ memSync,
    /* xCommit     */ memCommit,
    /* xRollback   */ memRollback,
    /* xFindFunction */ 0,
    /* xRename     */ memRename,
    /* xSavepoint  */ memSavepoint,
    /* xRelease    */ memRelease,
    /* xRollbackTo */ memRollbackTo,
    /* xShadowName */ memShadowName,
};

int memRegisterModule(sqlite3 *db) {
  return sqlite3_create_module(db, "memory", &memModule, 0);
}
