/*
** What the four files of the local backend share: memory_local.c
** (lifecycle, cursor), memory_local_schema.c (triggers, indexes, history,
** the commands that check and repair them), memory_local_plan.c (planner)
** and memory_local_write.c (writes, quotas, expiry, the search index's
** upkeep).
*/
#ifndef MEMORY_LOCAL_H
#define MEMORY_LOCAL_H

#include "memory_backend.h"
#include "memory_names.h"
#include "memory_sql.h" /* generated from sql/ext/ by the Makefile */

#include <stdlib.h>
#include <string.h>

/* idxNum of a plan (memory_local_plan.c): the columns it reads, plus: */
#define PLAN_COLUMNS 0xff
#define PLAN_SEARCH 0x100
#define PLAN_AS_OF 0x200     /* reads "<name>_versions" at the time :tN */
#define PLAN_BAD_AS_OF 0x400 /* as_of with an operator other than = */
#define PLAN_SCANS 0x800     /* may read many rows: worth asking whether
                             ** anything can expire (not one (ns, key)) */
#define PLAN_NO_EXPIRY 0x1000 /* (xFilter's) nothing in the table can
                              ** expire: the statement without the filter */
#define EXPIRY_FILTER "(expires_at IS NULL OR expires_at > :now)"

#define STMT_CACHE_SIZE 8

/* How many expired entries of its namespace a write deletes, at most,
** besides the one it writes: bounded work per write. */
#define PURGE_PER_WRITE 8
#define PURGE_PER_WRITE_SQL "8"

/* Statements of the write path, prepared once per table. */
enum {
  W_INSERT,         /* plain INSERT: a duplicate is a constraint error */
  W_INSERT_REPLACE, /* INSERT OR REPLACE: upsert, UPDATE triggers fire */
  W_INSERT_IGNORE,  /* INSERT OR IGNORE: keep the old row */
  W_UPDATE,
  W_DELETE,
  W_TAKE_OVER,      /* UPDATE OR REPLACE onto another entry: it takes the
                    ** moved entry's value and times (see localUpdateRow) */
  W_FIND,           /* rowid of (namespace, key) */
  W_EXISTS,         /* a row if entry ?1 exists */
  W_NAMESPACE_OF,   /* a row if entry ?1 is in namespace ?2 */
  W_EXPIRED,        /* expired entries of a namespace, a few */
  W_EXPIRED_KEY,    /* the entry written, if it has expired */
  W_ANY_EXPIRING,   /* a row if any entry has an expires_at */
  W_COUNT
};

/* How xFilter binds a plan's parameters (memory_local_plan.c). */
typedef struct MemPlanParams MemPlanParams;

/* A prepared read statement, kept across queries. A cursor that takes one
** marks it inUse until it lets go (cursorRelease): a statement at its end
** is no longer "busy" to SQLite, but its cursor may still reset it. */
typedef struct CachedStmt {
  int idxNum;
  int inUse;
  int stale;         /* the table was renamed while a cursor held it: the
                     ** cursor finishes with it, then it is finalized */
  char *zPlan;
  sqlite3_stmt *pStmt;
  MemPlanParams *pParams; /* how to bind pStmt's parameters */
} CachedStmt;

/* Statements that keep the search index ("<name>_search") equal to the rows
** when search is on. They run from xUpdate, beside each write, rather than
** from triggers: a trigger that writes to an FTS5 table is refused under
** PRAGMA trusted_schema=OFF, and an extension's own statements are not. */
enum {
  S_TEXT_ID,    /* the text entry ?1 has in the index (read before a write) */
  S_FORGET,     /* drop entry ?1, whose text was ?2, from the index */
  S_INDEX_ID,   /* add entry ?1's text (after a write) */
  S_INDEX_KEY,  /* the same for the entry (?1, ?2) */
  S_COUNT
};

typedef struct LocalState {
  sqlite3_stmt *aWrite[W_COUNT];
  sqlite3_stmt *aSearch[S_COUNT];
  sqlite3_stmt *pSchemaVersion; /* PRAGMA schema_version, for triggersIntact */
  sqlite3_stmt *pTriggers;      /* how many quota triggers there are */
  int iCheckedVersion;          /* schema version they were last seen at */
  CachedStmt aCache[STMT_CACHE_SIZE];
  int iNextEvict;
  /* Whether the table holds entries that can expire, as far as this write
  ** transaction knows (-1: not looked yet; xBegin forgets it): no other
  ** connection writes during it, and this one's own writes set it. A
  ** table where nothing expires then pays one look per transaction, not
  ** one per written row. */
  int anyExpiring;
  int isUtf8;          /* the connection's text is UTF-8 */
  MemBuffer utf8Column; /* memResultColumn's, when it is */
} LocalState;

typedef struct LocalCursor {
  sqlite3_vtab_cursor base;
  sqlite3_stmt *pStmt;
  CachedStmt *pSlot; /* where pStmt is cached, or 0: finalize it on close */
  MemPlanParams *pParams; /* pStmt's (the slot's, or the cursor's own) */
  int eof;
  char *zQuery;      /* the MATCH query of a search, for error messages */
  int idxNum;        /* the plan pStmt runs: xFilter's idxNum and idxStr */
  const char *zPlan;
  double asOf;       /* an as_of plan's time (the as_of column reads it) */
} LocalCursor;

/* Columns a cursor's SELECT may have (memLocalReadSql): the id always, as
** its first; the others only when the query uses them, found through
** memLocalPlanColumn(). */
#define SEL_ID 0
#define SEL_NAMESPACE 1
#define SEL_KEY 2
#define SEL_VALUE 3
#define SEL_UPDATED_AT 4
#define SEL_CREATED_AT 5
#define SEL_RANK 6
#define SEL_EXPIRES_AT 7
#define SEL_COUNT 8

#define TODAY_SQL "CAST(julianday('now') - 2440587.5 AS INTEGER)"

/* memory_local_plan.c */
int memLocalBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo);
char *memLocalReadSql(MemVtab *p, int idxNum, const char *zPlan);
/* 0: out of memory. isUtf8: LocalState's. */
MemPlanParams *memLocalPlanParams(sqlite3_stmt *pStmt, int isUtf8);
void memLocalPlanParamsFree(MemPlanParams *pParams);
/* The statement's column holding SEL_* iSel, or -1 (not selected: NULL). */
int memLocalPlanColumn(const MemPlanParams *pParams, int iSel);
int memLocalBindPlan(sqlite3_stmt *pStmt, MemPlanParams *pParams, int argc,
                     sqlite3_value **argv);
char *memLocalSearchQuery(sqlite3_stmt *pStmt, int argc, sqlite3_value **argv);

/* memory_local_schema.c: the objects beside "<name>_data" */
int memLocalDropObjects(MemVtab *p);      /* triggers and views */
int memLocalMakeTriggers(MemVtab *p, const char *zName, char **pzErr);
int memLocalMakeIndexes(MemVtab *p, int withHistory); /* those missing */
int memLocalTableExists(MemVtab *p, const char *zSuffix, int *pExists);
int memLocalStartHistory(MemVtab *p, char **pzErr);
int memLocalForgetHistory(MemVtab *p);
int memLocalCommand(MemVtab *p, const char *zCmd, char **pzErr);

/* memory_local_write.c */
char *memLocalExpand(const char *zTemplate, MemVtab *p, const char *zName);
int memLocalExec(MemVtab *p, const char *zName, const char *zTemplate,
                 char **pzErr);
int memLocalUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                   sqlite3_int64 *pRowid);
int memLocalBegin(sqlite3_vtab *pVtab);
int memLocalAnyExpiring(MemVtab *p, int *pAny);

#endif
