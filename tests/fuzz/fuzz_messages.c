/* Fuzz target: memory_messages() over arbitrary text. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sqlite3 *db = fuzzDb();
  if (size > 65536) return 0;
  fuzzRun(db, "SELECT idx, role, content, created_at FROM memory_messages(?1)",
          data, (int)size, 0, 0);
  return 0;
}
