/*
** The settings of a table and the shadow table "<name>_config" that holds
** them: parsing CREATE VIRTUAL TABLE arguments, validation, storage,
** loading, rename and drop. No other file touches "<name>_config".
**
** Arguments are `name=value` (value bare or in single quotes). xCreate
** parses them once and stores the resolved settings (defaults filled in,
** $BOTWIRE_URL read) in "<name>_config", one row per setting, with the
** on-disk format of the table ("format"); xConnect loads them from there,
** so a reopened database behaves as it did when created.
*/
#include "memory_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REMOTE_URL "https://botwire.dev"

typedef enum { ARG_REMOTE, ARG_LOCAL, ARG_BOTH } ArgMode;

/* One integer argument: its name, where it lives, its range and mode. */
typedef struct IntArg {
  const char *zName;
  size_t offset;
  sqlite3_int64 min, max, dflt;
  int isInt; /* stored as int (1) or sqlite3_int64 (0) */
  ArgMode mode;
  int isSwitch; /* written on/off (also 1/0), stored as 1/0 */
} IntArg;

static const IntArg aIntArg[] = {
    {"max_value_bytes", offsetof(MemSettings, maxValueBytes), 1, 1000000000,
     100000, 0, ARG_BOTH, 0},
    {"max_namespace_bytes", offsetof(MemSettings, maxNamespaceBytes), 0,
     (sqlite3_int64)1 << 50, 52428800, 0, ARG_LOCAL, 0},
    {"max_writes_per_day", offsetof(MemSettings, maxWritesPerDay), 0,
     (sqlite3_int64)1 << 50, 1000, 0, ARG_LOCAL, 0},
    {"timeout_ms", offsetof(MemSettings, timeoutMs), 1, 3600000, 10000, 1,
     ARG_REMOTE, 0},
    {"retries", offsetof(MemSettings, retries), 0, 20, 3, 1, ARG_REMOTE, 0},
    {"concurrency", offsetof(MemSettings, concurrency), 1, 256, 16, 1,
     ARG_REMOTE, 0},
    {"search", offsetof(MemSettings, search), 0, 1, 0, 1, ARG_LOCAL, 1},
};
#define N_INT_ARG ((int)(sizeof(aIntArg) / sizeof(aIntArg[0])))

static void intArgSet(MemSettings *p, const IntArg *a, sqlite3_int64 v) {
  char *base = (char *)p;
  if (a->isInt) {
    *(int *)(base + a->offset) = (int)v;
  } else {
    *(sqlite3_int64 *)(base + a->offset) = v;
  }
}

static sqlite3_int64 intArgGet(const MemSettings *p, const IntArg *a) {
  const char *base = (const char *)p;
  if (a->isInt) return *(const int *)(base + a->offset);
  return *(const sqlite3_int64 *)(base + a->offset);
}

void memSettingsClear(MemSettings *p) {
  sqlite3_free(p->zUrl);
  sqlite3_free(p->zToken);
  memset(p, 0, sizeof(*p));
}

static void settingsDefaults(MemSettings *p) {
  int i;
  memset(p, 0, sizeof(*p));
  p->format = MEM_FORMAT_CURRENT;
  for (i = 0; i < N_INT_ARG; i++) intArgSet(p, &aIntArg[i], aIntArg[i].dflt);
}

/* True if z[0..n) holds a byte a header or URL must never carry. */
static int hasControlByte(const char *z, int n) {
  int i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)z[i];
    if (c < 0x20 || c == 0x7f) return 1;
  }
  return 0;
}

/* Check a remote base URL; return an error message or NULL. The URL is the
** prefix of every request path, so anything that would let a name escape
** the path (query, fragment, spaces, control bytes) is refused here. */
static char *checkUrl(const char *z) {
  int n = (int)strlen(z);
  const char *zHost;
  if (strncmp(z, "http://", 7) == 0) {
    zHost = z + 7;
  } else if (strncmp(z, "https://", 8) == 0) {
    zHost = z + 8;
  } else {
    return sqlite3_mprintf(
        "memory: remote URL '%s' must start with http:// or https://", z);
  }
  if (hasControlByte(z, n) || strpbrk(z, " ?#\\\"<>") != 0) {
    return sqlite3_mprintf(
        "memory: remote URL must not contain spaces, control characters, "
        "'?', '#', '\\', '\"', '<' or '>'; give a plain base URL such as "
        "http://127.0.0.1:8000");
  }
  if (zHost[0] == 0 || zHost[0] == '/') {
    return sqlite3_mprintf("memory: remote URL '%s' has no host", z);
  }
  return 0;
}

/* Unquote a bare or 'quoted' value into new memory. */
static char *unquote(const char *z, int n) {
  char *zOut;
  int i, j;
  if (n >= 2 && (z[0] == '\'' || z[0] == '"') && z[n - 1] == z[0]) {
    char q = z[0];
    zOut = sqlite3_malloc(n);
    if (zOut == 0) return 0;
    for (i = 1, j = 0; i < n - 1; i++) {
      zOut[j++] = z[i];
      if (z[i] == q && z[i + 1] == q) i++;
    }
    zOut[j] = 0;
    return zOut;
  }
  return sqlite3_mprintf("%.*s", n, z);
}

static const char *trim(const char *z, int *pn) {
  int n = *pn;
  while (n > 0 && (z[0] == ' ' || z[0] == '\t' || z[0] == '\n')) z++, n--;
  while (n > 0 && (z[n - 1] == ' ' || z[n - 1] == '\t' || z[n - 1] == '\n')) n--;
  *pn = n;
  return z;
}

static int parseInt(const char *z, sqlite3_int64 *pOut) {
  sqlite3_int64 v = 0;
  if (*z == 0) return 0;
  for (; *z; z++) {
    if (*z < '0' || *z > '9') return 0;
    if (v > ((sqlite3_int64)1 << 55)) return 0;
    v = v * 10 + (*z - '0');
  }
  *pOut = v;
  return 1;
}

/* The value of an on/off setting: on, off, 1 or 0. */
static int parseSwitch(const char *z, sqlite3_int64 *pOut) {
  if (sqlite3_stricmp(z, "on") == 0 || strcmp(z, "1") == 0) {
    *pOut = 1;
  } else if (sqlite3_stricmp(z, "off") == 0 || strcmp(z, "0") == 0) {
    *pOut = 0;
  } else {
    return 0;
  }
  return 1;
}

/* The error for a value outside a setting's range. */
static char *badValue(const IntArg *a, const char *zValue, const char *zTail) {
  if (a->isSwitch) {
    return sqlite3_mprintf("memory: %s must be on or off, not '%s'%s", a->zName,
                           zValue, zTail);
  }
  return sqlite3_mprintf("memory: %s must be a whole number from %lld to %lld, "
                         "not '%s'%s",
                         a->zName, a->min, a->max, zValue, zTail);
}

/* Split one argument, "name" or "name = value", into its trimmed parts.
** *pzVal is 0 when there is no '='. */
static void splitArg(const char *zArg, const char **pzName, int *pnName,
                     const char **pzVal, int *pnVal) {
  int n = (int)strlen(zArg);
  const char *z = trim(zArg, &n);
  const char *zEq = memchr(z, '=', n);
  *pnName = zEq ? (int)(zEq - z) : n;
  *pzName = trim(z, pnName);
  *pzVal = 0;
  *pnVal = 0;
  if (zEq) {
    *pnVal = n - (int)(zEq - z) - 1;
    *pzVal = trim(zEq + 1, pnVal);
  }
}

static int isName(const char *zName, int nName, const char *zWant) {
  return (int)strlen(zWant) == nName && strncmp(zName, zWant, nName) == 0;
}

/* Parse argv[3..argc) of xCreate into *p. Two passes: the first finds
** `remote`, so that mode-specific arguments can be checked in the second. */
int memSettingsParse(MemSettings *p, int argc, const char *const *argv,
                     char **pzErr) {
  int i, k;
  char *zRemote = 0;
  settingsDefaults(p);
  for (i = 3; i < argc; i++) {
    const char *zName, *zVal;
    int nName, nVal;
    splitArg(argv[i], &zName, &nName, &zVal, &nVal);
    if (isName(zName, nName, "remote")) p->isRemote = 1;
  }
  for (i = 3; i < argc; i++) {
    const char *zName, *zVal;
    int nName, nVal;
    char *zValue = 0;
    splitArg(argv[i], &zName, &nName, &zVal, &nVal);
    if (nName == 0) {
      if (zVal == 0) continue; /* "memory()" passes one empty argument */
      *pzErr = sqlite3_mprintf("memory: argument '%s' has no name", argv[i]);
      goto error;
    }
    if (zVal) {
      zValue = unquote(zVal, nVal);
      if (zValue == 0) goto nomem;
    }
    if (isName(zName, nName, "remote")) {
      sqlite3_free(zRemote);
      zRemote = zValue;
      continue;
    }
    if (isName(zName, nName, "token")) {
      if (!p->isRemote) {
        sqlite3_free(zValue);
        goto remoteOnly;
      }
      if (zValue == 0 || zValue[0] == 0 ||
          hasControlByte(zValue, (int)strlen(zValue))) {
        *pzErr = sqlite3_mprintf(
            "memory: token must be non-empty and free of control "
            "characters (CR, LF, tab ...)");
        sqlite3_free(zValue);
        goto error;
      }
      sqlite3_free(p->zToken);
      p->zToken = zValue;
      continue;
    }
    for (k = 0; k < N_INT_ARG; k++) {
      const IntArg *a = &aIntArg[k];
      sqlite3_int64 v;
      if (!isName(zName, nName, a->zName)) continue;
      if (a->mode == ARG_REMOTE && !p->isRemote) {
        sqlite3_free(zValue);
        goto remoteOnly;
      }
      if (a->mode == ARG_LOCAL && p->isRemote) {
        *pzErr = sqlite3_mprintf(
            "memory: %s applies to local tables only; the hosted service "
            "enforces its own quotas",
            a->zName);
        sqlite3_free(zValue);
        goto error;
      }
      if (zValue == 0 ||
          !(a->isSwitch ? parseSwitch(zValue, &v) : parseInt(zValue, &v)) ||
          v < a->min || v > a->max) {
        *pzErr = badValue(a, zValue ? zValue : "", "");
        sqlite3_free(zValue);
        goto error;
      }
      intArgSet(p, a, v);
      sqlite3_free(zValue);
      break;
    }
    if (k < N_INT_ARG) continue;
    *pzErr = sqlite3_mprintf(
        "memory: unknown argument '%.*s'; known: remote, token, "
        "max_value_bytes, max_namespace_bytes, max_writes_per_day, search, "
        "timeout_ms, retries, concurrency",
        nName, zName);
    sqlite3_free(zValue);
    goto error;

  remoteOnly:
    *pzErr = sqlite3_mprintf(
        "memory: %.*s applies to remote tables only; add remote='<url>'",
        nName, zName);
    goto error;
  }

  if (p->isRemote) {
    const char *zUrl = zRemote && zRemote[0] ? zRemote : getenv("BOTWIRE_URL");
    char *zCheck;
    int n;
    if (zUrl == 0 || zUrl[0] == 0) zUrl = DEFAULT_REMOTE_URL;
    zCheck = checkUrl(zUrl);
    if (zCheck) {
      *pzErr = zCheck;
      goto error;
    }
    n = (int)strlen(zUrl);
    while (n > 0 && zUrl[n - 1] == '/') n--;
    p->zUrl = sqlite3_mprintf("%.*s", n, zUrl);
    if (p->zUrl == 0) goto nomem;
  }
  sqlite3_free(zRemote);
  return SQLITE_OK;

nomem:
  sqlite3_free(zRemote);
  memSettingsClear(p);
  return SQLITE_NOMEM;
error:
  sqlite3_free(zRemote);
  memSettingsClear(p);
  return SQLITE_ERROR;
}

/* Store settings in "<name>_config". */
static int settingsSave(sqlite3 *db, const char *zSchema, const char *zName,
                        const MemSettings *p, char **pzErr) {
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int rc, k;
  zSql = sqlite3_mprintf(
      "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, value) VALUES (?, ?)",
      zSchema, zName);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) goto done;
#define SAVE_TEXT(N, V)                                    \
  sqlite3_bind_text(pStmt, 1, N, -1, SQLITE_STATIC);       \
  sqlite3_bind_text(pStmt, 2, V, -1, SQLITE_TRANSIENT);    \
  sqlite3_step(pStmt);                                     \
  if ((rc = sqlite3_reset(pStmt)) != SQLITE_OK) goto done;
  SAVE_TEXT("mode", p->isRemote ? "remote" : "local");
  sqlite3_bind_text(pStmt, 1, "format", -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, MEM_FORMAT_CURRENT);
  sqlite3_step(pStmt);
  if ((rc = sqlite3_reset(pStmt)) != SQLITE_OK) goto done;
  if (p->zUrl) { SAVE_TEXT("remote", p->zUrl); }
  if (p->zToken) { SAVE_TEXT("token", p->zToken); }
#undef SAVE_TEXT
  for (k = 0; k < N_INT_ARG; k++) {
    const IntArg *a = &aIntArg[k];
    if (a->mode == ARG_REMOTE && !p->isRemote) continue;
    if (a->mode == ARG_LOCAL && p->isRemote) continue;
    sqlite3_bind_text(pStmt, 1, a->zName, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 2, intArgGet(p, a));
    sqlite3_step(pStmt);
    if ((rc = sqlite3_reset(pStmt)) != SQLITE_OK) goto done;
  }
done:
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot store settings: %s",
                             sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Load settings stored by memSettingsSave. */
int memSettingsLoad(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, char **pzErr) {
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int rc, k;
  settingsDefaults(p);
  p->format = 1; /* 0.1.0 stored no format */
  zSql = sqlite3_mprintf("SELECT name, value FROM \"%w\".\"%w_config\"",
                         zSchema, zName);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot read the settings of '%s': %s",
                             zName, sqlite3_errmsg(db));
    return rc;
  }
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *zKey = (const char *)sqlite3_column_text(pStmt, 0);
    const char *zVal = (const char *)sqlite3_column_text(pStmt, 1);
    if (zKey == 0 || zVal == 0) continue;
    if (strcmp(zKey, "mode") == 0) {
      p->isRemote = strcmp(zVal, "remote") == 0;
    } else if (strcmp(zKey, "format") == 0) {
      p->format = sqlite3_column_int(pStmt, 1);
    } else if (strcmp(zKey, "remote") == 0) {
      p->zUrl = sqlite3_mprintf("%s", zVal);
    } else if (strcmp(zKey, "token") == 0) {
      p->zToken = sqlite3_mprintf("%s", zVal);
    } else {
      for (k = 0; k < N_INT_ARG; k++) {
        if (strcmp(zKey, aIntArg[k].zName) == 0) {
          intArgSet(p, &aIntArg[k], sqlite3_column_int64(pStmt, 1));
        }
      }
    }
  }
  rc = sqlite3_finalize(pStmt);
  if (rc == SQLITE_OK && p->isRemote && p->zUrl == 0) rc = SQLITE_CORRUPT;
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: the settings of '%s' are unreadable",
                             zName);
    memSettingsClear(p);
  }
  return rc;
}

int memConfigCreate(sqlite3 *db, const char *zSchema, const char *zName,
                    const MemSettings *p, char **pzErr) {
  int rc = memExecPrintf(db,
                         "CREATE TABLE \"%w\".\"%w_config\"(name TEXT PRIMARY "
                         "KEY, value) WITHOUT ROWID",
                         zSchema, zName);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot create '%s_config': %s", zName,
                             sqlite3_errmsg(db));
    return rc;
  }
  return settingsSave(db, zSchema, zName, p, pzErr);
}

int memConfigSetFormat(sqlite3 *db, const char *zSchema, const char *zName,
                       int iFormat) {
  return memExecPrintf(db,
                       "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, "
                       "value) VALUES ('format', %d)",
                       zSchema, zName, iFormat);
}

int memConfigRename(sqlite3 *db, const char *zSchema, const char *zOld,
                    const char *zNew) {
  return memExecPrintf(db,
                       "ALTER TABLE \"%w\".\"%w_config\" RENAME TO \"%w_config\"",
                       zSchema, zOld, zNew);
}

int memConfigDrop(sqlite3 *db, const char *zSchema, const char *zName) {
  return memExecPrintf(db, "DROP TABLE IF EXISTS \"%w\".\"%w_config\"",
                       zSchema, zName);
}

/* The value of a setting given through the command column: an INTEGER,
** or TEXT as CREATE would take it. */
static int commandInt(const IntArg *a, sqlite3_value *v, sqlite3_int64 *pOut) {
  if (sqlite3_value_type(v) == SQLITE_INTEGER) {
    *pOut = sqlite3_value_int64(v);
    return 1;
  }
  if (sqlite3_value_type(v) == SQLITE_TEXT) {
    const char *z = (const char *)sqlite3_value_text(v);
    return a->isSwitch ? parseSwitch(z, pOut) : parseInt(z, pOut);
  }
  return 0;
}

int memConfigChange(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, const char *zSetting, sqlite3_value *pVal,
                    char **pzErr) {
  const IntArg *a = 0;
  MemSettings fresh;
  sqlite3_int64 v;
  int k, rc;
  if (strcmp(zSetting, "remote") == 0 || strcmp(zSetting, "mode") == 0 ||
      strcmp(zSetting, "format") == 0) {
    *pzErr = sqlite3_mprintf(
        "memory: %s cannot be changed on an existing table; create another "
        "table and copy the entries (INSERT INTO new SELECT * FROM old)",
        zSetting);
    return SQLITE_ERROR;
  }
  for (k = 0; k < N_INT_ARG; k++) {
    if (strcmp(zSetting, aIntArg[k].zName) == 0) a = &aIntArg[k];
  }
  if (a == 0) return SQLITE_NOTFOUND;
  if ((a->mode == ARG_REMOTE && !p->isRemote) ||
      (a->mode == ARG_LOCAL && p->isRemote)) {
    *pzErr = sqlite3_mprintf("memory: %s applies to %s tables only; '%s' is %s",
                             zSetting, p->isRemote ? "local" : "remote", zName,
                             p->isRemote ? "remote" : "local");
    return SQLITE_ERROR;
  }
  if (!commandInt(a, pVal, &v) || v < a->min || v > a->max) {
    *pzErr = badValue(a,
                      sqlite3_value_type(pVal) == SQLITE_BLOB ? "(a BLOB)"
                      : sqlite3_value_text(pVal)
                          ? (const char *)sqlite3_value_text(pVal)
                          : "NULL",
                      "; nothing was changed");
    return SQLITE_ERROR;
  }
  rc = memExecPrintf(db,
                     "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, value) "
                     "VALUES (%Q, %lld);"
                     "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, value) "
                     "SELECT 'generation', coalesce((SELECT value FROM "
                     "\"%w\".\"%w_config\" WHERE name = 'generation'), 0) + 1",
                     zSchema, zName, zSetting, v, zSchema, zName, zSchema, zName);
  if (rc == SQLITE_OK) rc = memSettingsLoad(db, zSchema, zName, &fresh, pzErr);
  if (rc != SQLITE_OK) {
    if (*pzErr == 0) {
      *pzErr = sqlite3_mprintf("memory: cannot store %s: %s", zSetting,
                               sqlite3_errmsg(db));
    }
    return rc;
  }
  memSettingsClear(p);
  *p = fresh;
  return SQLITE_OK;
}

int memConfigGeneration(sqlite3 *db, const char *zSchema, const char *zName,
                        sqlite3_int64 *pGen) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT value FROM \"%w\".\"%w_config\" WHERE name = 'generation'",
      zSchema, zName);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  *pGen = sqlite3_step(pStmt) == SQLITE_ROW ? sqlite3_column_int64(pStmt, 0) : 0;
  return sqlite3_finalize(pStmt);
}
