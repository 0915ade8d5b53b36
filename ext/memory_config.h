/*
** The settings of one `memory` table and their home, the shadow table
** "<name>_config": parsing CREATE VIRTUAL TABLE arguments, validating,
** storing, loading, renaming and dropping. memory_config.c owns that table;
** no other file reads or writes it.
*/
#ifndef MEMORY_CONFIG_H
#define MEMORY_CONFIG_H

#include "memory_util.h"

/* On-disk format of a table, stored as "format" in <name>_config. 0.1.0
** stored none: a table without it is format 1. Raise it whenever a change
** needs an upgrade step (memory_vtab.c runs the backend's xUpgrade).
** 2: 0.2.0's triggers (quota messages name the table). 3: entries can
** expire (an expires_at column and its index). */
#define MEM_FORMAT_CURRENT 3

typedef struct MemSettings {
  int isRemote;
  int format;                    /* on-disk format the table has */
  char *zUrl;                    /* remote: base URL, no trailing '/' */
  char *zTokenEnv;               /* remote: token_env, a variable's name,
                                 ** or NULL; stored */
  char *zToken;                  /* remote: the token to send (read from
                                 ** $zTokenEnv at open), or NULL; never
                                 ** stored */
  sqlite3_int64 maxValueBytes;   /* both */
  sqlite3_int64 maxNamespaceBytes; /* local; 0 = no limit */
  sqlite3_int64 maxWritesPerDay; /* local; 0 = no limit */
  int timeoutMs;                 /* remote: whole request incl. retries */
  int retries;                   /* remote */
  int concurrency;               /* remote */
  int search;                    /* local: full-text index on (1) or off */
  sqlite3_int64 ttlSeconds;      /* local: default lifetime; 0 = forever */
  int history;                   /* local: keep replaced versions (1) */
  int historyDays;               /* local: how long; 0 = forever */
} MemSettings;

/* Parse argv[3..argc) of xCreate. */
int memSettingsParse(MemSettings *p, int argc, const char *const *argv,
                     char **pzErr);
void memSettingsClear(MemSettings *p);

/* Create "<zName>_config" in zSchema and store p in it (xCreate). */
int memConfigCreate(sqlite3 *db, const char *zSchema, const char *zName,
                    const MemSettings *p, char **pzErr);
/* Load the settings of table zName (xConnect). */
int memSettingsLoad(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, char **pzErr);
/* Record that the table now has format iFormat (after an upgrade). */
int memConfigSetFormat(sqlite3 *db, const char *zSchema, const char *zName,
                       int iFormat);
/* Change one setting of an existing table (the command column): checked
** as at CREATE, stored, and *p reloaded. SQLITE_NOTFOUND when zSetting
** is no setting. Every change also raises the table's "generation", which
** other connections compare to notice it (memConfigGeneration). */
int memConfigChange(sqlite3 *db, const char *zSchema, const char *zName,
                    MemSettings *p, const char *zSetting, sqlite3_value *pVal,
                    char **pzErr);
int memConfigGeneration(sqlite3 *db, const char *zSchema, const char *zName,
                        sqlite3_int64 *pGen);
int memConfigRename(sqlite3 *db, const char *zSchema, const char *zOld,
                    const char *zNew);
int memConfigDrop(sqlite3 *db, const char *zSchema, const char *zName);

#endif
