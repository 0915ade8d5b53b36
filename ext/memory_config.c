/*
** The settings of a table and the shadow table "<name>_config" that holds
** them: parsing CREATE VIRTUAL TABLE arguments, validation, storage,
** loading, changes through the command column, rename and drop. No other
** file touches "<name>_config". Besides the settings it holds the table's
** on-disk format ("format"; 0.1.0 stored none) and a counter of changes
** ("generation") that other connections compare to notice one.
**
** Arguments are `name=value` (value bare or in single quotes). xCreate
** parses them and stores the resolved settings (defaults filled in,
** $BOTWIRE_URL read) in the shadow table "<name>_config"; xConnect loads
** them from there, so a reopened database behaves as it did when created.
**
** A database file is foreign input: its "<name>_config" may come from an
** older or newer version, or have been edited with plain SQL (it is a
** shadow table, writable outside defensive mode). So every stored setting
** goes through settingSet(), the very check CREATE's arguments go through,
** and an unknown name, a missing mode or a wrong type is refused: a bad
** file gives a `memory:` error naming the table, the setting and the
** value, never a division by zero or a header built from a stored CR/LF.
**
** No secret is stored. `token_env` names an environment variable that is
** read each time the table is opened (xCreate and xConnect), and its value
** lives only in MemSettings.zToken; `token='...'` is refused, and so is a
** "token" row stored by an older version (see loadRow()).
*/
#include "memory_config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REMOTE_URL "https://botwire.dev"

/* The largest max_value_bytes. SQLite stores at most SQLITE_MAX_LENGTH
** (1,000,000,000 by default, often lowered by applications) bytes in a
** string or a row, and a local write holds about three copies of the value
** at once (the statement's argument, the copy bound into the backing
** table's INSERT, the row's record): 100 MB keeps a write at a few hundred
** MB of memory and ten times under SQLite's limit. tests/
** test_regress_config.py stores a value of exactly this size. */
#define MAX_VALUE_BYTES_CAP 100000000

/* Longest token_env name (POSIX sets no limit; this one is generous). */
#define TOKEN_ENV_MAX 255

typedef enum { ARG_REMOTE, ARG_LOCAL, ARG_BOTH } ArgMode;

/* One integer argument: its name, where it lives, its range and mode. */
typedef struct IntArg {
  const char *zName;
  size_t offset;
  sqlite3_int64 min, max, dflt;
  int isInt; /* stored as int (1) or sqlite3_int64 (0) */
  ArgMode mode;
  int isSwitch; /* written on/off (also 1/0), stored as 1/0 */
  const char *zRemoteWhy; /* local ones: why a remote table cannot have it */
} IntArg;

#define WHY_QUOTA "the hosted service enforces its own quotas"
#define WHY_SEARCH "the hosted API has no search; copy the namespace into a " \
                   "local table with search=on"
#define WHY_EXPIRY "the hosted API cannot expire entries; keep entries that " \
                   "expire in a local table"
#define WHY_HISTORY "the hosted API keeps no versions; keep the namespace in " \
                    "a local table with history=on"

static const IntArg aIntArg[] = {
    {"max_value_bytes", offsetof(MemSettings, maxValueBytes), 1,
     MAX_VALUE_BYTES_CAP, 100000, 0, ARG_BOTH, 0, 0},
    {"max_namespace_bytes", offsetof(MemSettings, maxNamespaceBytes), 0,
     (sqlite3_int64)1 << 50, 52428800, 0, ARG_LOCAL, 0, WHY_QUOTA},
    {"max_writes_per_day", offsetof(MemSettings, maxWritesPerDay), 0,
     (sqlite3_int64)1 << 50, 1000, 0, ARG_LOCAL, 0, WHY_QUOTA},
    {"search", offsetof(MemSettings, search), 0, 1, 0, 1, ARG_LOCAL, 1,
     WHY_SEARCH},
    /* ten years at most: a lifetime past that is "forever" (0) */
    {"ttl_seconds", offsetof(MemSettings, ttlSeconds), 0, 315360000, 0, 0,
     ARG_LOCAL, 0, WHY_EXPIRY},
    {"history", offsetof(MemSettings, history), 0, 1, 0, 1, ARG_LOCAL, 1,
     WHY_HISTORY},
    {"history_days", offsetof(MemSettings, historyDays), 0, 36500, 30, 1,
     ARG_LOCAL, 0, WHY_HISTORY},
    {"timeout_ms", offsetof(MemSettings, timeoutMs), 1, 3600000, 10000, 1,
     ARG_REMOTE, 0, 0},
    {"retries", offsetof(MemSettings, retries), 0, 20, 3, 1, ARG_REMOTE, 0, 0},
    {"concurrency", offsetof(MemSettings, concurrency), 1, 256, 16, 1,
     ARG_REMOTE, 0, 0},
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
  sqlite3_free(p->zTokenEnv);
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

/* z[0..n) quoted for an error message: control bytes and quotes shown as
** '?', at most 40 bytes, so a message cannot be made to lie. */
static char *displayText(const char *z, int n) {
  char zBuf[48];
  int i, j = 0;
  for (i = 0; i < n && j < 40; i++) {
    unsigned char c = (unsigned char)z[i];
    zBuf[j++] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
  }
  zBuf[j] = 0;
  return sqlite3_mprintf("'%s'%s", zBuf, i < n ? "..." : "");
}

/* Where settings come from: CREATE's arguments, or a stored
** "<zTable>_config". Errors name the table and say what to do in either
** case; see settingError(). */
typedef struct ArgSource {
  const char *zTable;
  int isStored;
  char *zErr; /* the first error */
} ArgSource;

/* Record the error "PROBLEM" (zFormat...) and return SQLITE_ERROR. From
** CREATE: "memory: PROBLEM[; zCreateHint]". From a stored setting:
** "memory: table 'T' has an invalid setting in T_config: PROBLEM;
** zStoredHint". */
static int settingError(ArgSource *pSrc, const char *zCreateHint,
                        const char *zStoredHint, const char *zFormat, ...) {
  char *zProblem;
  va_list ap;
  va_start(ap, zFormat);
  zProblem = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zProblem == 0) return SQLITE_NOMEM;
  sqlite3_free(pSrc->zErr);
  if (pSrc->isStored) {
    pSrc->zErr = sqlite3_mprintf(
        "memory: table '%s' has an invalid setting in %s_config: %s; %s",
        pSrc->zTable, pSrc->zTable, zProblem, zStoredHint);
  } else {
    pSrc->zErr = sqlite3_mprintf("memory: %s%s%s", zProblem,
                                 zCreateHint ? "; " : "",
                                 zCreateHint ? zCreateHint : "");
  }
  sqlite3_free(zProblem);
  return pSrc->zErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Check a remote base URL z[0..n); return the problem (no prefix) or NULL.
** The URL is the prefix of every request path, so anything that would let
** a name escape the path (query, fragment, spaces, control bytes) is
** refused here. */
static char *checkUrl(const char *z, int n) {
  const char *zHost;
  if (n >= 7 && strncmp(z, "http://", 7) == 0) {
    zHost = z + 7;
  } else if (n >= 8 && strncmp(z, "https://", 8) == 0) {
    zHost = z + 8;
  } else {
    char *zShow = displayText(z, n);
    char *zErr = sqlite3_mprintf(
        "remote URL %s must start with http:// or https://", zShow);
    sqlite3_free(zShow);
    return zErr;
  }
  if (hasControlByte(z, n) || strpbrk(z, " ?#\\\"<>") != 0) {
    return sqlite3_mprintf(
        "remote URL must not contain spaces, control characters, "
        "'?', '#', '\\', '\"', '<' or '>'; give a plain base URL such as "
        "http://127.0.0.1:8000");
  }
  if (zHost[0] == 0 || zHost[0] == '/') {
    char *zShow = displayText(z, n);
    char *zErr = sqlite3_mprintf("remote URL %s has no host", zShow);
    sqlite3_free(zShow);
    return zErr;
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

/* Parse z[0..n) as a whole number of decimal digits, nothing else. */
static int parseInt(const char *z, int n, sqlite3_int64 *pOut) {
  sqlite3_int64 v = 0;
  int i;
  if (n <= 0) return 0;
  for (i = 0; i < n; i++) {
    if (z[i] < '0' || z[i] > '9') return 0;
    if (v > ((sqlite3_int64)1 << 55)) return 0;
    v = v * 10 + (z[i] - '0');
  }
  *pOut = v;
  return 1;
}

/* Parse z[0..n) as on/off (or 1/0), any case. */
static int parseSwitch(const char *z, int n, sqlite3_int64 *pOut) {
  if ((n == 2 && sqlite3_strnicmp(z, "on", 2) == 0) || (n == 1 && z[0] == '1')) {
    *pOut = 1;
  } else if ((n == 3 && sqlite3_strnicmp(z, "off", 3) == 0) ||
             (n == 1 && z[0] == '0')) {
    *pOut = 0;
  } else {
    return 0;
  }
  return 1;
}

/* True if z[0..n) is an environment variable name: ^[A-Za-z_][A-Za-z0-9_]*$,
** at most TOKEN_ENV_MAX bytes. */
static int isEnvName(const char *z, int n) {
  int i;
  if (n < 1 || n > TOKEN_ENV_MAX || (z[0] >= '0' && z[0] <= '9')) return 0;
  for (i = 0; i < n; i++) {
    char c = z[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_')) {
      return 0;
    }
  }
  return 1;
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

/* Set the remote base URL from z[0..n), checked, without trailing '/'. */
static int urlSet(MemSettings *p, ArgSource *pSrc, const char *z, int n) {
  char *zProblem = checkUrl(z, n);
  if (zProblem) {
    int rc = settingError(pSrc, 0, "correct that row", "%s", zProblem);
    sqlite3_free(zProblem);
    return rc;
  }
  while (n > 0 && z[n - 1] == '/') n--;
  sqlite3_free(p->zUrl);
  p->zUrl = sqlite3_mprintf("%.*s", n, z);
  return p->zUrl ? SQLITE_OK : SQLITE_NOMEM;
}

/* Check the setting zName[0..nName) = zValue[0..nValue) for a table whose
** mode (p->isRemote) is known, and store it in *p. The one check for both
** sources: CREATE's arguments and stored rows. zValue is 0 when there is
** no usable text (a bare name in CREATE, a NULL or BLOB stored); zShow
** says how to show the value in an error ("'abc'", "a BLOB").
**
** `remote` is not set here when it comes from CREATE without a URL:
** memSettingsParse() then reads $BOTWIRE_URL. */
static int settingSet(MemSettings *p, ArgSource *pSrc, const char *zName,
                      int nName, const char *zValue, int nValue,
                      const char *zShow) {
  int k;
  if (isName(zName, nName, "remote")) {
    if (!p->isRemote) {
      return settingError(pSrc, 0, "delete that row",
                          "remote applies to remote tables only");
    }
    if (zValue == 0 && pSrc->isStored) {
      return settingError(pSrc, 0, "correct that row",
                          "remote must be a URL, not %s", zShow);
    }
    if (zValue == 0 || nValue == 0) return SQLITE_OK; /* CREATE: default */
    return urlSet(p, pSrc, zValue, nValue);
  }
  if (isName(zName, nName, "token_env")) {
    if (!p->isRemote) {
      return settingError(pSrc, "add remote='<url>'", "delete that row",
                          "token_env applies to remote tables only");
    }
    /* The value is not shown: it may be the token itself, given by
    ** mistake, and error messages end up in logs. */
    if (zValue == 0 || !isEnvName(zValue, nValue)) {
      return settingError(
          pSrc, 0, "correct that row",
          "token_env must be the name of an environment variable (1-%d of "
          "A-Z a-z 0-9 _, not starting with a digit) that holds the token, "
          "not the token itself",
          TOKEN_ENV_MAX);
    }
    sqlite3_free(p->zTokenEnv);
    p->zTokenEnv = sqlite3_mprintf("%.*s", nValue, zValue);
    return p->zTokenEnv ? SQLITE_OK : SQLITE_NOMEM;
  }
  for (k = 0; k < N_INT_ARG; k++) {
    const IntArg *a = &aIntArg[k];
    sqlite3_int64 v;
    char zHint[80];
    if (!isName(zName, nName, a->zName)) continue;
    if (a->mode == ARG_REMOTE && !p->isRemote) {
      return settingError(pSrc, "add remote='<url>'", "delete that row",
                          "%s applies to remote tables only", a->zName);
    }
    if (a->mode == ARG_LOCAL && p->isRemote) {
      return settingError(pSrc, a->zRemoteWhy, "delete that row",
                          "%s applies to local tables only", a->zName);
    }
    if (zValue == 0 ||
        !(a->isSwitch ? parseSwitch(zValue, nValue, &v)
                      : parseInt(zValue, nValue, &v)) ||
        v < a->min || v > a->max) {
      sqlite3_snprintf(sizeof(zHint), zHint,
                       "correct that row, or delete it to use the default "
                       "(%lld)", a->dflt);
      if (a->isSwitch) {
        return settingError(pSrc, 0, zHint, "%s must be on or off, not %s",
                            a->zName, zShow);
      }
      return settingError(pSrc, 0, zHint,
                          "%s must be a whole number from %lld to %lld, not %s",
                          a->zName, a->min, a->max, zShow);
    }
    intArgSet(p, a, v);
    return SQLITE_OK;
  }
  return SQLITE_NOTFOUND;
}

/* Read the token from the environment variable p->zTokenEnv, if any, into
** p->zToken. Called each time the table is opened, never stored. */
static int tokenResolve(MemSettings *p, const char *zTable, char **pzErr) {
  const char *zWhy = 0;
  const char *zToken;
  if (p->zTokenEnv == 0) return SQLITE_OK;
  zToken = getenv(p->zTokenEnv);
  if (zToken == 0) {
    zWhy = "is not set";
  } else if (zToken[0] == 0) {
    zWhy = "is empty";
  } else if (hasControlByte(zToken, (int)strlen(zToken))) {
    zWhy = "holds control characters (CR, LF, tab ...)";
  }
  if (zWhy) {
    *pzErr = sqlite3_mprintf(
        "memory: environment variable %s (token_env of table '%s') %s; set "
        "it to the token before opening the table",
        p->zTokenEnv, zTable, zWhy);
    return SQLITE_ERROR;
  }
  p->zToken = sqlite3_mprintf("%s", zToken);
  return p->zToken ? SQLITE_OK : SQLITE_NOMEM;
}

/* Parse argv[3..argc) of xCreate into *p. Two passes: the first finds
** `remote`, so that mode-specific arguments can be checked in the second. */
int memSettingsParse(MemSettings *p, int argc, const char *const *argv,
                     char **pzErr) {
  ArgSource src;
  int i, rc = SQLITE_OK;
  memset(&src, 0, sizeof(src));
  src.zTable = argv[2];
  settingsDefaults(p);
  for (i = 3; i < argc; i++) {
    const char *zName, *zVal;
    int nName, nVal;
    splitArg(argv[i], &zName, &nName, &zVal, &nVal);
    if (isName(zName, nName, "remote")) p->isRemote = 1;
  }
  for (i = 3; i < argc && rc == SQLITE_OK; i++) {
    const char *zName, *zVal;
    char *zValue = 0, *zShow;
    int nName, nVal;
    splitArg(argv[i], &zName, &nName, &zVal, &nVal);
    if (nName == 0) {
      if (zVal == 0) continue; /* "memory()" passes one empty argument */
      *pzErr = sqlite3_mprintf("memory: argument '%s' has no name", argv[i]);
      rc = SQLITE_ERROR;
      break;
    }
    if (isName(zName, nName, "token")) {
      *pzErr = sqlite3_mprintf(
          "memory: token= is not accepted: a token written into CREATE "
          "VIRTUAL TABLE is stored in plain text in the database file; put "
          "it in an environment variable and name that with "
          "token_env='VARIABLE'");
      rc = SQLITE_ERROR;
      break;
    }
    if (zVal) {
      zValue = unquote(zVal, nVal);
      if (zValue == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
    }
    zShow = zValue ? displayText(zValue, (int)strlen(zValue))
                   : sqlite3_mprintf("''");
    if (zShow == 0) {
      sqlite3_free(zValue);
      rc = SQLITE_NOMEM;
      break;
    }
    rc = settingSet(p, &src, zName, nName, zValue,
                    zValue ? (int)strlen(zValue) : 0, zShow);
    sqlite3_free(zValue);
    sqlite3_free(zShow);
    if (rc == SQLITE_NOTFOUND) {
      *pzErr = sqlite3_mprintf(
          "memory: unknown argument '%.*s'; known: remote, token_env, "
          "max_value_bytes, max_namespace_bytes, max_writes_per_day, search, "
          "ttl_seconds, history, history_days, timeout_ms, retries, "
          "concurrency",
          nName, zName);
      rc = SQLITE_ERROR;
    }
  }
  if (rc == SQLITE_OK && p->isRemote && p->zUrl == 0) {
    const char *zUrl = getenv("BOTWIRE_URL");
    if (zUrl == 0 || zUrl[0] == 0) zUrl = DEFAULT_REMOTE_URL;
    rc = urlSet(p, &src, zUrl, (int)strlen(zUrl));
  }
  if (rc == SQLITE_OK) rc = tokenResolve(p, src.zTable, pzErr);
  if (src.zErr) {
    if (*pzErr == 0) {
      *pzErr = src.zErr;
    } else {
      sqlite3_free(src.zErr);
    }
  }
  if (rc != SQLITE_OK) memSettingsClear(p);
  return rc;
}

/* Store settings in "<name>_config", with the current on-disk format. The
** token is not among them: only the name of its variable. */
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
  if (p->zTokenEnv) { SAVE_TEXT("token_env", p->zTokenEnv); }
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

/* The stored value in column 1 of pStmt: its text in *pzValue and *pnValue (0
** for NULL or BLOB: no setting takes them), and how to show it in an error
** (NULL on out-of-memory). */
static char *storedValue(sqlite3_stmt *pStmt, const char **pzValue,
                         int *pnValue) {
  int t = sqlite3_column_type(pStmt, 1);
  *pzValue = 0;
  *pnValue = 0;
  if (t == SQLITE_NULL) return sqlite3_mprintf("NULL");
  if (t == SQLITE_BLOB) return sqlite3_mprintf("a BLOB");
  *pzValue = (const char *)sqlite3_column_text(pStmt, 1);
  *pnValue = sqlite3_column_bytes(pStmt, 1);
  return *pzValue ? displayText(*pzValue, *pnValue) : 0;
}

/* Apply one stored row (name, value) of "<table>_config" other than mode. */
static int loadRow(MemSettings *p, ArgSource *pSrc, sqlite3_stmt *pStmt) {
  const char *zName = (const char *)sqlite3_column_text(pStmt, 0);
  int nName = sqlite3_column_bytes(pStmt, 0);
  const char *zValue;
  int nValue = 0, rc;
  char *zShow;
  if (zName == 0) return SQLITE_NOMEM;
  if (isName(zName, nName, "token")) {
    /* An older version stored the token itself: refuse rather than send
    ** it, so that the plain-text copy gets noticed and removed. */
    pSrc->zErr = sqlite3_mprintf(
        "memory: table '%s' keeps a token in plain text in %s_config (an "
        "older version stored it there and in its CREATE statement); tokens "
        "now come from an environment variable: run DELETE FROM \"%w_config\" "
        "WHERE name = 'token', then DROP TABLE and create the table again "
        "with token_env='VARIABLE'",
        pSrc->zTable, pSrc->zTable, pSrc->zTable);
    return pSrc->zErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  if (isName(zName, nName, "format") || isName(zName, nName, "generation")) {
    /* Not settings: the on-disk format (checked by the module) and the
    ** change counter (memConfigGeneration). Whole numbers either way. */
    if (sqlite3_column_type(pStmt, 1) != SQLITE_INTEGER ||
        sqlite3_column_int64(pStmt, 1) < (zName[0] == 'f' ? 1 : 0)) {
      return settingError(pSrc, 0, "correct that row",
                          "%s must be a whole number", zName);
    }
    if (zName[0] == 'f') p->format = sqlite3_column_int(pStmt, 1);
    return SQLITE_OK;
  }
  zShow = storedValue(pStmt, &zValue, &nValue);
  if (zShow == 0) return SQLITE_NOMEM;
  rc = settingSet(p, pSrc, zName, nName, zValue, nValue, zShow);
  sqlite3_free(zShow);
  if (rc == SQLITE_NOTFOUND) {
    char *zShowName = displayText(zName, nName);
    pSrc->zErr = sqlite3_mprintf(
        "memory: table '%s' has an unknown setting %s in %s_config; a newer "
        "version of the extension may have written it: upgrade, or delete "
        "that row",
        pSrc->zTable, zShowName ? zShowName : "", pSrc->zTable);
    sqlite3_free(zShowName);
    rc = pSrc->zErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  return rc;
}

/* Load the settings stored by memSettingsSave, checking each one as CREATE
** does. The mode comes first (ORDER BY): the other rows are checked
** against it. A setting that is absent takes its default, as at CREATE:
** files written before a setting existed lack it. */
int memSettingsLoad(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, char **pzErr) {
  sqlite3_stmt *pStmt = 0;
  ArgSource src;
  char *zSql;
  int rc, step;
  memset(&src, 0, sizeof(src));
  src.zTable = zName;
  src.isStored = 1;
  settingsDefaults(p);
  p->format = 1; /* 0.1.0 stored no format */
  zSql = sqlite3_mprintf("SELECT name, value FROM \"%w\".\"%w_config\" "
                         "ORDER BY name <> 'mode', name",
                         zSchema, zName);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("memory: cannot read the settings of '%s': %s",
                             zName, sqlite3_errmsg(db));
    return rc;
  }
  step = sqlite3_step(pStmt);
  if (step != SQLITE_ROW ||
      sqlite3_column_type(pStmt, 0) != SQLITE_TEXT ||
      strcmp((const char *)sqlite3_column_text(pStmt, 0), "mode") != 0) {
    if (step == SQLITE_ROW || step == SQLITE_DONE) {
      src.zErr = sqlite3_mprintf(
          "memory: table '%s' has no 'mode' row in %s_config: its settings "
          "are damaged; insert it: INSERT INTO \"%w_config\" VALUES ('mode', "
          "'local') (or 'remote')",
          zName, zName, zName);
      rc = src.zErr ? SQLITE_ERROR : SQLITE_NOMEM;
    }
  } else {
    const char *zMode;
    int nMode;
    char *zShow = storedValue(pStmt, &zMode, &nMode);
    if (zShow == 0) {
      rc = SQLITE_NOMEM;
    } else if (zMode && isName(zMode, nMode, "local")) {
      p->isRemote = 0;
    } else if (zMode && isName(zMode, nMode, "remote")) {
      p->isRemote = 1;
    } else {
      rc = settingError(&src, 0, "correct that row",
                        "mode must be 'local' or 'remote', not %s", zShow);
    }
    sqlite3_free(zShow);
    while (rc == SQLITE_OK && (step = sqlite3_step(pStmt)) == SQLITE_ROW) {
      rc = loadRow(p, &src, pStmt);
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  pStmt = 0;
  if (rc == SQLITE_OK && p->isRemote && p->zUrl == 0) {
    src.zErr = sqlite3_mprintf(
        "memory: table '%s' has no 'remote' row in %s_config: its settings "
        "are damaged; insert the server's base URL: INSERT INTO \"%w_config\" "
        "VALUES ('remote', 'https://...')",
        zName, zName, zName);
    rc = src.zErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = tokenResolve(p, zName, pzErr);
  if (rc != SQLITE_OK) {
    if (src.zErr) {
      *pzErr = src.zErr;
    } else if (*pzErr == 0 && rc != SQLITE_NOMEM) {
      *pzErr = sqlite3_mprintf("memory: cannot read the settings of '%s': %s",
                               zName, sqlite3_errmsg(db));
    }
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

int memConfigChange(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, const char *zSetting, sqlite3_value *pVal,
                    char **pzErr) {
  MemSettings scratch, fresh;
  ArgSource src;
  const char *zValue = 0;
  char *zShow, *zLit;
  int nValue = 0, k, rc, t = sqlite3_value_type(pVal);
  if (strcmp(zSetting, "remote") == 0 || strcmp(zSetting, "mode") == 0 ||
      strcmp(zSetting, "format") == 0 || strcmp(zSetting, "generation") == 0) {
    *pzErr = sqlite3_mprintf(
        "memory: %s cannot be changed on an existing table; create another "
        "table and copy the entries (INSERT INTO new SELECT * FROM old)",
        zSetting);
    return SQLITE_ERROR;
  }
  for (k = 0; k < N_INT_ARG && strcmp(aIntArg[k].zName, zSetting); k++) {
  }
  if ((k < N_INT_ARG && aIntArg[k].mode != ARG_BOTH &&
       (aIntArg[k].mode == ARG_REMOTE) != p->isRemote) ||
      (strcmp(zSetting, "token_env") == 0 && !p->isRemote)) {
    *pzErr = sqlite3_mprintf("memory: %s applies to %s tables only; '%s' is %s",
                             zSetting, p->isRemote ? "local" : "remote", zName,
                             p->isRemote ? "remote" : "local");
    return SQLITE_ERROR;
  }
  /* The value is checked as CREATE would check it, on a scratch copy. */
  if (t == SQLITE_INTEGER || t == SQLITE_TEXT || t == SQLITE_FLOAT) {
    zValue = (const char *)sqlite3_value_text(pVal);
    nValue = sqlite3_value_bytes(pVal);
    if (zValue == 0) return SQLITE_NOMEM;
  }
  zShow = zValue ? displayText(zValue, nValue)
                 : sqlite3_mprintf(t == SQLITE_BLOB ? "a BLOB" : "NULL");
  if (zShow == 0) return SQLITE_NOMEM;
  memset(&src, 0, sizeof(src));
  src.zTable = zName;
  memset(&scratch, 0, sizeof(scratch));
  scratch.isRemote = p->isRemote;
  rc = settingSet(&scratch, &src, zSetting, (int)strlen(zSetting), zValue,
                  nValue, zShow);
  sqlite3_free(zShow);
  if (rc != SQLITE_OK) {
    if (src.zErr) {
      *pzErr = sqlite3_mprintf("%s; nothing was changed", src.zErr);
      sqlite3_free(src.zErr);
    }
    memSettingsClear(&scratch);
    return rc;
  }
  /* Stored as CREATE would store it; then the whole set is loaded again,
  ** which also reads a new token_env's variable (unset: an error, and the
  ** statement changes nothing). */
  /* A token_env whose variable is not set would make every later open
  ** fail: refuse it now, before anything is written (inside a transaction
  ** a one-row write gets no statement journal to undo it). */
  if (scratch.zTokenEnv) {
    rc = tokenResolve(&scratch, zName, pzErr);
    if (rc != SQLITE_OK) {
      memSettingsClear(&scratch);
      return rc;
    }
  }
  zLit = k < N_INT_ARG ? sqlite3_mprintf("%lld", intArgGet(&scratch, &aIntArg[k]))
                       : sqlite3_mprintf("%Q", scratch.zTokenEnv);
  memSettingsClear(&scratch);
  if (zLit == 0) return SQLITE_NOMEM;
  rc = memExecPrintf(db,
                     "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, value) "
                     "VALUES (%Q, %s);"
                     "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(name, value) "
                     "SELECT 'generation', coalesce((SELECT value FROM "
                     "\"%w\".\"%w_config\" WHERE name = 'generation'), 0) + 1",
                     zSchema, zName, zSetting, zLit, zSchema, zName, zSchema,
                     zName);
  sqlite3_free(zLit);
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
