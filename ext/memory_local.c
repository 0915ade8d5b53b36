/*
** Local backend: rows live in the shadow table "<name>_data", quotas are
** kept by the triggers of sql/ext/local_triggers.sql.
**
** Query plan (shared by xBestIndex and xFilter)
** ----------------------------------------------
** xBestIndex turns the usable constraints and ORDER BY into the tail of a
** SELECT on "<name>_data" and hands it over as idxStr, so the plan reads
** plainly in EXPLAIN QUERY PLAN, e.g.
**     WHERE namespace = :a1 AND key = :a2
** xFilter prepares "SELECT ... FROM <name>_data " || idxStr (cached) and
** binds each named parameter from argv:
**     :aN    argv[N-1] as is (=, <, <=, >, >=, LIMIT, OFFSET)
**     :inN   argv[N-1] is an IN list consumed whole (sqlite3_vtab_in), bound
**            as a JSON array of its values' text and read by json_each
**     :llN / :lhN   lower / upper bound of the literal prefix of the LIKE
**            pattern argv[N-1] (the LIKE itself is still checked by SQLite)
**     :glN / :ghN   the same for a GLOB pattern
**     :mN    argv[N-1] is the query of `t MATCH ...`: the plan then reads
**            "<name>_search" (the FTS5 index, see sql/ext/local_search.sql)
**            joined to "<name>_data" by id, and may ORDER BY its rank
** idxNum is the bitmask of the columns the query uses (colUsed: bit N is
** column N, MEM_COL_*; the others are read as NULL, so a scan that only
** counts or reads values decodes nothing else), plus PLAN_SEARCH.
*/
#define PLAN_COLUMNS 0x3f
#define PLAN_SEARCH 0x100

#include "memory_backend.h"
#include "memory_names.h"
#include "memory_sql.h" /* generated from sql/ by the Makefile */

#include <stdlib.h>
#include <string.h>

#define STMT_CACHE_SIZE 8

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
  W_NAMESPACE_OF,   /* a row if entry ?1 is in namespace ?2 */
  W_COUNT
};

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
} LocalState;

typedef struct LocalCursor {
  sqlite3_vtab_cursor base;
  sqlite3_stmt *pStmt;
  CachedStmt *pSlot; /* where pStmt is cached, or 0: finalize it on close */
  int eof;
  char *zQuery;      /* the MATCH query of a search, for error messages */
} LocalCursor;

/* Columns of the cursor's SELECT; see readSql(). */
#define SEL_ID 0
#define SEL_NAMESPACE 1
#define SEL_KEY 2
#define SEL_VALUE 3
#define SEL_UPDATED_AT 4
#define SEL_CREATED_AT 5
#define SEL_RANK 6

/* ---------------------------------------------------------------------- */
/* Schema: the sql/ext/ templates with {S} and {T} filled in.                 */

#define TODAY_SQL "CAST(julianday('now') - 2440587.5 AS INTEGER)"

/* Expand a sql/ template for table p: {S} and {T} become the schema and
** table names (escaped for a "quoted identifier"), {MAX_BYTES} and
** {MAX_WRITES} the limits as literals (settings never change after CREATE,
** and a literal saves two lookups per written row), {TODAY} the UTC day. */
static char *expandTemplate(const char *zTemplate, MemVtab *p,
                            const char *zName) {
  sqlite3_str *pOut = sqlite3_str_new(0);
  const char *z;
  for (z = zTemplate; *z; z++) {
    if (strncmp(z, "{S}", 3) == 0 || strncmp(z, "{T}", 3) == 0) {
      sqlite3_str_appendf(pOut, "%w", z[1] == 'S' ? p->zSchema : zName);
      z += 2;
    } else if (strncmp(z, "{MAX_BYTES}", 11) == 0) {
      sqlite3_str_appendf(pOut, "%lld", p->settings.maxNamespaceBytes);
      z += 10;
    } else if (strncmp(z, "{MAX_WRITES}", 12) == 0) {
      sqlite3_str_appendf(pOut, "%lld", p->settings.maxWritesPerDay);
      z += 11;
    } else if (strncmp(z, "{TNAME}", 7) == 0) {
      sqlite3_str_appendf(pOut, "%Q", zName);
      z += 6;
    } else if (strncmp(z, "{TODAY}", 7) == 0) {
      sqlite3_str_appendall(pOut, TODAY_SQL);
      z += 6;
    } else if (strncmp(z, "{TEXT:", 6) == 0 && strchr(z, '}')) {
      /* The text the search index holds for a value: X.value, or, for a
      ** JSON object or array, its string values, one per line. */
      int n = (int)(strchr(z, '}') - (z + 6));
      char *zRef = sqlite3_mprintf("%.*s.value", n, z + 6);
      sqlite3_str_appendf(
          pOut,
          "CASE WHEN json_valid(%s) AND json_type(%s) IN ('object', 'array') "
          "THEN coalesce((SELECT group_concat(j.value, char(10)) FROM "
          "json_tree(%s) AS j WHERE j.type = 'text'), '') ELSE %s END",
          zRef, zRef, zRef, zRef);
      sqlite3_free(zRef);
      z += 6 + n;
    } else {
      sqlite3_str_appendchar(pOut, 1, *z);
    }
  }
  return sqlite3_str_finish(pOut);
}

/* Run a template for table p under the name zName (p->zName, or the new
** name during a rename). */
static int execTemplate(MemVtab *p, const char *zName, const char *zTemplate,
                        char **pzErr) {
  char *zSql = expandTemplate(zTemplate, p, zName);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK && pzErr) {
    *pzErr = sqlite3_mprintf("memory: cannot build the backing tables of "
                             "'%s': %s",
                             p->zName, sqlite3_errmsg(p->db));
  }
  return rc;
}

static int dropTriggersAndViews(MemVtab *p) {
  const char *azDrop[] = {"TRIGGER", "quota_insert", "TRIGGER", "quota_update",
                          "TRIGGER", "quota_delete", "VIEW", "usage"};
  int i, rc = SQLITE_OK;
  for (i = 0; i < (int)(sizeof(azDrop) / sizeof(azDrop[0])) && rc == SQLITE_OK;
       i += 2) {
    rc = memExecPrintf(p->db, "DROP %s IF EXISTS \"%w\".\"%w_%s\"", azDrop[i],
                       p->zSchema, p->zName, azDrop[i + 1]);
  }
  return rc;
}

/* The quota triggers and the usage view of table p under the name zName. */
static int makeTriggers(MemVtab *p, const char *zName, char **pzErr) {
  return execTemplate(p, zName, memSqlLocalTriggers, pzErr);
}

/* Does "<name>_search" exist? */
static int searchIndexExists(MemVtab *p, int *pExists) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = '%q_search'",
      p->zSchema, p->zName);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  *pExists = sqlite3_step(pStmt) == SQLITE_ROW;
  return sqlite3_finalize(pStmt);
}

/* Every statement of the table goes (rename, drop, disconnect), except
** the cached ones an open cursor is still stepping: SQLite lets ALTER
** TABLE RENAME run while a query reads the table, and that cursor goes on
** with its statement (the renamed tables keep their pages). They are
** marked stale, never handed out again, and finalized on release. */
static void finalizeAll(LocalState *s) {
  int i;
  for (i = 0; i < W_COUNT; i++) {
    sqlite3_finalize(s->aWrite[i]);
    s->aWrite[i] = 0;
  }
  for (i = 0; i < S_COUNT; i++) {
    sqlite3_finalize(s->aSearch[i]);
    s->aSearch[i] = 0;
  }
  sqlite3_finalize(s->pSchemaVersion);
  sqlite3_finalize(s->pTriggers);
  s->pSchemaVersion = s->pTriggers = 0;
  s->iCheckedVersion = 0;
  for (i = 0; i < STMT_CACHE_SIZE; i++) {
    if (s->aCache[i].inUse) {
      s->aCache[i].stale = 1;
      continue;
    }
    sqlite3_finalize(s->aCache[i].pStmt);
    sqlite3_free(s->aCache[i].zPlan);
    memset(&s->aCache[i], 0, sizeof(CachedStmt));
  }
}

static int localInit(MemVtab *p, int isCreate, char **pzErr) {
  int rc;
  LocalState *s = sqlite3_malloc(sizeof(*s));
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  p->pState = s;
  if (!isCreate) return SQLITE_OK;
  rc = execTemplate(p, p->zName, memSqlLocalTables, pzErr);
  if (rc == SQLITE_OK && p->settings.search) {
    rc = execTemplate(p, p->zName, memSqlLocalSearch, pzErr);
  }
  if (rc == SQLITE_OK) rc = makeTriggers(p, p->zName, pzErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(s);
    p->pState = 0;
  }
  return rc;
}

/* Format 1 (0.1.0) to 2: the triggers and the usage view are made again
** from the current sql/ext/ templates; the tables are unchanged. */
static int localUpgrade(MemVtab *p, int iFromFormat, char **pzErr) {
  int rc;
  (void)iFromFormat;
  rc = dropTriggersAndViews(p);
  if (rc == SQLITE_OK) rc = makeTriggers(p, p->zName, pzErr);
  return rc;
}

/* A setting changed. Limits are literals in the triggers and the usage
** view: they are made again from the templates, which changes the schema,
** so every other connection reconnects to the table, and loads the new
** settings, at its next statement. Search turned on makes the index (or
** refills it: turned off, it was emptied, as a table cannot be dropped
** while the command's own statement runs). */
static int localSettingsChanged(MemVtab *p, const char *zSetting,
                                char **pzErr) {
  int rc = dropTriggersAndViews(p), exists = 0;
  if (rc == SQLITE_OK) rc = searchIndexExists(p, &exists);
  if (rc == SQLITE_OK && strcmp(zSetting, "search") == 0) {
    if (p->settings.search && !exists) {
      rc = execTemplate(p, p->zName, memSqlLocalSearch, pzErr);
      exists = rc == SQLITE_OK;
    }
    if (rc == SQLITE_OK && exists) {
      rc = p->settings.search
               ? execTemplate(p, p->zName, memSqlLocalSearchLoad, pzErr)
               : memExecPrintf(p->db,
                               "INSERT INTO \"%w\".\"%w_search\"(\"%w_search\") "
                               "VALUES ('delete-all')",
                               p->zSchema, p->zName, p->zName);
    }
  }
  if (rc == SQLITE_OK) rc = makeTriggers(p, p->zName, pzErr);
  return rc;
}

/* The first row of zSql (sqlite3_mprintf'd by the caller, freed here), a
** description of a difference, becomes *pzErr and SQLITE_CORRUPT_VTAB. */
static int firstDifference(MemVtab *p, char *zSql, char **pzErr) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pzErr = sqlite3_mprintf(
        "memory: integrity-check of '%s' failed: %s; run "
        "INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
        p->zName, sqlite3_column_text(pStmt, 0), p->zName, p->zName);
    sqlite3_finalize(pStmt);
    return SQLITE_CORRUPT_VTAB;
  }
  return sqlite3_finalize(pStmt);
}

/* The triggers are there, the running totals per namespace match the rows,
** and the search index (when on) holds exactly the rows' ids and is sound
** by FTS5's own check. *pzErr names the first difference and what to do. */
static int localIntegrityCheck(MemVtab *p, char **pzErr) {
  const char *azTrigger[] = {"quota_insert", "quota_update", "quota_delete"};
  int nTrigger = 3, i, rc;
  sqlite3_str *pWant = sqlite3_str_new(0);
  char *zWant;
  for (i = 0; i < nTrigger; i++) {
    sqlite3_str_appendf(pWant, "%s(%Q || '_%s')", i ? ", " : "", p->zName,
                        azTrigger[i]);
  }
  zWant = sqlite3_str_finish(pWant);
  if (zWant == 0) return SQLITE_NOMEM;
  rc = firstDifference(p, sqlite3_mprintf(
      "WITH want(name) AS (VALUES %s) "
      "SELECT 'trigger ''' || name || ''' is missing' FROM want "
      "WHERE name NOT IN (SELECT name FROM \"%w\".sqlite_schema "
      "WHERE type = 'trigger') "
      "UNION ALL "
      "SELECT printf('namespace ''%%s'': the running totals say %%d keys and "
      "%%d bytes, the rows hold %%d keys and %%d bytes', "
      "coalesce(q.namespace, d.namespace), coalesce(q.keys, 0), "
      "coalesce(q.bytes, 0), coalesce(d.keys, 0), coalesce(d.bytes, 0)) "
      "FROM \"%w\".\"%w_quota\" AS q FULL JOIN (SELECT namespace, count(*) AS "
      "keys, sum(length(CAST(value AS BLOB))) AS bytes FROM "
      "\"%w\".\"%w_data\" GROUP BY namespace) AS d ON d.namespace = q.namespace "
      "WHERE coalesce(q.keys, 0) <> coalesce(d.keys, 0) "
      "OR coalesce(q.bytes, 0) <> coalesce(d.bytes, 0) LIMIT 1",
      zWant, p->zSchema, p->zSchema, p->zName, p->zSchema, p->zName), pzErr);
  sqlite3_free(zWant);
  if (rc != SQLITE_OK || !p->settings.search) return rc;
  rc = firstDifference(p, sqlite3_mprintf(
      "SELECT printf('the search index lacks entry %%d', id) "
      "FROM \"%w\".\"%w_data\" WHERE id NOT IN "
      "(SELECT id FROM \"%w\".\"%w_search_docsize\") UNION ALL "
      "SELECT printf('the search index has entry %%d, which is gone', id) "
      "FROM \"%w\".\"%w_search_docsize\" WHERE id NOT IN "
      "(SELECT id FROM \"%w\".\"%w_data\") LIMIT 1",
      p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema, p->zName,
      p->zSchema, p->zName), pzErr);
  if (rc == SQLITE_OK) {
    rc = memExecPrintf(p->db,
                       "INSERT INTO \"%w\".\"%w_search\"(\"%w_search\") "
                       "VALUES ('integrity-check')",
                       p->zSchema, p->zName, p->zName);
    if (rc != SQLITE_OK) {
      *pzErr = sqlite3_mprintf(
          "memory: integrity-check of '%s' failed: the search index: %s; run "
          "INSERT INTO \"%w\"(\"%w\") VALUES ('rebuild')",
          p->zName, sqlite3_errmsg(p->db), p->zName, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  return rc;
}

/* Totals computed again from the rows (the day's write counts stay), the
** search index made again from the rows, and the triggers and view too. */
static int localRebuild(MemVtab *p, char **pzErr) {
  int rc = memExecPrintf(
      p->db,
      "INSERT INTO \"%w\".\"%w_quota\"(namespace, bytes, keys, day, writes) "
      "SELECT namespace, sum(length(CAST(value AS BLOB))), count(*), " TODAY_SQL
      ", 0 FROM \"%w\".\"%w_data\" WHERE true GROUP BY namespace "
      "ON CONFLICT(namespace) DO UPDATE SET bytes = excluded.bytes, "
      "keys = excluded.keys;"
      "UPDATE \"%w\".\"%w_quota\" SET bytes = 0, keys = 0 WHERE namespace "
      "NOT IN (SELECT namespace FROM \"%w\".\"%w_data\");",
      p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema, p->zName,
      p->zSchema, p->zName);
  if (rc == SQLITE_OK) rc = dropTriggersAndViews(p);
  if (rc == SQLITE_OK && p->settings.search) {
    rc = execTemplate(p, p->zName, memSqlLocalSearchLoad, pzErr);
  }
  if (rc == SQLITE_OK) rc = makeTriggers(p, p->zName, pzErr);
  return rc;
}

static int localCommand(MemVtab *p, const char *zCmd, char **pzErr) {
  if (strcmp(zCmd, "integrity-check") == 0) return localIntegrityCheck(p, pzErr);
  if (strcmp(zCmd, "rebuild") == 0) return localRebuild(p, pzErr);
  return SQLITE_NOTFOUND;
}

static int localDisconnect(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  LocalState *s = p->pState;
  if (s) {
    finalizeAll(s);
    sqlite3_free(s);
    p->pState = 0;
  }
  return SQLITE_OK;
}

static int localDestroy(sqlite3_vtab *pVtab) {
  MemVtab *p = (MemVtab *)pVtab;
  char *zSql;
  int rc;
  finalizeAll(p->pState);
  rc = dropTriggersAndViews(p);
  if (rc != SQLITE_OK) return rc;
  zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_search\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_data\";"
                         "DROP TABLE IF EXISTS \"%w\".\"%w_quota\";",
                         p->zSchema, p->zName, p->zSchema, p->zName, p->zSchema,
                         p->zName);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  return rc;
}

/* Triggers and views carry the table's name, and ALTER TABLE would only
** patch the table names inside them: drop them, rename the tables, and
** create them again under the new name. */
static int localRename(sqlite3_vtab *pVtab, const char *zNew) {
  MemVtab *p = (MemVtab *)pVtab;
  char *zSql;
  int rc, exists = 0;
  finalizeAll(p->pState);
  rc = dropTriggersAndViews(p);
  if (rc != SQLITE_OK) return rc;
  zSql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_data\" RENAME TO \"%w_data\";"
      "ALTER TABLE \"%w\".\"%w_quota\" RENAME TO \"%w_quota\";",
      p->zSchema, p->zName, zNew, p->zSchema, p->zName, zNew);
  rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) rc = searchIndexExists(p, &exists);
  if (rc == SQLITE_OK && exists) {
    /* FTS5 renames its own shadow tables. */
    rc = memExecPrintf(p->db, "ALTER TABLE \"%w\".\"%w_search\" RENAME TO "
                       "\"%w_search\"", p->zSchema, p->zName, zNew);
  }
  if (rc == SQLITE_OK) rc = makeTriggers(p, zNew, 0);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Planning.                                                              */

static const char *columnName(int iCol) {
  switch (iCol) {
    case MEM_COL_NAMESPACE: return "namespace";
    case MEM_COL_KEY: return "key";
    case MEM_COL_VALUE: return "value";
    case MEM_COL_UPDATED_AT: return "updated_at";
    case MEM_COL_RANK: return "rank";
    default: return "created_at";
  }
}

static const char *comparison(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
    default: return 0;
  }
}

static int localBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  MemVtab *p = (MemVtab *)pVtab;
  sqlite3_str *pPlan = sqlite3_str_new(0);
  int i, nArg = 0, iLimit = -1, iOffset = -1, search = 0;
  int nsEq = 0, nsRange = 0, keyEq = 0, otherRange = 0, nsIn = 0, keyIn = 0;
  const char *zSep = "WHERE ";
  double rows;

  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int iCol = c->iColumn, op = c->op;
    const char *zCmp = comparison(op);
    const char *zColl;
    if (!c->usable) continue;
    if (op == SQLITE_INDEX_CONSTRAINT_LIMIT) { iLimit = i; continue; }
    if (op == SQLITE_INDEX_CONSTRAINT_OFFSET) { iOffset = i; continue; }
    if (op == SQLITE_INDEX_CONSTRAINT_MATCH && iCol == MEM_COL_COMMAND) {
      /* `t MATCH q`: the index is read first, joined to the rows by id.
      ** Several MATCH terms all apply (FTS5 takes each). */
      pInfo->aConstraintUsage[i].argvIndex = ++nArg;
      pInfo->aConstraintUsage[i].omit = 1;
      sqlite3_str_appendf(pPlan, "%s\"%w_search\" MATCH :m%d", zSep, p->zName,
                          nArg);
      search = 1;
      zSep = " AND ";
      continue;
    }
    if (iCol < 0 || iCol == MEM_COL_VALUE || iCol > MEM_COL_CREATED_AT) continue;
    zColl = sqlite3_vtab_collation(pInfo, i);
    if (zColl && sqlite3_stricmp(zColl, "BINARY") != 0) continue;

    if (op == SQLITE_INDEX_CONSTRAINT_LIKE || op == SQLITE_INDEX_CONSTRAINT_GLOB) {
      char cKind = op == SQLITE_INDEX_CONSTRAINT_LIKE ? 'l' : 'g';
      if (iCol != MEM_COL_NAMESPACE && iCol != MEM_COL_KEY) continue;
      /* Only the prefix range is pushed down; SQLite still checks the
      ** pattern itself (omit stays 0). */
      pInfo->aConstraintUsage[i].argvIndex = ++nArg;
      sqlite3_str_appendf(pPlan, "%s%s >= :%cl%d AND %s < :%ch%d", zSep,
                          columnName(iCol), cKind, nArg, columnName(iCol),
                          cKind, nArg);
      if (iCol == MEM_COL_NAMESPACE) nsRange = 1; else otherRange = 1;
    } else if (zCmp == 0) {
      continue;
    } else if (op == SQLITE_INDEX_CONSTRAINT_EQ && sqlite3_vtab_in(pInfo, i, -1)) {
      sqlite3_vtab_in(pInfo, i, 1);
      pInfo->aConstraintUsage[i].argvIndex = ++nArg;
      pInfo->aConstraintUsage[i].omit = 1;
      sqlite3_str_appendf(pPlan, "%s%s IN (SELECT value FROM json_each(:in%d))",
                          zSep, columnName(iCol), nArg);
      /* Several values: never a unique scan (one-pass DELETE/UPDATE
      ** would stop after the first row). */
      if (iCol == MEM_COL_NAMESPACE) nsEq = nsIn = 1;
      if (iCol == MEM_COL_KEY) keyEq = keyIn = 1;
    } else {
      pInfo->aConstraintUsage[i].argvIndex = ++nArg;
      pInfo->aConstraintUsage[i].omit = 1;
      sqlite3_str_appendf(pPlan, "%s%s %s :a%d", zSep, columnName(iCol), zCmp,
                          nArg);
      if (op == SQLITE_INDEX_CONSTRAINT_EQ && iCol == MEM_COL_NAMESPACE) nsEq = 1;
      else if (op == SQLITE_INDEX_CONSTRAINT_EQ && iCol == MEM_COL_KEY) keyEq = 1;
      else if (iCol == MEM_COL_NAMESPACE) nsRange = 1;
      else otherRange = 1;
    }
    zSep = " AND ";
  }

  /* ORDER BY on any of the scalar columns is done by the backing query, so
  ** SQLite can go on to offer LIMIT/OFFSET. */
  if (pInfo->nOrderBy > 0) {
    int ok = 1;
    for (i = 0; i < pInfo->nOrderBy; i++) {
      int iCol = pInfo->aOrderBy[i].iColumn;
      if (iCol < 0 || iCol == MEM_COL_VALUE || iCol > MEM_COL_RANK) ok = 0;
      if (iCol == MEM_COL_RANK && !search) ok = 0;
    }
    if (ok) {
      sqlite3_str_appendall(pPlan, " ORDER BY ");
      for (i = 0; i < pInfo->nOrderBy; i++) {
        sqlite3_str_appendf(pPlan, "%s%s%s", i ? ", " : "",
                            columnName(pInfo->aOrderBy[i].iColumn),
                            pInfo->aOrderBy[i].desc ? " DESC" : "");
      }
      pInfo->orderByConsumed = 1;
    }
  }
  /* LIMIT/OFFSET are offered whenever every WHERE term is on this table,
  ** consumed or not: apply them only when no row SQLite would still
  ** filter out, and no order it would still impose, can come after. */
  for (i = 0; i < pInfo->nConstraint; i++) {
    int op = pInfo->aConstraint[i].op;
    if (op == SQLITE_INDEX_CONSTRAINT_LIMIT || op == SQLITE_INDEX_CONSTRAINT_OFFSET) continue;
    if (!pInfo->aConstraintUsage[i].omit) iLimit = iOffset = -1;
  }
  if (pInfo->nOrderBy > 0 && !pInfo->orderByConsumed) iLimit = iOffset = -1;
  if (iLimit >= 0) {
    pInfo->aConstraintUsage[iLimit].argvIndex = ++nArg;
    sqlite3_str_appendf(pPlan, " LIMIT :a%d", nArg);
  }
  if (iOffset >= 0) {
    if (iLimit < 0) sqlite3_str_appendall(pPlan, " LIMIT -1");
    pInfo->aConstraintUsage[iOffset].argvIndex = ++nArg;
    pInfo->aConstraintUsage[iOffset].omit = 1; /* or SQLite skips again */
    sqlite3_str_appendf(pPlan, " OFFSET :a%d", nArg);
  }

  /* Costs fall with each usable constraint; a (namespace, key) match is a
  ** unique index seek, a namespace match a range of the index. */
  /* Never SQLITE_INDEX_SCAN_UNIQUE, though (namespace, key) is unique: it
  ** lets SQLite run an UPDATE or DELETE in one pass without a statement
  ** journal, and then whatever a failing xUpdate wrote before the failure
  ** would stay (see localUpdateRow). */
  if (nsEq && keyEq) {
    rows = 1;
    (void)nsIn;
    (void)keyIn;
  } else if (nsEq) {
    rows = 1000;
  } else if (nsRange) {
    rows = 100000;
  } else {
    rows = 1000000;
  }
  /* A MATCH is always cheaper than leaving it to SQLite, which cannot
  ** evaluate it. */
  if (search) rows /= 1000;
  pInfo->estimatedCost = rows + 10;
  if (keyEq && !nsEq) rows /= 100;
  if (otherRange) rows /= 4;
  pInfo->estimatedRows = (sqlite3_int64)(rows < 1 ? 1 : rows);

  pInfo->idxNum = (int)(pInfo->colUsed & PLAN_COLUMNS) | (search ? PLAN_SEARCH : 0);
  if (sqlite3_str_errcode(pPlan) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(pPlan));
    return SQLITE_NOMEM;
  }
  /* An empty plan (a full scan) still needs a string: finish gives NULL. */
  if (sqlite3_str_length(pPlan) == 0) sqlite3_str_appendall(pPlan, "SCAN");
  pInfo->idxStr = sqlite3_str_finish(pPlan);
  if (pInfo->idxStr == 0) return SQLITE_NOMEM;
  pInfo->needToFreeIdxStr = 1;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Reading.                                                               */

/* The backing SELECT of a plan; columns in the order of SEL_*. */
static char *readSql(MemVtab *p, int idxNum, const char *zPlan) {
  char *zFrom, *zSql;
#define COLUMN_IF_USED(COL, NAME) ((idxNum & (1 << (COL))) ? NAME : "NULL")
  if (idxNum & PLAN_SEARCH) {
    zFrom = sqlite3_mprintf(
        "\"%w\".\"%w_search\" JOIN \"%w\".\"%w_data\" AS d "
        "ON d.id = \"%w_search\".rowid",
        p->zSchema, p->zName, p->zSchema, p->zName, p->zName);
  } else {
    zFrom = sqlite3_mprintf("\"%w\".\"%w_data\" AS d", p->zSchema, p->zName);
  }
  if (zFrom == 0) return 0;
  zSql = sqlite3_mprintf(
      "SELECT d.id, %s, %s, %s, %s, %s, %s FROM %s %s",
      COLUMN_IF_USED(MEM_COL_NAMESPACE, "d.namespace"),
      COLUMN_IF_USED(MEM_COL_KEY, "d.key"), COLUMN_IF_USED(MEM_COL_VALUE, "d.value"),
      COLUMN_IF_USED(MEM_COL_UPDATED_AT, "d.updated_at"),
      COLUMN_IF_USED(MEM_COL_CREATED_AT, "d.created_at"),
      (idxNum & PLAN_SEARCH) && (idxNum & (1 << MEM_COL_RANK)) ? "rank" : "NULL",
      zFrom, strcmp(zPlan, "SCAN") == 0 ? "" : zPlan);
#undef COLUMN_IF_USED
  sqlite3_free(zFrom);
  return zSql;
}

/* A prepared statement for the plan: the cached one when no cursor holds
** it, else a fresh one, cached in a free slot when there is one. *ppSlot is
** the slot the cursor now holds, or 0 when the statement is its own. */
static int planStatement(MemVtab *p, int idxNum, const char *zPlan,
                         sqlite3_stmt **ppStmt, CachedStmt **ppSlot) {
  LocalState *s = p->pState;
  CachedStmt *slot = 0;
  char *zSql;
  int i, rc, inCache = 0;
  if (zPlan == 0) zPlan = "";
  *ppSlot = 0;
  for (i = 0; i < STMT_CACHE_SIZE; i++) {
    CachedStmt *c = &s->aCache[i];
    if (c->pStmt && !c->stale && c->idxNum == idxNum &&
        strcmp(c->zPlan, zPlan) == 0) {
      if (!c->inUse) {
        c->inUse = 1;
        *ppStmt = c->pStmt;
        *ppSlot = c;
        return SQLITE_OK;
      }
      inCache = 1; /* held by another cursor (a self-join): use a fresh one */
    }
  }
  zSql = readSql(p, idxNum, zPlan);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, ppStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK || inCache) return rc;
  /* Cache it in the next slot no cursor holds, if any. */
  for (i = 0; i < STMT_CACHE_SIZE && slot == 0; i++) {
    CachedStmt *c = &s->aCache[(s->iNextEvict + i) % STMT_CACHE_SIZE];
    if (!c->inUse) slot = c;
  }
  if (slot == 0) return SQLITE_OK;
  s->iNextEvict = (int)(slot - s->aCache + 1) % STMT_CACHE_SIZE;
  sqlite3_finalize(slot->pStmt);
  sqlite3_free(slot->zPlan);
  slot->pStmt = 0;
  slot->zPlan = sqlite3_mprintf("%s", zPlan);
  if (slot->zPlan == 0) return SQLITE_OK; /* stays the cursor's own */
  slot->idxNum = idxNum;
  slot->pStmt = *ppStmt;
  slot->inUse = 1;
  *ppSlot = slot;
  return SQLITE_OK;
}

/* Append v as a JSON string (its text form) to pOut. */
static void appendJsonString(sqlite3_str *pOut, sqlite3_value *v) {
  const unsigned char *z = sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v), i;
  sqlite3_str_appendchar(pOut, 1, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = z[i];
    if (c == '"' || c == '\\') {
      sqlite3_str_appendchar(pOut, 1, '\\');
      sqlite3_str_appendchar(pOut, 1, (char)c);
    } else if (c < 0x20) {
      sqlite3_str_appendf(pOut, "\\u%04x", c);
    } else {
      sqlite3_str_appendchar(pOut, 1, (char)c);
    }
  }
  sqlite3_str_appendchar(pOut, 1, '"');
}

/* Bind an IN list, consumed whole, as a JSON array that json_each() gives
** back with the values' own types, so that IN compares exactly as = does:
** integers as JSON integers, reals with 17 significant digits (enough to
** come back as the same double), text as strings. NULL and BLOB values are
** left out: neither equals anything a memory table stores (names are
** text, times are reals), as in a plain table. */
static int bindInList(sqlite3_stmt *pStmt, int iParam, sqlite3_value *pList) {
  sqlite3_str *pOut = sqlite3_str_new(0);
  sqlite3_value *v = 0;
  int rc, first = 1;
  char *zJson;
  sqlite3_str_appendchar(pOut, 1, '[');
  for (rc = sqlite3_vtab_in_first(pList, &v); rc == SQLITE_OK && v;
       rc = sqlite3_vtab_in_next(pList, &v)) {
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL || t == SQLITE_BLOB) continue; /* never equal */
    if (!first) sqlite3_str_appendchar(pOut, 1, ',');
    if (t == SQLITE_INTEGER) {
      sqlite3_str_appendf(pOut, "%lld", sqlite3_value_int64(v));
    } else if (t == SQLITE_FLOAT) {
      double r = sqlite3_value_double(v);
      if (r != r) {
        sqlite3_str_appendall(pOut, "null"); /* NaN: never equal */
      } else if (r > 1.7976931348623157e308 || r < -1.7976931348623157e308) {
        sqlite3_str_appendall(pOut, r > 0 ? "9e999" : "-9e999");
      } else {
        sqlite3_str_appendf(pOut, "%!.17g", r);
      }
    } else {
      appendJsonString(pOut, v);
    }
    first = 0;
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  zJson = sqlite3_str_finish(pOut);
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    sqlite3_free(zJson);
    return rc;
  }
  if (zJson == 0) return SQLITE_NOMEM;
  return sqlite3_bind_text(pStmt, iParam, zJson, -1, sqlite3_free);
}

/* Bind the bounds of the literal prefix of a LIKE ('l') or GLOB ('g')
** pattern: every match lies in [lo, hi). Names are ASCII below 0x7f, so
** "\x7f" bounds them all from above. LIKE folds ASCII case: the range runs
** from the all-upper to past the all-lower form of the prefix. */
static int bindPatternBound(sqlite3_stmt *pStmt, int iParam, sqlite3_value *v,
                            char cKind, int isUpper) {
  const unsigned char *z = sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v), i;
  char zBuf[MEM_KEY_MAX + 2];
  int nPrefix = 0;
  if (z == 0) return sqlite3_bind_null(pStmt, iParam);
  for (i = 0; i < n && nPrefix <= MEM_KEY_MAX; i++) {
    unsigned char c = z[i];
    if (cKind == 'l' && (c == '%' || c == '_')) break;
    if (cKind == 'g' && (c == '*' || c == '?' || c == '[')) break;
    if (c >= 0x7f || c < 0x20) {
      /* No valid name holds this byte: an empty range. */
      return sqlite3_bind_text(pStmt, iParam, "\x7f", 1, SQLITE_STATIC);
    }
    if (cKind == 'l' && c >= 'a' && c <= 'z' && !isUpper) c -= 32;
    if (cKind == 'l' && c >= 'A' && c <= 'Z' && isUpper) c += 32;
    zBuf[nPrefix++] = (char)c;
  }
  if (!isUpper) return sqlite3_bind_text(pStmt, iParam, zBuf, nPrefix, SQLITE_TRANSIENT);
  if (nPrefix == 0 || nPrefix > MEM_KEY_MAX) {
    return sqlite3_bind_text(pStmt, iParam, "\x7f", 1, SQLITE_STATIC);
  }
  zBuf[nPrefix - 1]++; /* below 0x7f, so this stays a valid byte */
  return sqlite3_bind_text(pStmt, iParam, zBuf, nPrefix, SQLITE_TRANSIENT);
}

static int bindPlan(sqlite3_stmt *pStmt, int argc, sqlite3_value **argv) {
  int i, n = sqlite3_bind_parameter_count(pStmt), rc = SQLITE_OK;
  for (i = 1; i <= n && rc == SQLITE_OK; i++) {
    const char *zName = sqlite3_bind_parameter_name(pStmt, i);
    int iArg;
    if (zName == 0 || zName[0] != ':') return SQLITE_ERROR;
    zName++;
    if (zName[0] == 'a') {
      iArg = atoi(zName + 1);
      if (iArg < 1 || iArg > argc) return SQLITE_ERROR;
      rc = sqlite3_bind_value(pStmt, i, argv[iArg - 1]);
    } else if (zName[0] == 'i' && zName[1] == 'n') {
      iArg = atoi(zName + 2);
      if (iArg < 1 || iArg > argc) return SQLITE_ERROR;
      rc = bindInList(pStmt, i, argv[iArg - 1]);
    } else if ((zName[0] == 'l' || zName[0] == 'g') &&
               (zName[1] == 'l' || zName[1] == 'h')) {
      iArg = atoi(zName + 2);
      if (iArg < 1 || iArg > argc) return SQLITE_ERROR;
      rc = bindPatternBound(pStmt, i, argv[iArg - 1], zName[0], zName[1] == 'h');
    } else if (zName[0] == 'm') {
      iArg = atoi(zName + 1);
      if (iArg < 1 || iArg > argc) return SQLITE_ERROR;
      rc = sqlite3_bind_value(pStmt, i, argv[iArg - 1]);
    } else {
      return SQLITE_ERROR;
    }
  }
  return rc;
}

static int localOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  LocalCursor *c = sqlite3_malloc(sizeof(*c));
  (void)pVtab;
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->eof = 1;
  *ppCursor = &c->base;
  return SQLITE_OK;
}

static void cursorRelease(LocalCursor *c) {
  if (c->pSlot && c->pSlot->stale) {
    sqlite3_finalize(c->pStmt);
    sqlite3_free(c->pSlot->zPlan);
    memset(c->pSlot, 0, sizeof(CachedStmt));
  } else if (c->pSlot) {
    sqlite3_reset(c->pStmt);
    sqlite3_clear_bindings(c->pStmt);
    c->pSlot->inUse = 0;
  } else {
    sqlite3_finalize(c->pStmt);
  }
  c->pStmt = 0;
  c->pSlot = 0;
  sqlite3_free(c->zQuery);
  c->zQuery = 0;
}

static int localClose(sqlite3_vtab_cursor *pCur) {
  cursorRelease((LocalCursor *)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int localNext(sqlite3_vtab_cursor *pCur) {
  LocalCursor *c = (LocalCursor *)pCur;
  int rc = sqlite3_step(c->pStmt);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  c->eof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  rc = sqlite3_reset(c->pStmt);
  {
    const char *zMsg = sqlite3_errmsg(((MemVtab *)pCur->pVtab)->db);
    /* FTS5 reports a bad query as a plain SQLITE_ERROR ("fts5: syntax
    ** error near ...", "no such column: 42" for user-42). */
    if (c->zQuery && rc == SQLITE_ERROR) {
      memSetError(pCur->pVtab,
                  "memory: search query '%s' is not valid FTS5 syntax (%s); "
                  "put words in double quotes to search for them as they "
                  "are, e.g. MATCH '\"user-42\" AND refund'",
                  c->zQuery, zMsg);
    } else {
      memSetError(pCur->pVtab, "memory: %s", zMsg);
    }
  }
  return rc;
}

/* The MATCH query of a search plan, kept for error messages. */
static char *searchQuery(sqlite3_stmt *pStmt, int argc, sqlite3_value **argv) {
  int i, n = sqlite3_bind_parameter_count(pStmt);
  for (i = 1; i <= n; i++) {
    const char *zName = sqlite3_bind_parameter_name(pStmt, i);
    int iArg = zName && zName[1] == 'm' ? atoi(zName + 2) : 0;
    if (iArg >= 1 && iArg <= argc) {
      return sqlite3_mprintf("%s", sqlite3_value_text(argv[iArg - 1]));
    }
  }
  return 0;
}

static int localFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                       const char *idxStr, int argc, sqlite3_value **argv) {
  LocalCursor *c = (LocalCursor *)pCur;
  MemVtab *p = (MemVtab *)pCur->pVtab;
  int rc;
  cursorRelease(c);
  c->eof = 0;
  if ((idxNum & PLAN_SEARCH) && !p->settings.search) {
    memSetError(pCur->pVtab,
                "memory: table '%s' has no search index; turn it on with "
                "INSERT INTO %s(%s, value) VALUES ('search', 'on')",
                p->zName, p->zName, p->zName);
    c->eof = 1;
    return SQLITE_ERROR;
  }
  rc = planStatement(p, idxNum, idxStr, &c->pStmt, &c->pSlot);
  if (rc == SQLITE_OK) rc = bindPlan(c->pStmt, argc, argv);
  if (rc == SQLITE_OK && (idxNum & PLAN_SEARCH)) {
    c->zQuery = searchQuery(c->pStmt, argc, argv);
  }
  if (rc != SQLITE_OK) {
    memSetError(pCur->pVtab, "memory: cannot read '%s': %s", p->zName,
                sqlite3_errmsg(p->db));
    c->eof = 1;
    return rc;
  }
  return localNext(pCur);
}

static int localEof(sqlite3_vtab_cursor *pCur) {
  return ((LocalCursor *)pCur)->eof;
}

static int localColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  LocalCursor *c = (LocalCursor *)pCur;
  int iSel;
  if (i == MEM_COL_COMMAND) {
    /* Reads as NULL; carries the row's id to memory_match() below, which
    ** SQLite calls for a MATCH it could not hand to xBestIndex (in an OR). */
    MemMatchRow *pRow = sqlite3_malloc(sizeof(*pRow));
    if (pRow == 0) return SQLITE_NOMEM;
    pRow->p = (MemVtab *)pCur->pVtab;
    pRow->id = sqlite3_column_int64(c->pStmt, SEL_ID);
    sqlite3_result_pointer(ctx, pRow, MEM_MATCH_ROW, sqlite3_free);
    return SQLITE_OK;
  }
  switch (i) {
    case MEM_COL_NAMESPACE: iSel = SEL_NAMESPACE; break;
    case MEM_COL_KEY: iSel = SEL_KEY; break;
    case MEM_COL_VALUE: iSel = SEL_VALUE; break;
    case MEM_COL_UPDATED_AT: iSel = SEL_UPDATED_AT; break;
    case MEM_COL_RANK: iSel = SEL_RANK; break;
    default: iSel = SEL_CREATED_AT; break;
  }
  /* In an UPDATE, columns not assigned are reported as "no change", so
  ** xUpdate can keep them (and set updated_at itself) without reading. */
  if (i != MEM_COL_NAMESPACE && i != MEM_COL_KEY && sqlite3_vtab_nochange(ctx)) {
    return SQLITE_OK;
  }
  memResultColumn(ctx, c->pStmt, iSel);
  return SQLITE_OK;
}

static int localRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = sqlite3_column_int64(((LocalCursor *)pCur)->pStmt, SEL_ID);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Writing.                                                               */

static const char *const azWriteSql[W_COUNT] = {
    /* W_INSERT */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* W_INSERT_REPLACE: created_at survives unless given (?6) */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(namespace, key) DO "
    "UPDATE SET value = excluded.value, updated_at = excluded.updated_at, "
    "created_at = CASE WHEN ?6 THEN excluded.created_at ELSE created_at END",
    /* W_INSERT_IGNORE */
    "INSERT INTO \"%w\".\"%w_data\"(namespace, key, value, updated_at, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(namespace, key) DO "
    "NOTHING",
    /* W_UPDATE: NULL value/created_at mean "unchanged" */
    "UPDATE \"%w\".\"%w_data\" SET namespace = ?1, key = ?2, "
    "value = coalesce(?3, value), updated_at = ?4, "
    "created_at = coalesce(?5, created_at) WHERE id = ?6",
    /* W_DELETE */
    "DELETE FROM \"%w\".\"%w_data\" WHERE id = ?1",
    /* W_TAKE_OVER: entry ?6 takes the value (given ?3, else entry ?7's),
    ** updated_at ?4 and created_at (given ?5, else entry ?7's) */
    "UPDATE \"%w\".\"%w_data\" SET "
    "value = coalesce(?3, (SELECT value FROM \"%w\".\"%w_data\" WHERE id = ?7)), "
    "updated_at = ?4, created_at = coalesce(?5, (SELECT created_at FROM "
    "\"%w\".\"%w_data\" WHERE id = ?7)) WHERE id = ?6",
    /* W_FIND */
    "SELECT id FROM \"%w\".\"%w_data\" WHERE namespace = ?1 AND key = ?2",
    /* W_NAMESPACE_OF */
    "SELECT 1 FROM \"%w\".\"%w_data\" WHERE id = ?1 AND namespace = ?2",
};

static int writeStmt(MemVtab *p, int i, sqlite3_stmt **ppStmt) {
  LocalState *s = p->pState;
  if (s->aWrite[i] == 0) {
    char *zSql = sqlite3_mprintf(azWriteSql[i], p->zSchema, p->zName,
                                 p->zSchema, p->zName, p->zSchema, p->zName);
    int rc;
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->aWrite[i], 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  *ppStmt = s->aWrite[i];
  return SQLITE_OK;
}

/* Step a statement of the write path to its end (the last row's first
** column in *pRowid); on error copy the real message (a quota trigger's,
** say) into the vtab, where the user will see it. */
static int stepToEnd(MemVtab *p, sqlite3_stmt *pStmt, sqlite3_int64 *pRowid) {
  int rc;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (pRowid) *pRowid = sqlite3_column_int64(pStmt, 0);
  }
  rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if (rc != SQLITE_OK) {
    const char *zMsg = sqlite3_errmsg(p->db);
    if (strncmp(zMsg, "memory: ", 8) == 0) {
      memSetError(&p->base, "%s", zMsg);
    } else {
      memSetError(&p->base, "memory: cannot write to '%s': %s", p->zName, zMsg);
    }
    /* Under OR IGNORE, SQLite drops a row whose xUpdate reports any
    ** constraint error. Duplicates never get here (ON CONFLICT DO NOTHING),
    ** so this is a quota: report it rather than lose the row silently. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT &&
        sqlite3_vtab_on_conflict(p->db) == SQLITE_IGNORE) {
      rc = SQLITE_ERROR;
    }
  }
  return rc;
}

static const char *const azSearchSql[S_COUNT] = {
    /* S_TEXT_ID */
    "SELECT {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d WHERE id = ?1",
    /* S_FORGET */
    "INSERT INTO \"{S}\".\"{T}_search\"(\"{T}_search\", rowid, text) "
    "VALUES ('delete', ?1, ?2)",
    /* S_INDEX_ID */
    "INSERT INTO \"{S}\".\"{T}_search\"(rowid, text) "
    "SELECT id, {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d WHERE id = ?1",
    /* S_INDEX_KEY */
    "INSERT INTO \"{S}\".\"{T}_search\"(rowid, text) "
    "SELECT id, {TEXT:d} FROM \"{S}\".\"{T}_data\" AS d "
    "WHERE namespace = ?1 AND key = ?2",
};

static int searchStmt(MemVtab *p, int which, sqlite3_stmt **ppStmt) {
  LocalState *s = p->pState;
  if (s->aSearch[which] == 0) {
    char *zSql = expandTemplate(azSearchSql[which], p, p->zName);
    int rc;
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->aSearch[which], 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  *ppStmt = s->aSearch[which];
  return SQLITE_OK;
}

/* The index's text of one entry, read before a write changes the entry. A
** contentless FTS5 index forgets a row only when told its old text, and
** reading it first lets the write that may fail (a quota) come before any
** other write: SQLite opens no statement journal for a one-row write, so
** whatever was written before a failure would stay. */
typedef struct OldText {
  sqlite3_int64 id; /* 0: none */
  char *z;
  int n;
} OldText;

static int searchRead(MemVtab *p, sqlite3_int64 id, OldText *pOld) {
  sqlite3_stmt *pStmt;
  int rc;
  pOld->id = 0;
  pOld->z = 0;
  if (!p->settings.search || id == 0) return SQLITE_OK;
  rc = searchStmt(p, S_TEXT_ID, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, id);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    pOld->n = sqlite3_column_bytes(pStmt, 0);
    pOld->z = sqlite3_malloc(pOld->n + 1);
    if (pOld->z) {
      memcpy(pOld->z, sqlite3_column_text(pStmt, 0), pOld->n);
      pOld->z[pOld->n] = 0;
      pOld->id = id;
    }
  }
  rc = sqlite3_reset(pStmt);
  if (rc == SQLITE_OK && pOld->id == 0 && pOld->n > 0) rc = SQLITE_NOMEM;
  return rc;
}

/* After the write: the old text leaves the index (and is freed). */
static int searchForget(MemVtab *p, OldText *pOld) {
  sqlite3_stmt *pStmt;
  int rc = SQLITE_OK;
  if (pOld->id != 0) {
    rc = searchStmt(p, S_FORGET, &pStmt);
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(pStmt, 1, pOld->id);
      sqlite3_bind_text(pStmt, 2, pOld->z, pOld->n, SQLITE_STATIC);
      rc = stepToEnd(p, pStmt, 0);
    }
  }
  sqlite3_free(pOld->z);
  pOld->z = 0;
  pOld->id = 0;
  return rc;
}

/* After the write: entry iRowid's (or (ns, key)'s) new text joins it. */
static int searchIndex(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value *ns,
                       sqlite3_value *key) {
  sqlite3_stmt *pStmt;
  int rc;
  if (!p->settings.search) return SQLITE_OK;
  rc = searchStmt(p, ns ? S_INDEX_KEY : S_INDEX_ID, &pStmt);
  if (rc != SQLITE_OK) return rc;
  if (ns) {
    sqlite3_bind_value(pStmt, 1, ns);
    sqlite3_bind_value(pStmt, 2, key);
  } else {
    sqlite3_bind_int64(pStmt, 1, iRowid);
  }
  return stepToEnd(p, pStmt, 0);
}

/* The rowid of (namespace, key) in *pRowid, or 0 when there is none. */
static int findRow(MemVtab *p, sqlite3_value *ns, sqlite3_value *key,
                   sqlite3_int64 *pRowid) {
  sqlite3_stmt *pStmt;
  int rc = writeStmt(p, W_FIND, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_value(pStmt, 2, key);
  *pRowid = 0;
  return stepToEnd(p, pStmt, pRowid);
}

static int duplicateError(MemVtab *p, sqlite3_value *ns, sqlite3_value *key,
                          const char *zVerb) {
  memSetError(&p->base,
              "memory: %s/%s already exists; %s",
              sqlite3_value_text(ns), sqlite3_value_text(key), zVerb);
  return SQLITE_CONSTRAINT;
}

static int localInsert(MemVtab *p, sqlite3_value **aCol, sqlite3_int64 *pRowid) {
  sqlite3_value *ns = aCol[MEM_COL_NAMESPACE], *key = aCol[MEM_COL_KEY];
  sqlite3_value *upd = aCol[MEM_COL_UPDATED_AT], *cre = aCol[MEM_COL_CREATED_AT];
  int conflict = sqlite3_vtab_on_conflict(p->db);
  int which = conflict == SQLITE_REPLACE  ? W_INSERT_REPLACE
              : conflict == SQLITE_IGNORE ? W_INSERT_IGNORE
                                          : W_INSERT;
  double now = memNow();
  sqlite3_stmt *pStmt;
  sqlite3_int64 iOld = 0;
  OldText old = {0, 0, 0};
  int rc;
  /* With search on, the entry this may replace (or keep) is looked up
  ** first, and its old text read, before anything is written. */
  if (p->settings.search && which != W_INSERT) {
    rc = findRow(p, ns, key, &iOld);
    if (rc == SQLITE_OK && which == W_INSERT_REPLACE) rc = searchRead(p, iOld, &old);
    if (rc != SQLITE_OK) return rc;
  }
  rc = writeStmt(p, which, &pStmt);
  if (rc != SQLITE_OK) {
    sqlite3_free(old.z);
    return rc;
  }
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_value(pStmt, 1, ns);
  sqlite3_bind_value(pStmt, 2, key);
  /* STATIC: argv outlives the step, and stepToEnd() clears the bindings. */
  sqlite3_bind_text(pStmt, 3, (const char *)sqlite3_value_text(aCol[MEM_COL_VALUE]),
                    sqlite3_value_bytes(aCol[MEM_COL_VALUE]), SQLITE_STATIC);
  /* Times given explicitly (an import) are kept; else now. */
  if (sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 4, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 4, now);
  }
  if (sqlite3_value_type(cre) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(cre));
  } else if (sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 5, now);
  }
  if (which == W_INSERT_REPLACE) {
    sqlite3_bind_int(pStmt, 6, sqlite3_value_type(cre) != SQLITE_NULL);
  }
  /* The rowid only feeds last_insert_rowid(): no RETURNING, which would
  ** build a temporary table for every row. */
  rc = stepToEnd(p, pStmt, 0);
  if (rc == SQLITE_OK) {
    *pRowid = sqlite3_last_insert_rowid(p->db);
    /* Then the index: the replaced text out, the new one in (OR IGNORE:
    ** only a row that was really inserted). */
    rc = searchForget(p, &old);
    if (rc == SQLITE_OK && which == W_INSERT) {
      rc = searchIndex(p, *pRowid, 0, 0);
    } else if (rc == SQLITE_OK && (which == W_INSERT_REPLACE || iOld == 0)) {
      rc = searchIndex(p, 0, ns, key);
    }
  }
  sqlite3_free(old.z);
  if (rc == SQLITE_CONSTRAINT && which == W_INSERT &&
      sqlite3_extended_errcode(p->db) == SQLITE_CONSTRAINT_UNIQUE) {
    return duplicateError(p, ns, key,
                          "use INSERT OR REPLACE to overwrite it or INSERT OR "
                          "IGNORE to keep it");
  }
  return rc;
}

/* Bind the value and times of an UPDATE (argv's columns) to pStmt's ?3
** (value; unbound, NULL, when unchanged), ?4 (updated_at: given, else now)
** and ?5 (created_at; unbound when not given). */
static void bindUpdate(sqlite3_stmt *pStmt, sqlite3_value **aCol) {
  sqlite3_value *val = aCol[MEM_COL_VALUE];
  sqlite3_value *upd = aCol[MEM_COL_UPDATED_AT], *cre = aCol[MEM_COL_CREATED_AT];
  if (!sqlite3_value_nochange(val)) {
    sqlite3_bind_text(pStmt, 3, (const char *)sqlite3_value_text(val),
                      sqlite3_value_bytes(val), SQLITE_STATIC);
  }
  if (!sqlite3_value_nochange(upd) && sqlite3_value_type(upd) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 4, sqlite3_value_double(upd));
  } else {
    sqlite3_bind_double(pStmt, 4, memNow());
  }
  if (!sqlite3_value_nochange(cre) && sqlite3_value_type(cre) != SQLITE_NULL) {
    sqlite3_bind_double(pStmt, 5, sqlite3_value_double(cre));
  }
}

/* UPDATE OR REPLACE moving entry iRowid onto entry iOther: iOther takes the
** moved entry's value and times, then iRowid is deleted. The one write that
** can fail (a quota, in the UPDATE's trigger) comes first, so a failure
** leaves everything as it was even without a statement journal (SQLite
** opens none for a one-row write inside a transaction). The totals end as
** a delete and a move would leave them; the namespace is checked only for
** the growth it really gets. */
static int takeOver(MemVtab *p, sqlite3_int64 iRowid, sqlite3_int64 iOther,
                    sqlite3_value **aCol) {
  OldText oldOther = {0, 0, 0}, oldMoved = {0, 0, 0};
  sqlite3_stmt *pStmt;
  int rc = searchRead(p, iOther, &oldOther);
  if (rc == SQLITE_OK) rc = searchRead(p, iRowid, &oldMoved);
  if (rc == SQLITE_OK) rc = writeStmt(p, W_TAKE_OVER, &pStmt);
  if (rc == SQLITE_OK) {
    bindUpdate(pStmt, aCol);
    sqlite3_bind_int64(pStmt, 6, iOther);
    sqlite3_bind_int64(pStmt, 7, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK) rc = writeStmt(p, W_DELETE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK) rc = searchForget(p, &oldOther);
  if (rc == SQLITE_OK) rc = searchForget(p, &oldMoved);
  if (rc == SQLITE_OK) rc = searchIndex(p, iOther, 0, 0);
  sqlite3_free(oldOther.z);
  sqlite3_free(oldMoved.z);
  return rc;
}

/* Is entry iRowid in namespace ns already? */
static int sameNamespace(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value *ns,
                         int *pSame) {
  sqlite3_stmt *pStmt;
  int rc = writeStmt(p, W_NAMESPACE_OF, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  sqlite3_bind_value(pStmt, 2, ns);
  *pSame = sqlite3_step(pStmt) == SQLITE_ROW;
  return stepToEnd(p, pStmt, 0);
}

static int localUpdateRow(MemVtab *p, sqlite3_int64 iRowid, sqlite3_value **aCol) {
  sqlite3_value *ns = aCol[MEM_COL_NAMESPACE], *key = aCol[MEM_COL_KEY];
  int conflict = sqlite3_vtab_on_conflict(p->db);
  int newValue = !sqlite3_value_nochange(aCol[MEM_COL_VALUE]);
  sqlite3_int64 iOther = 0;
  OldText old = {0, 0, 0}, oldOther = {0, 0, 0};
  sqlite3_stmt *pStmt;
  int rc, same = 0;

  /* Moving onto an existing entry: REPLACE overwrites it (takeOver), IGNORE
  ** keeps both as they are, anything else is a constraint error. */
  rc = findRow(p, ns, key, &iOther);
  if (rc != SQLITE_OK) return rc;
  if (iOther != 0 && iOther != iRowid) {
    if (conflict == SQLITE_IGNORE) return SQLITE_OK;
    if (conflict != SQLITE_REPLACE) {
      return duplicateError(p, ns, key,
                            "UPDATE OR REPLACE overwrites it, or DELETE it first");
    }
    /* Into another namespace, the entry in the way takes the moved value
    ** (takeOver): that namespace is checked for the growth it really gets.
    ** Within one namespace the entry in the way is deleted first, then the
    ** moved one renamed: the namespace only shrinks, which is always
    ** allowed (takeOver would check it halfway, holding both values). A
    ** failure after the DELETE is undone by the statement journal, which
    ** SQLite opens as no plan here is a one-pass unique scan. */
    rc = sameNamespace(p, iRowid, ns, &same);
    if (rc != SQLITE_OK) return rc;
    if (!same) return takeOver(p, iRowid, iOther, aCol);
    rc = searchRead(p, iOther, &oldOther);
    if (rc == SQLITE_OK) rc = writeStmt(p, W_DELETE, &pStmt);
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(pStmt, 1, iOther);
      rc = stepToEnd(p, pStmt, 0);
    }
    if (rc == SQLITE_OK) rc = searchForget(p, &oldOther);
    sqlite3_free(oldOther.z);
    if (rc != SQLITE_OK) return rc;
  }

  /* A new value replaces the old text in the index; a move alone keeps
  ** the id and the text. */
  if (newValue) rc = searchRead(p, iRowid, &old);
  if (rc == SQLITE_OK) rc = writeStmt(p, W_UPDATE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_value(pStmt, 1, ns);
    sqlite3_bind_value(pStmt, 2, key);
    bindUpdate(pStmt, aCol);
    sqlite3_bind_int64(pStmt, 6, iRowid);
    rc = stepToEnd(p, pStmt, 0);
  }
  if (rc == SQLITE_OK && newValue) {
    rc = searchForget(p, &old);
    if (rc == SQLITE_OK) rc = searchIndex(p, iRowid, 0, 0);
  }
  sqlite3_free(old.z);
  return rc;
}

/* The quota triggers can be dropped by plain SQL outside defensive mode,
** and then quotas would stop without a word. Before a write: if the schema
** changed since the triggers were last seen, look again, and refuse to
** write until they are back. One PRAGMA per write otherwise. */
static int triggersIntact(MemVtab *p) {
  LocalState *s = p->pState;
  int rc = SQLITE_OK, version = 0, n = 0;
  if (s->pSchemaVersion == 0) {
    char *zSql = sqlite3_mprintf("PRAGMA \"%w\".schema_version", p->zSchema);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->pSchemaVersion, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  if (sqlite3_step(s->pSchemaVersion) == SQLITE_ROW) {
    version = sqlite3_column_int(s->pSchemaVersion, 0);
  }
  rc = sqlite3_reset(s->pSchemaVersion);
  if (rc != SQLITE_OK || (version == s->iCheckedVersion && version != 0)) return rc;
  if (s->pTriggers == 0) {
    char *zSql = sqlite3_mprintf(
        "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = 'trigger' AND "
        "tbl_name = '%q_data' AND name IN ('%q_quota_insert', "
        "'%q_quota_update', '%q_quota_delete')",
        p->zSchema, p->zName, p->zName, p->zName, p->zName);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                            &s->pTriggers, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) return rc;
  }
  if (sqlite3_step(s->pTriggers) == SQLITE_ROW) n = sqlite3_column_int(s->pTriggers, 0);
  rc = sqlite3_reset(s->pTriggers);
  if (rc != SQLITE_OK) return rc;
  if (n != 3) {
    memSetError(&p->base,
                "memory: a quota trigger of table '%s' is missing (dropped by "
                "plain SQL?), so its quotas would not hold; writes are refused "
                "until it is repaired: INSERT INTO \"%w\"(\"%w\") VALUES "
                "('rebuild')",
                p->zName, p->zName, p->zName);
    return SQLITE_ERROR;
  }
  s->iCheckedVersion = version;
  return SQLITE_OK;
}

static int localUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                       sqlite3_int64 *pRowid) {
  MemVtab *p = (MemVtab *)pVtab;
  sqlite3_stmt *pStmt;
  char *zErr;
  int rc;

  rc = triggersIntact(p);
  if (rc != SQLITE_OK) return rc;
  if (argc == 1) { /* DELETE */
    OldText old = {0, 0, 0};
    rc = searchRead(p, sqlite3_value_int64(argv[0]), &old);
    if (rc == SQLITE_OK) rc = writeStmt(p, W_DELETE, &pStmt);
    if (rc == SQLITE_OK) {
      sqlite3_bind_value(pStmt, 1, argv[0]);
      rc = stepToEnd(p, pStmt, 0);
    }
    if (rc == SQLITE_OK) rc = searchForget(p, &old);
    sqlite3_free(old.z);
    return rc;
  }

  /* Every check happens before anything is written. */
  zErr = memCheckRow(&p->settings, argv[2 + MEM_COL_NAMESPACE],
                     argv[2 + MEM_COL_KEY],
                     sqlite3_value_nochange(argv[2 + MEM_COL_VALUE])
                         ? 0
                         : argv[2 + MEM_COL_VALUE]);
  if (zErr) {
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
    return SQLITE_ERROR; /* bad input, not a conflict OR IGNORE may skip */
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    return localInsert(p, argv + 2, pRowid);
  }
  if (sqlite3_value_type(argv[1]) != SQLITE_NULL &&
      sqlite3_value_int64(argv[1]) != sqlite3_value_int64(argv[0])) {
    memSetError(pVtab, "memory: the rowid of an entry cannot be changed; "
                       "change its namespace or key instead");
    return SQLITE_ERROR;
  }
  return localUpdateRow(p, sqlite3_value_int64(argv[0]), argv + 2);
}

/* memory_quota(QUOTA, NAMESPACE, NEW_TOTAL, LIMIT, GREW, TABLE): called by
** the quota triggers (sql/ext/local_triggers.sql) with a namespace's total
** after a write. Returns NEW_TOTAL; fails with a constraint error naming
** the quota, the namespace and the limit, and saying how to raise it on
** TABLE, if the total is over a non-zero limit and the write made it grow
** (GREW). */
static void quotaFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_int64 total = sqlite3_value_int64(argv[2]);
  sqlite3_int64 limit = sqlite3_value_int64(argv[3]);
  const char *zQuota, *zNs, *zTable;
  char *zMsg;
  /* Triggers of format 1 (0.1.0), still in use until the table is
  ** upgraded, pass no TABLE and maybe no GREW. */
  if (limit <= 0 || total <= limit || (argc > 4 && !sqlite3_value_int(argv[4]))) {
    sqlite3_result_int64(ctx, total);
    return;
  }
  zQuota = (const char *)sqlite3_value_text(argv[0]);
  zNs = (const char *)sqlite3_value_text(argv[1]);
  zTable = argc > 5 ? (const char *)sqlite3_value_text(argv[5]) : "<table>";
  if (zQuota && strcmp(zQuota, "max_writes_per_day") == 0) {
    zMsg = sqlite3_mprintf(
        "memory: quota max_writes_per_day exceeded for namespace '%s': at most "
        "%lld write%s per UTC day; wait for the next UTC day, or raise the "
        "limit: INSERT INTO \"%w\"(\"%w\", value) VALUES "
        "('max_writes_per_day', <n>) (0 = no limit)",
        zNs, limit, limit == 1 ? "" : "s", zTable, zTable);
  } else {
    zMsg = sqlite3_mprintf(
        "memory: quota max_namespace_bytes exceeded for namespace '%s': at most "
        "%lld bytes of values; delete or shorten entries, or raise the limit: "
        "INSERT INTO \"%w\"(\"%w\", value) VALUES ('max_namespace_bytes', "
        "<n>) (0 = no limit)",
        zNs, limit, zTable, zTable);
  }
  if (zMsg == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, zMsg, -1);
  sqlite3_result_error_code(ctx, SQLITE_CONSTRAINT);
  sqlite3_free(zMsg);
}

int memRegisterLocalFunctions(sqlite3 *db) {
  /* Not SQLITE_DIRECTONLY: the triggers call it. Harmless from anywhere:
  ** it computes nothing but a comparison. */
  int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC;
  int rc = SQLITE_OK, nArg;
  for (nArg = 4; nArg <= 6 && rc == SQLITE_OK; nArg++) {
    rc = sqlite3_create_function(db, "memory_quota", nArg, flags, 0, quotaFunc, 0, 0);
  }
  return rc;
}

/* Every object "<name>_<suffix>" a local table may have: its tables, view
** and triggers, and those of the FTS5 index. */
static const char *const azLocalObject[] = {
    "data", "quota", "usage", "quota_insert", "quota_update", "quota_delete",
    "search", "search_data", "search_idx", "search_docsize", "search_config",
    "search_content", 0};

const MemBackend memLocalBackend = {
    .zName = "local",
    .azObject = azLocalObject,
    .xInit = localInit,
    .xUpgrade = localUpgrade,
    .xDisconnect = localDisconnect,
    .xDestroy = localDestroy,
    .xRename = localRename,
    .xBestIndex = localBestIndex,
    .xOpen = localOpen,
    .xClose = localClose,
    .xFilter = localFilter,
    .xNext = localNext,
    .xEof = localEof,
    .xColumn = localColumn,
    .xRowid = localRowid,
    .xUpdate = localUpdate,
    .xCommand = localCommand,
    .xSettingsChanged = localSettingsChanged,
};

/* `t MATCH q` evaluated row by row: SQLite calls this (through the module's
** xFindFunction) for a MATCH it could not give to xBestIndex, such as one
** inside an OR. argv[0] is the query, argv[1] the command column, which
** carries the row (localColumn). One FTS5 lookup of that row's id. */
void memLocalMatchFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MemMatchRow *pRow = sqlite3_value_pointer(argv[1], MEM_MATCH_ROW);
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int rc, found;
  (void)argc;
  if (pRow == 0) {
    sqlite3_result_error(ctx, "memory: MATCH needs a memory table's own "
                              "column on its left: WHERE mem MATCH '...'", -1);
    return;
  }
  if (!pRow->p->settings.search) {
    char *zErr = sqlite3_mprintf(
        "memory: table '%s' has no search index; turn it on with INSERT INTO "
        "%s(%s, value) VALUES ('search', 'on')",
        pRow->p->zName, pRow->p->zName, pRow->p->zName);
    sqlite3_result_error(ctx, zErr ? zErr : "memory: out of memory", -1);
    sqlite3_free(zErr);
    return;
  }
  zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\".\"%w_search\" WHERE \"%w_search\" "
                         "MATCH ?1 AND rowid = ?2",
                         pRow->p->zSchema, pRow->p->zName, pRow->p->zName);
  if (zSql == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  rc = sqlite3_prepare_v2(pRow->p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) {
    sqlite3_bind_value(pStmt, 1, argv[0]);
    sqlite3_bind_int64(pStmt, 2, pRow->id);
    found = sqlite3_step(pStmt) == SQLITE_ROW;
    rc = sqlite3_reset(pStmt);
  }
  if (rc != SQLITE_OK) {
    char *zErr = sqlite3_mprintf(
        "memory: search query '%s' is not valid FTS5 syntax (%s); put words in "
        "double quotes to search for them as they are, e.g. MATCH '\"user-42\" "
        "AND refund'",
        sqlite3_value_text(argv[0]), sqlite3_errmsg(pRow->p->db));
    sqlite3_result_error(ctx, zErr ? zErr : "memory: out of memory", -1);
    sqlite3_free(zErr);
  } else {
    sqlite3_result_int(ctx, found);
  }
  sqlite3_finalize(pStmt);
}
