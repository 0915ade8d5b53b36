/*
** fast_server: a minimal stand-in for the hosted memory API, fast enough
** that the client, not the server, is what a benchmark measures.
**
**   build/bench/fast_server [VALUE_BYTES]
**
** Listens on 127.0.0.1 (a free port), prints "PORT <n>" once it listens and
** exits when its standard input closes (the bench holds the other end). One
** thread, epoll, HTTP/1.1 keep-alive (pipelined requests are answered in
** order). It stores nothing; every answer is made up:
**   GET /memory/{ns}/{key}      200 {"namespace", "key", "value" (VALUE_BYTES
**                               of 'x', default 200), "created_at",
**                               "updated_at"}
**   GET /memory/{ns}?limit=N    200 a listing of N keys k0000, k0001, ...
**                               (N 1..1000, default 100; else 422)
**   PUT /memory/{ns}/{key}      200 {"namespace", "key", "stored", "bytes"}
**                               (the body is read and ignored)
**   anything else               404
** Names are echoed into the JSON, so only the API's name characters
** (A-Z a-z 0-9 _ - .) are accepted; anything else is 400.
*/
#define _GNU_SOURCE  /* memmem, accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_MAX (64 * 1024)   /* a request's head must fit in this */
#define NAME_MAX_LEN 128

typedef struct Conn {
  int fd;
  char in[IN_MAX];
  size_t nIn;
  size_t nSkip;    /* body bytes of the current request still to discard */
  char *out;       /* answers not yet written */
  size_t nOut, nOutAlloc, iOut;
  int closeAfter;  /* the client asked to close */
} Conn;

static char *gValue;      /* the JSON value string's characters */
static size_t gValueLen;
static int gEpoll;

static void die(const char *zWhat) {
  perror(zWhat);
  exit(1);
}

static void outAppend(Conn *c, const char *z, size_t n) {
  if (c->nOut + n > c->nOutAlloc) {
    size_t nNew = c->nOutAlloc ? c->nOutAlloc * 2 : 16384;
    while (nNew < c->nOut + n) nNew *= 2;
    c->out = realloc(c->out, nNew);
    if (c->out == 0) die("realloc");
    c->nOutAlloc = nNew;
  }
  memcpy(c->out + c->nOut, z, n);
  c->nOut += n;
}

/* Queue one answer: status line, headers and the JSON body. */
static void answer(Conn *c, int status, const char *zBody, size_t nBody) {
  char head[256];
  const char *zReason = status == 200 ? "OK" : status == 400 ? "Bad Request"
                      : status == 404 ? "Not Found" : "Unprocessable Entity";
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n%s\r\n",
                   status, zReason, nBody,
                   c->closeAfter ? "Connection: close\r\n" : "");
  outAppend(c, head, (size_t)n);
  outAppend(c, zBody, nBody);
}

static void answerText(Conn *c, int status, const char *zBody) {
  answer(c, status, zBody, strlen(zBody));
}

/* Copy a path segment [z, z+n) into zOut if it is a valid name. */
static int takeName(const char *z, size_t n, char *zOut) {
  size_t i;
  if (n == 0 || n > NAME_MAX_LEN) return 0;
  for (i = 0; i < n; i++) {
    char ch = z[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
          || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.')) {
      return 0;
    }
  }
  memcpy(zOut, z, n);
  zOut[n] = 0;
  return 1;
}

static void answerGet(Conn *c, const char *zNs, const char *zKey) {
  size_t nBody = gValueLen + 2 * NAME_MAX_LEN + 160;
  char *zBody = malloc(nBody);
  int n;
  if (zBody == 0) die("malloc");
  n = snprintf(zBody, nBody,
               "{\"namespace\": \"%s\", \"key\": \"%s\", \"value\": \"%s\", "
               "\"created_at\": 1795373507.25, \"updated_at\": 1795373507.5}",
               zNs, zKey, gValue);
  answer(c, 200, zBody, (size_t)n);
  free(zBody);
}

static void answerList(Conn *c, const char *zNs, const char *zQuery) {
  long limit = 100;
  const char *zLimit = zQuery ? strstr(zQuery, "limit=") : 0;
  char *zBody, *zEnd;
  size_t nBody, used;
  long i;
  if (zLimit) {
    limit = strtol(zLimit + 6, &zEnd, 10);
    if (zEnd == zLimit + 6 || limit < 1 || limit > 1000) {
      answerText(c, 422, "{\"detail\": [{\"loc\": [\"query\", \"limit\"], "
                         "\"msg\": \"limit must be 1..1000\"}]}");
      return;
    }
  }
  nBody = 256 + (size_t)limit * 80;
  zBody = malloc(nBody);
  if (zBody == 0) die("malloc");
  used = (size_t)snprintf(zBody, nBody,
                          "{\"namespace\": \"%s\", \"count\": %ld, \"keys\": [",
                          zNs, limit);
  for (i = 0; i < limit; i++) {
    /* Newest first, as the API lists them. */
    used += (size_t)snprintf(zBody + used, nBody - used,
                             "%s{\"key\": \"k%04ld\", \"bytes\": %zu, "
                             "\"updated_at\": %.3f}",
                             i ? ", " : "", i, gValueLen,
                             1795373507.0 + (double)(limit - i) / 1000.0);
  }
  used += (size_t)snprintf(zBody + used, nBody - used, "]}");
  answer(c, 200, zBody, used);
  free(zBody);
}

/* The value of header zName in the head [zHead, zEnd), or 0. */
static const char *findHeader(const char *zHead, const char *zEnd,
                              const char *zName, size_t *pn) {
  size_t nName = strlen(zName);
  const char *z = memchr(zHead, '\n', (size_t)(zEnd - zHead));
  while (z && z + 1 < zEnd) {
    const char *zLine = z + 1;
    const char *zEol = memchr(zLine, '\n', (size_t)(zEnd - zLine));
    if (zEol == 0) zEol = zEnd;
    if ((size_t)(zEol - zLine) > nName + 1 && zLine[nName] == ':'
        && strncasecmp(zLine, zName, nName) == 0) {
      const char *zVal = zLine + nName + 1;
      while (zVal < zEol && (*zVal == ' ' || *zVal == '\t')) zVal++;
      *pn = (size_t)(zEol - zVal);
      while (*pn && (zVal[*pn - 1] == '\r' || zVal[*pn - 1] == ' ')) (*pn)--;
      return zVal;
    }
    z = zEol < zEnd ? zEol : 0;
  }
  return 0;
}

/* Answer the request whose head is c->in[0, nHead); return 0 if the
** connection must close now (a request we cannot read). */
static int handleRequest(Conn *c, size_t nHead) {
  char *zHead = c->in, *zEnd = c->in + nHead;
  char *zSp1, *zSp2, *zPath, *zQuery, *z;
  char zNs[NAME_MAX_LEN + 1], zKey[NAME_MAX_LEN + 1];
  const char *zVal;
  size_t n, nPath;
  int isGet, isPut;

  zSp1 = memchr(zHead, ' ', nHead);
  if (zSp1 == 0) return 0;
  zSp2 = memchr(zSp1 + 1, ' ', (size_t)(zEnd - zSp1 - 1));
  if (zSp2 == 0) return 0;
  isGet = zSp1 - zHead == 3 && memcmp(zHead, "GET", 3) == 0;
  isPut = zSp1 - zHead == 3 && memcmp(zHead, "PUT", 3) == 0;
  if (zSp2 + 9 <= zEnd && memcmp(zSp2 + 1, "HTTP/1.0", 8) == 0) c->closeAfter = 1;
  zVal = findHeader(zHead, zEnd, "Connection", &n);
  if (zVal && n == 5 && strncasecmp(zVal, "close", 5) == 0) c->closeAfter = 1;
  zVal = findHeader(zHead, zEnd, "Content-Length", &n);
  c->nSkip = zVal ? strtoul(zVal, 0, 10) : 0;

  zPath = zSp1 + 1;
  *zSp2 = 0;
  zQuery = strchr(zPath, '?');
  if (zQuery) *zQuery++ = 0;
  nPath = strlen(zPath);
  if (nPath < 9 || memcmp(zPath, "/memory/", 8) != 0) {
    answerText(c, 404, "{\"detail\": \"Not Found\"}");
    return 1;
  }
  zPath += 8;
  z = strchr(zPath, '/');
  if (z == 0) {
    if (!isGet) {
      answerText(c, 404, "{\"detail\": \"Not Found\"}");
    } else if (!takeName(zPath, strlen(zPath), zNs)) {
      answerText(c, 400, "{\"detail\": \"Invalid namespace.\"}");
    } else {
      answerList(c, zNs, zQuery);
    }
    return 1;
  }
  if (!takeName(zPath, (size_t)(z - zPath), zNs)
      || !takeName(z + 1, strlen(z + 1), zKey)) {
    answerText(c, 400, "{\"detail\": \"Invalid namespace or key.\"}");
  } else if (isGet) {
    answerGet(c, zNs, zKey);
  } else if (isPut) {
    char zBody[2 * NAME_MAX_LEN + 100];
    int nBody = snprintf(zBody, sizeof(zBody),
                         "{\"namespace\": \"%s\", \"key\": \"%s\", "
                         "\"stored\": true, \"bytes\": %zu}", zNs, zKey, c->nSkip);
    answer(c, 200, zBody, (size_t)nBody);
  } else {
    answerText(c, 404, "{\"detail\": \"Not Found\"}");
  }
  return 1;
}

static void closeConn(Conn *c) {
  close(c->fd);  /* also leaves the epoll set */
  free(c->out);
  free(c);
}

/* Write what is queued; 0 on a dead connection. */
static int flushOut(Conn *c) {
  while (c->iOut < c->nOut) {
    ssize_t n = write(c->fd, c->out + c->iOut, c->nOut - c->iOut);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return 0;
    }
    c->iOut += (size_t)n;
  }
  if (c->iOut == c->nOut) c->iOut = c->nOut = 0;
  {
    struct epoll_event ev;
    ev.events = EPOLLIN | (c->nOut ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(gEpoll, EPOLL_CTL_MOD, c->fd, &ev);
  }
  return 1;
}

/* Read what arrived and answer every complete request; 0 to close. */
static int onReadable(Conn *c) {
  for (;;) {
    ssize_t n;
    char *zHeadEnd;
    if (c->nIn == IN_MAX) return 0;  /* a head too large: give up */
    n = read(c->fd, c->in + c->nIn, IN_MAX - c->nIn);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return 0;
    }
    c->nIn += (size_t)n;
    for (;;) {
      size_t nHead, nDrop;
      if (c->nSkip) {  /* discard the previous request's body */
        nDrop = c->nSkip < c->nIn ? c->nSkip : c->nIn;
        memmove(c->in, c->in + nDrop, c->nIn - nDrop);
        c->nIn -= nDrop;
        c->nSkip -= nDrop;
        if (c->nSkip) break;
      }
      zHeadEnd = c->nIn >= 4 ? memmem(c->in, c->nIn, "\r\n\r\n", 4) : 0;
      if (zHeadEnd == 0) break;
      nHead = (size_t)(zHeadEnd - c->in) + 4;
      if (!handleRequest(c, nHead)) return 0;
      memmove(c->in, c->in + nHead, c->nIn - nHead);
      c->nIn -= nHead;
      if (c->closeAfter) break;
    }
    if (c->closeAfter) break;
  }
  if (!flushOut(c)) return 0;
  return !(c->closeAfter && c->nOut == 0);
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  socklen_t nAddr = sizeof(addr);
  struct epoll_event ev, aEv[64];
  int lfd, one = 1;

  gValueLen = argc > 1 ? strtoul(argv[1], 0, 10) : 200;
  gValue = malloc(gValueLen + 1);
  if (gValue == 0) die("malloc");
  memset(gValue, 'x', gValueLen);
  gValue[gValueLen] = 0;

  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0) die("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  if (getsockname(lfd, (struct sockaddr *)&addr, &nAddr) < 0) die("getsockname");

  gEpoll = epoll_create1(0);
  if (gEpoll < 0) die("epoll_create1");
  ev.events = EPOLLIN;
  ev.data.ptr = 0;  /* 0: the listening socket; &gEpoll: standard input */
  epoll_ctl(gEpoll, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &gEpoll;
  epoll_ctl(gEpoll, EPOLL_CTL_ADD, 0, &ev);

  printf("PORT %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  for (;;) {
    int i, nEv = epoll_wait(gEpoll, aEv, 64, -1);
    if (nEv < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (i = 0; i < nEv; i++) {
      void *p = aEv[i].data.ptr;
      if (p == &gEpoll) {
        char buf[256];
        if (read(0, buf, sizeof(buf)) <= 0) return 0;  /* the bench is gone */
      } else if (p == 0) {
        int fd;
        while ((fd = accept4(lfd, 0, 0, SOCK_NONBLOCK)) >= 0) {
          Conn *c = calloc(1, sizeof(Conn));
          if (c == 0) die("calloc");
          c->fd = fd;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          ev.events = EPOLLIN;
          ev.data.ptr = c;
          epoll_ctl(gEpoll, EPOLL_CTL_ADD, fd, &ev);
        }
      } else {
        Conn *c = p;
        int ok = 1;
        if (aEv[i].events & (EPOLLERR | EPOLLHUP)) ok = 0;
        if (ok && (aEv[i].events & EPOLLOUT)) {
          ok = flushOut(c) && !(c->closeAfter && c->nOut == 0);
        }
        if (ok && (aEv[i].events & EPOLLIN)) ok = onReadable(c);
        if (!ok) closeConn(c);
      }
    }
  }
}
