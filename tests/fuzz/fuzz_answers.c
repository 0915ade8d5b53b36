/* Fuzz target: server answers. A responder thread on 127.0.0.1 answers
** every request with the input: sent as is when it starts with "HTTP/"
** (status line, headers such as Retry-After, body), else as the body of a
** 200. A remote table then reads, lists and writes through it. */
#include "fuzz_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static pthread_mutex_t gLock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *gAnswer;
static size_t gAnswerLen;
static int gPort;

static void sendAll(int fd, const void *p, size_t n) {
  const char *z = p;
  while (n > 0) {
    ssize_t w = send(fd, z, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    z += w;
    n -= (size_t)w;
  }
}

static void *responder(void *arg) {
  int lfd = *(int *)arg;
  for (;;) {
    char buf[8192];
    int fd = accept(lfd, 0, 0);
    if (fd < 0) continue;
    /* Read the request: headers, and whatever body came with them. */
    (void)recv(fd, buf, sizeof(buf), 0);
    pthread_mutex_lock(&gLock);
    if (gAnswerLen >= 5 && memcmp(gAnswer, "HTTP/", 5) == 0) {
      sendAll(fd, gAnswer, gAnswerLen);
    } else {
      char head[128];
      int n = snprintf(head, sizeof(head),
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                       gAnswerLen);
      sendAll(fd, head, (size_t)n);
      sendAll(fd, gAnswer, gAnswerLen);
    }
    pthread_mutex_unlock(&gLock);
    /* Half-close, then drain what the client still sends: closing with
    ** unread bytes makes the kernel reset the connection, and the client
    ** may then lose the answer it was reading. */
    shutdown(fd, SHUT_WR);
    {
      struct timeval tv = {0, 2000}; /* loopback: anything in flight is here */
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      while (recv(fd, buf, sizeof(buf), 0) > 0) {
      }
    }
    close(fd);
  }
  return 0;
}

static void startResponder(void) {
  static int lfd;
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  pthread_t t;
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 64)) abort();
  getsockname(lfd, (struct sockaddr *)&addr, &len);
  gPort = ntohs(addr.sin_port);
  pthread_create(&t, 0, responder, &lfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready = 0;
  sqlite3 *db = fuzzDb();
  if (!ready) {
    char *zSql;
    startResponder();
    /* h retries nothing, so most inputs cost a few milliseconds; r retries
    ** once, so the backoff and Retry-After paths are fuzzed too. */
    zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE h USING memory(remote="
                           "'http://127.0.0.1:%d', retries=0, timeout_ms=150, "
                           "concurrency=4)", gPort);
    fuzzRun(db, zSql, 0, 0, 0, 0);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE r USING memory(remote="
                           "'http://127.0.0.1:%d', retries=1, timeout_ms=150)", gPort);
    fuzzRun(db, zSql, 0, 0, 0, 0);
    sqlite3_free(zSql);
    ready = 1;
  }
  if (size > 200000) return 0;
  pthread_mutex_lock(&gLock);
  free(gAnswer);
  gAnswer = malloc(size ? size : 1);
  memcpy(gAnswer, data, size);
  gAnswerLen = size;
  pthread_mutex_unlock(&gLock);

  fuzzRun(db, "SELECT value, created_at, updated_at FROM r WHERE namespace = 'a' "
              "AND key = 'k'", 0, 0, 0, 0);
  fuzzRun(db, "SELECT key, value FROM h WHERE namespace = 'a' LIMIT 3", 0, 0, 0, 0);
  fuzzRun(db, "INSERT INTO h(namespace, key, value) VALUES ('a', 'k', 'v')", 0, 0, 0, 0);
  fuzzRun(db, "DELETE FROM h WHERE namespace = 'a' AND key = 'k'", 0, 0, 0, 0);
  return 0;
}
