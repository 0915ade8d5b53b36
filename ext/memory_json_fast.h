/* Fast paths over JSON text (memory_messages, the search index); see
** memory_json_fast.c. */
#ifndef MEMORY_JSON_FAST_H
#define MEMORY_JSON_FAST_H

#include "memory_util.h"

#define MSG_CREATED_NULL 0
#define MSG_CREATED_TEXT 1
#define MSG_CREATED_INT 2
#define MSG_CREATED_REAL 3 /* zCreated: the number's JSON text */

/* One message: role and content (nContent -1: NULL) point into the
** result's buffer, NUL-terminated. */
typedef struct MsgFastRow {
  const char *zRole;
  int nRole;
  const char *zContent;
  int nContent;
  int eCreated; /* MSG_CREATED_* */
  const char *zCreated;
  int nCreated;
  sqlite3_int64 iCreated;
} MsgFastRow;

typedef struct MsgFastResult {
  MsgFastRow *aRow;
  int nRow;
  char *zBuf; /* the texts the rows point into */
} MsgFastResult;

#define MSG_FAST_OK 0
#define MSG_FAST_REFUSED 1 /* not a shape it is sure of: run the query */
#define MSG_FAST_NOMEM 2

/* Read the conversation z[0..n) into *pRes (free with memMessagesFastFree). */
int memMessagesFast(const char *z, int n, MsgFastResult *pRes);
void memMessagesFastFree(MsgFastResult *pRes);

/* The text the search index holds for the value z[0..n): MSG_FAST_OK with
** *pzText (sqlite3_free it) for a JSON object or array, SEARCH_TEXT_AS_IS
** when it is the value itself, MSG_FAST_REFUSED when the query must
** decide, or MSG_FAST_NOMEM. */
#define SEARCH_TEXT_AS_IS 3
int memSearchText(const char *z, int n, char **pzText, int *pnText);

#endif
