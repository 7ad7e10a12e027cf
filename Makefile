# mod_callscreen — build, test, install.
#
#   make demo      build the module and show it screening sample calls on the
#                  shipped config (the main job on a fresh machine)
#   make test      unit, host and (where FreeSWITCH is found) end-to-end tests
#   make build     release build: target/release/mod_callscreen.so and the CLI
#   make install   module into FreeSWITCH's mod dir, YAML into its conf dir
#   make e2e       only the end-to-end tests against a real FreeSWITCH
#   make bench     criterion benchmarks (benches/)
#   make clean
#
# FreeSWITCH is found with FREESWITCH_PREFIX, else pkg-config freeswitch, else
# /usr/local/freeswitch. MOD_DIR and CONF_DIR override the install targets.

CARGO ?= cargo
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PKG_CONFIG_PATH := $(PKG_CONFIG_PATH):/usr/local/freeswitch/lib/pkgconfig:/usr/lib/pkgconfig
export PKG_CONFIG_PATH

# Where FreeSWITCH lives, for install and the end-to-end tests.
ifneq ($(FREESWITCH_PREFIX),)
  FS_MOD_DIR := $(FREESWITCH_PREFIX)/lib/freeswitch/mod
  FS_CONF_DIR := $(FREESWITCH_PREFIX)/etc/freeswitch
else
  FS_MOD_DIR := $(shell pkg-config --variable=modulesdir freeswitch 2>/dev/null)
  FS_CONF_DIR := $(shell pkg-config --variable=confdir freeswitch 2>/dev/null)
  ifeq ($(FS_MOD_DIR),)
    FS_MOD_DIR := /usr/local/freeswitch/lib/freeswitch/mod
    FS_CONF_DIR := /usr/local/freeswitch/etc/freeswitch
  endif
endif
MOD_DIR ?= $(FS_MOD_DIR)
CONF_DIR ?= $(FS_CONF_DIR)

MODULE := target/release/mod_callscreen.so
CLI := target/release/callscreen

.PHONY: all build demo test e2e install bench clean deps

all: build

# bindgen needs libclang (libclang.so / libclang-N.so; libclang-cpp, which other
# packages pull in, is not it); a C compiler builds the test stand-in for the core.
deps:
	@missing=""; \
	clang=""; for f in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* /usr/lib/*-linux-gnu/libclang.so* /usr/lib/*-linux-gnu/libclang-[0-9]*.so*; do [ -e "$$f" ] && clang=1; done; \
	[ -n "$$clang" ] || missing="$$missing libclang-dev"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	command -v readelf >/dev/null 2>&1 || missing="$$missing binutils"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(CARGO) build --release --lib --bins
	cp target/release/libmod_callscreen.so $(MODULE)
	@echo "built $(MODULE) and $(CLI)"

demo: build
	@sh tests/demo.sh $(CLI) $(MODULE)

test: deps
	$(CARGO) build --lib --bins
	@mkdir -p target
	@rm -f target/skipped.log
	CALLSCREEN_SKIP_LOG=$(CURDIR)/target/skipped.log $(CARGO) test 2>&1 | tee target/test.log
	@. ./tests/find-freeswitch.sh; \
	if [ -n "$$FS_FOUND" ]; then echo "end-to-end tests ran against $$FS_FOUND"; \
	else echo "*** end-to-end tests SKIPPED: no FreeSWITCH found (set FREESWITCH_PREFIX) ***"; fi
	@if [ -s target/skipped.log ]; then echo "skipped (they returned without testing):"; sed 's/^/  /' target/skipped.log; fi
	@s=$$(cat target/skipped.log 2>/dev/null | wc -l); \
	awk -v s=$$s '/^test result:/ { p += $$4; f += $$6; i += $$8 } END { printf "total: %d passed, %d failed, %d skipped\n", p - s, f, i + s }' target/test.log

e2e: deps
	$(CARGO) build --lib
	@. ./tests/find-freeswitch.sh; \
	if [ -z "$$FS_FOUND" ]; then echo "*** no FreeSWITCH found: set FREESWITCH_PREFIX ***"; exit 1; fi
	$(CARGO) test --test e2e -- --nocapture

install: build
	@test -n "$(MOD_DIR)" || { echo "no FreeSWITCH mod dir: set MOD_DIR or FREESWITCH_PREFIX"; exit 1; }
	install -d $(DESTDIR)$(MOD_DIR) $(DESTDIR)$(CONF_DIR)
	install -m 0755 $(MODULE) $(DESTDIR)$(MOD_DIR)/mod_callscreen.so
	@if [ -e $(DESTDIR)$(CONF_DIR)/callscreen.yaml ]; then \
	  install -m 0644 conf/callscreen.yaml $(DESTDIR)$(CONF_DIR)/callscreen.yaml.dist; \
	  echo "kept your $(CONF_DIR)/callscreen.yaml; the shipped one is callscreen.yaml.dist"; \
	else \
	  install -m 0644 conf/callscreen.yaml $(DESTDIR)$(CONF_DIR)/callscreen.yaml; \
	fi
	@echo "installed $(MOD_DIR)/mod_callscreen.so; in fs_cli: load mod_callscreen"

bench: deps
	$(CARGO) bench

clean:
	$(CARGO) clean
