/*
** The sync state of a local table (sql/ext/local_sync*.sql): its shadow
** tables "<t>_sync" and "<t>_syncns", the conflicts table
** "<t>_conflicts" and the triggers "<t>_sync_insert/update/delete" on
** "<t>_data". Made the first time the table is synced (memory_sync.c);
** the local backend (memory_local.c) renames, drops, checks and repairs
** them with the table. Depends on nothing of the project but
** memory_util.c.
*/
#ifndef MEMORY_SYNC_STATE_H
#define MEMORY_SYNC_STATE_H

#include "memory_util.h"

/* Does table zName have sync state (its two shadow tables)? */
int memSyncStateExists(sqlite3 *db, const char *zSchema, const char *zName,
                       int *pExists);
/* Make the sync state if it is not there yet, and the triggers if one is
** missing. *pzErr (sqlite3_malloc) says what failed and what to do. */
int memSyncStateEnsure(sqlite3 *db, const char *zSchema, const char *zName,
                       char **pzErr);
/* Are the three triggers there? *pzMissing names the first missing one. */
int memSyncStateTriggersMissing(sqlite3 *db, const char *zSchema,
                                const char *zName, char **pzMissing);
/* After "<zOld>_data" became "<zNew>_data": the state's tables and
** triggers follow (a no-op without state). */
int memSyncStateRename(sqlite3 *db, const char *zSchema, const char *zOld,
                       const char *zNew);
/* Drop everything of the sync state (DROP TABLE of the local table). */
int memSyncStateDrop(sqlite3 *db, const char *zSchema, const char *zName);
/* integrity-check: SQLITE_OK with *pzWhat 0, or a description of the first
** difference (sqlite3_malloc) in *pzWhat. */
int memSyncStateCheck(sqlite3 *db, const char *zSchema, const char *zName,
                      char **pzWhat);
/* rebuild: the triggers made again, and every key marked changed (a write
** made while a trigger was missing went unseen; marking costs the next
** sync only a hash per key, as unchanged values are not sent). */
int memSyncStateRepair(sqlite3 *db, const char *zSchema, const char *zName);

#endif
