/* The fast path of memory_messages(); see memory_messages_fast.c. */
#ifndef MEMORY_MESSAGES_FAST_H
#define MEMORY_MESSAGES_FAST_H

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

#endif
