/*
** HTTP client for the remote backend; see memory_http.h.
**
** The loop is libcurl's event-driven one (curl_multi_socket_action, as in
** its docs/examples/hiperfifo.c), over poll(): libcurl names the sockets to
** watch (onSocket; curl_multi_assign keeps each socket's slot in aPoll) and
** when it wants to be called back (onTimer); a turn of the loop (turn())
** sleeps in poll() until a socket is ready, libcurl's timer is due, a retry
** is due, or INTERRUPT_CHECK_MS have passed, then tells libcurl only what
** happened. Requests beyond `concurrency` wait in a queue and never wake
** the loop early: a slot frees when a transfer ends, which poll() reports.
** (An earlier loop polled with a 0 timeout while requests were queued: it
** spun a core, hundreds of polls per request at 10 ms an answer.)
** Connections live in the multi handle's cache, so they are reused across
** requests and queries of one table.
**
** Proxies. libcurl reads http_proxy, https_proxy, all_proxy and no_proxy
** from the environment. Through an http_proxy, a plain-http request hands
** its bearer token and every value, in clear, to whatever that variable
** names: plain-http requests never use a proxy (CURLOPT_PROXY ""), whatever
** the environment says. https requests use https_proxy/all_proxy/no_proxy as
** libcurl does: through a proxy they are a CONNECT tunnel, so the proxy
** sees the host and port, and the token and the data stay inside TLS to
** the server; this keeps the client working where https can only leave
** through a proxy.
*/
#include "memory_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_BASE_MS 50
#define BACKOFF_MAX_MS 2000
/* The longest sleep in poll(): how soon sqlite3_interrupt() is noticed. */
#define INTERRUPT_CHECK_MS 100

typedef struct Request Request;

/* A request: the part callers read (memory_http.h), then ours. */
struct Request {
  MemRequest pub;          /* first: a MemRequest* is a Request* */
  const char *zMethod;     /* "GET", "PUT", "DELETE" */
  char *zUrl;              /* owned */
  char *zBody;             /* owned; JSON, or NULL */
  MemHttp *pHttp;          /* set by memHttpSubmit() */
  CURL *easy;              /* the attempt in flight, or NULL */
  Request *pNextQueued;
  int queued;              /* waiting in pHttp's queue */
  int done;
  int nAttempt;
  int overflow;            /* the answer went past MEM_HTTP_MAX_BODY */
  sqlite3_int64 deadline;  /* monotonic ms: the whole request, retries
                           ** too, from its first attempt; 0 before it */
  sqlite3_int64 notBefore; /* monotonic ms: earliest next attempt */
  char zCurlError[CURL_ERROR_SIZE]; /* names host, port, system error */
};

struct MemHttp {
  CURLM *multi;
  sqlite3 *db;                /* whose sqlite3_interrupt() ends a wait */
  sqlite3_stmt *pProbe;       /* "SELECT 1": fails once db is interrupted */
  char *zCaInfo;              /* $MEMORY_CAINFO: a CA file, for tests */
  struct curl_slist *headers; /* Content-Type, Expect:, Authorization */
  int timeoutMs, retries, concurrency;
  int nActive;                /* attempts in flight */
  Request *pQueueHead, *pQueueTail;
  struct pollfd *aPoll;       /* the sockets libcurl wants watched */
  int nPoll, nPollAlloc;
  sqlite3_int64 timerAt;      /* when libcurl wants its timeout call; -1 */
  char *zFail;                /* the loop itself failed (libcurl, poll):
                              ** the request waited for reports it */
  int showStats;              /* $MEMORY_HTTP_STATS: print counters */
  int nSent, nPolls, nTurns;  /* counters, for tests and benches */
};

static sqlite3_int64 nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The loop failed: keep the first reason for the request waited for. */
static void loopFailed(MemHttp *p, char *zWhy) {
  if (p->zFail == 0) p->zFail = zWhy; else sqlite3_free(zWhy);
}

static void checkMulti(MemHttp *p, CURLMcode mc) {
  if (mc != CURLM_OK) {
    loopFailed(p, sqlite3_mprintf("libcurl failed: %s", curl_multi_strerror(mc)));
  }
}

/* ---------------------------------------------------------------------- */
/* libcurl's callbacks.                                                   */

/* A socket's slot in aPoll, as handed to curl_multi_assign: index + 1, so
** that NULL (what libcurl passes before any assign) means none. */
#define SLOT_PTR(i) ((void *)(intptr_t)((i) + 1))

/* libcurl's socket callback: watch fd for `what`, or stop watching it.
** pSlot is what curl_multi_assign gave fd: its slot in aPoll. */
static int onSocket(CURL *easy, curl_socket_t fd, int what, void *pArg,
                    void *pSlot) {
  MemHttp *p = pArg;
  int i = (int)(intptr_t)pSlot - 1;
  (void)easy;
  if (i < 0 || i >= p->nPoll || p->aPoll[i].fd != fd) {
    /* Not assigned yet, or the assign failed: look, it may be there. (The
    ** slots are kept in step below, so a wrong one is not expected.) */
    for (i = p->nPoll - 1; i >= 0 && p->aPoll[i].fd != fd; i--) {
    }
  }
  if (what == CURL_POLL_REMOVE) {
    if (i >= 0) {
      p->nPoll--;
      if (i < p->nPoll) {
        /* The last slot fills the hole: its socket learns its new slot. */
        p->aPoll[i] = p->aPoll[p->nPoll];
        checkMulti(p, curl_multi_assign(p->multi, p->aPoll[i].fd, SLOT_PTR(i)));
      }
    }
    return 0;
  }
  if (i < 0) {
    if (p->nPoll == p->nPollAlloc) {
      /* Rare: memHttpNew() made room for every connection. A -1 here
      ** fails every transfer of the multi handle. */
      int nNew = p->nPollAlloc * 2;
      struct pollfd *aNew = sqlite3_realloc64(p->aPoll, nNew * sizeof(*aNew));
      if (aNew == 0) return -1;
      p->aPoll = aNew;
      p->nPollAlloc = nNew;
    }
    i = p->nPoll++;
    p->aPoll[i].fd = fd;
    checkMulti(p, curl_multi_assign(p->multi, fd, SLOT_PTR(i)));
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

/* Body bytes arrive here; past the cap the transfer is aborted, so a server
** that floods costs at most MEM_HTTP_MAX_BODY bytes of memory. */
static size_t onBody(char *pData, size_t size, size_t nmemb, void *pArg) {
  Request *r = pArg;
  size_t n = size * nmemb;
  char *zNew;
  if ((size_t)r->pub.nResp + n > MEM_HTTP_MAX_BODY) {
    r->overflow = 1;
    return 0;
  }
  zNew = sqlite3_realloc64(r->pub.zResp, (sqlite3_uint64)r->pub.nResp + n + 1);
  if (zNew == 0) return 0;
  r->pub.zResp = zNew;
  memcpy(zNew + r->pub.nResp, pData, n);
  r->pub.nResp += (int)n;
  zNew[r->pub.nResp] = 0;
  return n;
}

/* ---------------------------------------------------------------------- */
/* The client.                                                            */

int memHttpNew(sqlite3 *db, const MemSettings *s, MemHttp **ppHttp) {
  MemHttp *p = sqlite3_malloc(sizeof(*p));
  const char *zCa = getenv("MEMORY_CAINFO");
  const char *zStats = getenv("MEMORY_HTTP_STATS");
  CURLMcode mc = CURLM_OK;
  *ppHttp = 0;
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->timerAt = -1;
  p->timeoutMs = s->timeoutMs;
  p->retries = s->retries;
  p->concurrency = s->concurrency;
  p->showStats = zStats && zStats[0];
  /* $MEMORY_CAINFO names a CA file that replaces libcurl's default bundle
  ** (the system's CA directory stays trusted), for tests and benchmarks
  ** against a local TLS server with a self-signed certificate.
  ** Verification stays on. */
  if (zCa && zCa[0]) {
    p->zCaInfo = sqlite3_mprintf("%s", zCa);
    if (p->zCaInfo == 0) goto nomem;
  }
  /* Room for two sockets per connection (happy eyeballs) and a few more,
  ** so that onSocket() need not allocate. */
  p->nPollAlloc = 2 * s->concurrency + 8;
  p->aPoll = sqlite3_malloc64(p->nPollAlloc * sizeof(*p->aPoll));
  if (p->aPoll == 0) goto nomem;
  p->multi = curl_multi_init();
  if (p->multi == 0) goto nomem;
#define MSETOPT(opt, val) \
  if (mc == CURLM_OK) mc = curl_multi_setopt(p->multi, opt, val)
  MSETOPT(CURLMOPT_SOCKETFUNCTION, onSocket);
  MSETOPT(CURLMOPT_SOCKETDATA, p);
  MSETOPT(CURLMOPT_TIMERFUNCTION, onTimer);
  MSETOPT(CURLMOPT_TIMERDATA, p);
  MSETOPT(CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->concurrency);
  MSETOPT(CURLMOPT_MAXCONNECTS, (long)s->concurrency);
  /* HTTP/2: the requests in flight share one connection to the host. */
  MSETOPT(CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
#undef MSETOPT
  if (mc != CURLM_OK) {
    memHttpFree(p);
    return SQLITE_ERROR;
  }
  /* An empty Expect: stops libcurl waiting for "100 Continue" on bodies
  ** over 1 KB, a round trip per large PUT. */
  p->headers = curl_slist_append(0, "Content-Type: application/json");
  if (p->headers) p->headers = curl_slist_append(p->headers, "Accept: application/json");
  if (p->headers) p->headers = curl_slist_append(p->headers, "Expect:");
  if (p->headers && s->zToken) {
    /* The token was checked for control bytes when the table was made. */
    char *zAuth = sqlite3_mprintf("Authorization: Bearer %s", s->zToken);
    struct curl_slist *pNew;
    if (zAuth == 0) goto nomem;
    pNew = curl_slist_append(p->headers, zAuth);
    sqlite3_free(zAuth);
    if (pNew == 0) goto nomem;
    p->headers = pNew;
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
  if (p->showStats) {
    fprintf(stderr, "memory: http stats: %d attempts, %d polls, %d turns\n",
            p->nSent, p->nPolls, p->nTurns);
  }
  if (p->multi) curl_multi_cleanup(p->multi); /* may still call onSocket */
  curl_slist_free_all(p->headers);
  sqlite3_finalize(p->pProbe);
  sqlite3_free(p->zCaInfo);
  sqlite3_free(p->zFail);
  sqlite3_free(p->aPoll);
  sqlite3_free(p);
}

int memHttpRequestsSent(MemHttp *p) { return p->nSent; }

int memHttpPolls(MemHttp *p) { return p->nPolls; }

/* ---------------------------------------------------------------------- */
/* Requests.                                                              */

MemRequest *memRequestNew(const char *zMethod, char *zUrl, char *zBody) {
  Request *r = sqlite3_malloc(sizeof(*r));
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
  return &r->pub;
}

static void enqueue(MemHttp *p, Request *r) {
  r->pNextQueued = 0;
  r->queued = 1;
  if (p->pQueueTail) p->pQueueTail->pNextQueued = r; else p->pQueueHead = r;
  p->pQueueTail = r;
}

static void unqueue(MemHttp *p, Request *r) {
  Request **pp, *prev = 0;
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
static void releaseEasy(MemHttp *p, Request *r) {
  checkMulti(p, curl_multi_remove_handle(p->multi, r->easy));
  curl_easy_cleanup(r->easy);
  r->easy = 0;
  p->nActive--;
}

/* Take r out of the loop: stop its attempt in flight, leave the queue. */
static void cancel(Request *r) {
  if (r->pHttp == 0) return;
  if (r->easy) releaseEasy(r->pHttp, r);
  if (r->queued) unqueue(r->pHttp, r);
}

void memRequestFree(MemRequest *pReq) {
  Request *r = (Request *)pReq;
  if (r == 0) return;
  cancel(r);
  sqlite3_free(r->zUrl);
  sqlite3_free(r->zBody);
  sqlite3_free(r->pub.zResp);
  sqlite3_free(r->pub.zError);
  sqlite3_free(r);
}

/* The request waits in the queue for a free slot; its timeout_ms runs from
** its first attempt (startAttempt), not from here: with more requests than
** `concurrency`, time spent queued is not the server's. */
void memHttpSubmit(MemHttp *p, MemRequest *pReq) {
  Request *r = (Request *)pReq;
  r->pHttp = p;
  r->deadline = 0;
  r->notBefore = 0;
  enqueue(p, r);
}

static void finish(Request *r, char *zError) {
  r->done = 1;
  sqlite3_free(r->pub.zError);
  r->pub.zError = zError;
}

/* Start an attempt of r. SQLITE_NOMEM, or SQLITE_ERROR with *pzErr when
** libcurl refused an option (too old a libcurl: every option is needed). */
static int startAttempt(MemHttp *p, Request *r, sqlite3_int64 now, char **pzErr) {
  CURL *easy = curl_easy_init();
  CURLcode res = CURLE_OK;
  CURLMcode mc;
  long remaining;
  if (easy == 0) return SQLITE_NOMEM;
  if (r->deadline == 0) r->deadline = now + p->timeoutMs; /* first attempt */
  remaining = (long)(r->deadline - now);
  sqlite3_free(r->pub.zResp);
  r->pub.zResp = 0;
  r->pub.nResp = 0;
  r->pub.status = 0;
  r->overflow = 0;
  r->zCurlError[0] = 0;
#define SETOPT(opt, val) \
  if (res == CURLE_OK) res = curl_easy_setopt(easy, opt, val)
  SETOPT(CURLOPT_URL, r->zUrl);
  /* Send the path exactly: libcurl would otherwise remove dot segments,
  ** and a key "." or ".." (valid names) would reach another path. */
  SETOPT(CURLOPT_PATH_AS_IS, 1L);
  /* Plain http never goes through a proxy (see the top of this file). */
  if (sqlite3_strnicmp(r->zUrl, "https://", 8) != 0) SETOPT(CURLOPT_PROXY, "");
  SETOPT(CURLOPT_ERRORBUFFER, r->zCurlError);
  SETOPT(CURLOPT_PRIVATE, r);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L); /* never elsewhere */
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (p->zCaInfo) SETOPT(CURLOPT_CAINFO, p->zCaInfo);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_HTTPHEADER, p->headers);
  SETOPT(CURLOPT_USERAGENT, "sqlite-memory/" MEMORY_VERSION);
  SETOPT(CURLOPT_WRITEFUNCTION, onBody);
  SETOPT(CURLOPT_WRITEDATA, r);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MEM_HTTP_MAX_BODY);
  /* This attempt may use what is left of the request's whole deadline. */
  SETOPT(CURLOPT_TIMEOUT_MS, remaining > 0 ? remaining : 1L);
  if (strcmp(r->zMethod, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else {
    SETOPT(CURLOPT_CUSTOMREQUEST, r->zMethod);
    if (r->zBody) {
      SETOPT(CURLOPT_POSTFIELDS, r->zBody);
      SETOPT(CURLOPT_POSTFIELDSIZE, (long)strlen(r->zBody));
    }
  }
#undef SETOPT
  /* HTTP/2 over TLS when the server offers it: requests then share one
  ** connection (one TLS handshake) instead of one each. Optional: a
  ** libcurl without HTTP/2 refuses it, and speaks HTTP/1.1. */
  (void)curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  if (res != CURLE_OK) {
    *pzErr = sqlite3_mprintf("libcurl %s cannot make this request: %s",
                             curl_version_info(CURLVERSION_NOW)->version,
                             curl_easy_strerror(res));
    curl_easy_cleanup(easy);
    return SQLITE_ERROR;
  }
  mc = curl_multi_add_handle(p->multi, easy);
  if (mc != CURLM_OK) {
    *pzErr = sqlite3_mprintf("libcurl failed: %s", curl_multi_strerror(mc));
    curl_easy_cleanup(easy);
    return SQLITE_ERROR;
  }
  r->easy = easy;
  p->nActive++;
  p->nSent++;
  return SQLITE_OK;
}

/* Start queued requests whose time has come, while slots are free. */
static void startReady(MemHttp *p) {
  sqlite3_int64 now = nowMs();
  Request *r = p->pQueueHead, *pNext;
  for (; r && p->nActive < p->concurrency; r = pNext) {
    char *zErr = 0;
    int rc;
    pNext = r->pNextQueued;
    if (r->notBefore > now) continue;
    unqueue(p, r);
    if (r->deadline != 0 && now >= r->deadline) {
      if (r->pub.zError == 0 && r->pub.status == 0) {
        finish(r, sqlite3_mprintf("no answer within timeout_ms=%d", p->timeoutMs));
      } else {
        r->done = 1; /* keep the last attempt's answer or error */
      }
      continue;
    }
    rc = startAttempt(p, r, now, &zErr);
    if (rc != SQLITE_OK) {
      finish(r, zErr ? zErr : sqlite3_mprintf("cannot start a request (out of memory)"));
    }
  }
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
static void attemptDone(MemHttp *p, Request *r, CURLcode res) {
  sqlite3_int64 now = nowMs(), delay;
  curl_off_t retryAfter = -1;
  int retryable = 0;
  char *zError = 0;

  r->nAttempt++;
  if (res == CURLE_OK) {
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->pub.status);
    curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retryAfter);
    retryable = r->pub.status >= 500 || r->pub.status == 429;
  }
  releaseEasy(p, r);

  if (r->overflow || res == CURLE_FILESIZE_EXCEEDED) {
    finish(r, sqlite3_mprintf("the answer exceeds %d bytes; refused",
                              MEM_HTTP_MAX_BODY));
    return;
  }
  if (res != CURLE_OK) {
    r->pub.status = 0;
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
  /* libcurl reports 0 both for "Retry-After: 0" and for no header. It is
  ** compared in seconds, before any multiplication (a Retry-After of 2^63
  ** ms overflowed): one that ends past the deadline means no other try. */
  if (r->pub.status == 429 && retryAfter > 0) {
    if (retryAfter > (r->deadline - now) / 1000) {
      finish(r, zError);
      return;
    }
    delay = (sqlite3_int64)retryAfter * 1000;
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
    Request *r = 0;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (r) attemptDone(p, r, m->data.result);
  }
}

/* ---------------------------------------------------------------------- */
/* The loop.                                                              */

/* How long poll() may sleep: until libcurl's timer, the next retry due, or
** INTERRUPT_CHECK_MS. A queued request whose time has come waits for a
** free slot, that is for a transfer to end, which poll() reports: it does
** not shorten the sleep (the loop would spin while requests are queued). */
static int sleepMs(MemHttp *p, sqlite3_int64 now) {
  sqlite3_int64 ms = INTERRUPT_CHECK_MS;
  Request *r;
  if (p->timerAt >= 0 && p->timerAt - now < ms) ms = p->timerAt - now;
  for (r = p->pQueueHead; r; r = r->pNextQueued) {
    if (r->notBefore > now && r->notBefore - now < ms) ms = r->notBefore - now;
  }
  return ms < 0 ? 0 : (int)ms;
}

static void socketAction(MemHttp *p, curl_socket_t fd, int flags) {
  int running;
  checkMulti(p, curl_multi_socket_action(p->multi, fd, flags, &running));
}

/* One turn of the loop: start what may start; then, if libcurl's timer is
** due (it asks for 0 ms after each new transfer), call it without polling
** first; else sleep in poll() and tell libcurl which sockets are ready.
** The ready sockets are copied first: libcurl's callbacks change aPoll
** while it works (the rest, past 64, are still ready at the next turn). */
static void turn(MemHttp *p) {
  struct pollfd aReady[64];
  int nReady = 0, i, n;
  sqlite3_int64 now;
  p->nTurns++;
  startReady(p);
  now = nowMs();
  if (p->timerAt < 0 || p->timerAt > now) {
    p->nPolls++;
    n = poll(p->aPoll, (nfds_t)p->nPoll, sleepMs(p, now));
    if (n < 0 && errno != EINTR) {
      loopFailed(p, sqlite3_mprintf("cannot wait for the network: poll: %s",
                                    strerror(errno)));
    }
    for (i = 0; n > 0 && i < p->nPoll && nReady < 64; i++) {
      if (p->aPoll[i].revents) aReady[nReady++] = p->aPoll[i];
    }
    for (i = 0; i < nReady; i++) {
      short ev = aReady[i].revents;
      socketAction(p, aReady[i].fd,
                   ((ev & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
                       ((ev & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                       ((ev & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0));
    }
    now = nowMs();
  }
  if (p->timerAt >= 0 && now >= p->timerAt) {
    p->timerAt = -1;
    socketAction(p, CURL_SOCKET_TIMEOUT, 0);
  }
  collectDone(p);
  startReady(p);
}

/* Has sqlite3_interrupt() been called on the connection (Ctrl-C in the
** shell)? SQLite 3.41 has sqlite3_is_interrupted() (asked only when the
** SQLite running is 3.41 too: the extension may be built against a newer
** one than it is loaded into). Before, a statement stepped while the
** interrupt is pending fails with SQLITE_INTERRUPT: the interrupt flag
** stays set while a statement of the connection runs, and the query or
** COMMIT waiting here is one. A one-opcode "SELECT 1" costs about a
** microsecond a turn. */
static int isInterrupted(MemHttp *p) {
  int rc;
  if (p->db == 0) return 0;
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_libversion_number() >= 3041000) return sqlite3_is_interrupted(p->db);
#endif
  if (p->pProbe == 0) {
    rc = sqlite3_prepare_v3(p->db, "SELECT 1", -1, SQLITE_PREPARE_PERSISTENT,
                            &p->pProbe, 0);
    if (rc != SQLITE_OK) return rc == SQLITE_INTERRUPT;
  }
  sqlite3_step(p->pProbe);
  return sqlite3_reset(p->pProbe) == SQLITE_INTERRUPT;
}

int memHttpWait(MemHttp *p, MemRequest *pReq) {
  Request *r = (Request *)pReq;
  while (!r->done) {
    if (!r->queued && r->easy == 0) {
      /* Neither queued nor in flight: never submitted. */
      finish(r, sqlite3_mprintf("request was never sent"));
      break;
    }
    if (p->zFail) {
      cancel(r);
      finish(r, p->zFail);
      p->zFail = 0;
      break;
    }
    if (isInterrupted(p)) {
      cancel(r);
      finish(r, sqlite3_mprintf("interrupted"));
      return SQLITE_INTERRUPT;
    }
    turn(p);
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
