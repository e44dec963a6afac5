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
	bgworker/history_pack.o \
	bgworker/ingest.o \
	common/netprobe.o \
	bgworker/notifier.o \
	bgworker/prober.o \
	bgworker/redis.o \
	bgworker/retention.o \
	bgworker/scheduler.o \
	bgworker/worker.o \
	common/camera_mode.o \
	common/grey_format.o \
	common/jpeg_check.o \
	common/redis_keys.o \
	common/redis_reply.o \
	common/redis_url.o \
	common/url.o \
	extension/guc.o \
	extension/pack_chunk.o \
	extension/history_unpack.o \
	extension/init.o \
	extension/latency_hist.o \
	extension/log_scrub.o \
	extension/notify.o \
	extension/notifier_wake.o \
	extension/reference.o \
	extension/shmem.o \
	extension/sql_funcs.o

# The install script of the current version is built from the SQL sources
# in sql/, one file per concern, in this order; the released 1.0 script and
# the upgrade scripts are kept as they are.
SQL_SOURCES = $(addprefix sql/,00_schema.sql 01_c_helpers.sql 02_tables.sql 03_checks.sql \
	04_api_cameras.sql 05_api_history.sql 06_retention.sql 07_workers.sql 08_privileges.sql \
	09_http_api.sql \
	10_notify.sql 11_http_notify.sql 12_daynight.sql \
	13_evidence.sql 14_history.sql 15_trends.sql 16_dashboard.sql)
DATA_built = camera_health--$(EXTVERSION).sql $(patsubst sql/updates/%,camera_health--%,$(wildcard sql/updates/*.sql))
DATA = extension/camera_health--1.0.sql

REGRESS = cameras validation history history_pack retention summary roles ingest vision http_api sites notify evidence trends dashboard
REGRESS_OPTS = --inputdir=test/regress --outputdir=test/regress

PG_CPPFLAGS = -I$(srcdir)/common -I$(srcdir)/extension -I$(srcdir)/bgworker -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-sign-compare -Wno-missing-field-initializers
SHLIB_LINK = -lhiredis -lcurl

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

UNIT_TESTS = test/unit/test_url test/unit/test_netprobe test/unit/test_vision test/unit/test_vlog test/unit/test_reply \
	test/unit/test_jpeg \
	test/unit/test_mode \
	test/unit/test_keys

# visionproc's image analysis, plain C over FFmpeg's libraries
VISION_PKGS = libavformat libavcodec libavutil libswscale json-c
VISION_SRCS = $(addprefix visionproc/,image.c focus.c frame.c jpeg.c imgmath.c blur.c obstruction.c displacement.c frozen.c vision.c) \
	common/grey_format.c common/jpeg_check.c common/camera_mode.c
VISION_BUILD = $(CC) -O2 -Wall -Wextra -Werror -Ivisionproc -Icommon $(shell pkg-config --cflags $(VISION_PKGS))
VISION_LIBS = $(shell pkg-config --libs $(VISION_PKGS)) -lm

test/unit/test_url: test/unit/test_url.c common/url.c common/url.h common/redis_url.c common/redis_url.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_url.c common/url.c common/redis_url.c

test/unit/test_vlog: test/unit/test_vlog.c visionproc/log.c visionproc/log.h common/url.c common/url.h
	$(VISION_BUILD) -o $@ test/unit/test_vlog.c visionproc/log.c common/url.c $(shell pkg-config --libs libavutil)

test/unit/test_reply: test/unit/test_reply.c common/redis_reply.c common/redis_reply.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_reply.c common/redis_reply.c -lhiredis

test/unit/test_keys: test/unit/test_keys.c common/redis_keys.c common/redis_keys.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_keys.c common/redis_keys.c

test/unit/test_netprobe: test/unit/test_netprobe.c common/netprobe.c common/netprobe.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ test/unit/test_netprobe.c common/netprobe.c

test/unit/test_vision: test/unit/test_vision.c $(VISION_SRCS) $(wildcard visionproc/*.h)
	$(VISION_BUILD) -o $@ test/unit/test_vision.c $(VISION_SRCS) $(VISION_LIBS)

test/unit/test_jpeg: test/unit/test_jpeg.c $(VISION_SRCS) $(wildcard visionproc/*.h) common/jpeg_check.h
	$(VISION_BUILD) -o $@ test/unit/test_jpeg.c $(VISION_SRCS) $(VISION_LIBS) -lpthread

test/unit/test_mode: test/unit/test_mode.c common/camera_mode.h $(VISION_SRCS) $(wildcard visionproc/*.h)
	$(VISION_BUILD) -o $@ test/unit/test_mode.c $(VISION_SRCS) $(VISION_LIBS)

bench/vision_bench: bench/vision_bench.c $(VISION_SRCS) $(wildcard visionproc/*.h)
	$(VISION_BUILD) -o $@ bench/vision_bench.c $(VISION_SRCS) $(VISION_LIBS)

bench/netprobe_bench: bench/netprobe_bench.c common/netprobe.c common/netprobe.h
	$(CC) -O2 -Wall -Wextra -Werror -Icommon -o $@ bench/netprobe_bench.c common/netprobe.c

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

# ---- sanitizers, fuzzing, shellcheck (scripts/test.sh runs sanitizecheck,
# fuzzcheck and shellcheck as part of `make test`) ----------------------

# The unit tests, and the fuzz targets replaying their corpus, built with
# gcc's AddressSanitizer and UndefinedBehaviorSanitizer into test/unit/san/:
# any report is fatal (-fno-sanitize-recover, halt_on_error).
SAN_CC = gcc
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1 -Wall -Wextra
SAN_DIR = test/unit/san
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_UNIT_TESTS = $(addprefix $(SAN_DIR)/,test_url test_netprobe test_vision test_vlog test_reply test_jpeg test_mode test_keys)
FUZZ_TARGETS = fuzz_url fuzz_redis_url fuzz_redis_reply fuzz_grey
SAN_REPLAYS = $(addprefix $(SAN_DIR)/,$(FUZZ_TARGETS))

$(SAN_DIR)/test_url: test/unit/test_url.c common/url.c common/url.h common/redis_url.c common/redis_url.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Icommon -o $@ test/unit/test_url.c common/url.c common/redis_url.c

$(SAN_DIR)/test_keys: test/unit/test_keys.c common/redis_keys.c common/redis_keys.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Icommon -o $@ test/unit/test_keys.c common/redis_keys.c

$(SAN_DIR)/test_netprobe: test/unit/test_netprobe.c common/netprobe.c common/netprobe.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Icommon -o $@ test/unit/test_netprobe.c common/netprobe.c

$(SAN_DIR)/test_vision: test/unit/test_vision.c $(VISION_SRCS) $(wildcard visionproc/*.h)
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Ivisionproc -Icommon $(shell pkg-config --cflags $(VISION_PKGS)) \
		-o $@ test/unit/test_vision.c $(VISION_SRCS) $(VISION_LIBS)

$(SAN_DIR)/test_jpeg: test/unit/test_jpeg.c $(VISION_SRCS) $(wildcard visionproc/*.h) common/jpeg_check.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Ivisionproc -Icommon $(shell pkg-config --cflags $(VISION_PKGS)) \
		-o $@ test/unit/test_jpeg.c $(VISION_SRCS) $(VISION_LIBS) -lpthread

$(SAN_DIR)/test_mode: test/unit/test_mode.c common/camera_mode.h $(VISION_SRCS) $(wildcard visionproc/*.h)
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Ivisionproc -Icommon $(shell pkg-config --cflags $(VISION_PKGS)) \
		-o $@ test/unit/test_mode.c $(VISION_SRCS) $(VISION_LIBS)

$(SAN_DIR)/test_vlog: test/unit/test_vlog.c visionproc/log.c visionproc/log.h common/url.c common/url.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Ivisionproc -Icommon $(shell pkg-config --cflags libavutil) \
		-o $@ test/unit/test_vlog.c visionproc/log.c common/url.c $(shell pkg-config --libs libavutil)

$(SAN_DIR)/test_reply: test/unit/test_reply.c common/redis_reply.c common/redis_reply.h
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) -Icommon -o $@ test/unit/test_reply.c common/redis_reply.c -lhiredis

# the sources of each fuzz target (besides test/fuzz/<target>.c)
FUZZ_SRCS_fuzz_url = common/url.c
FUZZ_SRCS_fuzz_redis_url = common/redis_url.c
FUZZ_SRCS_fuzz_redis_reply = common/redis_reply.c
FUZZ_SRCS_fuzz_grey = common/grey_format.c visionproc/image.c
FUZZ_LIBS_fuzz_redis_reply = -lhiredis
FUZZ_INC = -Icommon -Ivisionproc

.SECONDEXPANSION:
$(SAN_REPLAYS): $(SAN_DIR)/%: test/fuzz/%.c test/fuzz/replay.c $$(FUZZ_SRCS_$$*) $(wildcard common/*.h visionproc/image.h)
	@mkdir -p $(SAN_DIR)
	$(SAN_CC) $(SAN_FLAGS) $(FUZZ_INC) -o $@ $< test/fuzz/replay.c $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

.PHONY: sanitizecheck fuzz fuzzcheck shellcheck
sanitizecheck: $(SAN_UNIT_TESTS) $(SAN_REPLAYS)
	@failed=""; \
	for t in $(SAN_UNIT_TESTS); do \
		if out=$$($(SAN_ENV) ./$$t 2>&1); then echo "  ok   $$t"; \
		else echo "$$out" | tail -n 60; echo "  FAIL $$t"; failed="$$failed $$t"; fi; \
	done; \
	for t in $(FUZZ_TARGETS); do \
		if out=$$($(SAN_ENV) ./$(SAN_DIR)/$$t test/fuzz/corpus/$$t 2>&1); then echo "  ok   $$out"; \
		else echo "$$out" | tail -n 60; echo "  FAIL $(SAN_DIR)/$$t (corpus replay)"; failed="$$failed $$t"; fi; \
	done; \
	[ -z "$$failed" ] || { echo "sanitizecheck failed:$$failed"; exit 1; }

# libFuzzer targets (clang; the runtime is Debian's libclang-rt-14-dev),
# with ASan and UBSan.  fuzzcheck runs each for FUZZ_SECONDS from the seed
# corpus in test/fuzz/corpus/<target>/ (new inputs go to a scratch
# directory, the committed corpus is not touched) and fails on the first
# crash, leak, sanitizer report, timeout or broken invariant; the input
# that did it is kept in test/fuzz/artifacts/.  `make fuzz` is the same,
# longer (FUZZ_SECONDS=600 by default).
FUZZ_CC = clang
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
FUZZ_DIR = test/fuzz/bin
FUZZ_BINS = $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 15
FUZZ_OPTS = -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 -max_len=8192 -print_final_stats=1

$(FUZZ_BINS): $(FUZZ_DIR)/%: test/fuzz/%.c $$(FUZZ_SRCS_$$*) $(wildcard common/*.h visionproc/image.h)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_INC) -o $@ $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

fuzzcheck: $(FUZZ_BINS)
	@mkdir -p test/fuzz/artifacts; failed=""; \
	for t in $(FUZZ_TARGETS); do \
		work=$$(mktemp -d /tmp/camera_health_fuzz.XXXXXX); \
		if $(SAN_ENV) ./$(FUZZ_DIR)/$$t $(FUZZ_OPTS) -artifact_prefix=test/fuzz/artifacts/$$t- \
				$$work test/fuzz/corpus/$$t >$$work.log 2>&1; then \
			echo "  ok   $$t: $$(grep -o 'stat::number_of_executed_units: [0-9]*' $$work.log | grep -o '[0-9]*$$') runs in $(FUZZ_SECONDS)s, $$(ls $$work | wc -l) new inputs"; \
		else \
			grep -v '^#[0-9]' $$work.log | tail -n 60; \
			echo "  FAIL $$t: the input is in test/fuzz/artifacts/ (replay: ./$(FUZZ_DIR)/$$t FILE)"; \
			failed="$$failed $$t"; \
		fi; \
		rm -rf $$work $$work.log; \
	done; \
	[ -z "$$failed" ] || { echo "fuzzcheck failed:$$failed"; exit 1; }

FUZZ_LONG ?= 600
fuzz:
	$(MAKE) fuzzcheck FUZZ_SECONDS=$(FUZZ_LONG)

# every shell script of the project; findings are listed one per line and
# any warning or error fails
SHELL_SCRIPTS = $(wildcard scripts/*.sh bench/*.sh test/*.sh test/interrupt/*.sh) .ci/run
shellcheck:
	@shellcheck -x -S warning -f gcc $(SHELL_SCRIPTS) && echo "  ok   shellcheck: $(words $(SHELL_SCRIPTS)) scripts, no warnings"
