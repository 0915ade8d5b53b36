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

#include <openssl/evp.h>

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

/*
** memory_namespace(ID) / memory_key(ID): map any id (an email, a UUID with
** dots, a user's free text) to a valid namespace or key, such that distinct
** ids never share a name, even when an attacker chooses the ids.
**
** The scheme (namespaces: alphabet [A-Za-z0-9_-], at most 64 characters;
** keys: the same plus '.', at most 128):
**
**  1. The escaped form E(id), byte by byte over the id's UTF-8 bytes:
**     - an alphabet character other than '_' stays as it is;
**     - '_' stays as it is when the next byte is an alphabet character
**       other than '_';
**     - any other byte b (including such a '_', a last '_', '@', '.' in a
**       namespace, NUL, each byte of a non-ASCII character) becomes "__"
**       and the two lowercase hex digits of b ('@' -> "__40").
**  2. If E(id) has 1 to max characters, it is the name. So common ids stay
**     readable, and an id that is already a name with no "__" and no final
**     '_' comes back unchanged (`user-42`, `user_name`).
**  3. Otherwise (E(id) empty or too long) the name is P + "__h" + H: H is
**     the first 26 characters (130 bits) of the lowercase base32 (RFC 4648)
**     of SHA-256(id) (OpenSSL's libcrypto), P the longest run of E(id)'s
**     leading units (a character, or a "__xx") that fits in max - 29
**     characters, less a final literal '_'.
**
** Why distinct ids get distinct names:
**  a. E is injective. Read E(id) from the left: a character other than '_'
**     is itself; '_' followed by a character other than '_' is a literal
**     '_'; "__" is followed by two hex digits giving one byte. Each unit is
**     told apart by its first two characters, so E(id) gives back id.
**  b. No E(id) contains "__h": a literal '_' is never followed by '_', so
**     every "__" in E(id) starts an escape and is followed by [0-9a-f].
**     Every hashed name contains "__h", so no hashed name equals any E(y).
**  c. Two hashed names are equal only if the ids' SHA-256 agree on 130
**     bits: finding such a pair takes about 2^65 hashes.
** So names from step 2 collide with nothing; names from step 3 collide
** only through SHA-256. The same id always gives the same name.
*/
#define HASH_CHARS 26  /* base32 characters of SHA-256: 130 bits */
#define HASH_MARK "__h"

/* Lowercase base32 (RFC 4648 alphabet) of the first 130 bits of SHA-256 of
** z[0..n), into zOut[0..HASH_CHARS). Returns 0 if libcrypto fails. */
static int sha256Base32(const unsigned char *z, int n, char *zOut) {
  static const char aB32[] = "abcdefghijklmnopqrstuvwxyz234567";
  unsigned char aDigest[EVP_MAX_MD_SIZE];
  unsigned int nDigest = 0;
  int i;
  if (!EVP_Digest(z, (size_t)n, aDigest, &nDigest, EVP_sha256(), 0) ||
      nDigest != 32) {
    return 0;
  }
  for (i = 0; i < HASH_CHARS; i++) {
    int bit = i * 5, byte = bit / 8, shift = bit % 8;
    unsigned v = ((unsigned)aDigest[byte] << 8) | aDigest[byte + 1];
    zOut[i] = aB32[(v >> (11 - shift)) & 0x1f];
  }
  return 1;
}

/* Append the escaped form of byte z[i] of z[0..n) (step 1 above) to zOut at
** *pj, if it fits in nMax; returns 0 (and appends nothing) if it does not. */
static int escapeUnit(const unsigned char *z, int n, int i, int allowDot,
                      char *zOut, int *pj, int nMax) {
  static const char aHex[] = "0123456789abcdef";
  unsigned char c = z[i];
  int j = *pj;
  int literal = c != '_' ? isNameByte(c, allowDot)
                         : (i + 1 < n && z[i + 1] != '_' &&
                            isNameByte(z[i + 1], allowDot));
  if (literal) {
    if (j + 1 > nMax) return 0;
    zOut[j++] = (char)c;
  } else {
    if (j + 4 > nMax) return 0;
    zOut[j++] = '_';
    zOut[j++] = '_';
    zOut[j++] = aHex[c >> 4];
    zOut[j++] = aHex[c & 0xf];
  }
  *pj = j;
  return 1;
}

static void sanitizeFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  int nMax = *(int *)sqlite3_user_data(ctx);
  int allowDot = nMax == MEM_KEY_MAX;
  const unsigned char *z;
  char zOut[MEM_KEY_MAX + 1];
  int n, i, j = 0, nPrefix = nMax - (int)strlen(HASH_MARK) - HASH_CHARS;
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  z = sqlite3_value_text(argv[0]);
  n = sqlite3_value_bytes(argv[0]);
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  for (i = 0; i < n; i++) {
    if (!escapeUnit(z, n, i, allowDot, zOut, &j, nMax)) break;
  }
  if (i == n && j > 0) {
    sqlite3_result_text(ctx, zOut, j, SQLITE_TRANSIENT);
    return;
  }
  /* Too long (or empty): a readable prefix, then the hash. */
  for (i = 0, j = 0; i < n; i++) {
    if (!escapeUnit(z, n, i, allowDot, zOut, &j, nPrefix)) break;
  }
  if (j > 0 && zOut[j - 1] == '_') j--; /* a literal '_' before "__h" */
  memcpy(zOut + j, HASH_MARK, strlen(HASH_MARK));
  j += (int)strlen(HASH_MARK);
  if (!sha256Base32(z, n, zOut + j)) {
    sqlite3_result_error(ctx, "memory: SHA-256 from libcrypto failed", -1);
    return;
  }
  j += HASH_CHARS;
  sqlite3_result_text(ctx, zOut, j, SQLITE_TRANSIENT);
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
