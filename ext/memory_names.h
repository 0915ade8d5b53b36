/*
** The rules of names and values (those of the hosted API), checked before
** anything is stored or sent, and memory_namespace() / memory_key().
** Depends on nothing else of the project but memory_config.h (a value's
** largest size is a setting).
*/
#ifndef MEMORY_NAMES_H
#define MEMORY_NAMES_H

#include "memory_config.h"

#define MEM_NAMESPACE_MAX 64
#define MEM_KEY_MAX 128

int memNamespaceValid(const char *z, int n);
int memKeyValid(const char *z, int n);

/* NULL if the row may be written (value 0: an UPDATE that keeps it), else
** an error message (sqlite3_malloc) that says what to do. */
char *memCheckRow(const MemSettings *p, sqlite3_value *ns, sqlite3_value *key,
                  sqlite3_value *value);

int memRegisterNameFunctions(sqlite3 *db);

#endif
