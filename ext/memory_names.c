/*
** Names and values: the rules of the hosted API, checked before anything is
** stored or sent, and memory_namespace()/memory_key(), which turn any
** foreign id into a valid name.
**
** Lengths are always taken with sqlite3_value_bytes(): text from Python can
** hold NUL bytes, and strlen() would let "ok\0../../x" pass as "ok".
*/
#include "memory_names.h"

#include <string.h>

static int isNameByte(unsigned char c, int allowDot) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || (allowDot && c == '.');
}

static int nameValid(const char *z, int n, int nMax, int allowDot) {
  int i;
  if (z == 0 || n < 1 || n > nMax) return 0;
  for (i = 0; i < n; i++) {
    if (!isNameByte((unsigned char)z[i], allowDot)) return 0;
  }
  return 1;
}

int memNamespaceValid(const char *z, int n) {
  return nameValid(z, n, MEM_NAMESPACE_MAX, 0);
}

int memKeyValid(const char *z, int n) {
  return nameValid(z, n, MEM_KEY_MAX, 1);
}

/* A short, printable rendering of a rejected name for an error message:
** control bytes and quotes would make the message itself misleading. */
static char *displayName(const unsigned char *z, int n) {
  char zBuf[64];
  int i, j = 0;
  for (i = 0; i < n && j < 40; i++) {
    unsigned char c = z[i];
    zBuf[j++] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
  }
  zBuf[j] = 0;
  return sqlite3_mprintf("'%s'%s", zBuf, i < n ? "..." : "");
}

static char *checkName(sqlite3_value *v, const char *zWhat, int nMax,
                       int allowDot) {
  const unsigned char *z;
  int n, t = sqlite3_value_type(v);
  char *zShow, *zErr;
  if (t == SQLITE_NULL) {
    return sqlite3_mprintf("memory: %s must not be NULL", zWhat);
  }
  if (t == SQLITE_BLOB) {
    return sqlite3_mprintf("memory: %s must be text, not a BLOB", zWhat);
  }
  z = sqlite3_value_text(v);
  n = sqlite3_value_bytes(v);
  if (nameValid((const char *)z, n, nMax, allowDot)) return 0;
  zShow = displayName(z, n);
  zErr = sqlite3_mprintf(
      "memory: invalid %s %s: use 1-%d characters from a-z A-Z 0-9 _ -%s "
      "(memory_%s() turns any id into a valid one)",
      zWhat, zShow ? zShow : "", nMax, allowDot ? " ." : "", zWhat);
  sqlite3_free(zShow);
  return zErr;
}

/* Check one row about to be written (value may be 0: an UPDATE that keeps
** it). Returns NULL if it may be written, or an error message (from
** sqlite3_malloc) that says what to do. */
char *memCheckRow(const MemSettings *p, sqlite3_value *ns, sqlite3_value *key,
                  sqlite3_value *value) {
  char *zErr;
  int n, t;
  if ((zErr = checkName(ns, "namespace", MEM_NAMESPACE_MAX, 0)) != 0) return zErr;
  if ((zErr = checkName(key, "key", MEM_KEY_MAX, 1)) != 0) return zErr;
  if (value == 0) return 0;
  t = sqlite3_value_type(value);
  if (t == SQLITE_NULL) {
    return sqlite3_mprintf(
        "memory: value of %s/%s must not be NULL; to forget a key, DELETE it",
        sqlite3_value_text(ns), sqlite3_value_text(key));
  }
  if (t == SQLITE_BLOB) {
    return sqlite3_mprintf(
        "memory: value of %s/%s is a BLOB; store text (JSON, or base64 of "
        "the bytes)",
        sqlite3_value_text(ns), sqlite3_value_text(key));
  }
  sqlite3_value_text(value); /* INTEGER/REAL become text; measure that */
  n = sqlite3_value_bytes(value);
  if (n > p->maxValueBytes) {
    return sqlite3_mprintf(
        "memory: value of %s/%s is %d bytes, over max_value_bytes=%lld; "
        "store less, or split it over several keys",
        sqlite3_value_text(ns), sqlite3_value_text(key), n, p->maxValueBytes);
  }
  return 0;
}

/* 64-bit FNV-1a: a short stable hash, so distinct ids map to distinct
** names even when their sanitized forms are equal. */
static sqlite3_uint64 fnv1a(const unsigned char *z, int n) {
  sqlite3_uint64 h = 0xcbf29ce484222325ULL;
  int i;
  for (i = 0; i < n; i++) {
    h ^= z[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* memory_namespace(ID) / memory_key(ID): a valid name comes back unchanged;
** anything else becomes its readable part (invalid bytes as '_', runs
** folded) plus '-' and 12 hex digits of the hash of the original bytes. */
static void sanitizeFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  int nMax = *(int *)sqlite3_user_data(ctx);
  int allowDot = nMax == MEM_KEY_MAX;
  const unsigned char *z;
  char zOut[MEM_KEY_MAX + 1];
  int n, i, j = 0, nKeep;
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  z = sqlite3_value_text(argv[0]);
  n = sqlite3_value_bytes(argv[0]);
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (nameValid((const char *)z, n, nMax, allowDot)) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  nKeep = nMax - 13; /* room for "-" and 12 hex digits */
  for (i = 0; i < n && j < nKeep; i++) {
    if (isNameByte(z[i], allowDot)) {
      zOut[j++] = (char)z[i];
    } else if (j > 0 && zOut[j - 1] != '_') {
      zOut[j++] = '_';
    }
  }
  while (j > 0 && zOut[j - 1] == '_') j--;
  if (j == 0) {
    memcpy(zOut, "id", 2);
    j = 2;
  }
  sqlite3_snprintf((int)sizeof(zOut) - j, zOut + j, "-%012llx",
                   (unsigned long long)(fnv1a(z, n) & 0xffffffffffffULL));
  sqlite3_result_text(ctx, zOut, -1, SQLITE_TRANSIENT);
}

int memRegisterNameFunctions(sqlite3 *db) {
  static int nNamespace = MEM_NAMESPACE_MAX;
  static int nKey = MEM_KEY_MAX;
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc = sqlite3_create_function(db, "memory_namespace", 1, flags,
                                   &nNamespace, sanitizeFunc, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(db, "memory_key", 1, flags, &nKey,
                                 sanitizeFunc, 0, 0);
  }
  return rc;
}
