/*
** memory_messages(value): a table-valued function that turns one stored
** conversation into rows (idx, role, content, created_at).
**
**   SELECT m.role, count(*) FROM mem, memory_messages(mem.value) AS m GROUP BY 1;
**
** The shapes it understands, and how, are in sql/ext/messages.sql: the work is
** done by SQLite's own JSON functions, this file only runs that query for
** each value. The query is prepared once per connection: the eponymous
** table keeps one spare statement that a cursor takes when it opens and
** gives back when it closes (an agent's turn runs one statement that reads
** one conversation, so preparing per statement cost more than the reading).
** A second cursor open at the same time (a self-join) prepares its own.
**
** The common shape, an array of {role, content} messages, is read by the
** fast path of memory_json_fast.c instead, which gives the same rows
** without the query; anything it is not sure of goes to the query.
*/
#include "memory_messages.h"
#include "memory_json_fast.h"
#include "memory_sql.h"

#include <string.h>

#define MSG_COL_IDX 0
#define MSG_COL_ROLE 1
#define MSG_COL_CONTENT 2
#define MSG_COL_CREATED_AT 3
#define MSG_COL_VALUE 4 /* HIDDEN: the function's argument */
#define MSG_SCHEMA \
  "CREATE TABLE x(idx INTEGER, role TEXT, content TEXT, created_at, value HIDDEN)"

typedef struct MsgVtab {
  sqlite3_vtab base;
  sqlite3 *db;
  sqlite3_stmt *pSpare; /* the prepared query, when no cursor holds it */
  sqlite3_stmt *pReal;  /* SELECT CAST(?1 AS REAL): a JSON real's value */
} MsgVtab;

typedef struct MsgCursor {
  sqlite3_vtab_cursor base;
  sqlite3_stmt *pStmt;
  int eof;
  int isFast;          /* rows come from fast, not pStmt */
  MsgFastResult fast;
  int iRow;            /* the fast row the cursor is on */
} MsgCursor;

static int msgConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                      sqlite3_vtab **ppVtab, char **pzErr) {
  MsgVtab *p;
  int rc;
  (void)pAux, (void)argc, (void)argv, (void)pzErr;
  rc = sqlite3_declare_vtab(db, MSG_SCHEMA);
  if (rc != SQLITE_OK) return rc;
  p = sqlite3_malloc(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int msgDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_finalize(((MsgVtab *)pVtab)->pReal);
  sqlite3_finalize(((MsgVtab *)pVtab)->pSpare);
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* The only plan: the value argument, as `value = ?`. */
static int msgBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int i;
  (void)pVtab;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if (c->iColumn == MSG_COL_VALUE && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      if (!c->usable) return SQLITE_CONSTRAINT;
      pInfo->aConstraintUsage[i].argvIndex = 1;
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->estimatedCost = 10;
      pInfo->estimatedRows = 20;
      pInfo->idxNum = 1;
      return SQLITE_OK;
    }
  }
  pInfo->idxNum = 0; /* no argument: no rows */
  pInfo->estimatedCost = 1;
  pInfo->estimatedRows = 1;
  return SQLITE_OK;
}

static int msgOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  MsgVtab *p = (MsgVtab *)pVtab;
  MsgCursor *c = sqlite3_malloc(sizeof(*c));
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->eof = 1;
  c->pStmt = p->pSpare; /* 0 when another cursor holds it */
  p->pSpare = 0;
  *ppCursor = &c->base;
  return SQLITE_OK;
}

static int msgClose(sqlite3_vtab_cursor *pCur) {
  MsgCursor *c = (MsgCursor *)pCur;
  MsgVtab *p = (MsgVtab *)pCur->pVtab;
  if (c->pStmt && p->pSpare == 0) {
    sqlite3_reset(c->pStmt);
    sqlite3_clear_bindings(c->pStmt); /* do not keep the value alive */
    p->pSpare = c->pStmt;
  } else {
    sqlite3_finalize(c->pStmt);
  }
  memMessagesFastFree(&c->fast);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int msgNext(sqlite3_vtab_cursor *pCur) {
  MsgCursor *c = (MsgCursor *)pCur;
  int rc;
  if (c->isFast) {
    if (++c->iRow >= c->fast.nRow) c->eof = 1;
    return SQLITE_OK;
  }
  rc = sqlite3_step(c->pStmt);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  c->eof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  rc = sqlite3_reset(c->pStmt);
  memSetError(pCur->pVtab, "memory: memory_messages failed: %s",
              sqlite3_errmsg(((MsgVtab *)pCur->pVtab)->db));
  return rc;
}

static int msgFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  MsgCursor *c = (MsgCursor *)pCur;
  MsgVtab *p = (MsgVtab *)pCur->pVtab;
  int rc;
  (void)idxStr;
  c->eof = 1;
  c->isFast = 0;
  memMessagesFastFree(&c->fast);
  if (idxNum == 0 || argc < 1 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    return SQLITE_OK; /* only text can hold a conversation */
  }
  rc = memMessagesFast((const char *)sqlite3_value_text(argv[0]),
                       sqlite3_value_bytes(argv[0]), &c->fast);
  if (rc == MSG_FAST_NOMEM) return SQLITE_NOMEM;
  if (rc == MSG_FAST_OK) {
    c->isFast = 1;
    c->iRow = 0;
    c->eof = c->fast.nRow == 0;
    return SQLITE_OK;
  }
  if (c->pStmt == 0) {
    rc = sqlite3_prepare_v3(p->db, memSqlMessages, -1, SQLITE_PREPARE_PERSISTENT,
                            &c->pStmt, 0);
    if (rc != SQLITE_OK) {
      memSetError(pCur->pVtab, "memory: memory_messages cannot start: %s",
                  sqlite3_errmsg(p->db));
      return rc;
    }
  } else {
    sqlite3_reset(c->pStmt);
  }
  sqlite3_bind_value(c->pStmt, 1, argv[0]);
  c->eof = 0;
  return msgNext(pCur);
}

static int msgEof(sqlite3_vtab_cursor *pCur) { return ((MsgCursor *)pCur)->eof; }

/* The REAL a JSON number's text stands for, as SQLite's JSON functions
** give it: they convert with the same routine as CAST. */
static int realOf(MsgCursor *c, const char *z, int n, double *pR) {
  MsgVtab *p = (MsgVtab *)c->base.pVtab;
  int rc = SQLITE_OK;
  if (p->pReal == 0) {
    rc = sqlite3_prepare_v3(p->db, "SELECT CAST(?1 AS REAL)", -1,
                            SQLITE_PREPARE_PERSISTENT, &p->pReal, 0);
    if (rc != SQLITE_OK) return rc;
  }
  sqlite3_bind_text(p->pReal, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(p->pReal) == SQLITE_ROW) *pR = sqlite3_column_double(p->pReal, 0);
  return sqlite3_reset(p->pReal);
}

/* A column of the fast path's current row. */
static int fastColumn(MsgCursor *c, sqlite3_context *ctx, int i) {
  const MsgFastRow *r = &c->fast.aRow[c->iRow];
  switch (i) {
    case MSG_COL_IDX:
      sqlite3_result_int(ctx, c->iRow);
      break;
    case MSG_COL_ROLE:
      sqlite3_result_text(ctx, r->zRole, r->nRole, SQLITE_TRANSIENT);
      break;
    case MSG_COL_CONTENT:
      if (r->nContent >= 0) {
        sqlite3_result_text(ctx, r->zContent, r->nContent, SQLITE_TRANSIENT);
      }
      break;
    case MSG_COL_CREATED_AT:
      if (r->eCreated == MSG_CREATED_TEXT) {
        sqlite3_result_text(ctx, r->zCreated, r->nCreated, SQLITE_TRANSIENT);
      } else if (r->eCreated == MSG_CREATED_INT) {
        sqlite3_result_int64(ctx, r->iCreated);
      } else if (r->eCreated == MSG_CREATED_REAL) {
        double v = 0;
        int rc = realOf(c, r->zCreated, r->nCreated, &v);
        if (rc != SQLITE_OK) return rc;
        sqlite3_result_double(ctx, v);
      }
      break;
  }
  return SQLITE_OK;
}

static int msgColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  MsgCursor *c = (MsgCursor *)pCur;
  if (c->isFast) return fastColumn(c, ctx, i);
  if (i < MSG_COL_VALUE) {
    memResultColumn(ctx, c->pStmt, i, 0);
  }
  return SQLITE_OK;
}

static int msgRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  MsgCursor *c = (MsgCursor *)pCur;
  *pRowid = c->isFast ? c->iRow : sqlite3_column_int64(c->pStmt, MSG_COL_IDX);
  return SQLITE_OK;
}

static const sqlite3_module msgModule = {
    /* iVersion */ 0,
    /* xCreate: eponymous-only */ 0,
    msgConnect, msgBestIndex, msgDisconnect, 0, msgOpen, msgClose, msgFilter,
    msgNext, msgEof, msgColumn, msgRowid,
    /* xUpdate .. xRollbackTo */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* xShadowName */ 0,
};

int memRegisterMessages(sqlite3 *db) {
  return sqlite3_create_module(db, "memory_messages", &msgModule, 0);
}
