/*
** Small helpers every file of the extension may use. This file and
** memory_util.c depend on nothing else of the project.
*/
#ifndef MEMORY_UTIL_H
#define MEMORY_UTIL_H

#include <stddef.h>

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

/* The one place the version is written; memory_version() returns it. */
#define MEMORY_VERSION "0.2.0"

/* Replace pVtab's error message; the format is sqlite3_mprintf's. */
void memSetError(sqlite3_vtab *pVtab, const char *zFormat, ...);

/* Format SQL (sqlite3_mprintf: %w for identifiers, %Q for literals) and run
** it with sqlite3_exec; SQLITE_NOMEM when formatting fails. The message of a
** failure is sqlite3_errmsg(db). */
int memExecPrintf(sqlite3 *db, const char *zFormat, ...);

/* Format SQL as memExecPrintf does and prepare it into *ppStmt. */
int memPreparePrintf(sqlite3 *db, sqlite3_stmt **ppStmt, const char *zFormat, ...);

/* Format a query as memExecPrintf does; *pExists: whether it gives a row. */
int memRowExistsPrintf(sqlite3 *db, int *pExists, const char *zFormat, ...);

/* Unix epoch seconds, fractional, UTC, to the microsecond. */
double memNow(void);
/* Tests only (memory_test_clock(), registered when $MEMORY_TEST_CLOCK is
** set at load): make memNow() return t for the whole process; 0 gives the
** real clock back. */
void memSetTestClock(double t);

/* Return column i of a stepped statement as the result of ctx, keeping its
** type. Cheaper than sqlite3_result_value(ctx, sqlite3_column_value(..)),
** which copies the value into a fresh allocation on every call in 3.40.
** pUtf8: when the connection's text is UTF-8 (memDbIsUtf8), a buffer kept
** between calls (text is copied through it); otherwise 0. */
typedef struct MemBuffer {
  char *z;
  int nAlloc;
} MemBuffer;
void memResultColumn(sqlite3_context *ctx, sqlite3_stmt *pStmt, int i,
                     MemBuffer *pUtf8);

/* Is db's text encoding UTF-8? (0 when it cannot tell: the safe answer.) */
int memDbIsUtf8(sqlite3 *db);

/* Room for one more element in an array of *pnAlloc elements of sz bytes,
** n of them used: the array, possibly moved, or 0 when out of memory (the
** old array is then still valid). */
void *memRoomForOne(void *a, int n, int *pnAlloc, size_t sz);

#endif
