# camera_health: PostgreSQL extension (PGXS) plus the visionproc program.
#
#   make                build the extension
#   make install        install it into the PostgreSQL found by pg_config
#   make installcheck   pg_regress over sql/ against a running server
#   make test           everything, on a private cluster and Redis (installs packages)
#   make run            start the whole stack with demo cameras, in the foreground

EXTENSION = camera_health
MODULE_big = camera_health
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" camera_health.control)

OBJS = \
	bgworker/ingest.o \
	bgworker/netprobe.o \
	bgworker/prober.o \
	bgworker/redis.o \
	bgworker/retention.o \
	bgworker/scheduler.o \
	bgworker/worker.o \
	common/grey_format.o \
	common/redis_reply.o \
	common/redis_url.o \
	common/url.o \
	extension/guc.o \
	extension/init.o \
	extension/log_scrub.o \
	extension/notify.o \
	extension/reference.o \
	extension/shmem.o \
	extension/sql_funcs.o

# The install script of the current version is built from the SQL sources
# in sql/, one file per concern, in this order; the released 1.0 script and
# the upgrade scripts are kept as they are.
SQL_SOURCES = $(addprefix sql/,00_schema.sql 01_c_helpers.sql 02_tables.sql 03_checks.sql \
	04_api_cameras.sql 05_api_history.sql 06_retention.sql 07_workers.sql 08_privileges.sql)
DATA_built = camera_health--$(EXTVERSION).sql $(patsubst sql/updates/%,camera_health--%,$(wildcard sql/updates/*.sql))
DATA = extension/camera_health--1.0.sql

REGRESS = cameras validation history retention summary roles ingest vision
REGRESS_OPTS = --inputdir=test/regress --outputdir=test/regress

PG_CPPFLAGS = -I$(srcdir)/common -I$(srcdir)/extension -I$(srcdir)/bgworker -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-sign-compare -Wno-missing-field-initializers
SHLIB_LINK = -lhiredis

# No LLVM bitcode: nothing here benefits from JIT inlining, and it would need clang.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# ---- the project's own targets ------------------------------------------

# PGXS tracks no header dependencies (without --enable-depend): a changed
# struct in a header must rebuild every object, or a stale one misreads it.
$(OBJS): $(wildcard common/*.h extension/*.h bgworker/*.h)

camera_health--$(EXTVERSION).sql: $(SQL_SOURCES)
	{ printf '/* camera_health--%s.sql: built from sql/ by make; edit the sources there */\n\n' $(EXTVERSION); \
	  echo '\\echo Use "CREATE EXTENSION camera_health" to load this file. \\quit'; \
	  cat $(SQL_SOURCES); } >$@

# PGXS installs DATA by its file name: the upgrade scripts live in sql/updates/
camera_health--%.sql: sql/updates/%.sql
	cp $< $@

all: visionproc/visionproc

.PHONY: visionproc/visionproc
visionproc/visionproc:
	$(MAKE) -C visionproc

install-visionproc: visionproc/visionproc
	$(MAKE) -C visionproc install

UNIT_TESTS = test/unit/test_url test/unit/test_netprobe test/unit/test_vision test/unit/test_vlog test/unit/test_reply

# visionproc's image analysis, plain C over FFmpeg's libraries
VISION_PKGS = libavformat libavcodec libavutil libswscale json-c
VISION_SRCS = $(addprefix visionproc/,image.c frame.c imgmath.c blur.c obstruction.c displacement.c frozen.c vision.c) \
	common/grey_format.c
VISION_BUILD = $(CC) -O2 -Wall -Wextra -Werror -Ivisionproc -Icommon $(shell pkg-config --cflags $(VISION_PKGS))
VISION_LIBS = $(shell pkg-config --libs $(VISION_PKGS)) -lm

test/unit/test_url: test/unit/test_url.c common/url.c common/url.h common/redis_url.c common/redis_url.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_url.c common/url.c common/redis_url.c

test/unit/test_vlog: test/unit/test_vlog.c visionproc/log.c visionproc/log.h common/url.c common/url.h
	$(VISION_BUILD) -o $@ test/unit/test_vlog.c visionproc/log.c common/url.c $(shell pkg-config --libs libavutil)

test/unit/test_reply: test/unit/test_reply.c common/redis_reply.c common/redis_reply.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_reply.c common/redis_reply.c -lhiredis

test/unit/test_netprobe: test/unit/test_netprobe.c bgworker/netprobe.c bgworker/netprobe.h
	$(CC) -O2 -Wall -Wextra -Werror -Ibgworker -o $@ test/unit/test_netprobe.c bgworker/netprobe.c

test/unit/test_vision: test/unit/test_vision.c $(VISION_SRCS) $(wildcard visionproc/*.h)
	$(VISION_BUILD) -o $@ test/unit/test_vision.c $(VISION_SRCS) $(VISION_LIBS)

bench/vision_bench: bench/vision_bench.c $(VISION_SRCS) $(wildcard visionproc/*.h)
	$(VISION_BUILD) -o $@ bench/vision_bench.c $(VISION_SRCS) $(VISION_LIBS)

bench/netprobe_bench: bench/netprobe_bench.c bgworker/netprobe.c bgworker/netprobe.h
	$(CC) -O2 -Wall -Wextra -Werror -Ibgworker -o $@ bench/netprobe_bench.c bgworker/netprobe.c

test/bin/rtsp_server: test/rtsp_server.c
	mkdir -p test/bin
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --cflags --libs gstreamer-rtsp-server-1.0 gstreamer-1.0)

.PHONY: unitcheck test run bench
bench: bench/netprobe_bench bench/vision_bench
	bench/run.sh

unitcheck: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

test:
	scripts/test.sh

run:
	scripts/run.sh

clean: clean-project
.PHONY: clean-project
clean-project:
	$(MAKE) -C visionproc clean
	rm -f $(UNIT_TESTS) bench/netprobe_bench bench/vision_bench camera_health--*.sql
