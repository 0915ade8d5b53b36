/*
** The hosted memory API as the remote backend speaks it: the URL of an
** entry or a namespace, the JSON body of a PUT (built by SQLite's
** json_object()), and the checks and decoding of a GET's answer. README.md
** ("The hosted API this speaks") describes the API.
*/
#include "memory_remote.h"

/* base/memory/{ns}[/{key}]. Names are validated before they get here; they
** are percent-encoded all the same. */
char *memRemoteEntryUrl(MemVtab *p, const char *zNs, const char *zKey) {
  char *zN = memUrlEscape(zNs, (int)strlen(zNs));
  char *zK = zKey ? memUrlEscape(zKey, (int)strlen(zKey)) : 0;
  char *zUrl = 0;
  if (zN && (zKey == 0 || zK)) {
    zUrl = zKey ? sqlite3_mprintf("%s/memory/%s/%s", p->settings.zUrl, zN, zK)
                : sqlite3_mprintf("%s/memory/%s", p->settings.zUrl, zN);
  }
  sqlite3_free(zN);
  sqlite3_free(zK);
  return zUrl;
}

int memRemotePrepareOnce(MemVtab *p, sqlite3_stmt **pp, const char *zSql) {
  if (*pp) return SQLITE_OK;
  return sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, pp, 0);
}

/* The JSON body of a PUT, built by SQLite's json_object(). */
char *memRemotePutBody(MemVtab *p, sqlite3_value *value) {
  RemoteState *s = STATE(p);
  char *zBody = 0;
  if (memRemotePrepareOnce(p, &s->pPutBody, "SELECT json_object('value', ?1)")) return 0;
  sqlite3_bind_text(s->pPutBody, 1, (const char *)sqlite3_value_text(value),
                    sqlite3_value_bytes(value), SQLITE_STATIC);
  if (sqlite3_step(s->pPutBody) == SQLITE_ROW) {
    zBody = sqlite3_mprintf("%s", sqlite3_column_text(s->pPutBody, 0));
  }
  sqlite3_reset(s->pPutBody);
  sqlite3_clear_bindings(s->pPutBody);
  return zBody;
}

/* Decode the JSON string literal z[0..n) (quotes included, as the -> operator
** renders it) into new memory, *pzOut and *pnOut, keeping every character:
** SQLite 3.40's json_extract() stops a string at \u0000, which would cut a
** value short without a word. Returns SQLITE_OK, SQLITE_NOMEM, or
** SQLITE_ERROR for anything that is not a well-formed JSON string. */
static int hexDigits4(const char *z, unsigned *pOut) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    char c = z[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *pOut = v;
  return 1;
}

static int decodeJsonString(const char *z, int n, char **pzOut, int *pnOut) {
  char *zOut;
  int i, j = 0;
  if (n < 2 || z[0] != '"' || z[n - 1] != '"') return SQLITE_ERROR;
  zOut = sqlite3_malloc(n + 1); /* the decoded form is never longer */
  if (zOut == 0) return SQLITE_NOMEM;
  for (i = 1; i < n - 1; i++) {
    unsigned char c = (unsigned char)z[i];
    unsigned cp, lo;
    if (c != '\\') {
      if (c < 0x20) goto bad; /* control characters must be escaped */
      zOut[j++] = (char)c;
      continue;
    }
    if (++i >= n - 1) goto bad;
    switch (z[i]) {
      case '"': zOut[j++] = '"'; continue;
      case '\\': zOut[j++] = '\\'; continue;
      case '/': zOut[j++] = '/'; continue;
      case 'b': zOut[j++] = '\b'; continue;
      case 'f': zOut[j++] = '\f'; continue;
      case 'n': zOut[j++] = '\n'; continue;
      case 'r': zOut[j++] = '\r'; continue;
      case 't': zOut[j++] = '\t'; continue;
      case 'u': break;
      default: goto bad;
    }
    if (i + 4 > n - 2 || !hexDigits4(z + i + 1, &cp)) goto bad;
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
      if (i + 6 > n - 2 || z[i + 1] != '\\' || z[i + 2] != 'u' ||
          !hexDigits4(z + i + 3, &lo) || lo < 0xdc00 || lo > 0xdfff) {
        goto bad;
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      goto bad;
    }
    if (cp < 0x80) {
      zOut[j++] = (char)cp;
    } else if (cp < 0x800) {
      zOut[j++] = (char)(0xc0 | (cp >> 6));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      zOut[j++] = (char)(0xe0 | (cp >> 12));
      zOut[j++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    } else {
      zOut[j++] = (char)(0xf0 | (cp >> 18));
      zOut[j++] = (char)(0x80 | ((cp >> 12) & 0x3f));
      zOut[j++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      zOut[j++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  zOut[j] = 0;
  *pzOut = zOut;
  *pnOut = j;
  return SQLITE_OK;
bad:
  sqlite3_free(zOut);
  return SQLITE_ERROR;
}

/* Read a 200 answer of GET /memory/{ns}/{key} into pRow. An answer that
** is not a JSON object with a string value for the entry asked for is a
** lie, and an error. */
int memRemoteParseEntry(MemVtab *p, const MemRequest *r, RemoteRow *pRow,
                      char **pzWhy) {
  RemoteState *s = STATE(p);
  sqlite3_stmt *q;
  int rc = memRemotePrepareOnce(p, &s->pParseGet,
      "SELECT json_type(j, '$.value'), j -> '$.value',"
      "       json_type(j, '$.created_at'), json_extract(j, '$.created_at'),"
      "       json_type(j, '$.updated_at'), json_extract(j, '$.updated_at'),"
      "       json_extract(j, '$.namespace') IS ?2"
      "       AND json_extract(j, '$.key') IS ?3"
      "  FROM (SELECT ?1 AS j) WHERE json_valid(j) AND json_type(j) = 'object'");
  if (rc != SQLITE_OK) return rc;
  q = s->pParseGet;
  sqlite3_bind_text(q, 1, r->zResp ? r->zResp : "", r->nResp, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, pRow->zNs, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, pRow->zKey, -1, SQLITE_STATIC);
  if (sqlite3_step(q) != SQLITE_ROW) {
    *pzWhy = sqlite3_mprintf("the answer is not a JSON object");
  } else if (sqlite3_column_int(q, 6) == 0) {
    *pzWhy = sqlite3_mprintf("the answer does not name the entry asked for "
                             "(its \"namespace\" and \"key\")");
  } else {
    const char *zType = (const char *)sqlite3_column_text(q, 0);
    const char *zCre = (const char *)sqlite3_column_text(q, 2);
    const char *zUpd = (const char *)sqlite3_column_text(q, 4);
    if (zType == 0 || strcmp(zType, "text") != 0) {
      *pzWhy = sqlite3_mprintf("its \"value\" is not a string");
    } else if ((zCre && strcmp(zCre, "real") && strcmp(zCre, "integer")) ||
               (zUpd && strcmp(zUpd, "real") && strcmp(zUpd, "integer"))) {
      *pzWhy = sqlite3_mprintf("its times are not numbers");
    } else {
      rc = decodeJsonString((const char *)sqlite3_column_text(q, 1),
                            sqlite3_column_bytes(q, 1), &pRow->zValue,
                            &pRow->nValue);
      if (rc == SQLITE_ERROR) {
        *pzWhy = sqlite3_mprintf("its \"value\" is not a valid JSON string");
        rc = SQLITE_OK;
      } else if (rc == SQLITE_OK) {
        pRow->createdAt = sqlite3_column_double(q, 3);
        if (zUpd) {
          pRow->updatedAt = sqlite3_column_double(q, 5);
          pRow->hasUpdatedAt = 1;
        }
        pRow->fetched = 1;
      }
    }
  }
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc;
}

/* Is r the API's "no such entry"? A 404 whose body is the API's own
** ({"detail": "Key not found: ..."}): any other 404, from a wrong base URL
** or a proxy, must not pass for an empty store. */
int memRemoteNotFound(const MemRequest *r) {
  return r->zError == 0 && r->status == 404 && r->zResp &&
         strstr(r->zResp, "Key not found") != 0;
}
