/*
** Small helpers shared by every file; see memory_util.h.
*/
#include "memory_util.h"

void memResultColumn(sqlite3_context *ctx, sqlite3_stmt *pStmt, int i) {
  switch (sqlite3_column_type(pStmt, i)) {
    case SQLITE_INTEGER:
      sqlite3_result_int64(ctx, sqlite3_column_int64(pStmt, i));
      break;
    case SQLITE_FLOAT:
      sqlite3_result_double(ctx, sqlite3_column_double(pStmt, i));
      break;
    case SQLITE_TEXT: {
      /* Text first, then its length: the length of the text form. */
      const unsigned char *z = sqlite3_column_text(pStmt, i);
      sqlite3_result_text(ctx, (const char *)z, sqlite3_column_bytes(pStmt, i),
                          SQLITE_TRANSIENT);
      break;
    }
    case SQLITE_BLOB: {
      const void *z = sqlite3_column_blob(pStmt, i);
      sqlite3_result_blob(ctx, z, sqlite3_column_bytes(pStmt, i), SQLITE_TRANSIENT);
      break;
    }
    default:
      break; /* NULL is the default result */
  }
}
