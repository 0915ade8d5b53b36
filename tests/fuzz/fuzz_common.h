/*
** Shared setup of the fuzz targets. They are built with the extension's
** sources compiled in (-DSQLITE_CORE: calls go straight to libsqlite3), so
** they can reach internals as well as SQL; see the Makefile's fuzz rules.
*/
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_backend.h"
#include "memory_http.h"
#include "memory_names.h"

int sqlite3_memory_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi);

/* One connection per fuzzing process, with the extension registered. */
static sqlite3 *fuzzDb(void) {
  static sqlite3 *db = 0;
  if (db == 0) {
    char *zErr = 0;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_memory_init(db, &zErr, 0) != SQLITE_OK) {
      fprintf(stderr, "cannot set up: %s\n", zErr ? zErr : sqlite3_errmsg(db));
      abort();
    }
  }
  return db;
}

/* Run a statement to its end; errors are expected and ignored. */
static void fuzzRun(sqlite3 *db, const char *zSql, const uint8_t *a, int na,
                    const uint8_t *b, int nb) {
  sqlite3_stmt *pStmt = 0;
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) return;
  if (a) sqlite3_bind_text(pStmt, 1, (const char *)a, na, SQLITE_STATIC);
  if (b) sqlite3_bind_text(pStmt, 2, (const char *)b, nb, SQLITE_STATIC);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
  }
  sqlite3_finalize(pStmt);
}

#endif
