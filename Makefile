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
EXT_FLAGS = -fPIC -shared -Ibuild -Iext $(CURL_CFLAGS)
LIBS      = -lcurl

# Debian's python3, not the first python3 on PATH: pyenv builds cannot load
# SQLite extensions.
PYTHON   ?= /usr/bin/python3

SOURCES  = $(wildcard ext/*.c)
HEADERS  = $(wildcard ext/*.h) build/memory_sql.h
SQL      = sql/local_tables.sql sql/local_triggers.sql

# Debian packages the build and the tests need; `make deps` installs the
# missing ones when run as root.
DEB_PACKAGES = gcc make sqlite3 libsqlite3-dev libcurl4-openssl-dev \
               python3 python3-pytest valgrind

.PHONY: all deps demo test test-asan clean

all: dist/memory.so

dist/memory.so: $(SOURCES) $(HEADERS)
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARNINGS) $(EXT_FLAGS) -o $@ $(SOURCES) $(LIBS)

# The same extension under AddressSanitizer + UBSan; tests load it with
# libasan preloaded (see tests/conftest.py).
dist/memory-asan.so: $(SOURCES) $(HEADERS)
	@mkdir -p dist
	$(CC) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all $(WARNINGS) $(EXT_FLAGS) -o $@ $(SOURCES) $(LIBS)

# sql/*.sql become C string constants: sql/local_tables.sql is
# memSqlLocalTables. Whole-line comments are dropped.
build/memory_sql.h: $(SQL) Makefile
	@mkdir -p build
	@for f in $(SQL); do \
	  name=$$(basename $$f .sql | awk -F_ '{for(i=1;i<=NF;i++) printf "%s", toupper(substr($$i,1,1)) substr($$i,2)}'); \
	  echo "static const char memSql$$name[] ="; \
	  grep -v '^[[:space:]]*--' $$f | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/'; \
	  echo "  ;"; \
	done > $@.tmp && mv $@.tmp $@

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
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
	rm -f demo.db
	sqlite3 demo.db < tests/demo.sql
	@echo "-- restart: a new sqlite3 process opens the same file --"
	sqlite3 demo.db < tests/demo_after_restart.sql

test: deps dist/memory.so dist/memory-asan.so
	$(PYTHON) -m pytest -q tests
	MEMORY_EXT=dist/memory-asan $(PYTHON) -m pytest -q -x tests

clean:
	rm -rf dist build demo.db
