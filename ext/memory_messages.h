/* memory_messages(value); see memory_messages.c. */
#ifndef MEMORY_MESSAGES_H
#define MEMORY_MESSAGES_H

#include "memory_util.h"

int memRegisterMessages(sqlite3 *db);

#endif
