/* Fuzz target: name validation, memory_namespace()/memory_key(), URL
** escaping, and writes of arbitrary (namespace, key, value) to a local
** table. The input is namespace, key and value separated by 0xFF bytes. */
#include "fuzz_common.h"
#include "memory_http.h"

/* Undo the escaped form of memory_names.c (not the hashed one, which
** holds "__h"); return its length in zOut, or -1 if it is malformed. */
static int unescape(const char *z, int n, uint8_t *zOut) {
  int i = 0, j = 0;
  while (i < n) {
    if (z[i] != '_') {
      zOut[j++] = (uint8_t)z[i++];
    } else if (i + 1 < n && z[i + 1] != '_') {
      zOut[j++] = '_';
      i++;
    } else {
      unsigned v = 0;
      int k;
      if (i + 4 > n) return -1;
      for (k = i + 2; k < i + 4; k++) {
        if (z[k] >= '0' && z[k] <= '9') v = v * 16 + (unsigned)(z[k] - '0');
        else if (z[k] >= 'a' && z[k] <= 'f') v = v * 16 + (unsigned)(z[k] - 'a' + 10);
        else return -1;
      }
      zOut[j++] = (uint8_t)v;
      i += 4;
    }
  }
  return j;
}

static int hasDoubleUnderscore(const uint8_t *z, int n) {
  int i;
  for (i = 0; i + 1 < n; i++) {
    if (z[i] == '_' && z[i + 1] == '_') return 1;
  }
  return 0;
}

static void checkMapping(sqlite3 *db, const char *zFunc, const uint8_t *z, int n,
                         int (*isValid)(const char *, int)) {
  sqlite3_stmt *pStmt;
  char *zSql = sqlite3_mprintf("SELECT %s(?1)", zFunc);
  sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  sqlite3_bind_text(pStmt, 1, (const char *)z, n, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *zOut = (const char *)sqlite3_column_text(pStmt, 0);
    int nOut = sqlite3_column_bytes(pStmt, 0);
    uint8_t aBack[128];
    /* The mapping always gives a valid name; it keeps a valid name with no
    ** "__" and no final '_'; an unhashed name gives back the id. */
    if (!isValid(zOut, nOut)) abort();
    if (isValid((const char *)z, n) && !hasDoubleUnderscore(z, n) &&
        z[n - 1] != '_' && (nOut != n || memcmp(zOut, z, n))) abort();
    if (strstr(zOut, "__h") == 0 &&
        (unescape(zOut, nOut, aBack) != n || memcmp(aBack, z, n))) abort();
  }
  sqlite3_finalize(pStmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready = 0;
  sqlite3 *db = fuzzDb();
  const uint8_t *part[3] = {data, data, data};
  int len[3] = {0, 0, 0}, i, k = 0;
  char *zEsc;
  if (!ready) {
    fuzzRun(db, "CREATE VIRTUAL TABLE m USING memory(max_writes_per_day=0)", 0, 0, 0, 0);
    ready = 1;
  }
  for (i = 0; i < (int)size && k < 3; i++) {
    if (data[i] == 0xFF) {
      k++;
      if (k < 3) part[k] = data + i + 1;
    } else if (k < 3) {
      len[k]++;
    }
  }
  checkMapping(db, "memory_namespace", part[0], len[0], memNamespaceValid);
  checkMapping(db, "memory_key", part[1], len[1], memKeyValid);

  /* A valid name needs no escaping; any escape is plain URL-safe ASCII. */
  zEsc = memUrlEscape((const char *)part[0], len[0]);
  if (zEsc) {
    if (memNamespaceValid((const char *)part[0], len[0]) &&
        ((int)strlen(zEsc) != len[0] || memcmp(zEsc, part[0], len[0]))) abort();
    if (strpbrk(zEsc, "/?#\r\n %\\") && !strchr(zEsc, '%')) abort();
    for (i = 0; zEsc[i]; i++) {
      if ((unsigned char)zEsc[i] <= 0x20 || (unsigned char)zEsc[i] >= 0x7f) abort();
      if (zEsc[i] == '/' || zEsc[i] == '?' || zEsc[i] == '#') abort();
    }
    sqlite3_free(zEsc);
  }

  fuzzRun(db, "INSERT OR REPLACE INTO m(namespace, key, value) VALUES (?1, ?2, 'v')",
          part[0], len[0], part[1], len[1]);
  fuzzRun(db, "SELECT * FROM m WHERE namespace LIKE ?1 AND key GLOB ?2",
          part[0], len[0], part[1], len[1]);
  /* IN lists travel to the backing query as JSON built by memory_local.c. */
  fuzzRun(db, "SELECT count(*) FROM m WHERE namespace IN (?1, ?2, 'x') AND key IN (?2, ?1)",
          part[0], len[0], part[1], len[1]);
  {
    /* Only valid names are ever stored. */
    sqlite3_stmt *pStmt;
    sqlite3_prepare_v2(db, "SELECT namespace, key FROM m_data", -1, &pStmt, 0);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      if (!memNamespaceValid((const char *)sqlite3_column_text(pStmt, 0),
                             sqlite3_column_bytes(pStmt, 0)) ||
          !memKeyValid((const char *)sqlite3_column_text(pStmt, 1),
                       sqlite3_column_bytes(pStmt, 1))) abort();
    }
    sqlite3_finalize(pStmt);
  }
  fuzzRun(db, "DELETE FROM m", 0, 0, 0, 0);
  return 0;
}
