/* The `memory` module; see memory_vtab.c. */
#ifndef MEMORY_VTAB_H
#define MEMORY_VTAB_H

#include "memory_util.h"

/* Register the `memory` module and the SQL functions its backends use. */
int memRegisterModule(sqlite3 *db);

#endif
