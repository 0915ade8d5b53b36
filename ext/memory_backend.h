/*
** What the `memory` module (memory_vtab.c) and its backends share: the
** table's columns, the MemVtab every method receives, and MemBackend, the
** interface a backend implements. memory_vtab.c picks a backend from the
** settings and forwards every method to it; it knows nothing of either.
**
** Adding a backend: write a MemBackend (designated initializers, see
** memory_local.c), declare it below, and pick it in memory_vtab.c's
** backendFor(). Adding a method: a field here, a forwarder in
** memory_vtab.c; backends that leave it 0 get the default written there.
*/
#ifndef MEMORY_BACKEND_H
#define MEMORY_BACKEND_H

#include "memory_config.h"

/* Columns of the `memory` virtual table; keep beside MEM_VTAB_SCHEMA. */
#define MEM_COL_NAMESPACE 0
#define MEM_COL_KEY 1
#define MEM_COL_VALUE 2
#define MEM_COL_UPDATED_AT 3
#define MEM_COL_CREATED_AT 4
#define MEM_COL_EXPIRES_AT 5 /* HIDDEN: when the entry expires, or NULL */
#define MEM_COL_RANK 6       /* HIDDEN: bm25 of a MATCH, else NULL */
#define MEM_COL_AS_OF 7      /* HIDDEN: `as_of = t` reads the past */
#define MEM_COL_COMMAND 8    /* HIDDEN, named after the table: commands, MATCH */
#define MEM_VTAB_SCHEMA                                                    \
  "CREATE TABLE x(namespace TEXT, key TEXT, value TEXT, updated_at REAL, " \
  "created_at REAL HIDDEN, expires_at REAL HIDDEN, rank REAL HIDDEN, "     \
  "as_of REAL HIDDEN, \"%w\" HIDDEN)" /* %w: name */

/* The time of the write running on a connection, shared by the module and
** the SQL function memory_now() (memory_vtab.c), so that every trigger a
** write fires sees one instant: 0 when no write runs (memory_now() then
** reads the clock). */
typedef struct MemClock {
  double writeNow;
} MemClock;

typedef struct MemBackend MemBackend;

/* One `memory` virtual table. */
typedef struct MemVtab {
  sqlite3_vtab base;
  sqlite3 *db;
  char *zSchema;                 /* database holding the table ("main") */
  char *zName;                   /* the table's name */
  MemSettings settings;
  const MemBackend *pBackend;
  void *pState;                  /* the backend's own state */
  MemClock *pClock;              /* the connection's (module client data) */
} MemVtab;

/* A backend. The methods take the sqlite3_vtab / sqlite3_vtab_cursor that
** SQLite passes (a MemVtab, and the backend's own cursor), with the
** meaning of the sqlite3_module method of the same name. */
struct MemBackend {
  const char *zName;
  /* The suffixes of the objects "<table>_<suffix>" the backend makes (0
  ** ends the list): a rename checks none of the new names is taken. */
  const char *const *azObject;
  /* Set up p->pState; build the backing objects when isCreate. */
  int (*xInit)(MemVtab *p, int isCreate, char **pzErr);
  /* Bring a table written in an older on-disk format up to
  ** MEM_FORMAT_CURRENT (optional). */
  int (*xUpgrade)(MemVtab *p, int iFromFormat, char **pzErr);
  int (*xDisconnect)(sqlite3_vtab *);
  /* Drop the backing objects, freeing nothing: the module then drops the
  ** config and, if all went well, calls xDisconnect. On failure the table
  ** must go on working. */
  int (*xDestroy)(sqlite3_vtab *);
  /* Rename the backing objects; the config table is renamed by the
  ** module afterwards. */
  int (*xRename)(sqlite3_vtab *, const char *zNew);
  int (*xBestIndex)(sqlite3_vtab *, sqlite3_index_info *);
  int (*xOpen)(sqlite3_vtab *, sqlite3_vtab_cursor **);
  int (*xClose)(sqlite3_vtab_cursor *);
  int (*xFilter)(sqlite3_vtab_cursor *, int idxNum, const char *idxStr,
                 int argc, sqlite3_value **argv);
  int (*xNext)(sqlite3_vtab_cursor *);
  int (*xEof)(sqlite3_vtab_cursor *);
  int (*xColumn)(sqlite3_vtab_cursor *, sqlite3_context *, int);
  int (*xRowid)(sqlite3_vtab_cursor *, sqlite3_int64 *);
  int (*xUpdate)(sqlite3_vtab *, int, sqlite3_value **, sqlite3_int64 *);
  /* Transactions (optional). */
  int (*xBegin)(sqlite3_vtab *);
  int (*xSync)(sqlite3_vtab *);
  int (*xCommit)(sqlite3_vtab *);
  int (*xRollback)(sqlite3_vtab *);
  int (*xSavepoint)(sqlite3_vtab *, int);
  int (*xRelease)(sqlite3_vtab *, int);
  int (*xRollbackTo)(sqlite3_vtab *, int);
  /* The command column (optional; memory_commands.c). Run command zCmd
  ** ("integrity-check", "rebuild", ...), or return SQLITE_NOTFOUND. */
  int (*xCommand)(MemVtab *p, const char *zCmd, char **pzErr);
  /* Setting zSetting was changed; p->settings holds the new ones
  ** (optional). */
  int (*xSettingsChanged)(MemVtab *p, const char *zSetting, char **pzErr);
};

/* What the command column of a local row holds, as a pointer value
** (sqlite3_result_pointer: SQL reads NULL): the row, for MATCH evaluated
** row by row (memory_local.c, memLocalMatchFunc). */
#define MEM_MATCH_ROW "memory_match_row"
typedef struct MemMatchRow {
  MemVtab *p;
  sqlite3_int64 id;
} MemMatchRow;

/* The MATCH function of local tables, for xFindFunction. */
void memLocalMatchFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv);

extern const MemBackend memLocalBackend;
extern const MemBackend memRemoteBackend;

/* SQL functions the local backend's triggers call. */
int memRegisterLocalFunctions(sqlite3 *db);

#endif
