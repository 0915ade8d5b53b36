/*
** HTTP client for the remote backend; see memory_http.h.
**
** The loop is libcurl's event-driven one (curl_multi_socket_action, as in
** its hiperfifo.c example), over poll(): libcurl says which sockets and
** which timeout to wait for, and is told only about the sockets that are
** ready. (curl_multi_perform would visit every transfer on every call:
** with 16 in flight, most of the client's CPU went there.) Connections live
** in the multi handle's cache, so they are reused across requests and
** queries of one table.
*/
#include "memory_http.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_BASE_MS 50
#define BACKOFF_MAX_MS 2000

struct MemHttp {
  CURLM *multi;
  sqlite3 *db;                /* for sqlite3_interrupt(): see memHttpWait */
  sqlite3_stmt *pProbe;       /* "SELECT 1": fails once db is interrupted */
  char *zCaInfo;              /* $MEMORY_CAINFO: a CA file, for tests */
  int nPolls;                 /* poll() calls, for tests and benches */
  CURLMcode mError;           /* the first failure of the multi handle */
  struct curl_slist *headers; /* Content-Type, Expect:, Authorization */
  int timeoutMs, retries, concurrency;
  int nActive;
  int nSent;                  /* attempts started, for tests and benches */
  MemRequest *pQueueHead, *pQueueTail;
  struct pollfd *aPoll;       /* the sockets libcurl wants watched */
  int nPoll, nPollAlloc;
  sqlite3_int64 timerAt;      /* when libcurl wants its timeout call; -1 */
};

static sqlite3_int64 nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libcurl's socket callback: watch socket fd for `what`, or stop. */
static int onSocket(CURL *easy, curl_socket_t fd, int what, void *pArg,
                    void *pSocketArg) {
  MemHttp *p = pArg;
  int i;
  (void)easy;
  (void)pSocketArg;
  for (i = 0; i < p->nPoll && p->aPoll[i].fd != fd; i++) {
  }
  if (what == CURL_POLL_REMOVE) {
    if (i < p->nPoll) p->aPoll[i] = p->aPoll[--p->nPoll];
    return 0;
  }
  if (i == p->nPoll) {
    if (p->nPoll == p->nPollAlloc) {
      int nNew = p->nPollAlloc ? p->nPollAlloc * 2 : 16;
      struct pollfd *aNew = sqlite3_realloc64(p->aPoll, nNew * sizeof(*aNew));
      if (aNew == 0) return -1; /* libcurl fails the transfer */
      p->aPoll = aNew;
      p->nPollAlloc = nNew;
    }
    p->aPoll[p->nPoll++].fd = fd;
  }
  p->aPoll[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
                               ((what & CURL_POLL_OUT) ? POLLOUT : 0));
  p->aPoll[i].revents = 0;
  return 0;
}

/* libcurl's timer callback: call back in timeoutMs (-1: no timer). */
static int onTimer(CURLM *multi, long timeoutMs, void *pArg) {
  MemHttp *p = pArg;
  (void)multi;
  p->timerAt = timeoutMs < 0 ? -1 : nowMs() + timeoutMs;
  return 0;
}

int memHttpNew(sqlite3 *db, const MemSettings *s, MemHttp **ppHttp) {
  MemHttp *p = sqlite3_malloc(sizeof(*p));
  char *zAuth = 0;
  const char *zCa = getenv("MEMORY_CAINFO");
  *ppHttp = 0;
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  /* A CA bundle to trust besides the system's, for tests against a local
  ** TLS server with a self-signed certificate. Verification stays on. */
  if (zCa && zCa[0]) {
    p->zCaInfo = sqlite3_mprintf("%s", zCa);
    if (p->zCaInfo == 0) goto nomem;
  }
  p->timeoutMs = s->timeoutMs;
  p->retries = s->retries;
  p->concurrency = s->concurrency;
  p->multi = curl_multi_init();
  if (p->multi == 0) goto nomem;
  p->timerAt = -1;
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, onSocket);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, onTimer);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->concurrency);
  curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)s->concurrency);
  /* HTTP/2: the requests in flight share one connection to the host. */
  curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* An empty Expect: stops libcurl waiting for "100 Continue" on bodies
  ** over 1 KB, a round trip per large PUT. */
  p->headers = curl_slist_append(0, "Content-Type: application/json");
  if (p->headers) p->headers = curl_slist_append(p->headers, "Accept: application/json");
  if (p->headers) p->headers = curl_slist_append(p->headers, "Expect:");
  if (p->headers && s->zToken) {
    /* The token was checked for control bytes when the table was made. */
    zAuth = sqlite3_mprintf("Authorization: Bearer %s", s->zToken);
    if (zAuth == 0) goto nomem;
    p->headers = curl_slist_append(p->headers, zAuth);
    sqlite3_free(zAuth);
  }
  if (p->headers == 0) goto nomem;
  *ppHttp = p;
  return SQLITE_OK;
nomem:
  memHttpFree(p);
  return SQLITE_NOMEM;
}

void memHttpFree(MemHttp *p) {
  if (p == 0) return;
  if (p->multi) curl_multi_cleanup(p->multi); /* may still call onSocket */
  curl_slist_free_all(p->headers);
  sqlite3_finalize(p->pProbe);
  sqlite3_free(p->zCaInfo);
  sqlite3_free(p->aPoll);
  sqlite3_free(p);
}

int memHttpRequestsSent(MemHttp *p) { return p->nSent; }

int memHttpPolls(MemHttp *p) { return p->nPolls; }

MemRequest *memRequestNew(const char *zMethod, char *zUrl, char *zBody) {
  MemRequest *r = sqlite3_malloc(sizeof(*r));
  if (r == 0 || zUrl == 0) {
    sqlite3_free(r);
    sqlite3_free(zUrl);
    sqlite3_free(zBody);
    return 0;
  }
  memset(r, 0, sizeof(*r));
  r->zMethod = zMethod;
  r->zUrl = zUrl;
  r->zBody = zBody;
  return r;
}

static void enqueue(MemHttp *p, MemRequest *r) {
  r->pNextQueued = 0;
  r->queued = 1;
  if (p->pQueueTail) p->pQueueTail->pNextQueued = r; else p->pQueueHead = r;
  p->pQueueTail = r;
}

static void unqueue(MemHttp *p, MemRequest *r) {
  MemRequest **pp, *prev = 0;
  for (pp = &p->pQueueHead; *pp; prev = *pp, pp = &(*pp)->pNextQueued) {
    if (*pp == r) {
      *pp = r->pNextQueued;
      if (p->pQueueTail == r) p->pQueueTail = prev;
      break;
    }
  }
  r->queued = 0;
  r->pNextQueued = 0;
}

/* Each attempt gets a fresh easy handle, cleaned up when it ends. Reusing
** them saved little (connections are cached in the multi handle, not in
** easy handles) and exposed a libcurl 7.88 bug: an answer that begins with
** a folded header line read a header freed with the previous answer on the
** same handle (found by tests/fuzz/fuzz_answers.c). */
static void releaseEasy(MemHttp *p, CURL *easy) {
  curl_multi_remove_handle(p->multi, easy);
  p->nActive--;
  curl_easy_cleanup(easy);
}

void memRequestFree(MemRequest *r) {
  if (r == 0) return;
  if (r->pHttp) {
    if (r->pEasy) releaseEasy(r->pHttp, (CURL *)r->pEasy);
    if (r->queued) unqueue(r->pHttp, r);
  }
  sqlite3_free(r->zUrl);
  sqlite3_free(r->zBody);
  sqlite3_free(r->zResp);
  sqlite3_free(r->zError);
  sqlite3_free(r);
}

/* The request waits in the queue for a free slot; its timeout_ms runs from
** its first attempt (startAttempt), not from here: with more requests than
** `concurrency`, time spent queued is not the server's. */
void memHttpSubmit(MemHttp *p, MemRequest *r) {
  r->pHttp = p;
  r->deadline = 0;
  r->notBefore = 0;
  enqueue(p, r);
}

/* Body bytes arrive here; past the cap the transfer is aborted, so a server
** that floods costs at most MEM_HTTP_MAX_BODY bytes of memory. */
static size_t onBody(char *pData, size_t size, size_t nmemb, void *pArg) {
  MemRequest *r = pArg;
  size_t n = size * nmemb;
  if ((size_t)r->nResp + n > MEM_HTTP_MAX_BODY) {
    r->overflow = 1;
    return 0;
  }
  {
    char *zNew = sqlite3_realloc64(r->zResp, (sqlite3_uint64)r->nResp + n + 1);
    if (zNew == 0) return 0;
    r->zResp = zNew;
  }
  memcpy(r->zResp + r->nResp, pData, n);
  r->nResp += (int)n;
  r->zResp[r->nResp] = 0;
  return n;
}

static void finish(MemRequest *r, char *zError) {
  r->done = 1;
  sqlite3_free(r->zError);
  r->zError = zError;
}

static int startAttempt(MemHttp *p, MemRequest *r, sqlite3_int64 now) {
  CURL *easy = curl_easy_init();
  long remaining;
  if (easy == 0) return SQLITE_NOMEM;
  if (r->deadline == 0) r->deadline = now + p->timeoutMs; /* first attempt */
  remaining = (long)(r->deadline - now);
  sqlite3_free(r->zResp);
  r->zResp = 0;
  r->nResp = 0;
  r->overflow = 0;
  r->status = 0;
  curl_easy_setopt(easy, CURLOPT_URL, r->zUrl);
  /* Send the path exactly: libcurl would otherwise remove dot segments,
  ** and a key "." or ".." (valid names) would reach another path. */
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  /* Proxies (http_proxy, https_proxy, no_proxy): only for https, where the
  ** proxy sees a CONNECT tunnel and never the bearer token. A plain-http
  ** request never goes through a proxy, so the token cannot be handed to
  ** whatever http_proxy names. */
  if (strncmp(r->zUrl, "http://", 7) == 0) curl_easy_setopt(easy, CURLOPT_PROXY, "");
  /* HTTP/2 over TLS when the server offers it: requests then share one
  ** connection (one TLS handshake) instead of one each. */
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  if (p->zCaInfo) curl_easy_setopt(easy, CURLOPT_CAINFO, p->zCaInfo);
  r->zCurlError[0] = 0;
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->zCurlError);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L); /* never elsewhere */
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, p->headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "sqlite-memory/" MEMORY_VERSION);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MEM_HTTP_MAX_BODY);
  /* This attempt may use what is left of the request's whole deadline. */
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, remaining > 0 ? remaining : 1L);
  if (strcmp(r->zMethod, "GET") == 0) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r->zMethod);
    if (r->zBody) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->zBody);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->zBody));
    }
  }
  if (curl_multi_add_handle(p->multi, easy) != CURLM_OK) {
    curl_easy_cleanup(easy);
    return SQLITE_ERROR;
  }
  r->pEasy = easy;
  p->nActive++;
  p->nSent++;
  return SQLITE_OK;
}

/* Start queued requests whose time has come, while slots are free. */
static int startReady(MemHttp *p) {
  sqlite3_int64 now = nowMs();
  MemRequest *r = p->pQueueHead, *pNext;
  for (; r && p->nActive < p->concurrency; r = pNext) {
    pNext = r->pNextQueued;
    if (r->notBefore > now) continue;
    unqueue(p, r);
    if (r->deadline != 0 && now >= r->deadline) {
      if (!r->done && r->zError == 0 && r->status == 0) {
        finish(r, sqlite3_mprintf("no answer within timeout_ms=%d", p->timeoutMs));
      } else {
        r->done = 1; /* keep the last attempt's answer or error */
      }
      continue;
    }
    if (startAttempt(p, r, now) != SQLITE_OK) {
      finish(r, sqlite3_mprintf("cannot start a request (out of memory)"));
    }
  }
  return SQLITE_OK;
}

static int isPermanent(CURLcode res) {
  switch (res) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_TOO_MANY_REDIRECTS:
      return 1;
    default:
      return 0;
  }
}

/* One attempt of r ended with `res`: retry it, or finish it. */
static void attemptDone(MemHttp *p, MemRequest *r, CURLcode res) {
  CURL *easy = (CURL *)r->pEasy;
  sqlite3_int64 now = nowMs(), delay;
  curl_off_t retryAfter = -1;
  int retryable = 0;
  char *zError = 0;

  r->nAttempt++;
  if (res == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retryAfter);
    retryable = r->status >= 500 || r->status == 429;
  }
  r->pEasy = 0;
  releaseEasy(p, easy);

  if (r->overflow || res == CURLE_FILESIZE_EXCEEDED) {
    finish(r, sqlite3_mprintf("the answer exceeds %d bytes; refused",
                              MEM_HTTP_MAX_BODY));
    return;
  }
  if (res != CURLE_OK) {
    r->status = 0;
    if (res == CURLE_OPERATION_TIMEDOUT && now >= r->deadline) {
      finish(r, sqlite3_mprintf("no answer within timeout_ms=%d", p->timeoutMs));
      return;
    }
    /* The error buffer names the host, port and system error. */
    zError = sqlite3_mprintf("%s", r->zCurlError[0] ? r->zCurlError
                                                   : curl_easy_strerror(res));
    retryable = !isPermanent(res);
  }
  if (!retryable || r->nAttempt > p->retries) {
    finish(r, zError);
    return;
  }
  /* Exponential backoff with jitter; a 429's Retry-After wins. */
  delay = BACKOFF_BASE_MS << (r->nAttempt - 1 < 6 ? r->nAttempt - 1 : 6);
  if (delay > BACKOFF_MAX_MS) delay = BACKOFF_MAX_MS;
  {
    unsigned int rnd;
    sqlite3_randomness(sizeof(rnd), &rnd);
    delay = delay / 2 + (sqlite3_int64)(rnd % (unsigned)(delay / 2 + 1));
  }
  /* libcurl reports 0 both for "Retry-After: 0" and for no header. A wait
  ** past the deadline (however large: it is clamped before multiplying)
  ** means no other try. */
  if (r->status == 429 && retryAfter > 0) {
    sqlite3_int64 left = r->deadline - now;
    delay = retryAfter > left / 1000 + 1 ? left + 1 : (sqlite3_int64)retryAfter * 1000;
  }
  if (now + delay >= r->deadline) {
    /* No time for another try: the last answer (or error) stands. */
    finish(r, zError);
    return;
  }
  sqlite3_free(zError);
  r->notBefore = now + delay;
  enqueue(p, r);
}

/* Hand finished transfers to attemptDone(). */
static void collectDone(MemHttp *p) {
  int nLeft;
  CURLMsg *m;
  while ((m = curl_multi_info_read(p->multi, &nLeft)) != 0) {
    MemRequest *r = 0;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (r) attemptDone(p, r, m->data.result);
  }
}

/* How long to wait: until libcurl's timer, the next retry due, or 100 ms
** (to notice an interrupt, memHttpWait). A queued request whose time has
** come waits for a free slot, that is for a transfer to end, which poll()
** reports: it must not make the wait 0, or the loop spins a core while
** requests are queued (found by profiling: 330 polls per request). */
static int waitTimeout(MemHttp *p) {
  sqlite3_int64 ms = 100, now = nowMs();
  MemRequest *r;
  if (p->timerAt >= 0 && p->timerAt - now < ms) ms = p->timerAt - now;
  for (r = p->pQueueHead; r; r = r->pNextQueued) {
    if (r->notBefore > now && r->notBefore - now < ms) ms = r->notBefore - now;
  }
  return ms < 0 ? 0 : (int)ms;
}

/* One turn of the loop: start what may start, wait for the sockets libcurl
** watches (or its timer, or the next retry), and tell libcurl what is
** ready. The ready sockets are copied first: libcurl's callbacks change
** aPoll while it works. */
static void progress(MemHttp *p) {
  struct pollfd aReady[64];
  int nReady = 0, i, running, timeout;
  startReady(p);
  timeout = waitTimeout(p);
  p->nPolls++;
  if (poll(p->aPoll, (nfds_t)p->nPoll, timeout) > 0) {
    for (i = 0; i < p->nPoll && nReady < 64; i++) {
      if (p->aPoll[i].revents) aReady[nReady++] = p->aPoll[i];
    }
  }
  for (i = 0; i < nReady; i++) {
    short ev = aReady[i].revents;
    int flags = ((ev & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
                ((ev & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((ev & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
    CURLMcode mc = curl_multi_socket_action(p->multi, aReady[i].fd, flags, &running);
    if (mc != CURLM_OK && p->mError == CURLM_OK) p->mError = mc;
  }
  if (p->timerAt >= 0 && nowMs() >= p->timerAt) {
    CURLMcode mc;
    p->timerAt = -1;
    mc = curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (mc != CURLM_OK && p->mError == CURLM_OK) p->mError = mc;
  }
  collectDone(p);
  startReady(p);
}

/* Has sqlite3_interrupt() been called on the connection? SQLite 3.41 has
** sqlite3_is_interrupted(); 3.40's extension API has not, but a statement
** stepped while the interrupt is pending fails with SQLITE_INTERRUPT, and
** a one-opcode "SELECT 1" costs about a microsecond per 100 ms wait. */
static int interrupted(MemHttp *p) {
  int rc;
  if (p->db == 0) return 0;
  if (p->pProbe == 0 &&
      sqlite3_prepare_v3(p->db, "SELECT 1", -1, SQLITE_PREPARE_PERSISTENT,
                         &p->pProbe, 0) != SQLITE_OK) {
    return 0;
  }
  sqlite3_step(p->pProbe);
  rc = sqlite3_reset(p->pProbe);
  return rc == SQLITE_INTERRUPT;
}

/* Drive every request until r is done. The wait sleeps in poll() (at most
** 100 ms at a time), so it notices sqlite3_interrupt() (Ctrl-C in the
** shell) within about 100 ms, and then ends r with an error. */
int memHttpWait(MemHttp *p, MemRequest *r) {
  while (!r->done) {
    if (!r->queued && r->pEasy == 0) {
      /* Neither queued nor in flight: never submitted. */
      finish(r, sqlite3_mprintf("request was never sent"));
      break;
    }
    if (p->mError != CURLM_OK) {
      finish(r, sqlite3_mprintf("libcurl failed: %s", curl_multi_strerror(p->mError)));
      break;
    }
    if (interrupted(p)) {
      finish(r, sqlite3_mprintf("interrupted"));
      break;
    }
    progress(p);
  }
  return SQLITE_OK;
}

char *memUrlEscape(const char *z, int n) {
  static const char hex[] = "0123456789ABCDEF";
  char *zOut = sqlite3_malloc(n * 3 + 1);
  int i, j = 0;
  if (zOut == 0) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)z[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
      zOut[j++] = (char)c;
    } else {
      zOut[j++] = '%';
      zOut[j++] = hex[c >> 4];
      zOut[j++] = hex[c & 15];
    }
  }
  zOut[j] = 0;
  return zOut;
}

char *memAnswerExcerpt(const MemRequest *r) {
  char zBuf[201];
  int i, n;
  if (r->zError) return sqlite3_mprintf("%s", r->zError);
  n = r->nResp < 200 ? r->nResp : 200;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)r->zResp[i];
    zBuf[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
  }
  zBuf[n] = 0;
  return sqlite3_mprintf("HTTP %ld%s%s%s", r->status, n ? ": " : "", zBuf,
                         r->nResp > 200 ? "..." : "");
}
