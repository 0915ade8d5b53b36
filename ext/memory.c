/*
** Persistent memory for AI agents, as a SQLite loadable extension.
**
**   make                      # builds dist/memory.so
**   sqlite3> .load ./dist/memory
**   sqlite3> CREATE VIRTUAL TABLE mem USING memory;
**
** This file is the entry point: it registers the `memory` module and the
** SQL functions. README.md ("Architecture") says how the rest is split.
*/
#include "memory_messages.h"
#include "memory_names.h"
#include "memory_sync.h"
#include "memory_vtab.h"
SQLITE_EXTENSION_INIT1

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* The compiler flags of this build, passed in by the Makefile. */
#ifndef MEMORY_BUILD_FLAGS
#define MEMORY_BUILD_FLAGS "unknown"
#endif

static void versionFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, MEMORY_VERSION, -1, SQLITE_STATIC);
}

/* memory_debug(): what a bug report needs, one "name: value" per line
** (after sqlite-vec's vec_debug()): this extension's version, the SQLite it
** was compiled against and the one running it, libcurl and its TLS and
** HTTP/2 support, and the build flags. */
static void debugFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  char *z;
  (void)argc;
  (void)argv;
  z = sqlite3_mprintf(
      "memory: %s\n"
      "sqlite compiled: %s\n"
      "sqlite running: %s (%s)\n"
      "libcurl: %s, TLS %s, HTTP/2 %s\n"
      "build: %s%s",
      MEMORY_VERSION, SQLITE_VERSION, sqlite3_libversion(), sqlite3_sourceid(),
      curl->version, curl->ssl_version ? curl->ssl_version : "none",
      (curl->features & CURL_VERSION_HTTP2) ? "yes" : "no", MEMORY_BUILD_FLAGS,
#if defined(__SANITIZE_ADDRESS__)
      " (AddressSanitizer)"
#else
      ""
#endif
  );
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* memory_test_clock(t): tests set the time the extension sees (expiry,
** history); 0 gives the real clock back. Registered only when
** $MEMORY_TEST_CLOCK is set at load: never in a user's session. */
static void testClockFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  memSetTestClock(sqlite3_value_double(argv[0]));
  sqlite3_result_null(ctx);
}

/* The only symbol the library exports: the Makefile builds with
** -fvisibility=hidden, so two builds loaded into one process (or another
** library's mem* names) cannot bind to each other's functions. */
/* Is this very version registered on db already? Loading twice (from SQL,
** with a statement running, functions cannot be registered again: SQLITE_BUSY
** with no message) then just works. */
static int alreadyLoaded(sqlite3 *db) {
  sqlite3_stmt *pStmt = 0;
  int same = 0;
  if (sqlite3_prepare_v2(db, "SELECT memory_version()", -1, &pStmt, 0) == SQLITE_OK &&
      sqlite3_step(pStmt) == SQLITE_ROW) {
    const unsigned char *z = sqlite3_column_text(pStmt, 0);
    same = z && strcmp((const char *)z, MEMORY_VERSION) == 0;
  }
  sqlite3_finalize(pStmt);
  return same;
}

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_memory_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi) {
  static int curlReady = 0;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if (sqlite3_libversion_number() < 3038000) {
    *pzErrMsg = sqlite3_mprintf("memory: needs SQLite 3.38 or later, this is %s",
                                sqlite3_libversion());
    return SQLITE_ERROR;
  }
  /* Once per process, before any thread could use libcurl. */
  if (!curlReady) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      *pzErrMsg = sqlite3_mprintf("memory: libcurl failed to initialise");
      return SQLITE_ERROR;
    }
    curlReady = 1;
  }
  if (alreadyLoaded(db)) return SQLITE_OK;
  rc = sqlite3_create_function(db, "memory_version", 0,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                               0, versionFunc, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(db, "memory_debug", 0,
                                 SQLITE_UTF8 | SQLITE_INNOCUOUS, 0, debugFunc, 0, 0);
  }
  if (rc == SQLITE_OK && getenv("MEMORY_TEST_CLOCK")) {
    rc = sqlite3_create_function(db, "memory_test_clock", 1, SQLITE_UTF8, 0,
                                 testClockFunc, 0, 0);
  }
  if (rc == SQLITE_OK) rc = memRegisterNameFunctions(db);
  if (rc == SQLITE_OK) rc = memRegisterModule(db);
  if (rc == SQLITE_OK) rc = memRegisterMessages(db);
  if (rc == SQLITE_OK) rc = memRegisterSyncFunction(db);
  if (rc != SQLITE_OK && *pzErrMsg == 0) {
    *pzErrMsg = sqlite3_mprintf("memory: cannot register the extension: %s%s",
                                sqlite3_errstr(rc),
                                rc == SQLITE_BUSY ? " (another version is loaded "
                                                    "and a statement is running)"
                                                  : "");
  }
  return rc;
}
