# memory: persistent memory for AI agents, as a SQLite loadable extension.
#
#   make          build dist/memory.so
#   make demo     install what is missing, build, run the shell demo
#   make test     install what is missing, build, run every test
#   make bench    benchmarks (not part of make test)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS  = -Wall -Wextra -Werror
CURL_CFLAGS := $(shell curl-config --cflags 2>/dev/null)
EXT_FLAGS = -fPIC -shared -fvisibility=hidden -Ibuild -Iext $(CURL_CFLAGS)
# memory_debug() reports the flags a build was made with.
debug_flags = -DMEMORY_BUILD_FLAGS='"$(strip $(1))"'

LIBS      = -lcurl -lcrypto

ASAN_RUNTIME := $(shell $(CC) -print-file-name=libasan.so)

# Debian's python3, not the first python3 on PATH: pyenv builds cannot load
# SQLite extensions.
PYTHON   ?= /usr/bin/python3

SOURCES  = $(wildcard ext/*.c)
HEADERS  = $(wildcard ext/*.h) build/memory_sql.h
SQL      = $(wildcard sql/ext/*.sql)

# Debian packages the build and the tests need; `make deps` installs the
# missing ones when run as root.
DEB_PACKAGES = gcc make sqlite3 libsqlite3-dev libcurl4-openssl-dev \
               python3 python3-pytest python3-hypothesis valgrind \
               libssl-dev

, := ,
# What `make bench` needs besides DEB_PACKAGES: nginx (TLS + HTTP/2 front),
# wrk (reference load generator), httpx (the SDK pattern), openssl (the
# test certificate), curl (the CPU-per-request baseline), linux-perf (the
# kernel's count of the client's poll calls).
BENCH_PACKAGES = nginx wrk python3-httpx openssl curl linux-perf

.PHONY: all deps bench-deps demo test bench fuzz fuzz-deps fuzz-replay clean

all: dist/memory.so

dist/memory.so: $(SOURCES) $(HEADERS)
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARNINGS) $(EXT_FLAGS) $(call debug_flags,$(CFLAGS)) \
	  -o $@ $(SOURCES) $(LIBS)

# The same extension under AddressSanitizer + UBSan; tests load it with
# libasan preloaded (see tests/conftest.py).
dist/asan/memory.so: $(SOURCES) $(HEADERS)
	@mkdir -p dist/asan
	$(CC) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all $(WARNINGS) $(EXT_FLAGS) \
	  $(call debug_flags,-O1 -g -fsanitize=address$(,)undefined) -o $@ $(SOURCES) $(LIBS)

# sql/ext/*.sql (the SQL compiled in) become C string constants:
# sql/ext/local_tables.sql is
# memSqlLocalTables. Whole-line comments are dropped.
build/memory_sql.h: $(SQL) Makefile
	@mkdir -p build
	@for f in $(SQL); do \
	  name=$$(basename $$f .sql | awk -F_ '{for(i=1;i<=NF;i++) printf "%s", toupper(substr($$i,1,1)) substr($$i,2)}'); \
	  echo "static const char memSql$$name[] ="; \
	  grep -v '^[[:space:]]*--' $$f | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/'; \
	  echo "  ;"; \
	done > $@.tmp && mv $@.tmp $@

deps: PACKAGES = $(DEB_PACKAGES)
bench-deps: PACKAGES = $(BENCH_PACKAGES)
deps bench-deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run as root, or apt-get install them)"; exit 1; \
	  fi; \
	fi

demo: deps dist/memory.so
	@rm -f demo.db
	@echo "== an agent remembers, recalls and forgets (demo.db) =="
	sqlite3 -echo demo.db < sql/demo/demo.sql
	@echo "== restart: a new sqlite3 process opens demo.db =="
	sqlite3 -echo demo.db < sql/demo/restart.sql
	@echo "== over quota: the statement fails and stores nothing =="
	@sqlite3 demo.db < sql/demo/quota.sql 2>&1 | tee demo.err; \
	  grep -q "memory: quota max_writes_per_day exceeded" demo.err; \
	  status=$$?; rm -f demo.err; exit $$status
	sqlite3 demo.db < sql/demo/after_quota.sql

test: deps dist/memory.so dist/asan/memory.so fuzz-replay
	$(PYTHON) -m pytest -q tests
	@# --capture=sys: a sanitizer report goes to file descriptor 2 and the
	@# process exits at once; fd-level capture would swallow the report.
	LD_PRELOAD=$(ASAN_RUNTIME) ASAN_OPTIONS=detect_leaks=0 \
	  MEMORY_EXT=dist/asan/memory $(PYTHON) -m pytest -q -x --capture=sys tests

# Fuzz targets (libFuzzer + ASan + UBSan): tests/fuzz/fuzz_<name>.c with the
# extension compiled in. `make fuzz` runs each for FUZZ_SECONDS, growing
# tests/fuzz/corpus/<name>/ and saving failures to tests/fuzz/crashes/;
# `make test` replays both (fuzz-replay).
FUZZ_TARGETS = args names answers messages sql
FUZZ_SECONDS ?= 60
# fuzz_sql's oracle counts a DROP VIEW/TRIGGER of a table's objects in
# defensive mode as a finding; SQLite 3.40 protects only tables there, and
# the extension answers by refusing writes until 'rebuild' (tested), so a
# long run steps around it.
FUZZ_SQL_AVOID ?= trigger_drop
FUZZ_BINS    = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_FLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -DSQLITE_CORE -Ibuild -Iext -Itests/fuzz $(CURL_CFLAGS)

fuzz-deps:
	@for p in clang libclang-rt-14-dev; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(SOURCES) $(HEADERS)
	@mkdir -p build/fuzz tests/fuzz/corpus/$* tests/fuzz/crashes/$*
	clang $(FUZZ_FLAGS) -o $@ $< $(SOURCES) -lsqlite3 $(LIBS) -lpthread

fuzz-replay: fuzz-deps $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t; \
	  ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz_$$t -runs=0 \
	    tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t > build/fuzz/replay_$$t.log 2>&1 \
	    || { cat build/fuzz/replay_$$t.log; exit 1; }; \
	  echo "fuzz_$$t: replayed $$(find tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t -type f | wc -l) saved inputs"; \
	done

# A fuzzer that fails makes `make fuzz` fail (its log is shown whole).
fuzz: deps fuzz-deps $(FUZZ_BINS) dist/memory.so
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS)s"; \
	  FUZZ_SQL_AVOID=$(FUZZ_SQL_AVOID) \
	  ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=tests/fuzz/crashes/$$t/ -print_final_stats=1 \
	    tests/fuzz/corpus/$$t > build/fuzz/run_$$t.log 2>&1; status=$$?; \
	  grep -E "stat::number_of_executed_units" build/fuzz/run_$$t.log; \
	  if [ $$status -ne 0 ]; then cat build/fuzz/run_$$t.log; exit $$status; fi; \
	done
	DIFF_SEEDS=300 DIFF_OPS=300 $(PYTHON) -m pytest -q tests/test_differential.py
	STATEFUL_EXAMPLES=2000 $(PYTHON) -m pytest -q tests/test_stateful.py tests/test_stateful_time.py

# Benchmarks, not part of `make test`: tests/bench/bench.py, results in
# tests/bench/results.md (about 7 minutes, plus 30 s the first time to build
# the cached 5M-row database; run it on a quiet machine).
# BENCH_ARGS=--quick for a short run (build/bench/results-quick.md),
# BENCH_ARGS="--only local,agent" for some rows (--list names them).
bench: deps bench-deps dist/memory.so build/bench/fast_server
	$(PYTHON) tests/bench/bench.py $(BENCH_ARGS)

# The bench's HTTP server that is never the bottleneck.
build/bench/fast_server: tests/bench/fast_server.c
	@mkdir -p build/bench
	$(CC) -O2 -g $(WARNINGS) -o $@ $<

clean:
	rm -rf dist build demo.db demo.err
