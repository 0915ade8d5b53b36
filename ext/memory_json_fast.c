/*
** Fast paths over JSON text, each giving exactly what a query of SQLite's
** JSON functions gives, for the values it is sure of, and refusing the
** rest, which then goes to that query. Both share one strict parser.
**
** 1. memory_messages(): a conversation in the shape nearly
** every agent stores, a JSON array of {"role": "...", "content": "..."}
** objects (Agno's "created_at" included), read in one pass in C instead of
** by the query of sql/ext/messages.sql, which calls SQLite's JSON
** functions a dozen times per message.
**
** It must give exactly what the query gives, so it takes only what it is
** sure of and refuses the rest, which then goes to the query:
**   - the value must be strict JSON (RFC 8259) of a conservative kind: no
**     control bytes in strings, no \u0000, no surrogate escapes, no escaped
**     object keys, at most 1000 levels deep;
**   - it must be an array (a {"messages": [...]} wrapper is the query's);
**   - each object element has a "role" that is a string (the first of the
**     shapes messages.sql tries), a "content" that is a string, null or
**     absent, and a "created_at" that is a string, null, absent, an
**     integer of at most 18 digits or a real; none of the three named
**     twice;
**   - elements that are not objects are passed over, as by the query.
** tests/test_messages_fast.py compares both on generated conversations.
**
** 2. The text the search index holds for a value (memSearchText): for a
** JSON object or array, its string values (not its keys) in document
** order, one per line, as json_tree() gives them; anything else as it is.
** tests/test_search_text.py compares it with the query.
*/
#include "memory_json_fast.h"

#include <string.h>

#define MAX_DEPTH 1000

typedef struct Parser {
  const unsigned char *z; /* the JSON text */
  int n, i;               /* its length, the position */
  char *zOut;             /* unescaped strings are copied here */
  int nOut;
  int collect;            /* parseValue copies string values, one per line */
  int nCollected;
} Parser;

static void skipSpace(Parser *p) {
  while (p->i < p->n && (p->z[p->i] == ' ' || p->z[p->i] == '\t' ||
                         p->z[p->i] == '\n' || p->z[p->i] == '\r')) {
    p->i++;
  }
}

static int hexValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A string at p->i (its opening quote). With pzText, its unescaped text is
** copied to p->zOut and *pzText / *pnText point at it. 0 if refused. */
static int parseString(Parser *p, const char **pzText, int *pnText, int *pEscaped) {
  int start = p->nOut;
  if (pEscaped) *pEscaped = 0;
  p->i++; /* the quote */
  while (p->i < p->n) {
    unsigned char c = p->z[p->i++];
    if (c == '"') {
      if (pzText) {
        *pzText = p->zOut + start;
        *pnText = p->nOut - start;
        p->zOut[p->nOut++] = 0;
      }
      return 1;
    }
    if (c < 0x20) return 0;
    if (c != '\\') {
      if (pzText) p->zOut[p->nOut++] = (char)c;
      continue;
    }
    if (pEscaped) *pEscaped = 1;
    if (p->i >= p->n) return 0;
    c = p->z[p->i++];
    switch (c) {
      case '"': case '\\': case '/': break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u': {
        int k, v = 0;
        if (p->i + 4 > p->n) return 0;
        for (k = 0; k < 4; k++) {
          int h = hexValue(p->z[p->i + k]);
          if (h < 0) return 0;
          v = v * 16 + h;
        }
        p->i += 4;
        if (v == 0 || (v >= 0xd800 && v <= 0xdfff)) return 0;
        if (pzText) {
          if (v < 0x80) {
            p->zOut[p->nOut++] = (char)v;
          } else if (v < 0x800) {
            p->zOut[p->nOut++] = (char)(0xc0 | (v >> 6));
            p->zOut[p->nOut++] = (char)(0x80 | (v & 0x3f));
          } else {
            p->zOut[p->nOut++] = (char)(0xe0 | (v >> 12));
            p->zOut[p->nOut++] = (char)(0x80 | ((v >> 6) & 0x3f));
            p->zOut[p->nOut++] = (char)(0x80 | (v & 0x3f));
          }
        }
        continue;
      }
      default: return 0;
    }
    if (pzText) p->zOut[p->nOut++] = (char)c;
  }
  return 0;
}

/* A number at p->i, strict JSON grammar. *pIsInt: an integer of at most
** 18 digits (its value in *piValue). 0 if not a number. */
static int parseNumber(Parser *p, int *pIsInt, sqlite3_int64 *piValue,
                       int *pIsReal) {
  int start = p->i, digits = 0, isInt = 1;
  sqlite3_int64 v = 0;
  int neg = 0;
  if (p->i < p->n && p->z[p->i] == '-') { neg = 1; p->i++; }
  if (p->i >= p->n) return 0;
  if (p->z[p->i] == '0') {
    p->i++;
    digits = 1;
  } else if (p->z[p->i] >= '1' && p->z[p->i] <= '9') {
    while (p->i < p->n && p->z[p->i] >= '0' && p->z[p->i] <= '9') {
      if (digits < 18) v = v * 10 + (p->z[p->i] - '0');
      digits++;
      p->i++;
    }
  } else {
    return 0;
  }
  if (p->i < p->n && p->z[p->i] == '.') {
    isInt = 0;
    p->i++;
    if (p->i >= p->n || p->z[p->i] < '0' || p->z[p->i] > '9') return 0;
    while (p->i < p->n && p->z[p->i] >= '0' && p->z[p->i] <= '9') p->i++;
  }
  if (p->i < p->n && (p->z[p->i] == 'e' || p->z[p->i] == 'E')) {
    isInt = 0;
    p->i++;
    if (p->i < p->n && (p->z[p->i] == '+' || p->z[p->i] == '-')) p->i++;
    if (p->i >= p->n || p->z[p->i] < '0' || p->z[p->i] > '9') return 0;
    while (p->i < p->n && p->z[p->i] >= '0' && p->z[p->i] <= '9') p->i++;
  }
  if (pIsInt) *pIsInt = isInt && digits <= 18 && !(neg && v == 0);
  if (pIsReal) *pIsReal = !isInt;
  if (piValue) *piValue = neg ? -v : v;
  return p->i > start;
}

static int parseValue(Parser *p, int depth);

/* Any value, checked and skipped. */
static int parseValue(Parser *p, int depth) {
  skipSpace(p);
  if (p->i >= p->n || depth > MAX_DEPTH) return 0;
  switch (p->z[p->i]) {
    case '"':
      if (p->collect) {
        const char *zText;
        int nText;
        if (p->nCollected++) p->zOut[p->nOut++] = '\n';
        if (!parseString(p, &zText, &nText, 0)) return 0;
        p->nOut--; /* no NUL between them */
        return 1;
      }
      return parseString(p, 0, 0, 0);
    case '{':
    case '[': {
      int isObject = p->z[p->i] == '{';
      char close = isObject ? '}' : ']';
      p->i++;
      skipSpace(p);
      if (p->i < p->n && p->z[p->i] == close) {
        p->i++;
        return 1;
      }
      for (;;) {
        if (isObject) {
          skipSpace(p);
          if (p->i >= p->n || p->z[p->i] != '"' || !parseString(p, 0, 0, 0)) return 0;
          skipSpace(p);
          if (p->i >= p->n || p->z[p->i] != ':') return 0;
          p->i++;
        }
        if (!parseValue(p, depth + 1)) return 0;
        skipSpace(p);
        if (p->i >= p->n) return 0;
        if (p->z[p->i] == ',') {
          p->i++;
          continue;
        }
        if (p->z[p->i] != close) return 0;
        p->i++;
        return 1;
      }
    }
    case 't':
      if (p->n - p->i >= 4 && memcmp(p->z + p->i, "true", 4) == 0) { p->i += 4; return 1; }
      return 0;
    case 'f':
      if (p->n - p->i >= 5 && memcmp(p->z + p->i, "false", 5) == 0) { p->i += 5; return 1; }
      return 0;
    case 'n':
      if (p->n - p->i >= 4 && memcmp(p->z + p->i, "null", 4) == 0) { p->i += 4; return 1; }
      return 0;
    default:
      return parseNumber(p, 0, 0, 0);
  }
}

/* Is the text at p->i the key zKey (a plain string, no escapes)? */
static int isKey(const Parser *p, int at, int len, const char *zKey) {
  return len == (int)strlen(zKey) && memcmp(p->z + at, zKey, len) == 0;
}

/* One element that is an object: a message row, or 0 to refuse. */
static int parseMessage(Parser *p, MsgFastRow *r) {
  int seenRole = 0, seenContent = 0, seenCreated = 0;
  memset(r, 0, sizeof(*r));
  r->nContent = -1;
  p->i++; /* { */
  skipSpace(p);
  if (p->i < p->n && p->z[p->i] == '}') {
    p->i++;
    return 0; /* no role: another shape, or none; the query decides */
  }
  for (;;) {
    int keyAt, keyLen, escaped;
    skipSpace(p);
    if (p->i >= p->n || p->z[p->i] != '"') return 0;
    keyAt = p->i + 1;
    if (!parseString(p, 0, 0, &escaped) || escaped) return 0;
    keyLen = p->i - 1 - keyAt;
    skipSpace(p);
    if (p->i >= p->n || p->z[p->i] != ':') return 0;
    p->i++;
    skipSpace(p);
    if (p->i >= p->n) return 0;
    if (isKey(p, keyAt, keyLen, "role")) {
      if (seenRole++ || p->z[p->i] != '"') return 0;
      if (!parseString(p, &r->zRole, &r->nRole, 0)) return 0;
    } else if (isKey(p, keyAt, keyLen, "content")) {
      if (seenContent++) return 0;
      if (p->z[p->i] == '"') {
        if (!parseString(p, &r->zContent, &r->nContent, 0)) return 0;
      } else if (p->n - p->i >= 4 && memcmp(p->z + p->i, "null", 4) == 0) {
        p->i += 4;
      } else {
        return 0; /* a list of parts, or another value: the query's */
      }
    } else if (isKey(p, keyAt, keyLen, "created_at")) {
      if (seenCreated++) return 0;
      if (p->z[p->i] == '"') {
        r->eCreated = MSG_CREATED_TEXT;
        if (!parseString(p, &r->zCreated, &r->nCreated, 0)) return 0;
      } else if (p->n - p->i >= 4 && memcmp(p->z + p->i, "null", 4) == 0) {
        p->i += 4;
      } else {
        int isInt = 0, isReal = 0, at = p->i;
        if (!parseNumber(p, &isInt, &r->iCreated, &isReal)) return 0;
        if (isInt) {
          r->eCreated = MSG_CREATED_INT;
        } else if (isReal) {
          /* Its text, which SQLite itself turns into the REAL (the JSON
          ** functions and CAST use the same conversion). */
          r->eCreated = MSG_CREATED_REAL;
          r->nCreated = p->i - at;
          r->zCreated = p->zOut + p->nOut;
          memcpy(p->zOut + p->nOut, p->z + at, r->nCreated);
          p->nOut += r->nCreated;
          p->zOut[p->nOut++] = 0;
        } else {
          return 0; /* an integer past 18 digits */
        }
      }
    } else if (!parseValue(p, 2)) {
      return 0;
    }
    skipSpace(p);
    if (p->i >= p->n) return 0;
    if (p->z[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->z[p->i] != '}') return 0;
    p->i++;
    return seenRole;
  }
}

int memMessagesFast(const char *z, int n, MsgFastResult *pRes) {
  Parser p;
  int nAlloc = 0;
  memset(pRes, 0, sizeof(*pRes));
  memset(&p, 0, sizeof(p));
  p.z = (const unsigned char *)z;
  p.n = n;
  /* Unescaped text is never longer than its JSON; one NUL per string or
  ** number copied, of which there are fewer than n / 2. */
  p.zOut = sqlite3_malloc64((sqlite3_uint64)n + n / 2 + 1);
  if (p.zOut == 0) return MSG_FAST_NOMEM;
  skipSpace(&p);
  if (p.i >= p.n || p.z[p.i] != '[') goto refuse;
  p.i++;
  skipSpace(&p);
  if (p.i < p.n && p.z[p.i] == ']') {
    p.i++;
  } else {
    for (;;) {
      skipSpace(&p);
      if (p.i >= p.n) goto refuse;
      if (p.z[p.i] == '{') {
        MsgFastRow *aNew = memRoomForOne(pRes->aRow, pRes->nRow, &nAlloc, sizeof(MsgFastRow));
        if (aNew == 0) {
          sqlite3_free(p.zOut);
          sqlite3_free(pRes->aRow);
          memset(pRes, 0, sizeof(*pRes));
          return MSG_FAST_NOMEM;
        }
        pRes->aRow = aNew;
        if (!parseMessage(&p, &pRes->aRow[pRes->nRow])) goto refuse;
        pRes->nRow++;
      } else if (!parseValue(&p, 1)) {
        goto refuse;
      }
      skipSpace(&p);
      if (p.i >= p.n) goto refuse;
      if (p.z[p.i] == ',') {
        p.i++;
        continue;
      }
      if (p.z[p.i] != ']') goto refuse;
      p.i++;
      break;
    }
  }
  skipSpace(&p);
  if (p.i != p.n) goto refuse;
  pRes->zBuf = p.zOut;
  return MSG_FAST_OK;

refuse:
  sqlite3_free(p.zOut);
  sqlite3_free(pRes->aRow);
  memset(pRes, 0, sizeof(*pRes));
  return MSG_FAST_REFUSED;
}

void memMessagesFastFree(MsgFastResult *pRes) {
  sqlite3_free(pRes->zBuf);
  sqlite3_free(pRes->aRow);
  memset(pRes, 0, sizeof(*pRes));
}

int memSearchText(const char *z, int n, char **pzText, int *pnText) {
  Parser p;
  memset(&p, 0, sizeof(p));
  *pzText = 0;
  *pnText = 0;
  p.z = (const unsigned char *)z;
  p.n = n;
  skipSpace(&p);
  /* Not an object or an array, valid or not: the text as it is. */
  if (p.i >= p.n || (p.z[p.i] != '{' && p.z[p.i] != '[')) return SEARCH_TEXT_AS_IS;
  /* Strings and separators take no more room than their JSON. */
  p.zOut = sqlite3_malloc64((sqlite3_uint64)n + 1);
  if (p.zOut == 0) return MSG_FAST_NOMEM;
  p.collect = 1;
  if (!parseValue(&p, 0)) {
    sqlite3_free(p.zOut);
    return MSG_FAST_REFUSED;
  }
  skipSpace(&p);
  if (p.i != p.n) {
    sqlite3_free(p.zOut);
    return MSG_FAST_REFUSED;
  }
  p.zOut[p.nOut] = 0;
  *pzText = p.zOut;
  *pnText = p.nOut;
  return MSG_FAST_OK;
}
