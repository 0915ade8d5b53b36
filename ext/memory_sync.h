/*
** memory_sync(local, remote, namespace [, policy]): two-way sync of one
** namespace between a local and a remote `memory` table. See
** memory_sync.c, shared rules in README.md ("Offline-first sync").
*/
#ifndef MEMORY_SYNC_H
#define MEMORY_SYNC_H

#include "memory_util.h"

int memRegisterSyncFunction(sqlite3 *db);

#endif
