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

/* What a caller reads of a request once memHttpWait() has returned. The
** rest of a request (its URL, body, deadline, libcurl handle...) is private
** to memory_http.c, which allocates each MemRequest inside a larger struct:
** never allocate or copy one. */
struct MemRequest {
  void *pOwner;          /* caller's context, untouched here */
  long status;           /* HTTP status of the last attempt; 0 if none */
  char *zResp;           /* answer body, NUL-terminated (owned), or NULL */
  int nResp;
  char *zError;          /* why no usable answer came, or NULL (owned) */
};

/* db: the connection whose sqlite3_interrupt() stops a wait. */
int memHttpNew(sqlite3 *db, const MemSettings *pSettings, MemHttp **ppHttp);
void memHttpFree(MemHttp *p);

/* Takes zUrl and zBody (sqlite3_malloc, zBody may be NULL) even when it
** fails (returns NULL: out of memory, or zUrl was NULL). */
MemRequest *memRequestNew(const char *zMethod, char *zUrl, char *zBody);
void memRequestFree(MemRequest *r); /* cancels it if still in flight */

void memHttpSubmit(MemHttp *p, MemRequest *r);
/* Drive every request until r has its answer or error. Returns SQLITE_OK,
** or SQLITE_INTERRUPT when sqlite3_interrupt() ended the wait (r->zError is
** then "interrupted"); either way r->zError/r->status say what happened. */
int memHttpWait(MemHttp *p, MemRequest *r);

/* Counters, for tests and benches: attempts started, poll() calls, turns
** of the wait loop. With $MEMORY_HTTP_STATS set (non-empty) when the client
** is made, memHttpFree() prints them to stderr as one line:
**   memory: http stats: N attempts, N polls, N turns */
int memHttpRequestsSent(MemHttp *p);
int memHttpPolls(MemHttp *p);

/* Percent-encode a validated name for a URL path (sqlite3_malloc). */
char *memUrlEscape(const char *z, int n);

/* A short printable excerpt of an answer, for error messages. */
char *memAnswerExcerpt(const MemRequest *r);

#endif
