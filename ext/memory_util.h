/*
** Small helpers every file of the extension may use. This file and
** memory_util.c depend on nothing else of the project.
*/
#ifndef MEMORY_UTIL_H
#define MEMORY_UTIL_H

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

/* Return column i of a stepped statement as the result of ctx, keeping its
** type. Cheaper than sqlite3_result_value(ctx, sqlite3_column_value(..)),
** which copies the value into a fresh allocation on every call in 3.40. */
void memResultColumn(sqlite3_context *ctx, sqlite3_stmt *pStmt, int i);

#endif
