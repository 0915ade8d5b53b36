/*
** A small HTTP client on libcurl's multi interface, made for the remote
** backend: up to `concurrency` requests in flight over reused connections,
** one deadline per request that covers its retries, backoff with jitter,
** Retry-After, and a cap on every answer's size.
**
** A request is submitted, then waited for; waiting drives every request in
** flight, so a cursor can keep a window of GETs running ahead of the row it
** returns.
*/
#ifndef MEMORY_HTTP_H
#define MEMORY_HTTP_H

#include "memory_config.h"

/* The largest answer accepted. A value is at most 100,000 characters, at
** most 6 bytes each once JSON-escaped; a listing is at most 1000 entries. */
#define MEM_HTTP_MAX_BODY (1024 * 1024)

typedef struct MemHttp MemHttp;
typedef struct MemRequest MemRequest;

struct MemRequest {
  /* Set by the caller (memRequestNew). */
  const char *zMethod;   /* "GET", "PUT", "DELETE" */
  char *zUrl;            /* owned */
  char *zBody;           /* owned; JSON, or NULL */
  void *pOwner;          /* caller's context, untouched here */
  /* Set when done. */
  int done;
  long status;           /* HTTP status of the last attempt; 0 if none */
  char *zResp;           /* answer body, NUL-terminated (owned) */
  int nResp;
  char *zError;          /* why no usable answer came, or NULL (owned) */
  /* Internal. */
  int nAttempt;
  int overflow;          /* the answer went past MEM_HTTP_MAX_BODY */
  sqlite3_int64 deadline;  /* ms since epoch: whole request, retries too */
  sqlite3_int64 notBefore; /* ms since epoch: earliest next attempt */
  void *pEasy;           /* CURL* while in flight */
  MemHttp *pHttp;
  MemRequest *pNextQueued;
  int queued;
  char zCurlError[256];  /* CURLOPT_ERRORBUFFER: host, port, system error */
};

/* db: the connection whose sqlite3_interrupt() stops a wait. */
int memHttpNew(sqlite3 *db, const MemSettings *pSettings, MemHttp **ppHttp);
void memHttpFree(MemHttp *p);

MemRequest *memRequestNew(const char *zMethod, char *zUrl, char *zBody);
void memRequestFree(MemRequest *r); /* cancels it if still in flight */

void memHttpSubmit(MemHttp *p, MemRequest *r);
int memHttpWait(MemHttp *p, MemRequest *r);  /* SQLITE_OK, or NOMEM */
int memHttpRequestsSent(MemHttp *p);         /* attempts made, for tests */
int memHttpPolls(MemHttp *p);                /* poll() calls, for tests */

/* Percent-encode a validated name for a URL path (sqlite3_malloc). */
char *memUrlEscape(const char *z, int n);

/* A short printable excerpt of an answer, for error messages. */
char *memAnswerExcerpt(const MemRequest *r);

#endif
