#include "memory_internal.h"
int memRemoteInit(MemVtab *p, int isCreate, char **pzErr) {
  (void)p; (void)isCreate;
  *pzErr = sqlite3_mprintf("memory: remote mode is not built yet");
  return SQLITE_ERROR;
}
const sqlite3_module memRemoteBackend = {0};
