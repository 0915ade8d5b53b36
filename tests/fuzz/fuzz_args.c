/* Fuzz target: CREATE VIRTUAL TABLE arguments, through the parser itself
** (the input split at commas, as SQLite splits them) and through SQL. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sqlite3 *db = fuzzDb();
  char *zCopy, *zSql, *zErr = 0;
  const char *azArg[3 + 16] = {"memory", "main", "t"};
  int nArg = 3;
  MemSettings s;
  char *p;
  if (size > 4096) return 0;
  zCopy = sqlite3_mprintf("%.*s", (int)size, (const char *)data);
  if (zCopy == 0) return 0;
  for (p = zCopy; nArg < 19; nArg++) {
    azArg[nArg] = p;
    p = strchr(p, ',');
    if (p == 0) { nArg++; break; }
    *p++ = 0;
  }
  if (memSettingsParse(&s, nArg, azArg, &zErr) == SQLITE_OK) {
    /* Whatever was accepted is sane. */
    if (s.isRemote && (s.zUrl == 0 || (strncmp(s.zUrl, "http://", 7) &&
                                       strncmp(s.zUrl, "https://", 8)))) abort();
    if (s.maxValueBytes < 1 || s.concurrency < 1 || s.timeoutMs < 1) abort();
    if (s.zToken && strpbrk(s.zToken, "\r\n")) abort();
    memSettingsClear(&s);
  } else if (zErr == 0 || strncmp(zErr, "memory: ", 8) != 0) {
    abort(); /* every refusal says why, with the prefix */
  }
  sqlite3_free(zErr);
  sqlite3_free(zCopy);

  zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE t USING memory(%.*s)", (int)size,
                         (const char *)data);
  if (zSql) {
    fuzzRun(db, zSql, 0, 0, 0, 0);
    fuzzRun(db, "DROP TABLE IF EXISTS t", 0, 0, 0, 0);
    sqlite3_free(zSql);
  }
  return 0;
}
