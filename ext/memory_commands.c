/*
** The command column: a HIDDEN column named after the table, as in FTS5.
** A row INSERTed with it set changes the table instead of storing an entry:
**
**   INSERT INTO mem(mem, value) VALUES ('max_writes_per_day', 0);  -- a setting
**   INSERT INTO mem(mem) VALUES ('integrity-check');
**   INSERT INTO mem(mem) VALUES ('rebuild');
**
** A setting is checked and stored by memory_config.c, then the backend is
** told (the local one rebuilds its triggers, which carry the limits). Other
** commands belong to the backend. Either way the change joins the
** statement's transaction: a failure changes nothing.
*/
#include "memory_commands.h"

#include <string.h>

static int commandError(MemVtab *p, char *zErr, int rc) {
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = zErr ? zErr
                         : sqlite3_mprintf("memory: the command failed: %s",
                                           sqlite3_errmsg(p->db));
  return rc;
}

int memCommand(MemVtab *p, sqlite3_value *pCmd, sqlite3_value *pValue) {
  const char *zCmd;
  char *zErr = 0;
  int rc;
  if (sqlite3_value_type(pCmd) != SQLITE_TEXT) {
    return commandError(p, sqlite3_mprintf(
        "memory: a command written to column %s must be text, such as "
        "'integrity-check'", p->zName), SQLITE_ERROR);
  }
  zCmd = (const char *)sqlite3_value_text(pCmd);
  if (zCmd == 0) return commandError(p, 0, SQLITE_NOMEM);
  if ((int)strlen(zCmd) != sqlite3_value_bytes(pCmd)) {
    /* "max_writes_per_day\0junk" is no command, whatever strcmp says. */
    return commandError(p, sqlite3_mprintf(
        "memory: unknown command or setting (it holds a NUL byte) for table "
        "'%s'", p->zName), SQLITE_ERROR);
  }
  rc = memConfigChange(p->db, p->zSchema, p->zName, &p->settings, zCmd, pValue,
                       &zErr);
  if (rc == SQLITE_OK) {
    if (p->pBackend->xSettingsChanged) {
      rc = p->pBackend->xSettingsChanged(p, zCmd, &zErr);
    }
  } else if (rc == SQLITE_NOTFOUND) {
    rc = p->pBackend->xCommand ? p->pBackend->xCommand(p, zCmd, &zErr)
                               : SQLITE_NOTFOUND;
    if (rc == SQLITE_NOTFOUND) {
      zErr = sqlite3_mprintf(
          "memory: unknown command or setting '%s' for %s table '%s'; "
          "commands: %s; settings: %s",
          zCmd, p->pBackend->zName, p->zName,
          p->settings.isRemote ? "none" : "integrity-check, rebuild, sweep",
          p->settings.isRemote
              ? "max_value_bytes, timeout_ms, retries, concurrency, token_env"
              : "max_value_bytes, max_namespace_bytes, max_writes_per_day, "
                "search, ttl_seconds, history, history_days");
      rc = SQLITE_ERROR;
    }
  }
  if (rc != SQLITE_OK) return commandError(p, zErr, rc);
  return SQLITE_OK;
}
