/*
** Small helpers shared by every file; see memory_util.h.
*/
#include "memory_util.h"

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

int memExecPrintf(sqlite3 *db, const char *zFormat, ...) {
  va_list ap;
  char *zSql;
  int rc;
  va_start(ap, zFormat);
  zSql = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

static int prepareV(sqlite3 *db, sqlite3_stmt **ppStmt, const char *zFormat,
                    va_list ap) {
  char *zSql = sqlite3_vmprintf(zFormat, ap);
  int rc;
  *ppStmt = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, ppStmt, 0);
  sqlite3_free(zSql);
  return rc;
}

int memPreparePrintf(sqlite3 *db, sqlite3_stmt **ppStmt, const char *zFormat, ...) {
  va_list ap;
  int rc;
  va_start(ap, zFormat);
  rc = prepareV(db, ppStmt, zFormat, ap);
  va_end(ap);
  return rc;
}

int memRowExistsPrintf(sqlite3 *db, int *pExists, const char *zFormat, ...) {
  sqlite3_stmt *pStmt;
  va_list ap;
  int rc;
  va_start(ap, zFormat);
  rc = prepareV(db, &pStmt, zFormat, ap);
  va_end(ap);
  *pExists = 0;
  if (rc != SQLITE_OK) return rc;
  *pExists = sqlite3_step(pStmt) == SQLITE_ROW;
  return sqlite3_finalize(pStmt);
}

/* The time a test has set (memory_test_clock()), or 0: the real clock. */
static double testNow = 0;

void memSetTestClock(double t) { testNow = t; }

/* Microseconds rather than the VFS's milliseconds, so that writes in quick
** succession still sort in order. */
double memNow(void) {
  struct timespec ts;
  if (testNow > 0) return testNow;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call into the statement (each sqlite3_column_*() enters the
** connection's mutex; the value's own accessors do not). The value is
** "unprotected" in SQLite's terms, which is safe here: the callers run in
** a callback of a statement of the same connection, which holds its mutex. */
void memResultColumn(sqlite3_context *ctx, sqlite3_stmt *pStmt, int i,
                     MemBuffer *pUtf8) {
  sqlite3_value *v = sqlite3_column_value(pStmt, i);
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      sqlite3_result_int64(ctx, sqlite3_value_int64(v));
      break;
    case SQLITE_FLOAT:
      sqlite3_result_double(ctx, sqlite3_value_double(v));
      break;
    case SQLITE_TEXT: {
      const unsigned char *z;
      int n;
      if (pUtf8 == 0) {
        /* Text first (converted), then its length: the text form's. */
        z = sqlite3_value_text(v);
        sqlite3_result_text(ctx, (const char *)z, sqlite3_value_bytes(v),
                            SQLITE_TRANSIENT);
        break;
      }
      /* UTF-8 already: take the bytes as they are (sqlite3_value_text()
      ** would copy a column read in place from its page, only to add a
      ** NUL). Hand them over NUL-terminated with length -1, the one way
      ** SQLite then knows the result is terminated: given a length, it
      ** copies again the first time anyone reads the text (Python does,
      ** and so does length()). Text with a NUL inside keeps its length. */
      z = sqlite3_value_blob(v);
      n = sqlite3_value_bytes(v);
      if (n + 1 > pUtf8->nAlloc) {
        char *zNew = sqlite3_realloc64(pUtf8->z, (sqlite3_uint64)n + 1);
        if (zNew == 0) {
          sqlite3_result_error_nomem(ctx);
          break;
        }
        pUtf8->z = zNew;
        pUtf8->nAlloc = n + 1;
      }
      if (n > 0) memcpy(pUtf8->z, z, (size_t)n);
      pUtf8->z[n] = 0;
      sqlite3_result_text(ctx, pUtf8->z, strlen(pUtf8->z) == (size_t)n ? -1 : n,
                          SQLITE_TRANSIENT);
      break;
    }
    case SQLITE_BLOB: {
      const void *z = sqlite3_value_blob(v);
      sqlite3_result_blob(ctx, z, sqlite3_value_bytes(v), SQLITE_TRANSIENT);
      break;
    }
    default:
      break; /* NULL is the default result */
  }
}

int memDbIsUtf8(sqlite3 *db) {
  sqlite3_stmt *pStmt = 0;
  int isUtf8 = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA encoding", -1, &pStmt, 0) == SQLITE_OK &&
      sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    isUtf8 = z && strcmp(z, "UTF-8") == 0;
  }
  sqlite3_finalize(pStmt);
  return isUtf8;
}

void *memRoomForOne(void *a, int n, int *pnAlloc, size_t sz) {
  int nNew;
  void *aNew;
  if (n < *pnAlloc) return a;
  nNew = *pnAlloc ? *pnAlloc * 2 : 16;
  aNew = sqlite3_realloc64(a, (sqlite3_uint64)nNew * sz);
  if (aNew) *pnAlloc = nNew;
  return aNew;
}
