/*
** What the three files of the remote backend share: memory_remote.c
** (lifecycle, planning, the cursor), memory_remote_api.c (the hosted
** API's URLs, bodies and answers) and memory_remote_writes.c (the write
** buffer, savepoints, the end of a transaction, rowids).
*/
#ifndef MEMORY_REMOTE_H
#define MEMORY_REMOTE_H

#include "memory_backend.h"
#include "memory_http.h"
#include "memory_names.h"

#include <stdlib.h>
#include <string.h>

/* idxNum of a plan: see memory_remote.c. */
#define RP_NO_NAMESPACE 0x001 /* no usable namespace constraint: refuse */
#define RP_NS_IN 0x002        /* namespace is an IN list */
#define RP_KEY 0x004          /* key = or IN */
#define RP_KEY_IN 0x008       /* key is an IN list */
#define RP_LIMIT 0x010        /* LIMIT given: list only that many */
#define RP_OFFSET 0x020       /* OFFSET given (SQLite still skips the rows) */
#define RP_VALUES 0x040       /* value or created_at is read */
#define RP_NEWEST_FIRST 0x080 /* ORDER BY updated_at DESC: the API's order */
#define RP_MATCH 0x100        /* `t MATCH ...`: refused, the API cannot search */
#define RP_AS_OF 0x200        /* `as_of = t`: refused, the API keeps no versions */

#define LIST_MAX 1000 /* the API lists at most the newest 1000 keys */

/* A write waiting for the end of the transaction. */
typedef struct PendingWrite {
  int isDelete;
  char *zNs, *zKey;
  char *zBody; /* PUT body */
} PendingWrite;

typedef struct RowName {
  char *zNs, *zKey;
} RowName;

typedef struct RemoteState {
  MemHttp *http;
  PendingWrite *aWrite;
  int nWrite, nWriteAlloc;
  int *aSavepoint; /* writes queued in the transaction when each began */
  int nSavepoint;
  int nSent;       /* writes of the transaction already flushed: pending
                   ** write i is the transaction's write nSent + i */
  char *zPoison;   /* why the transaction can no longer commit, or 0 */
  RowName *aRowName; /* rowid N names aRowName[N-1]: for UPDATE/DELETE */
  int nRowName, nRowNameAlloc;
  int *aRowHash;     /* open addressing over aRowName: rowid, or 0 */
  int nRowHash;      /* slots, a power of two, at least 2 * nRowName */
  int nCursor;       /* cursors open on this table */
  sqlite3_stmt *pParseGet, *pCheckList, *pParseList, *pPutBody;
  sqlite3_int64 generation; /* of the settings in use (memConfigGeneration) */
} RemoteState;

typedef struct RemoteRow {
  char *zNs, *zKey;
  double updatedAt;
  int hasUpdatedAt;
  MemRequest *pGet;  /* GET of this key, once launched */
  int fetched;       /* value/created_at below are set */
  char *zValue;
  int nValue;
  double createdAt;
} RemoteRow;

typedef struct RemoteCursor {
  sqlite3_vtab_cursor base;
  int needGet;       /* every row needs its GET */
  RemoteRow *aRow;
  int nRow, nRowAlloc;
  int iRow;          /* the current row */
  int iLaunched;     /* rows below this have had their GET launched */
  int eof;
  sqlite3_int64 rowid;
} RemoteCursor;

#define STATE(p) ((RemoteState *)((MemVtab *)(p))->pState)

/* memory_remote.c: the remote table zName of db open on this connection
** (for memory_sync), or 0. */
MemVtab *memRemoteFind(sqlite3 *db, const char *zSchema, const char *zName);

/* memory_remote_api.c */
char *memRemoteEntryUrl(MemVtab *p, const char *zNs, const char *zKey);
int memRemotePrepareOnce(MemVtab *p, sqlite3_stmt **pp, const char *zSql);
char *memRemotePutBody(MemVtab *p, sqlite3_value *value);
int memRemoteParseEntry(MemVtab *p, const MemRequest *r, RemoteRow *pRow,
                        char **pzWhy);
int memRemoteNotFound(const MemRequest *r);

/* memory_remote_writes.c */
void memRemoteClearWrites(RemoteState *s, int iFrom);
void memRemoteClearRowNames(RemoteState *s);
int memRemoteFlushWrites(MemVtab *p);
int memRemoteRowidOf(RemoteState *s, const char *zNs, const char *zKey,
                     sqlite3_int64 *pRowid);
int memRemoteUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                    sqlite3_int64 *pRowid);
int memRemoteSync(sqlite3_vtab *pVtab);
int memRemoteCommit(sqlite3_vtab *pVtab);
int memRemoteRollback(sqlite3_vtab *pVtab);
int memRemoteSavepoint(sqlite3_vtab *pVtab, int iSavepoint);
int memRemoteRelease(sqlite3_vtab *pVtab, int iSavepoint);
int memRemoteRollbackTo(sqlite3_vtab *pVtab, int iSavepoint);

#endif
