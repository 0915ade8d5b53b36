/*
** The local backend's planner: xBestIndex writes the plan, xFilter's
** binding reads it.
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
**     :tN    argv[N-1] is the time of `as_of = t`: the plan then reads
**            "<name>_versions" (sql/ext/local_history.sql), whose columns
**            have the same names, at that time
**     :now   the time the scan starts: an entry whose expires_at is not
**            after it is not there (every plan but as_of says so first)
** idxNum is the bitmask of the columns the query uses (colUsed: bit N is
** column N, MEM_COL_*; the others are read as NULL, so a scan that only
** counts or reads values decodes nothing else), plus PLAN_SEARCH.
*/
#include "memory_local.h"

static const char *columnName(int iCol) {
  switch (iCol) {
    case MEM_COL_NAMESPACE: return "namespace";
    case MEM_COL_KEY: return "key";
    case MEM_COL_VALUE: return "value";
    case MEM_COL_UPDATED_AT: return "updated_at";
    case MEM_COL_RANK: return "rank";
    case MEM_COL_EXPIRES_AT: return "expires_at";
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

int memLocalBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  MemVtab *p = (MemVtab *)pVtab;
  sqlite3_str *pPlan = sqlite3_str_new(0);
  int i, nArg = 0, iLimit = -1, iOffset = -1, search = 0;
  int nsEq = 0, nsRange = 0, keyEq = 0, otherRange = 0, nsIn = 0, keyIn = 0;
  int asOf = 0;
  const char *zSep = " AND ";
  double rows;

  /* as_of = t first: it picks the table the rest of the plan reads. An
  ** as_of that cannot be used here (its value comes from a table read
  ** later) makes SQLite try another order; one with another operator is
  ** consumed so that xFilter can say what to write instead. */
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if (c->iColumn != MEM_COL_AS_OF) continue;
    if (c->op == SQLITE_INDEX_CONSTRAINT_EQ && !c->usable) {
      sqlite3_free(sqlite3_str_finish(pPlan));
      return SQLITE_CONSTRAINT;
    }
    if (!c->usable || asOf) continue;
    pInfo->aConstraintUsage[i].argvIndex = ++nArg;
    pInfo->aConstraintUsage[i].omit = 1;
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) {
      asOf = PLAN_BAD_AS_OF;
      continue;
    }
    asOf = PLAN_AS_OF;
    /* The version that held at t: begun by then, not ended, not a deletion
    ** marker, not expired. */
    sqlite3_str_appendf(pPlan,
                        "WHERE updated_at <= :t%d AND (valid_to IS NULL OR "
                        "valid_to > :t%d) AND value IS NOT NULL AND "
                        "(expires_at IS NULL OR expires_at > :t%d)",
                        nArg, nArg, nArg);
  }
  if (asOf != PLAN_AS_OF && p->settings.format >= 3) {
    sqlite3_str_appendall(pPlan, "WHERE " EXPIRY_FILTER);
  } else if (asOf != PLAN_AS_OF) {
    zSep = "WHERE "; /* format 2 or older, not upgraded yet: no expiry */
  }

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
    if (iCol < 0 || iCol == MEM_COL_VALUE || iCol > MEM_COL_EXPIRES_AT) continue;
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
  /* LIMIT and OFFSET are not pushed down. SQLite 3.40 offers them even
  ** when a WHERE term it cannot hand over (namespace = key, between two
  ** columns of this table) still filters the rows, and the backing query's
  ** LIMIT would then cut rows before SQLite's filter (found by
  ** tests/fuzz/fuzz_sql.c). SQLite applies them itself and stops reading
  ** once it has enough, which costs an OFFSET's skipped rows at most. */
  (void)iLimit;
  (void)iOffset;

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

  pInfo->idxNum = (int)(pInfo->colUsed & PLAN_COLUMNS) |
                  (search ? PLAN_SEARCH : 0) | asOf |
                  (nsEq && keyEq && !nsIn && !keyIn ? 0 : PLAN_SCANS);
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

/* The backing SELECT of a plan; columns in the order of SEL_*. */
char *memLocalReadSql(MemVtab *p, int idxNum, const char *zPlan) {
  char *zFrom, *zSql;
#define COLUMN_IF_USED(COL, NAME) ((idxNum & (1 << (COL))) ? NAME : "")
  if (idxNum & PLAN_AS_OF) {
    zFrom = sqlite3_mprintf("\"%w\".\"%w_versions\" AS d", p->zSchema, p->zName);
  } else if (idxNum & PLAN_SEARCH) {
    zFrom = sqlite3_mprintf(
        "\"%w\".\"%w_search\" JOIN \"%w\".\"%w_data\" AS d "
        "ON d.id = \"%w_search\".rowid",
        p->zSchema, p->zName, p->zSchema, p->zName, p->zName);
  } else {
    zFrom = sqlite3_mprintf("\"%w\".\"%w_data\" AS d", p->zSchema, p->zName);
  }
  if (zFrom == 0) return 0;
  /* Only the columns the query uses (plus the id, for xRowid): each one
  ** more is an opcode per row. memLocalPlanParams() maps them back by
  ** name. */
  zSql = sqlite3_mprintf(
      "SELECT d.id AS id%s%s%s%s%s%s%s FROM %s %s",
      COLUMN_IF_USED(MEM_COL_NAMESPACE, ", d.namespace AS namespace"),
      COLUMN_IF_USED(MEM_COL_KEY, ", d.key AS key"),
      COLUMN_IF_USED(MEM_COL_VALUE, ", d.value AS value"),
      COLUMN_IF_USED(MEM_COL_UPDATED_AT, ", d.updated_at AS updated_at"),
      COLUMN_IF_USED(MEM_COL_CREATED_AT, ", d.created_at AS created_at"),
      (idxNum & PLAN_SEARCH) && (idxNum & (1 << MEM_COL_RANK)) ? ", rank AS rank" : "",
      p->settings.format >= 3
          ? COLUMN_IF_USED(MEM_COL_EXPIRES_AT, ", d.expires_at AS expires_at")
          : "",
      zFrom, strcmp(zPlan, "SCAN") == 0 ? "" : zPlan);
#undef COLUMN_IF_USED
  sqlite3_free(zFrom);
  if (zSql && (idxNum & PLAN_NO_EXPIRY)) {
    /* The filter, a no-op here, becomes "1" (same length or shorter). */
    char *zAt = strstr(zSql, EXPIRY_FILTER);
    if (zAt) {
      size_t nFilter = strlen(EXPIRY_FILTER);
      zAt[0] = '1';
      memmove(zAt + 1, zAt + nFilter, strlen(zAt + nFilter) + 1);
    }
  }
  return zSql;
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
    if (t == SQLITE_TEXT &&
        (int)strlen((const char *)sqlite3_value_text(v)) != sqlite3_value_bytes(v)) {
      continue; /* text with a NUL equals no name and no time; json_each
                ** would cut it at the NUL ('a\0b' would match 'a') */
    }
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

/* How to fill each parameter of a plan's statement, read from the
** parameters' names once per statement rather than on every xFilter. */
struct MemPlanParams {
  int isUtf8; /* the connection's text is UTF-8: text is copied as is */
  signed char aCol[SEL_COUNT]; /* the statement's column for each SEL_*,
                               ** or -1: not selected, read as NULL */
  int nParam;
  struct PlanParam {
    char cKind;  /* 'a' (also :mN), 'i' (:inN), 'l' / 'g' (a pattern's
                 ** bound), 't' (as_of), 'n' (:now) */
    char isUpper; /* the upper bound of a pattern (:llN / :ghN ...) */
    int iArg;     /* argv[iArg - 1] */
    char *zCopy;  /* text argument copied here and bound SQLITE_STATIC:
                  ** no allocation per lookup once it is big enough */
    int nCopy;
  } aParam[1];
};

/* Which of the statement's columns is each SEL_*, by the names
** memLocalReadSql() gives them. */
static void planColumns(sqlite3_stmt *pStmt, signed char *aCol) {
  static const char *const azSel[SEL_COUNT] = {
      "id", "namespace", "key", "value", "updated_at", "created_at", "rank",
      "expires_at"};
  int i, j, n = sqlite3_column_count(pStmt);
  for (j = 0; j < SEL_COUNT; j++) aCol[j] = -1;
  for (i = 0; i < n; i++) {
    const char *zName = sqlite3_column_name(pStmt, i);
    for (j = 0; zName && j < SEL_COUNT; j++) {
      if (strcmp(zName, azSel[j]) == 0) aCol[j] = (signed char)i;
    }
  }
}

int memLocalPlanColumn(const MemPlanParams *pParams, int iSel) {
  return pParams->aCol[iSel];
}

MemPlanParams *memLocalPlanParams(sqlite3_stmt *pStmt, int isUtf8) {
  int i, n = sqlite3_bind_parameter_count(pStmt);
  MemPlanParams *pParams =
      sqlite3_malloc64(sizeof(MemPlanParams) + (n > 0 ? n : 0) * sizeof(struct PlanParam));
  if (pParams == 0) return 0;
  memset(pParams, 0, sizeof(MemPlanParams) + (n > 0 ? n : 0) * sizeof(struct PlanParam));
  pParams->nParam = n;
  pParams->isUtf8 = isUtf8;
  planColumns(pStmt, pParams->aCol);
  for (i = 0; i < n; i++) {
    struct PlanParam *pp = &pParams->aParam[i];
    const char *zName = sqlite3_bind_parameter_name(pStmt, i + 1);
    /* Any other name is refused when binding (cKind 0). */
    if (zName == 0 || zName[0] != ':') continue;
    zName++;
    if (zName[0] == 'a' || zName[0] == 'm' || zName[0] == 't') {
      pp->cKind = zName[0] == 't' ? 't' : 'a';
      pp->iArg = atoi(zName + 1);
    } else if (zName[0] == 'i' && zName[1] == 'n') {
      pp->cKind = 'i';
      pp->iArg = atoi(zName + 2);
    } else if ((zName[0] == 'l' || zName[0] == 'g') &&
               (zName[1] == 'l' || zName[1] == 'h')) {
      pp->cKind = zName[0];
      pp->isUpper = zName[1] == 'h';
      pp->iArg = atoi(zName + 2);
    } else if (strcmp(zName, "now") == 0) {
      pp->cKind = 'n';
    }
  }
  return pParams;
}

void memLocalPlanParamsFree(MemPlanParams *pParams) {
  int i;
  if (pParams == 0) return;
  for (i = 0; i < pParams->nParam; i++) sqlite3_free(pParams->aParam[i].zCopy);
  sqlite3_free(pParams);
}

/* Bind text argument v to parameter iParam through pp's own copy. The
** statement keeps pointing at the copy until it is bound again, so the
** copy lives as long as the statement (it is freed after finalize). */
static int bindTextCopy(sqlite3_stmt *pStmt, int iParam, struct PlanParam *pp,
                        int isUtf8, sqlite3_value *v) {
  /* UTF-8 text is taken as it is: sqlite3_value_text() would first copy
  ** text bound without its NUL (Python binds so) only to add one. */
  const unsigned char *z = isUtf8 ? sqlite3_value_blob(v) : sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v);
  if (z == 0 && n == 0) z = (const unsigned char *)"";
  if (z == 0) return SQLITE_NOMEM;
  if (n + 1 > pp->nCopy) {
    char *zNew = sqlite3_realloc64(pp->zCopy, (sqlite3_uint64)n + 1);
    if (zNew == 0) return SQLITE_NOMEM;
    pp->zCopy = zNew;
    pp->nCopy = n + 1;
  }
  memcpy(pp->zCopy, z, (size_t)n);
  pp->zCopy[n] = 0;
  return sqlite3_bind_text(pStmt, iParam, pp->zCopy, n, SQLITE_STATIC);
}

int memLocalBindPlan(sqlite3_stmt *pStmt, MemPlanParams *pParams, int argc,
                     sqlite3_value **argv) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < pParams->nParam && rc == SQLITE_OK; i++) {
    struct PlanParam *pp = &pParams->aParam[i];
    sqlite3_value *v;
    if (pp->cKind == 'n') {
      rc = sqlite3_bind_double(pStmt, i + 1, memNow());
      continue;
    }
    if (pp->cKind == 0 || pp->iArg < 1 || pp->iArg > argc) return SQLITE_ERROR;
    v = argv[pp->iArg - 1];
    switch (pp->cKind) {
      case 'a':
        rc = sqlite3_value_type(v) == SQLITE_TEXT
                 ? bindTextCopy(pStmt, i + 1, pp, pParams->isUtf8, v)
                 : sqlite3_bind_value(pStmt, i + 1, v);
        break;
      case 'i':
        rc = bindInList(pStmt, i + 1, v);
        break;
      case 'l':
      case 'g':
        rc = bindPatternBound(pStmt, i + 1, v, pp->cKind, pp->isUpper);
        break;
      default: { /* 't' */
        /* as_of: a time, a number; anything else would compare as text. */
        int t = sqlite3_value_numeric_type(v);
        if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) return SQLITE_MISMATCH;
        rc = sqlite3_bind_double(pStmt, i + 1, sqlite3_value_double(v));
        break;
      }
    }
  }
  return rc;
}

/* The MATCH query of a search plan, kept for error messages. */
char *memLocalSearchQuery(sqlite3_stmt *pStmt, int argc, sqlite3_value **argv) {
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
