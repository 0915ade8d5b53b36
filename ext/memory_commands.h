/* The command column; see memory_commands.c. */
#ifndef MEMORY_COMMANDS_H
#define MEMORY_COMMANDS_H

#include "memory_backend.h"

/* Run the command written into the column named after the table:
** INSERT INTO t(t, value) VALUES (zCmd, pValue). */
int memCommand(MemVtab *p, sqlite3_value *pCmd, sqlite3_value *pValue);

#endif
