/*
** Shared declarations of the memory extension.
**
** The extension is split by job:
**   memory.c         entry point: registers the module and the SQL functions
**   memory_args.c    parses CREATE VIRTUAL TABLE arguments into MemSettings
**   memory_names.c   namespace/key rules, memory_namespace(), value checks
**   memory_vtab.c    the `memory` module: xCreate/xConnect and dispatch to a
**                    backend
**   memory_local.c   local backend: a backing table with quota triggers
**   memory_remote.c  remote backend: the hosted HTTP API (its JSON is built
**                    and parsed by SQLite's own JSON functions)
**   memory_http.c    libcurl client: concurrency, retries, deadlines, caps
**   memory_messages.c  memory_messages() table-valued function
*/
#ifndef MEMORY_INTERNAL_H
#define MEMORY_INTERNAL_H

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#define MEMORY_VERSION "0.1.0"

/* Limits of the hosted API (hosted-api.md). */
#define MEM_NAMESPACE_MAX 64
#define MEM_KEY_MAX 128

/* Columns of the `memory` virtual table; keep beside MEM_VTAB_SCHEMA. */
#define MEM_COL_NAMESPACE 0
#define MEM_COL_KEY 1
#define MEM_COL_VALUE 2
#define MEM_COL_UPDATED_AT 3
#define MEM_COL_CREATED_AT 4
#define MEM_VTAB_SCHEMA                                                    \
  "CREATE TABLE x(namespace TEXT, key TEXT, value TEXT, updated_at REAL, " \
  "created_at REAL HIDDEN)"

/* Settings of one table, from its CREATE arguments or loaded back from
** "<name>_config", checked the same way either way (memory_args.c). */
typedef struct MemSettings {
  int isRemote;
  char *zUrl;                    /* remote: base URL, no trailing '/' */
  char *zTokenEnv;               /* remote: token_env, a variable's name,
                                 ** or NULL; stored */
  char *zToken;                  /* remote: the token to send (read from
                                 ** $zTokenEnv at open), or NULL; never
                                 ** stored */
  sqlite3_int64 maxValueBytes;   /* both */
  sqlite3_int64 maxNamespaceBytes; /* local; 0 = no limit */
  sqlite3_int64 maxWritesPerDay; /* local; 0 = no limit */
  int timeoutMs;                 /* remote: whole request incl. retries */
  int retries;                   /* remote */
  int concurrency;               /* remote */
} MemSettings;

/* One `memory` virtual table. A backend is a sqlite3_module whose methods
** the `memory` module forwards to (memory_vtab.c). */
typedef struct MemVtab {
  sqlite3_vtab base;
  sqlite3 *db;
  char *zSchema;                 /* database holding the table ("main") */
  char *zName;                   /* the table's name */
  MemSettings settings;
  const sqlite3_module *pBackend;
  void *pState;                  /* backend's own state */
} MemVtab;

/* memory_args.c */
int memSettingsParse(MemSettings *p, int argc, const char *const *argv,
                     char **pzErr);
int memSettingsSave(sqlite3 *db, const char *zSchema, const char *zName,
                    const MemSettings *p, char **pzErr);
int memSettingsLoad(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, char **pzErr);
void memSettingsClear(MemSettings *p);

/* memory_names.c */
int memNamespaceValid(const char *z, int n);
int memKeyValid(const char *z, int n);
char *memCheckRow(const MemSettings *p, sqlite3_value *ns, sqlite3_value *key,
                  sqlite3_value *value);
int memRegisterNameFunctions(sqlite3 *db);

/* memory_vtab.c */
int memRegisterModule(sqlite3 *db);
void memSetError(sqlite3_vtab *pVtab, const char *zFormat, ...);
double memNow(void);
int memRenameConfig(MemVtab *p, const char *zNew);

/* Backends. Each init is called from xCreate (isCreate=1) and xConnect. */
extern const sqlite3_module memLocalBackend;
extern const sqlite3_module memRemoteBackend;
int memLocalInit(MemVtab *p, int isCreate, char **pzErr);
int memRegisterLocalFunctions(sqlite3 *db);
int memRemoteInit(MemVtab *p, int isCreate, char **pzErr);

/* memory_messages.c */
int memRegisterMessages(sqlite3 *db);

#endif
